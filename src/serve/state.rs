//! The server's shared state: the current warehouse version (swapped in when an import publishes a
//! new one) and a cache of computed results per version and request, bounded in bytes.

use super::access::Gate;
use super::hosts::Hosts;
use crate::model::MemoryLimit;
use crate::warehouse::{Engine, OpenError, Store, Warehouse};
use axum::body::Bytes;
use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{RwLock, Semaphore};

/// The result cache's share of the memory limit, and its bounds: the dashboard's warm-up (a few
/// hundred results of a few kB to a few hundred kB) fits many times over.
const CACHE_SHARE: u64 = 8;
const CACHE_MIN_BYTES: u64 = 16 << 20;
const CACHE_MAX_BYTES: u64 = 256 << 20;
/// How many KPI computations may run at once when the memory limit allows (each needs at least
/// [`MemoryLimit::MIN`]); the rest wait, so memory stays bounded.
const CONCURRENT_QUERIES: usize = 4;
/// How long one request's computation may take.
pub const QUERY_TIME_LIMIT: Duration = Duration::from_secs(30);

/// One opened warehouse version.
pub struct Loaded {
    /// The version's name, `v-…`: the ETag's root.
    pub version: String,
    /// The opened warehouse.
    pub warehouse: Warehouse,
}

/// Shared by all requests.
pub struct AppState {
    store: Store,
    current: RwLock<(Option<SystemTime>, Arc<Loaded>)>,
    cache: moka::sync::Cache<(String, String), Bytes>,
    /// Results kept as values, for the analyses cut from them (a KPI section from the KPIs, a page
    /// of customers from every customer's RFM row), weighed by their estimated bytes.
    kept: moka::sync::Cache<(String, String), Kept>,
    /// Bounds the work running at once.
    pub permits: Semaphore,
    /// The ISO 4217 code the page formats money in.
    pub currency: String,
    memory: MemoryLimit,
    engine: Engine,
    /// Who may use the server.
    pub gate: Gate,
    /// The `Host` names the server answers to.
    pub hosts: Hosts,
    /// The scheduled imports' and deliveries' status, when a schedule runs.
    pub schedule: Option<crate::schedule::Status>,
}

impl AppState {
    /// Opens the store's current version, answering to loopback names only; sign-in is required
    /// when the warehouse has users or tokens (and nobody gets in if its access file is damaged).
    ///
    /// # Errors
    /// No warehouse there, or it cannot be opened.
    pub async fn open(store: Store, currency: String, memory: MemoryLimit) -> Result<AppState, OpenError> {
        AppState::open_on(store, currency, memory, Engine::Local).await
    }

    /// Like [`AppState::open`], with the queries run by `engine`.
    ///
    /// # Errors
    /// No warehouse there, it cannot be opened, or the engine does not answer.
    pub async fn open_on(
        store: Store,
        currency: String,
        memory: MemoryLimit,
        engine: Engine,
    ) -> Result<AppState, OpenError> {
        let stamp = store.published_at();
        let loaded = load(&store, memory, &engine).await?;
        let gate = Gate::open(store.root(), false, false).unwrap_or_else(|_| Gate::closed(store.root()));
        Ok(AppState {
            gate,
            hosts: Hosts::loopback(),
            schedule: None,
            store,
            current: RwLock::new((stamp, Arc::new(loaded))),
            cache: result_cache(memory),
            kept: kept_cache(memory),
            permits: Semaphore::new(memory.fits(CONCURRENT_QUERIES)),
            currency,
            memory,
            engine,
        })
    }

    /// The same state with another gate and host names.
    pub fn with_access(self, gate: Gate, hosts: Hosts) -> AppState {
        AppState { gate, hosts, ..self }
    }

    /// Shows `status` (a running schedule's) on the dashboard and `/healthz`.
    pub fn with_schedule(self, status: crate::schedule::Status) -> AppState {
        AppState { schedule: Some(status), ..self }
    }

