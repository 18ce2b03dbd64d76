//! Where a warehouse's queries run: in this process (DataFusion), or on an Apache Ballista cluster
//! (`ballista://HOST:PORT`, with the `ballista` cargo feature) whose executors read the same
//! Parquet files.
//!
//! On Ballista a session sends each query's plan to the scheduler, which splits it into stages
//! that the executors run and exchange through shuffle files. Everything else about a session is
//! unchanged: the same tables, views, SQL files and parameters.

use std::fmt;
use std::str::FromStr;

/// What a build without the feature says when asked for Ballista.
pub(crate) const NO_BALLISTA: &str =
    "this shoplens was built without Ballista; build it with `cargo build --release --features ballista`";

/// Ballista's default scheduler port.
pub(crate) const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// The query engine a warehouse is opened on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A Ballista scheduler, by host and port.
    Ballista {
        /// The scheduler's host name or IP address.
        host: String,
        /// The scheduler's gRPC port.
        port: u16,
    },
}

impl Engine {
    /// Whether queries run in this process.
    pub(crate) fn is_local(&self) -> bool {
        matches!(self, Engine::Local)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista { host, port } => write!(f, "ballista://{}", authority(host, *port)),
        }
    }
}

impl FromStr for Engine {
    type Err = String;

    /// `local`, or `ballista://HOST[:PORT]` (port 50050 by default).
    fn from_str(s: &str) -> Result<Engine, String> {
        if s == "local" {
            return Ok(Engine::Local);
        }
        let Some(rest) = s.strip_prefix("ballista://") else {
            return Err(format!("{s:?}: give local or ballista://HOST:PORT"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_host_port(rest).ok_or_else(|| format!("{s:?}: give ballista://HOST:PORT"))?;
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("{s:?}: {p} is not a port"))?,
            None => DEFAULT_SCHEDULER_PORT,
        };
        if !cfg!(feature = "ballista") {
            return Err(format!("{s}: {NO_BALLISTA}"));
        }
        Ok(Engine::Ballista { host: host.to_string(), port })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; `None` when the host is empty or has characters
/// no host name has.
pub(crate) fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let valid = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c));
    valid.then_some((host, port))
}

/// A session with `state`'s configuration and runtime that sends its queries to the Ballista
/// scheduler at `host`:`port`.
#[cfg(feature = "ballista")]
pub(crate) async fn ballista_context(
    state: datafusion::execution::SessionState,
    host: &str,
    port: u16,
) -> Result<datafusion::prelude::SessionContext, datafusion::error::DataFusionError> {
    use ballista::prelude::{SessionConfigExt, SessionContextExt};
    use ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED;
    let mut state = state;
    // Ballista 55's adaptive planner hangs a job whose filter leaves a stage empty: it decides
    // to cancel the stages that no longer matter, which it has not implemented ("stages to be
    // cancelled but its not implemented"), and the job never ends. The static planner runs
    // every stage and finishes.
    let config = state.config().clone().upgrade_for_ballista().set_bool(BALLISTA_ADAPTIVE_PLANNER_ENABLED, false);
    *state.config_mut() = config;
    datafusion::prelude::SessionContext::remote_with_state(&format!("df://{}", authority(host, port)), state).await
}

/// `host:port`, an IPv6 host in brackets.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Fails unless `engine`'s scheduler answers a connection within ten seconds (so that a wrong
/// address is said once, plainly, instead of by every query), with what the connection said.
pub(crate) async fn probe(engine: &Engine) -> Result<(), String> {
    match engine {
        Engine::Local => Ok(()),
        #[cfg(feature = "ballista")]
        Engine::Ballista { host, port } => {
            use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
            let connect = SchedulerGrpcClient::connect(format!("http://{}", authority(host, *port)));
            match tokio::time::timeout(std::time::Duration::from_secs(10), connect).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => {
                    // tonic's own message is "transport error": the innermost cause says what
                    let mut cause: &dyn std::error::Error = &e;
                    while let Some(c) = cause.source() {
                        cause = c;
                    }
                    Err(cause.to_string())
                }
                Err(_) => Err("no answer within 10 s".to_string()),
            }
        }
        #[cfg(not(feature = "ballista"))]
        Engine::Ballista { .. } => Err(NO_BALLISTA.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_engines() {
        assert_eq!("local".parse(), Ok(Engine::Local));
        for bad in ["", "ballista", "ballista://", "ballista://:1", "ballista://h:0", "ballista://h:x", "spark://h:1"] {
            assert!(bad.parse::<Engine>().is_err(), "{bad}");
        }
        let parsed = "ballista://sched.local:7000".parse::<Engine>();
        if cfg!(feature = "ballista") {
            assert_eq!(parsed, Ok(Engine::Ballista { host: "sched.local".into(), port: 7000 }));
            assert_eq!("ballista://[::1]".parse::<Engine>().unwrap().to_string(), "ballista://[::1]:50050");
        } else {
            assert!(parsed.unwrap_err().contains("--features ballista"));
        }
    }
}
