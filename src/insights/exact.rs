//! Exact money, ten-thousandths, to cents: rounded once, and apportioned so that parts add up to
//! their rounded total.

use crate::model::money::round_scaled;

/// Exact money in the warehouse's unit, ten-thousandths, rounded half away from zero to cents.
pub(super) fn cents(units4: i128) -> i128 {
    round_scaled(units4, 4, 2)
}

/// Rounds parts to cents so that they add up to `total` cents exactly.
///
/// Each part is `(exact, start)`: its exact amount in ten-thousandths and the cents it starts
/// from (its own rounding, or the difference of two rounded figures the user sees elsewhere).
/// Whatever the starts miss of `total` is given one cent at a time to the parts whose start is
/// furthest below (or above) their exact amount. When every amount is whole cents the starts are
/// exact and nothing moves.
pub(super) fn apportion(parts: &[(i128, i128)], total: i128) -> Vec<i128> {
    let mut out: Vec<i128> = parts.iter().map(|p| p.1).collect();
    if out.is_empty() {
        return out;
    }
    let mut rest = total - out.iter().sum::<i128>();
    while rest != 0 {
        let step = rest.signum();
        // the part whose rounded value lags its exact amount most in the direction needed
        let lag = |i: usize| (parts[i].0 - out[i] * 100) * step;
        let i = (0..out.len()).max_by(|a, b| lag(*a).cmp(&lag(*b)).then(b.cmp(a))).expect("parts");
        out[i] += step;
        rest -= step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportioned_parts_add_up_and_stay_within_a_cent() {
        // three thirds of 1.00: 0.3333.. each, starts 0.33, one cent to place
        let parts = [(3333, 33), (3333, 33), (3334, 33)];
        assert_eq!(apportion(&parts, 100), vec![33, 33, 34]);
        // whole cents: nothing moves
        assert_eq!(apportion(&[(12_500, 125), (-2_500, -25)], 100), vec![125, -25]);
        // a negative residue takes from the part rounded up the most
        assert_eq!(apportion(&[(50, 1), (40, 0)], 0), vec![0, 0]);
        assert_eq!(apportion(&[(150, 2), (150, 2)], 3), vec![1, 2]);
        assert!(apportion(&[], 0).is_empty());
    }
}