    /// The current version, reopened first if an import has published a newer one since; the
    /// flag says whether this call opened it.
    ///
    /// # Errors
    /// The new version cannot be opened (the old one is then kept).
    pub async fn current(&self) -> Result<(Arc<Loaded>, bool), OpenError> {
        let stamp = self.store.published_at();
        {
            let cur = self.current.read().await;
            if cur.0 == stamp {
                return Ok((cur.1.clone(), false));
            }
        }
        let mut cur = self.current.write().await;
        if cur.0 == stamp {
            return Ok((cur.1.clone(), false));
        }
        let loaded = load(&self.store, self.memory, &self.engine).await?;
        let fresh = loaded.version != cur.1.version;
        if fresh {
            // results of the old version can never be asked for again
            self.cache.invalidate_all();
            self.kept.invalidate_all();
        }
        *cur = (stamp, Arc::new(loaded));
        Ok((cur.1.clone(), fresh))
    }

    /// Whether `version` is still the one served.
    pub async fn is_current(&self, version: &str) -> bool {
        self.current.read().await.1.version == version
    }

    /// The version opened at start.
    pub async fn loaded(&self) -> Arc<Loaded> {
        self.current.read().await.1.clone()
    }

    /// A cached result (JSON text) for `(version, key)`.
    pub fn cached(&self, version: &str, key: &str) -> Option<Bytes> {
        self.cache.get(&(version.to_string(), key.to_string()))
    }

    /// Caches a result; when the cache is full, the least valuable entries are evicted one by one.
    pub fn remember(&self, version: &str, key: &str, json: Bytes) {
        self.cache.insert((version.to_string(), key.to_string()), json);
    }

    /// A result kept as a value for `(version, key)`.
    pub fn kept(&self, version: &str, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.kept.get(&(version.to_string(), key.to_string())).map(|k| k.value)
    }

    /// Keeps a result as a value, weighing about `weight` bytes (one heavier than the budget is
    /// not kept: what is cut from it is then recomputed, under a permit).
    pub fn keep(&self, version: &str, key: String, value: Arc<dyn Any + Send + Sync>, weight: usize) {
        let weight = u32::try_from(weight).unwrap_or(u32::MAX);
        self.kept.insert((version.to_string(), key), Kept { value, weight });
    }

    /// Bytes the cache holds now (approximately: evictions are applied in batches).
    pub fn cache_bytes(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }
}

/// A cache weighed by the bytes of its keys and JSON texts, holding a share of `memory`.
fn result_cache(memory: MemoryLimit) -> moka::sync::Cache<(String, String), Bytes> {
    let budget = (memory.bytes() as u64 / CACHE_SHARE).clamp(CACHE_MIN_BYTES, CACHE_MAX_BYTES);
    moka::sync::Cache::builder()
        .max_capacity(budget)
        .weigher(|(version, key): &(String, String), json: &Bytes| {
            u32::try_from(version.len() + key.len() + json.len()).unwrap_or(u32::MAX)
        })
        .build()
}

/// A result kept as a value, with its estimated bytes.
#[derive(Clone)]
struct Kept {
    value: Arc<dyn Any + Send + Sync>,
    weight: u32,
}

/// The results kept as values, with a budget of the JSON results' size.
fn kept_cache(memory: MemoryLimit) -> moka::sync::Cache<(String, String), Kept> {
    let budget = (memory.bytes() as u64 / CACHE_SHARE).clamp(CACHE_MIN_BYTES, CACHE_MAX_BYTES);
    moka::sync::Cache::builder().max_capacity(budget).weigher(|_: &(String, String), k: &Kept| k.weight).build()
}

/// Opens the current version; each of the computations that may run at once gets an equal share
/// of `memory`, so none can starve another.
async fn load(store: &Store, memory: MemoryLimit, engine: &Engine) -> Result<Loaded, OpenError> {
    let warehouse = Warehouse::open_on(store, memory, memory.fits(CONCURRENT_QUERIES), engine.clone()).await?;
    Ok(Loaded { version: warehouse.version.manifest.version.clone(), warehouse })
}
