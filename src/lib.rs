#![warn(missing_docs)]
#![warn(unreachable_pub)]
//! shoplens: an e-commerce analytics system. Data flows one way:
//!
//! `source` (the canonical export format) → `import` (validate, reject, load) → `warehouse`
//! (star schema in Parquet, versioned and atomic) → `metrics` (KPI `.sql` files on DataFusion)
//! → `forecast` and `customers` (models on the monthly series and on customers' histories) →
//! the surfaces in `cli`, `serve` and `report`. `generate` writes demo shops; `model` holds the
//! shared domain types; `optimize` the minimiser the models share; `cluster` (feature `ballista`) starts the
//! processes of a Ballista cluster that the warehouse's queries can run on.

pub mod cli;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod customers;
pub mod forecast;
pub mod generate;
pub mod import;
pub mod insights;
pub mod metrics;
pub use shoplens_source::model;
pub mod optimize;
pub mod pg;
// the HTTP layer is being rewritten elsewhere: its visibility is left as it is
#[allow(unreachable_pub)]
pub mod report;
#[allow(unreachable_pub)]
pub mod serve;
pub mod source;
pub mod warehouse;
