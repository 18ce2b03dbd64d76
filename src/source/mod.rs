//! The canonical source format and the readers of exports, from the `shoplens-source` crate
//! (which fuzzing builds without DataFusion), and a PostgreSQL database as a source.

pub use shoplens_source::source::*;

pub mod postgres;
