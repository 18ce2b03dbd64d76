//! `Money`: an exact amount in ten-thousandths of the currency unit.
//!
//! The canonical format allows at most 4 fractional digits, so every amount of an export is an
//! integer number of ten-thousandths. Sums stay integers; rounding to cents happens once, at the end.

use std::fmt;

/// Fractional digits kept by [`Money`] and by the warehouse's `DECIMAL(18,4)` columns.
pub const MONEY_SCALE: u32 = 4;
/// Precision of the warehouse's money columns.
pub const MONEY_PRECISION: u8 = 18;
const UNIT: i128 = 10_i128.pow(MONEY_SCALE);
/// The largest magnitude a `DECIMAL(18,4)` column holds, in ten-thousandths.
const MAX_UNITS: i128 = 10_i128.pow(MONEY_PRECISION as u32) - 1;

/// An exact amount of money, in ten-thousandths (the warehouse's `DECIMAL(18,4)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

/// Why a text is not a money amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a plain decimal number.
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
    /// More than 4 digits after the point.
    #[error("'{0}' has more than 4 fractional digits")]
    TooPrecise(String),
    /// Does not fit `DECIMAL(18,4)`.
    #[error("'{0}' is too large")]
    TooLarge(String),
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// An amount from a count of ten-thousandths; `None` if it does not fit `DECIMAL(18,4)`.
    pub fn from_units(units: i128) -> Option<Money> {
        (units.abs() <= MAX_UNITS).then_some(Money(units))
    }

    /// An amount from whole cents (used by the generator).
    pub fn from_cents(cents: i64) -> Money {
        Money(cents as i128 * (UNIT / 100))
    }

    /// The amount in ten-thousandths.
    pub fn units(self) -> i128 {
        self.0
    }

    /// Parses `12`, `12.5`, `-0.9999`: digits with an optional sign and at most 4 fractional digits.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let s = text.trim();
        let bad = || MoneyError::NotANumber(s.to_string());
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty()) || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(bad());
        }
        if frac_part.len() > MONEY_SCALE as usize {
            return Err(MoneyError::TooPrecise(s.to_string()));
        }
        let int_digits = int_part.trim_start_matches('0');
        if int_digits.len() > (MONEY_PRECISION as u32 - MONEY_SCALE) as usize {
            return Err(MoneyError::TooLarge(s.to_string()));
        }
        let int_value: i128 = if int_digits.is_empty() { 0 } else { int_digits.parse().map_err(|_| bad())? };
        let mut frac_value: i128 = if frac_part.is_empty() { 0 } else { frac_part.parse().map_err(|_| bad())? };
        for _ in frac_part.len()..MONEY_SCALE as usize {
            frac_value *= 10;
        }
        let units = int_value * UNIT + frac_value;
        Ok(Money(if negative { -units } else { units }))
    }

    /// `self * n`, `None` if the result leaves `DECIMAL(18,4)`.
    pub fn checked_mul(self, n: i64) -> Option<Money> {
        self.0.checked_mul(n as i128).and_then(Money::from_units)
    }

    /// `self - other`, `None` if the result leaves `DECIMAL(18,4)`.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        Money::from_units(self.0 - other.0)
    }

    /// `self + other`, `None` if the result leaves `DECIMAL(18,4)`.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        Money::from_units(self.0 + other.0)
    }
}

/// Shares `total` (units of 0.0001) over parts in proportion to `weights` (units too, each >= 0)
/// by the largest remainder: every part gets the floor of its exact share, and the units left go
/// one each to the parts with the largest remainders (ties: the earlier part). The shares add up
/// to `total` exactly. With no weight at all, the parts share equally the same way. Integer
/// arithmetic throughout: an order discount, the tax inside prices and an unsplit refund are
/// shared with it (kpis.md, "Terms").
pub fn allocate(total: i128, weights: &[i128]) -> Vec<i128> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: i128 = weights.iter().sum();
    let (weights, sum): (Vec<i128>, i128) = match sum {
        0 => (vec![1; weights.len()], weights.len() as i128),
        _ => (weights.to_vec(), sum),
    };
    let sign = total.signum();
    let total = total.abs();
    let mut shares: Vec<i128> = Vec::with_capacity(weights.len());
    let mut rema: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total * w;
        shares.push(exact / sum);
        rema.push((exact % sum, i));
    }
    let mut left = total - shares.iter().sum::<i128>();
    rema.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rema {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares.into_iter().map(|s| s * sign).collect()
}

