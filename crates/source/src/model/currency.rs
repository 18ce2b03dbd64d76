//! `Currency`: the shop's ISO 4217 code, recorded with an import and shown by every surface.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code, three upper-case letters (`EUR`, `USD`); read in any case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Reads a code in any case (`usd` is `USD`).
    ///
    /// # Errors
    /// Not three ASCII letters.
    pub fn parse(s: &str) -> Result<Currency, String> {
        let t = s.trim();
        if t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Currency(t.to_ascii_uppercase()))
        } else {
            Err(format!("'{s}' is not an ISO 4217 currency code such as EUR or USD"))
        }
    }

    /// The code, upper case.
    pub fn code(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Currency, String> {
        Currency::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Currency, String> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_any_case_and_refuses_other_text() {
        assert_eq!(Currency::parse("usd").unwrap().code(), "USD");
        assert_eq!(Currency::parse(" Eur ").unwrap().to_string(), "EUR");
        for bad in ["", "US", "USDD", "U$D", "€"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
