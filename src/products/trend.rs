//! Whether an item's orders rose or fell beyond chance between the comparison period and the
//! range. Orders are counts: under "no change" each of the `n` orders of both periods falls in
//! the range with the probability of the range's share of the days, so the range's count is
//! Binomial(n, p) — the exact conditional test for two Poisson rates. The p-value is two-sided
//! (the outcomes no likelier than the one seen, as `scipy.stats.binomtest` sums them), and the
//! p-values of all items are adjusted for their number (Benjamini–Hochberg), so that among many
//! small products noise is not reported as a trend.

use serde::Serialize;
use statrs::distribution::{Binomial, Discrete, DiscreteCDF};
use utoipa::ToSchema;

/// The false discovery rate a trend is reported at.
pub const FDR: f64 = 0.05;

/// Which way an item moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// More orders than the comparison period's rate, beyond chance.
    Rising,
    /// Fewer, beyond chance.
    Falling,
    /// No change beyond chance.
    Steady,
}

/// An item's trend test.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Trend {
    /// Its orders in the range.
    pub orders: i64,
    /// Its orders in the comparison period.
    pub previous_orders: i64,
    /// Its orders expected in the range at the comparison period's daily rate.
    pub expected_orders: f64,
    /// The exact two-sided binomial test's p-value.
    pub p_value: f64,
    /// The p-value adjusted over every item tested (Benjamini–Hochberg).
    pub q_value: f64,
    /// Rising or falling when the q-value is below 5 %.
    pub direction: Direction,
}

impl Trend {
    /// The test of `now` orders in the range against `before` in the comparison period, the
    /// range having the share `p` of their days. Its q-value is set by [`adjust`].
    pub fn of(now: i64, before: i64, p: f64) -> Trend {
        let (now_n, before_n) = (now.max(0) as u64, before.max(0) as u64);
        let p_value = binomial_two_sided(now_n, now_n + before_n, p);
        let expected = before as f64 * p / (1.0 - p);
        Trend {
            orders: now,
            previous_orders: before,
            expected_orders: crate::metrics::results::round6(expected),
            p_value,
            q_value: p_value,
            direction: Direction::Steady,
        }
    }
}

/// The two-sided p-value of `k` successes in `n` trials of probability `p`: the probability of the
/// outcomes no likelier than `k` (with scipy's relative tolerance of 1e-7 on "no likelier"). The
/// probabilities fall away from the mode on both sides, so the other side's bound is found by
/// bisection and both tails are summed by the distribution function: a few dozen evaluations
/// whatever `n`.
pub fn binomial_two_sided(k: u64, n: u64, p: f64) -> f64 {
    if n == 0 || k > n {
        return 1.0;
    }
    let Ok(b) = Binomial::new(p.clamp(0.0, 1.0), n) else { return 1.0 };
    let bound = b.pmf(k) * (1.0 + 1e-7);
    let mode = (((n + 1) as f64 * p).floor() as u64).min(n);
    if b.pmf(mode) <= bound {
        return 1.0;
    }
    let p_value = if k < mode {
        // the first j above the mode no likelier than k: P(X <= k) + P(X >= j)
        let (mut lo, mut hi) = (mode, n + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if b.pmf(mid) <= bound { hi = mid } else { lo = mid + 1 }
        }
        b.cdf(k) + if lo <= n { b.sf(lo - 1) } else { 0.0 }
    } else {
        // the last j below the mode no likelier than k: P(X <= j) + P(X >= k)
        let (mut lo, mut hi) = (0u64, mode);
        // find the first index in [0, mode) whose probability exceeds the bound
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if b.pmf(mid) <= bound { lo = mid + 1 } else { hi = mid }
        }
        let below = if lo > 0 { b.cdf(lo - 1) } else { 0.0 };
        below + b.sf(k - 1)
    };
    p_value.min(1.0)
}

