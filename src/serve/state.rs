//! The server's shared state: the current warehouse version (swapped in when an import publishes a
//! new one) and a small cache of computed results per version and request.

use crate::model::MemoryLimit;
use crate::warehouse::store::MANIFEST;
use crate::warehouse::{OpenError, Store, Warehouse};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{RwLock, Semaphore};

/// How many results the cache keeps before it starts over.
const CACHE_ENTRIES: usize = 512;
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
    cache: Mutex<HashMap<(String, String), Arc<serde_json::Value>>>,
    /// Bounds the work running at once.
    pub permits: Semaphore,
    /// The ISO 4217 code the page formats money in.
    pub currency: String,
    memory: MemoryLimit,
}

impl AppState {
    /// Opens the store's current version.
    ///
    /// # Errors
    /// No warehouse there, or it cannot be opened.
    pub async fn open(store: Store, currency: String, memory: MemoryLimit) -> Result<AppState, OpenError> {
        let stamp = manifest_stamp(&store);
        let loaded = load(&store, memory).await?;
        Ok(AppState {
            store,
            current: RwLock::new((stamp, Arc::new(loaded))),
            cache: Mutex::new(HashMap::new()),
            permits: Semaphore::new(memory.fits(CONCURRENT_QUERIES)),
            currency,
            memory,
        })
    }

    /// The current version, reopened first if an import has published a newer one since; the
    /// flag says whether this call opened it.
    ///
    /// # Errors
    /// The new version cannot be opened (the old one is then kept).
    pub async fn current(&self) -> Result<(Arc<Loaded>, bool), OpenError> {
        let stamp = manifest_stamp(&self.store);
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
        let loaded = load(&self.store, self.memory).await?;
        let fresh = loaded.version != cur.1.version;
        if fresh {
            self.cache.lock().expect("cache lock").clear();
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

    /// A cached result for `(version, key)`.
    pub fn cached(&self, version: &str, key: &str) -> Option<Arc<serde_json::Value>> {
        self.cache.lock().expect("cache lock").get(&(version.to_string(), key.to_string())).cloned()
    }

    /// Caches a result.
    pub fn remember(&self, version: &str, key: &str, value: Arc<serde_json::Value>) {
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert((version.to_string(), key.to_string()), value);
    }
}

/// The manifest's modification time: it changes exactly when an import publishes.
fn manifest_stamp(store: &Store) -> Option<SystemTime> {
    std::fs::metadata(store.root().join(MANIFEST)).and_then(|m| m.modified()).ok()
}

/// Opens the current version; each of the computations that may run at once gets an equal share
/// of `memory`, so none can starve another.
async fn load(store: &Store, memory: MemoryLimit) -> Result<Loaded, OpenError> {
    let warehouse = Warehouse::open_limited(store, memory, memory.fits(CONCURRENT_QUERIES)).await?;
    Ok(Loaded { version: warehouse.version.manifest.version.clone(), warehouse })
}
