//! Opening a warehouse version for queries: its Parquet tables as DataFusion table providers,
//! handed to a fresh SessionContext per request (so a request's temporary tables stay its own),
//! all sharing one runtime's caches and spill folder.
//!
//! Memory: every session gets its own pool, an equal share of the warehouse's limit for each of
//! the sessions allowed to run at once. One pool for all sessions let concurrent requests starve
//! each other: a non-spilling operator (a partial aggregate, a join's build side) of one request
//! found the pool taken by the spillable operators of the others and failed with "Resources
//! exhausted" although the process used half the limit. A pool of its own cannot be taken.

use super::engine::Engine;
use super::schema::{ORDER_LINES_VIEW, TABLES};
use super::store::LAYOUT_BOOKS;
use super::store::{Store, StoreError, Version};
use crate::model::MemoryLimit;
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// Errors opening a warehouse.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No warehouse, or a damaged one.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A table cannot be opened.
    #[error("cannot open the warehouse's tables: {0}")]
    Query(#[from] DataFusionError),
    /// A file of the version is damaged, or is not of its table's shape.
    #[error(transparent)]
    Damaged(#[from] super::check::Damaged),
    /// A version written by an older shoplens, without the tables of the books.
    #[error(
        "{0}: this warehouse was written by an older shoplens (layout {1}), which kept no refunds, shipping, taxes or channels; import the export again to read it"
    )]
    OldLayout(std::path::PathBuf, u32),
    /// The cluster's scheduler does not answer.
    #[error("cannot reach the Ballista scheduler at {engine}: {reason}")]
    Cluster {
        /// The engine asked for.
        engine: Engine,
        /// What the connection said.
        reason: String,
    },
}

/// A published warehouse version, ready to query.
pub struct Warehouse {
    /// The version's manifest and folder.
    pub version: Version,
    runtime: Arc<RuntimeEnv>,
    session_memory: MemoryLimit,
    engine: Engine,
    tables: Vec<(&'static str, Arc<dyn TableProvider>)>,
    /// Values computed once per open version, one of each type ([`Warehouse::memo`]).
    memos: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// The version's folder, share-locked while this is open: an import removes an old version
    /// only when it can lock it exclusively, i.e. when nobody reads it.
    _reading: std::fs::File,
}

/// A memory pool that names its largest consumers when it runs out (so an error says where the
/// memory went), spilling operators sharing it fairly.
pub(crate) fn memory_pool(limit: MemoryLimit) -> Arc<dyn MemoryPool> {
    let top = NonZeroUsize::new(5).expect("non-zero");
    Arc::new(TrackConsumersPool::new(FairSpillPool::new(limit.bytes()), top))
}

impl Warehouse {
    /// Opens the current version of `store` for one session at a time, with the default memory
    /// limit.
    ///
    /// # Errors
    /// No warehouse there, or its files cannot be read.
    pub async fn open(store: &Store) -> Result<Warehouse, OpenError> {
        Warehouse::open_limited(store, MemoryLimit::DEFAULT, 1).await
    }

    /// Opens the current version of `store`; `memory` is shared equally by `sessions`
    /// sessions running at once (the caller bounds how many do).
    ///
    /// # Errors
    /// No warehouse there, or its files cannot be read.
    pub async fn open_limited(store: &Store, memory: MemoryLimit, sessions: usize) -> Result<Warehouse, OpenError> {
        Warehouse::open_on(store, memory, sessions, Engine::Local).await
    }

    /// Like [`Warehouse::open_limited`], with queries run by `engine`. On a cluster, `memory`
    /// bounds only what this process holds: the executors have limits of their own.
    ///
    /// # Errors
    /// No warehouse there, its files cannot be read, or the cluster's scheduler does not answer.
    pub async fn open_on(
        store: &Store,
        memory: MemoryLimit,
        sessions: usize,
        engine: Engine,
    ) -> Result<Warehouse, OpenError> {
        let (version, reading) = read_current(store)?;
        super::engine::probe(&engine).await.map_err(|reason| OpenError::Cluster { engine: engine.clone(), reason })?;
        let session_memory = memory.share(sessions);
        let runtime = RuntimeEnvBuilder::new().with_memory_pool(memory_pool(session_memory)).build_arc()?;
        let ctx = SessionContext::new_with_config_rt(config(), runtime.clone());
        let mut tables = Vec::new();
        if version.manifest.layout < LAYOUT_BOOKS {
            return Err(OpenError::OldLayout(store.root().to_path_buf(), version.manifest.layout));
        }
        for t in TABLES {
            super::check::table_files(&version, t)?;
            let (path, folder) = version.table_path(t);
            // absolute: a cluster's executors do not share this process's working folder
            let path = std::path::absolute(&path).unwrap_or(path);
            let mut path = path.to_string_lossy().into_owned();
            if folder {
                // a folder of parts: every Parquet file in it
                path.push('/');
            }
            // each file is sorted: telling DataFusion lets it skip sorts and prune
            let order = vec![t.sorted_by.iter().map(|c| col(*c).sort(true, false)).collect::<Vec<_>>()];
            let schema = t.schema();
            let options = ParquetReadOptions::default().file_sort_order(order).schema(&schema);
            ctx.register_parquet(t.name, &path, options).await?;
            tables.push((t.name, ctx.table_provider(t.name).await?));
        }
        let memos = Mutex::default();
        Ok(Warehouse { version, runtime, session_memory, engine, tables, memos, _reading: reading })
    }

