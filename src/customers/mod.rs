//! Customer analytics (`shared/spec/customers.md`): cohort retention, the returning-customer rate,
//! RFM segments and lifetime value. Each figure is defined once in a `.sql` file of `sql/`, run on
//! the filter's revenue orders (the same `revenue_orders` the KPIs read); the CLV models are
//! fitted in Rust (`clv`).

pub mod clv;
pub mod cohorts;
mod queries;
pub mod returning;
pub mod rfm;

pub use queries::sql;

pub use clv::{ClvOptions, clv};

pub use clv::Clv;
pub use cohorts::Cohorts;
pub use cohorts::cohorts;
pub use returning::Returning;
pub use returning::returning;
pub use rfm::Rfm;
pub use rfm::RfmCustomer;
pub use rfm::rfm;
