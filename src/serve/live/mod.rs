//! Live SQL for the team's own tools: the served warehouse over the PostgreSQL wire protocol
//! ([`pg`], for psql, Metabase, Superset, Grafana, DBeaver) and over Arrow Flight SQL
//! ([`flight`], for ADBC clients), beside the dashboard or alone.
//!
//! Both answer from one [`Live`] catalog: the star schema, the derived tables and the views
//! (`order_lines`, and `revenue_lines`/`revenue_orders`/`revenue_customers` for the default
//! filter, all time) as
//! tables whose every scan reads the version served *now*, so a new import is picked up by the
//! next statement without reconnecting, prepared statements included. The PostgreSQL catalog
//! (`pg_catalog`, `information_schema`) that clients browse comes from `datafusion-pg-catalog`.
//!
//! Everything is read-only: a statement that is not a query is refused before planning, and
//! plans are checked again with DataFusion's `SQLOptions`. Statements share one memory pool (a
//! computation's share of the server's limit), take one of the server's computation permits, and
//! stop at the time limit.

pub mod bounds;
pub mod compat;
pub mod flight;
mod functions;
mod keys;
pub mod pg;
pub mod slots;
mod tables;

use super::state::{AppState, Loaded};
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the live SQL servers are set up.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Serve the PostgreSQL wire protocol here.
    pub pg: Option<SocketAddr>,
    /// Serve Arrow Flight SQL here.
    pub flight: Option<SocketAddr>,
    /// Most connections open at once on each port, counted from when they are accepted; three
    /// quarters of them from one address ([`slots::Slots`]). One more is refused over PostgreSQL
    /// with SQLSTATE 53300 (or closed at once when many are refused together), and closed at once
    /// over Flight SQL.
    pub max_connections: usize,
    /// How long one statement may run (a client's `statement_timeout` can only lower it).
    pub timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions { pg: None, flight: None, max_connections: 128, timeout: Duration::from_secs(60) }
    }
}

/// The largest result a statement may return, in its encoded bytes: results are gathered before
/// they are sent (so that the time limit and a cancel reach the whole execution), and a
/// statement's memory pool does not count them.
pub const MAX_RESULT_BYTES: usize = 128 << 20;

/// What the live servers share: the served state, and the catalog their statements are
/// planned in.
pub struct Live {
    /// The served warehouse, its access control and computation permits.
    pub state: Arc<AppState>,
    ctx: SessionContext,
    /// How long one statement may run.
    pub timeout: Duration,
}

/// The options every live statement is checked against: queries only.
pub fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

impl Live {
    /// The catalog over `state`'s served warehouse.
    ///
    /// # Errors
    /// The warehouse cannot be opened, or a view cannot be defined.
    pub async fn new(state: Arc<AppState>, timeout: Duration) -> Result<Live, DataFusionError> {
        let ctx = tables::catalog(state.clone()).await?;
        Ok(Live { state, ctx, timeout })
    }

    /// The session statements are planned and run in.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The version served now, held by a statement while it runs: an import removes an old
    /// version only once nobody holds it.
    ///
    /// # Errors
    /// A newly published version cannot be opened.
    pub async fn pin(&self) -> Result<Arc<Loaded>, DataFusionError> {
        let (loaded, _) = self.state.current().await.map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(loaded)
    }
}
