//! The warehouse: a star schema stored as Parquet in a versioned folder, replaced atomically.
//! `schema` defines the tables, `derived` the tables kept beside the facts for filters, `writer`
//! writes them, `parts` splits the big ones into months and
//! key ranges, `store` publishes versions, `session` opens one for queries (on the `engine` that
//! runs them), `query` runs read-only SQL on it.

pub mod check;
pub mod checksums;
pub mod derived;
pub mod engine;
pub mod export;
pub mod keys;
pub mod parts;
pub mod query;
pub mod schema;
pub mod session;
pub(crate) mod sql_text;
pub mod store;
pub(crate) mod tmpfile;
pub mod writer;

pub use engine::Engine;
pub use session::OpenError;
pub use session::Warehouse;
pub use store::Store;