    /// The value of type `T` computed by `init` over this version, kept for the version's
    /// lifetime (a server's requests share it). Two requests arriving before it is kept may both
    /// compute it: the same value.
    ///
    /// # Errors
    /// `init`'s.
    pub(crate) async fn memo<T, E, F>(&self, init: impl FnOnce() -> F) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        F: std::future::Future<Output = Result<T, E>>,
    {
        let kept = self.memos.lock().unwrap_or_else(|e| e.into_inner()).get(&TypeId::of::<T>()).cloned();
        if let Some(Ok(value)) = kept.map(|v| v.downcast::<T>()) {
            return Ok(value);
        }
        let value = Arc::new(init().await?);
        self.memos.lock().unwrap_or_else(|e| e.into_inner()).insert(TypeId::of::<T>(), value.clone());
        Ok(value)
    }

    /// Where the queries run.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The memory one session may use.
    pub(crate) fn session_memory(&self) -> MemoryLimit {
        self.session_memory
    }

    /// A new session with the warehouse's tables and the `order_lines` view, and a memory pool of
    /// its own.
    ///
    /// # Errors
    /// Registering the view fails (it should not).
    pub async fn session(&self) -> Result<SessionContext, DataFusionError> {
        let state = self.session_state();
        let ctx = match &self.engine {
            Engine::Local => SessionContext::new_with_state(state),
            #[cfg(feature = "ballista")]
            Engine::Ballista { host, port } => super::engine::ballista_context(state, host, *port).await?,
            #[cfg(not(feature = "ballista"))]
            Engine::Ballista { .. } => {
                return Err(DataFusionError::Configuration(super::engine::NO_BALLISTA.into()));
            }
        };
        for (name, provider) in &self.tables {
            ctx.register_table(*name, provider.clone())?;
        }
        ctx.sql(ORDER_LINES_VIEW).await?;
        Ok(ctx)
    }
}

impl Warehouse {
    /// A local session's state without tables: the warehouse's settings and a memory pool of its
    /// own (one session's share of the limit), sharing the runtime's caches and spill folder.
    pub(crate) fn session_state(&self) -> SessionState {
        let runtime = Arc::new(RuntimeEnv {
            memory_pool: memory_pool(self.session_memory),
            disk_manager: self.runtime.disk_manager.clone(),
            cache_manager: self.runtime.cache_manager.clone(),
            object_store_registry: self.runtime.object_store_registry.clone(),
        });
        SessionStateBuilder::new()
            .with_config(
                config()
                    .with_sort_spill_reservation_bytes(sort_reserve(self.session_memory))
                    .with_batch_size(batch_rows(self.session_memory)),
            )
            .with_runtime_env(runtime)
            .with_default_features()
            .build()
    }

    /// The version's table `name` (a star-schema or derived table), as its queries read it.
    pub(crate) fn table(&self, name: &str) -> Option<Arc<dyn TableProvider>> {
        self.tables.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone())
    }
}

/// The current version, with its folder share-locked for as long as the file returned is open.
/// Where the file system has no locks, the version is read without one (an import then removes
/// old versions as before).
fn read_current(store: &Store) -> Result<(Version, std::fs::File), OpenError> {
    let mut tries = 0;
    loop {
        let version = store.current()?;
        let missing = |version: &Version| -> OpenError {
            StoreError::Damaged {
                path: store.root().to_path_buf(),
                message: format!("version {} is missing", version.manifest.version),
            }
            .into()
        };
        let dir = match std::fs::File::open(&version.dir) {
            Ok(dir) => dir,
            // removed after the manifest was read (two imports published meanwhile): read it again
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => {
                tries += 1;
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing(&version)),
            Err(e) => return Err(StoreError::Io { path: version.dir.clone(), source: e }.into()),
        };
        match dir.try_lock_shared() {
            Ok(()) if version.dir.is_dir() => return Ok((version, dir)),
            Ok(()) | Err(std::fs::TryLockError::WouldBlock) if tries < 3 => tries += 1,
            Ok(()) | Err(std::fs::TryLockError::WouldBlock) => return Err(missing(&version)),
            Err(std::fs::TryLockError::Error(e)) => {
                tracing::warn!(error = %e, "cannot lock the warehouse version; reading it unlocked");
                return Ok((version, dir));
            }
        }
    }
}

/// What each sort sets aside for merging its spilled runs: DataFusion's 10 MB default, less in a
/// small pool (a sixteenth of it), where the default alone would exhaust it.
fn sort_reserve(memory: MemoryLimit) -> usize {
    (memory.bytes() / 16).clamp(256 << 10, 10 << 20)
}

/// Rows per batch: DataFusion's 8192 from a 512 MB pool (the default limit's share per
/// computation) up, proportionally fewer below it. What an operator must hold before it can
/// spill is a few batches, so a small pool with full-size batches fails where a large one spills.
fn batch_rows(memory: MemoryLimit) -> usize {
    const FULL: usize = 8192;
    (FULL as u128 * memory.bytes() as u128 / (512u128 << 20)).clamp(128, FULL as u128) as usize
}

fn config() -> SessionConfig {
    SessionConfig::new().with_information_schema(true)
}
