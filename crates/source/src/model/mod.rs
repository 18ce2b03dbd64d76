//! Domain types shared by every stage: exact money, months and time zones, order statuses and
//! the validated KPI filter.

pub mod currency;
pub mod filter;
pub mod memory;
pub mod money;
pub mod status;
pub mod text;
pub mod time;

pub use currency::Currency;
pub use filter::Filter;
pub use memory::MemoryLimit;
pub use money::Money;
pub use status::Status;
pub use time::{Month, ShopTz};
