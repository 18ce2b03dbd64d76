//! Schedule: keeping a served warehouse fresh and telling people. `schedule.toml`
//! ([`config`]) names the sources imported while serving ([`sources`]) and the digests and
//! alerts sent ([`crate::notify`]), at times in the shop's time zone ([`due`]). The
//! [`Scheduler`] runs them beside the server: one task per source (so two runs of a source
//! never overlap, and a failing one stops nobody else), one for the deliveries, all reading the
//! same [`Clock`]. [`Status`] is what the dashboard and `/healthz` show.

pub mod config;
pub mod due;
pub mod sources;

use crate::model::MemoryLimit;
use crate::notify::{Notifier, NotifyStatus};
use crate::warehouse::{Store, Warehouse};
use chrono::{DateTime, Utc};
use config::Schedule;
use serde::Serialize;
use sources::{Record, SourceRun};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The time the scheduler reads: the system's, or shifted to start at a chosen instant (for
/// trying a schedule out, and for tests that cross a day without waiting one).
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    offset: chrono::Duration,
}

impl Clock {
    /// A clock that reads `start` now and runs at the system clock's pace.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock { offset: start - Utc::now() }
    }

    /// The time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

/// A source as the dashboard shows it.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct SourceStatus {
    /// Its name.
    pub name: String,
    /// The last run that ended, if any.
    pub last_run: Option<DateTime<Utc>>,
    /// The last import it published: when, and the version.
    pub last_import: Option<(DateTime<Utc>, String)>,
    /// Its last error: when, and why. A refused entry's stays until an import succeeds,
    /// a failed run's until a run succeeds.
    pub error: Option<(DateTime<Utc>, String)>,
    /// Whether the error is an entry refused.
    #[serde(skip)]
    refused: bool,
}

/// What the scheduler shows.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ScheduleStatus {
    /// The schedule file.
    pub file: String,
    /// Each source.
    pub sources: Vec<SourceStatus>,
    /// The deliveries.
    pub notify: NotifyStatus,
    /// The next digest due.
    pub next_digest: Option<DateTime<Utc>>,
}

impl ScheduleStatus {
    /// Whether something is failing: a source or a delivery.
    pub fn failing(&self) -> bool {
        self.sources.iter().any(|s| s.error.is_some()) || !self.notify.failing.is_empty()
    }
}

/// The scheduler's shared status.
pub type Status = Arc<Mutex<ScheduleStatus>>;

/// Runs a schedule beside a server.
pub struct Scheduler {
    schedule: Arc<Schedule>,
    store: Store,
    memory: MemoryLimit,
    clock: Clock,
    /// What the dashboard shows.
    pub status: Status,
    record: Arc<tokio::sync::Mutex<Record>>,
    /// One import at a time into the warehouse.
    importing: Arc<tokio::sync::Mutex<()>>,
    notifier: Arc<Notifier>,
}

/// How often the deliveries are looked at (a due digest waits at most this long; a retry's
/// backoff is measured from its failure).
const NOTIFY_EVERY: Duration = Duration::from_secs(5);

impl Scheduler {
    /// The scheduler of `schedule` over the warehouse `store`; imports use up to `memory`.
    ///
    /// # Errors
    /// The delivery log or the import record cannot be read.
    pub fn new(schedule: Schedule, store: Store, memory: MemoryLimit, clock: Clock) -> Result<Scheduler, String> {
        let tz = match schedule.timezone {
            Some(tz) => tz.0,
            None => store
                .current()
                .ok()
                .and_then(|v| v.manifest.timezone.parse::<chrono_tz::Tz>().ok())
                .unwrap_or(chrono_tz::UTC),
        };
        let schedule = Arc::new(schedule);
        let notifier = Notifier::new(schedule.clone(), store.root(), tz).map_err(|e| e.to_string())?;
        let record = Record::load(store.root())?;
        let status = ScheduleStatus {
            file: schedule.path.display().to_string(),
            sources: schedule
                .sources
                .iter()
                .map(|s| {
                    let error = record.refused.get(&s.name).cloned();
                    SourceStatus { name: s.name.clone(), refused: error.is_some(), error, ..Default::default() }
                })
                .collect(),
            notify: notifier.status(),
            next_digest: notifier.next_due(clock.now()),
        };
        Ok(Scheduler {
            schedule,
            store,
            memory,
            clock,
            status: Arc::new(Mutex::new(status)),
            record: Arc::new(tokio::sync::Mutex::new(record)),
            importing: Arc::new(tokio::sync::Mutex::new(())),
            notifier: Arc::new(notifier),
        })
    }

