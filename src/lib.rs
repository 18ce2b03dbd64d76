#![warn(missing_docs)]
//! shoplens: an e-commerce analytics system. Data flows one way:
//!
//! `source` (the canonical export format) → `import` (validate, reject, load) → `warehouse`
//! (star schema in Parquet, versioned and atomic) → `metrics` (KPI `.sql` files on DataFusion)
//! → the surfaces in `cli`. `generate` writes demo shops; `model` holds the shared domain types.

pub mod cli;
pub mod forecast;
pub mod generate;
pub mod import;
pub mod metrics;
pub mod model;
pub mod report;
pub mod serve;
pub mod source;
pub mod warehouse;
