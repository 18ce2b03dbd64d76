//! Insights: why revenue moved (revenue bridges and gross to net), where the current month is
//! heading (the month-to-date projection) and what is off (alerts). Definitions in
//! `docs/insights.md`; every amount is exact and every bridge adds up to its change to the cent.

pub mod alerts;
pub mod bridge;
mod exact;
pub mod projection;
mod queries;

pub use alerts::alerts;

pub use alerts::Alerts;

pub use alerts::Alert;
pub use bridge::{Explanation, explain};
pub use projection::Projection;
pub use projection::projection;

pub use queries::sql;