    /// The notifier (for `notify test` and `notify preview`).
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Runs every source and the deliveries until `shutdown`.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, source) in self.schedule.sources.iter().cloned().enumerate() {
            let mut run = SourceRun::new(source, self.store.clone(), self.memory);
            let (record, importing, status, clock, root) = (
                self.record.clone(),
                self.importing.clone(),
                self.status.clone(),
                self.clock,
                self.store.root().to_path_buf(),
            );
            tasks.spawn(async move {
                loop {
                    let wait = run_source(&mut run, i, &record, &importing, &status, clock, &root).await;
                    tokio::time::sleep(wait).await;
                }
            });
        }
        let (notifier, status, clock, store, memory) =
            (self.notifier.clone(), self.status.clone(), self.clock, self.store.clone(), self.memory);
        tasks.spawn(async move {
            let mut opened: Option<(Option<std::time::SystemTime>, Arc<Warehouse>)> = None;
            loop {
                let stamp = store.published_at();
                if opened.as_ref().is_none_or(|(s, _)| *s != stamp) {
                    match Warehouse::open_limited(&store, memory, 1).await {
                        Ok(wh) => opened = Some((stamp, Arc::new(wh))),
                        Err(e) => tracing::warn!(target: "shoplens::notify", error = %e, "cannot open the warehouse"),
                    }
                }
                if let Some((_, wh)) = &opened
                    && let Err(e) = notifier.tick(wh, clock.now()).await
                {
                    tracing::error!(target: "shoplens::notify", error = %e, "the delivery log cannot be written");
                }
                {
                    let mut s = status.lock().expect("the status lock");
                    s.notify = notifier.status();
                    s.next_digest = notifier.next_due(clock.now());
                }
                tokio::time::sleep(NOTIFY_EVERY).await;
            }
        });
        shutdown.await;
        tasks.shutdown().await;
    }
}

/// The least time a source's run is given before it is stopped (at least its interval).
const RUN_LIMIT: Duration = Duration::from_secs(30 * 60);

/// One run of source `i`: returns how long to wait before the next.
async fn run_source(
    run: &mut SourceRun,
    i: usize,
    record: &tokio::sync::Mutex<Record>,
    importing: &tokio::sync::Mutex<()>,
    status: &Status,
    clock: Clock,
    root: &Path,
) -> Duration {
    let _one = importing.lock().await;
    let mut rec = record.lock().await;
    // a read that hangs (a file on a stalled mount) must not stop the source's later runs
    let limit = run.source.every.max(RUN_LIMIT);
    let outcome = match tokio::time::timeout(limit, run.run(&mut rec, clock.now())).await {
        Ok(outcome) => outcome,
        Err(_) => {
            Err(format!("the run took longer than {} s and was stopped; the next run tries again", limit.as_secs()))
        }
    };
    let now = clock.now();
    let name = run.source.name.clone();
    let every = run.source.every;
    let wait = {
        let mut s = status.lock().expect("the status lock");
        let st = &mut s.sources[i];
        st.last_run = Some(now);
        let wait = match outcome {
            Ok(o) => {
                for (version, what) in &o.imported {
                    tracing::info!(target: "shoplens::schedule", source = %name, %version, read = %what, "imported");
                    st.last_import = Some((now, version.clone()));
                }
                match o.refused.last() {
                    Some((entry, why)) => {
                        tracing::warn!(target: "shoplens::schedule", source = %name, %entry, error = %why, "import refused; the previous version stays served");
                        st.error = Some((now, format!("{entry}: {why}")));
                        st.refused = true;
                    }
                    None if !o.imported.is_empty() || !st.refused => st.error = None,
                    None => {}
                }
                o.again_in.map_or(every, |w| w.min(every))
            }
            Err(e) => {
                tracing::warn!(target: "shoplens::schedule", source = %name, error = %e, "source failed");
                st.error = Some((now, e));
                st.refused = false;
                every
            }
        };
        // a refused entry is not tried again: its error must outlive a restart
        match (&st.error, st.refused) {
            (Some(e), true) => rec.refused.insert(name, e.clone()),
            _ => rec.refused.remove(&name),
        };
        wait
    };
    if let Err(e) = rec.save(root) {
        tracing::error!(target: "shoplens::schedule", error = %e, "the import record cannot be written");
    }
    wait
}
