//! shoplens's domain types (exact money, months and time zones, statuses, the validated filter)
//! and the readers of exports (the canonical format's files, flat exports through a mapping,
//! the Olist dataset). A crate of its own, without DataFusion, so that the fuzz targets of the
//! readers build in a minute; the `shoplens` crate re-exports both modules.

#![warn(unreachable_pub)]

pub mod model;
pub mod source;
