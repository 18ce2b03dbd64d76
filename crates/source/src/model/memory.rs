//! A memory limit as the user writes it (`--memory-limit 2G`): what one command's queries, sorts
//! and spills may hold before DataFusion spills to disk or the command stops with a clear error.

use std::fmt;
use std::str::FromStr;

/// A number of bytes, at least [`MemoryLimit::MIN`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemoryLimit(usize);

impl MemoryLimit {
    /// The smallest limit accepted, and the least one computation is given: below it
    /// DataFusion's operators fail on their first batches rather than spill.
    pub const MIN: MemoryLimit = MemoryLimit(64 << 20);
    /// The default for every command: two of this machine's 24 GiB, so a dashboard, an import and
    /// an ad-hoc query can run side by side.
    pub const DEFAULT: MemoryLimit = MemoryLimit(2 << 30);

    /// The limit in bytes.
    pub fn bytes(self) -> usize {
        self.0
    }

    /// A limit of `bytes`, raised to [`MemoryLimit::MIN`].
    pub fn from_bytes(bytes: usize) -> MemoryLimit {
        MemoryLimit(bytes.max(Self::MIN.0))
    }

    /// This limit shared by `n` equal users (each at least [`MemoryLimit::MIN`]; one user gets
    /// the whole limit).
    pub fn share(self, n: usize) -> MemoryLimit {
        match n {
            0 | 1 => self,
            _ => MemoryLimit::from_bytes(self.0 / n),
        }
    }

    /// A limit of `bytes` even below [`MemoryLimit::MIN`]: for tests that scale a large shop's
    /// pool down to a small generated one (the ratio of memory to orders is what they keep).
    #[doc(hidden)]
    pub fn scaled_down(bytes: usize) -> MemoryLimit {
        MemoryLimit(bytes)
    }

    /// How many computations of at least [`MemoryLimit::MIN`] each fit in this limit, at most `max`.
    pub fn fits(self, max: usize) -> usize {
        (self.0 / Self::MIN.0).clamp(1, max.max(1))
    }
}

impl Default for MemoryLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a memory limit was not understood.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemoryLimitError {
    /// Not a number with an optional unit.
    #[error("'{0}' is not a memory size: write a number with an optional unit, e.g. 512M, 2G, 1.5GiB")]
    Syntax(String),
    /// Under the minimum.
    #[error("'{0}' is below the smallest memory limit, 64M")]
    TooSmall(String),
}

impl FromStr for MemoryLimit {
    type Err = MemoryLimitError;

    /// `1024`, `512K`, `512M`, `2G`, `1.5GiB`, `1T`: the units are powers of 1024, case-insensitive,
    /// with an optional `B` or `iB`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let syntax = || MemoryLimitError::Syntax(s.to_string());
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let value: f64 = number.parse().map_err(|_| syntax())?;
        let unit = unit.trim().to_ascii_lowercase();
        let unit = unit.strip_suffix("ib").or_else(|| unit.strip_suffix('b')).unwrap_or(&unit);
        let scale: f64 = match unit {
            "" => 1.0,
            "k" => 1024.0,
            "m" => 1024.0 * 1024.0,
            "g" => 1024.0 * 1024.0 * 1024.0,
            "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return Err(syntax()),
        };
        let bytes = value * scale;
        if !bytes.is_finite() || bytes >= usize::MAX as f64 {
            return Err(syntax());
        }
        if (bytes as usize) < Self::MIN.0 {
            return Err(MemoryLimitError::TooSmall(s.to_string()));
        }
        Ok(MemoryLimit(bytes as usize))
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, usize); 3] = [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)];
        for (name, size) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{name}", self.0 / size);
            }
        }
        if self.0 >= 1 << 20 {
            return write!(f, "{:.1}M", self.0 as f64 / (1u64 << 20) as f64);
        }
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_refuses_nonsense() {
        assert_eq!("2G".parse::<MemoryLimit>().unwrap().bytes(), 2 << 30);
        assert_eq!("512m".parse::<MemoryLimit>().unwrap().bytes(), 512 << 20);
        assert_eq!("1.5GiB".parse::<MemoryLimit>().unwrap().bytes(), 3 << 29);
        assert_eq!("64MB".parse::<MemoryLimit>().unwrap().bytes(), 64 << 20);
        assert_eq!("70000000".parse::<MemoryLimit>().unwrap().bytes(), 70_000_000);
        assert!(matches!("lots".parse::<MemoryLimit>(), Err(MemoryLimitError::Syntax(_))));
        assert!(matches!("2X".parse::<MemoryLimit>(), Err(MemoryLimitError::Syntax(_))));
        assert!(matches!("-1G".parse::<MemoryLimit>(), Err(MemoryLimitError::Syntax(_))));
        assert!(matches!("16M".parse::<MemoryLimit>(), Err(MemoryLimitError::TooSmall(_))));
    }

    #[test]
    fn shares_and_prints() {
        assert_eq!(MemoryLimit::DEFAULT.share(4).to_string(), "512M");
        assert_eq!(MemoryLimit::MIN.share(100), MemoryLimit::MIN);
        assert_eq!(MemoryLimit::MIN.fits(4), 1);
        assert_eq!("200M".parse::<MemoryLimit>().unwrap().fits(4), 3);
        assert_eq!(MemoryLimit::DEFAULT.fits(4), 4);
        assert_eq!("1.5G".parse::<MemoryLimit>().unwrap().to_string(), "1536M");
    }
}
