#![warn(missing_docs)]
#![warn(unreachable_pub)]
//! shoplens: an e-commerce analytics system. Data flows one way:
//!
//! `source` (the canonical export format) → `import` (validate, reject, load) → `warehouse`
//! (star schema in Parquet, versioned and atomic) → `metrics` (KPI `.sql` files on DataFusion)
//! → `forecast` and `customers` (models on the monthly series and on customers' histories) →
//! `analysis` (the catalog: every analysis once, with its parameters and answer's schema) → the
//! surfaces in `cli`, `serve` and `report`. `generate` writes demo shops; `model` holds the
//! shared domain types; `optimize` the minimiser the models share; `cluster` (feature `ballista`) starts the
//! processes of a Ballista cluster that the warehouse's queries can run on.

pub mod analysis;
pub mod cli;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod customers;
pub mod forecast;
pub mod generate;
pub mod import;
pub mod insights;
pub mod metrics;
pub mod notify;
pub use shoplens_source::model;
pub mod optimize;
pub mod pg;
pub mod products;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod source;
pub mod warehouse;
