//! Opening a warehouse version for queries: its Parquet tables as DataFusion table providers,
//! handed to a fresh SessionContext per request (so a request's temporary tables stay its own),
//! all sharing one runtime and its caches.

use super::schema::{ORDER_LINES_VIEW, TABLES};
use super::store::{Store, StoreError, Version};
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col};
use std::sync::Arc;

/// Memory one warehouse's queries may use together before they spill or fail.
const QUERY_MEMORY: usize = 4 << 30;

/// Errors opening a warehouse.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No warehouse, or a damaged one.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A table cannot be opened.
    #[error("cannot open the warehouse's tables: {0}")]
    Query(#[from] DataFusionError),
}

/// A published warehouse version, ready to query.
pub struct Warehouse {
    /// The version's manifest and folder.
    pub version: Version,
    runtime: Arc<RuntimeEnv>,
    tables: Vec<(&'static str, Arc<dyn TableProvider>)>,
}

impl Warehouse {
    /// Opens the current version of `store`.
    ///
    /// # Errors
    /// No warehouse there, or its files cannot be read.
    pub async fn open(store: &Store) -> Result<Warehouse, OpenError> {
        let version = store.current()?;
        let runtime =
            RuntimeEnvBuilder::new().with_memory_pool(Arc::new(FairSpillPool::new(QUERY_MEMORY))).build_arc()?;
        let ctx = SessionContext::new_with_config_rt(config(), runtime.clone());
        let mut tables = Vec::new();
        for t in TABLES {
            let path = version.dir.join(t.file_name());
            // the facts are sorted by date: telling DataFusion lets it skip sorts and prune
            let order = vec![t.sorted_by.iter().map(|c| col(*c).sort(true, false)).collect::<Vec<_>>()];
            let options = ParquetReadOptions::default().file_sort_order(order);
            ctx.register_parquet(t.name, path.to_string_lossy().as_ref(), options).await?;
            tables.push((t.name, ctx.table_provider(t.name).await?));
        }
        Ok(Warehouse { version, runtime, tables })
    }

    /// A new session with the warehouse's tables and the `order_lines` view.
    ///
    /// # Errors
    /// Registering the view fails (it should not).
    pub async fn session(&self) -> Result<SessionContext, DataFusionError> {
        let ctx = SessionContext::new_with_config_rt(config(), self.runtime.clone());
        for (name, provider) in &self.tables {
            ctx.register_table(*name, provider.clone())?;
        }
        ctx.sql(ORDER_LINES_VIEW).await?;
        Ok(ctx)
    }
}

fn config() -> SessionConfig {
    SessionConfig::new().with_information_schema(true)
}