/// Rounds `value / 10^scale` half away from zero to `digits` decimals; the result is in
/// `10^-digits` units. Exact integer arithmetic.
pub fn round_scaled(value: i128, scale: u32, digits: u32) -> i128 {
    if scale <= digits {
        return value * 10_i128.pow(digits - scale);
    }
    let div = 10_i128.pow(scale - digits);
    let (q, r) = (value / div, value % div);
    if r.abs() * 2 >= div { q + value.signum() } else { q }
}

/// Rounds the exact quotient `num / den` half away from zero to `digits` decimals, in
/// `10^-digits` units (`den` must not be 0).
pub fn round_ratio(num: i128, den: i128, digits: u32) -> i128 {
    let scaled = num * 10_i128.pow(digits);
    let (q, r) = (scaled / den, scaled % den);
    if r.abs() * 2 >= den.abs() { q + (scaled.signum() * den.signum()) } else { q }
}

impl fmt::Display for Money {
    /// Shows the exact amount with 4 decimals, trailing zeros removed down to 2 (`12.50`, `0.9999`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.abs();
        let mut frac = format!("{:04}", abs % UNIT);
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "{sign}{}.{frac}", abs / UNIT)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shares_add_up_to_the_whole_on_thousands_of_random_orders() {
        // a small deterministic generator: the test needs no crate and fails the same way twice
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..20_000 {
            let parts = 1 + next(12) as usize;
            let weights: Vec<i128> =
                (0..parts).map(|_| if next(5) == 0 { 0 } else { next(5_000_000) as i128 }).collect();
            let total = next(3_000_000) as i128;
            let shares = super::allocate(total, &weights);
            assert_eq!(shares.iter().sum::<i128>(), total, "{weights:?} {total}");
            let sum: i128 = weights.iter().sum();
            for (s, w) in shares.iter().zip(&weights) {
                if sum > 0 {
                    // each share is within one unit of its exact proportional value
                    let exact = total * w;
                    assert!(*s * sum <= exact + sum && *s * sum >= exact - sum, "{s} {w} {sum} {total}");
                }
                assert!(*s >= 0);
            }
        }
    }

    use super::*;

    #[test]
    fn parses_the_allowed_forms() {
        assert_eq!(Money::parse("12").unwrap().units(), 120_000);
        assert_eq!(super::allocate(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(super::allocate(-10, &[1, 1, 1]), vec![-4, -3, -3]);
        assert_eq!(super::allocate(5, &[0, 0]), vec![3, 2]);
        assert_eq!(super::allocate(100, &[30, 70]), vec![30, 70]);
        assert_eq!(super::allocate(7, &[0, 5, 0]), vec![0, 7, 0]);
        assert_eq!(Money::parse("12.5").unwrap().units(), 125_000);
        assert_eq!(Money::parse(" 12.50 ").unwrap().units(), 125_000);
        assert_eq!(Money::parse("0.9999").unwrap().units(), 9_999);
        assert_eq!(Money::parse(".5").unwrap().units(), 5_000);
        assert_eq!(Money::parse("-3.25").unwrap().units(), -32_500);
    }

    #[test]
    fn refuses_what_is_not_money() {
        for bad in ["", "abc", "1.2.3", "1e5", "12,50", ".", "-", "1 000", "NaN"] {
            assert!(matches!(Money::parse(bad), Err(MoneyError::NotANumber(_))), "{bad}");
        }
        assert!(matches!(Money::parse("0.00001"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("100000000000000"), Err(MoneyError::TooLarge(_))));
        assert!(Money::parse("99999999999999.9999").is_ok());
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_scaled(12_345, 4, 2), 123); // 1.2345 -> 1.23
        assert_eq!(round_scaled(12_350, 4, 2), 124); // 1.2350 -> 1.24
        assert_eq!(round_scaled(-12_350, 4, 2), -124);
        assert_eq!(round_ratio(1, 3, 6), 333_333);
        assert_eq!(round_ratio(2, 3, 6), 666_667);
        assert_eq!(round_ratio(1, 8, 2), 13); // 0.125 -> 0.13
        assert_eq!(round_ratio(-1, 8, 2), -13);
        // (was `Money::to_cents_f64`, removed: nothing but this test used it)
        assert_eq!(round_scaled(Money::parse("0.005").unwrap().units(), MONEY_SCALE, 2), 1);
    }

    #[test]
    fn displays_exactly() {
        assert_eq!(Money::parse("12.5").unwrap().to_string(), "12.50");
        assert_eq!(Money::parse("0.9999").unwrap().to_string(), "0.9999");
        assert_eq!(Money::parse("-3").unwrap().to_string(), "-3.00");
    }
}