/// Sets each trend's q-value (Benjamini–Hochberg over all of them) and direction.
pub(super) fn adjust<'a>(trends: impl Iterator<Item = &'a mut Trend>) {
    let mut all: Vec<&mut Trend> = trends.collect();
    let m = all.len() as f64;
    all.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
    // from the largest p-value down, q = min(q of the next, p * m / rank)
    let mut running: f64 = 1.0;
    for (i, t) in all.iter_mut().enumerate().rev() {
        running = running.min(t.p_value * m / (i as f64 + 1.0));
        t.q_value = crate::metrics::results::round6(running);
    }
    for t in all {
        let now_rate_higher = t.expected_orders < t.orders as f64;
        t.direction = match (t.q_value < FDR, now_rate_higher) {
            (false, _) => Direction::Steady,
            (true, true) => Direction::Rising,
            (true, false) => Direction::Falling,
        };
    }
}

/// The keys of the items whose trend is `direction`, those furthest from their expected orders
/// first (then by key): the ranking every surface shows.
pub(super) fn ranked<'a>(
    items: impl Iterator<Item = (&'a str, Option<&'a Trend>)>,
    direction: Direction,
) -> Vec<String> {
    let mut moved: Vec<(&str, f64)> = items
        .filter_map(|(key, t)| {
            t.filter(|t| t.direction == direction).map(|t| (key, (t.orders as f64 - t.expected_orders).abs()))
        })
        .collect();
    moved.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    moved.into_iter().map(|(key, _)| key.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums every outcome's probability: the definition, for small n.
    fn by_definition(k: u64, n: u64, p: f64) -> f64 {
        let b = Binomial::new(p, n).unwrap();
        let bound = b.pmf(k) * (1.0 + 1e-7);
        (0..=n).map(|i| b.pmf(i)).filter(|&q| q <= bound).sum::<f64>().min(1.0)
    }

    #[test]
    fn the_two_sided_p_value_is_the_definitions() {
        for (n, p) in [(10, 0.5), (37, 0.3), (200, 0.5), (1, 0.5), (50, 0.9)] {
            for k in 0..=n {
                let (fast, slow) = (binomial_two_sided(k, n, p), by_definition(k, n, p));
                assert!((fast - slow).abs() < 1e-9, "k={k} n={n} p={p}: {fast} vs {slow}");
            }
        }
        // scipy.stats.binomtest(3, 20, 0.5).pvalue
        assert!((binomial_two_sided(3, 20, 0.5) - 0.0025768280029296875).abs() < 1e-12);
    }

    #[test]
    fn many_tests_raise_the_bar() {
        let mut trends: Vec<Trend> = [0.001, 0.01, 0.03, 0.04, 0.5]
            .iter()
            .map(|&p| {
                let mut t = Trend::of(30, 10, 0.5);
                t.p_value = p;
                t
            })
            .collect();
        adjust(trends.iter_mut());
        let q: Vec<f64> = trends.iter().map(|t| t.q_value).collect();
        assert_eq!(q, vec![0.005, 0.025, 0.05, 0.05, 0.5]);
        let d: Vec<Direction> = trends.iter().map(|t| t.direction).collect();
        assert_eq!(
            d,
            vec![Direction::Rising, Direction::Rising, Direction::Steady, Direction::Steady, Direction::Steady]
        );
    }

    #[test]
    fn the_ranking_keeps_one_direction_furthest_first() {
        // 100 orders now against 10 before, 60 against 20, 25 against 20, 2 against 40
        let mut trends =
            [Trend::of(100, 10, 0.5), Trend::of(60, 20, 0.5), Trend::of(25, 20, 0.5), Trend::of(2, 40, 0.5)];
        adjust(trends.iter_mut());
        let keys = ["a", "b", "c", "d"];
        let items = || keys.iter().copied().zip(trends.iter().map(Some));
        assert_eq!(ranked(items(), Direction::Rising), ["a", "b"]);
        assert_eq!(ranked(items(), Direction::Falling), ["d"]);
        assert!(ranked(keys.iter().copied().zip([None; 4]), Direction::Rising).is_empty());
    }
}
