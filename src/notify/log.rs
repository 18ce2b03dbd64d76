//! The delivery log: one JSON line per event (`sending`, `sent`, `failed`, and a digest's
//! `registered`), appended and synced to disk before the next step, in the warehouse folder
//! (`notify/deliveries.jsonl`). It is what makes a delivery happen once: a delivery logged
//! `sent` is never made again, one logged `sending` without an outcome (the process died while
//! sending) is made again with the same Message-ID and delivery id, so a receiver can tell the
//! one case where the first attempt did arrive: the instant between the server's acceptance and
//! the `sent` line.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What happened to a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A digest was first seen with a cadence and a recipient: its occurrences after this are due
    /// to that recipient.
    Registered,
    /// An attempt started.
    Sending,
    /// It was accepted by the server or webhook.
    Sent,
    /// An attempt failed.
    Failed,
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When.
    pub at: DateTime<Utc>,
    /// The delivery (`digest/NAME/DAY/mail:ADDRESS`, `alert/KIND/SEGMENT/MONTH/webhook:NAME`) or
    /// for `registered`, `digest/NAME/CADENCE/CHANNEL`.
    pub id: String,
    /// What happened.
    pub event: Event,
    /// Sent after its time (the server was down when it was due).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// Why an attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the log says of one delivery.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// It was sent.
    pub sent: Option<DateTime<Utc>>,
    /// Failed attempts since the last success or start.
    pub failures: u32,
    /// The last failure: when, and why.
    pub last_failure: Option<(DateTime<Utc>, String)>,
    /// An attempt started and never ended (the process died).
    pub interrupted: bool,
    /// When a digest was registered.
    pub registered: Option<DateTime<Utc>>,
}

/// The delivery log of a warehouse.
pub struct Log {
    path: PathBuf,
    states: Mutex<HashMap<String, State>>,
}

/// Why the log cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LogError {
    /// The log file.
    pub path: PathBuf,
    /// What failed.
    pub message: String,
}

impl Log {
    /// The log in the warehouse folder `root`, read back (a torn last line, from a crash while
    /// writing it, is ignored).
    ///
    /// # Errors
    /// The file cannot be read or created, or a complete line is not an entry.
    pub fn open(root: &Path) -> Result<Log, LogError> {
        let path = root.join("notify").join("deliveries.jsonl");
        let err = |message: String| LogError { path: path.clone(), message };
        std::fs::create_dir_all(path.parent().expect("a parent")).map_err(|e| err(e.to_string()))?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(err(e.to_string())),
        };
        let mut states = HashMap::new();
        let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
        if complete.len() < text.len() {
            // cut the torn line, so that the next entry starts a line of its own
            let f = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| err(e.to_string()))?;
            f.set_len(complete.len() as u64).and_then(|()| f.sync_data()).map_err(|e| err(e.to_string()))?;
        }
        for (n, line) in complete.lines().enumerate() {
            let entry: Entry =
                serde_json::from_str(line).map_err(|e| err(format!("line {}: not a log entry: {e}", n + 1)))?;
            apply(&mut states, &entry);
        }
        Ok(Log { path, states: Mutex::new(states) })
    }

    /// What the log says of `id`.
    pub fn state(&self, id: &str) -> State {
        self.states.lock().expect("the log's lock").get(id).cloned().unwrap_or_default()
    }

    /// Every delivery whose last attempt failed: its id and state.
    pub fn failing(&self) -> Vec<(String, State)> {
        let states = self.states.lock().expect("the log's lock");
        let mut v: Vec<_> = states
            .iter()
            .filter(|(_, s)| s.sent.is_none() && s.failures > 0)
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The last delivery sent: its id and when.
    pub fn last_sent(&self) -> Option<(String, DateTime<Utc>)> {
        let states = self.states.lock().expect("the log's lock");
        states.iter().filter_map(|(k, s)| s.sent.map(|t| (k.clone(), t))).max_by_key(|(_, t)| *t)
    }

    /// Appends `entry` and syncs it to disk before returning.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(&self, entry: Entry) -> Result<(), LogError> {
        let mut line = serde_json::to_string(&entry).expect("an entry serializes");
        line.push('\n');
        let mut states = self.states.lock().expect("the log's lock");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
            f.write_all(line.as_bytes())?;
            f.sync_data()
        };
        write().map_err(|e| LogError { path: self.path.clone(), message: e.to_string() })?;
        apply(&mut states, &entry);
        Ok(())
    }
}

fn apply(states: &mut HashMap<String, State>, e: &Entry) {
    let s = states.entry(e.id.clone()).or_default();
    match e.event {
        Event::Registered => s.registered = s.registered.or(Some(e.at)),
        Event::Sending => s.interrupted = true,
        Event::Sent => {
            s.sent = Some(e.at);
            s.interrupted = false;
            s.failures = 0;
        }
        Event::Failed => {
            s.interrupted = false;
            s.failures += 1;
            s.last_failure = Some((e.at, e.error.clone().unwrap_or_default()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, event: Event) -> Entry {
        Entry { at: Utc::now(), id: id.into(), event, late: false, error: None }
    }

    #[test]
    fn the_log_reads_back_what_was_sent_failed_or_interrupted_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path()).unwrap();
        log.record(entry("a", Event::Sending)).unwrap();
        log.record(entry("a", Event::Sent)).unwrap();
        log.record(entry("b", Event::Sending)).unwrap();
        log.record(Entry { error: Some("refused".into()), ..entry("b", Event::Failed) }).unwrap();
        log.record(entry("c", Event::Sending)).unwrap();
        let file = dir.path().join("notify/deliveries.jsonl");
        let mut f = std::fs::OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(br#"{"at":"2026-12-06T00:00:00Z","id":"d","ev"#).unwrap();
        let back = Log::open(dir.path()).unwrap();
        assert!(back.state("a").sent.is_some());
        assert_eq!(back.state("b").failures, 1);
        assert_eq!(back.state("b").last_failure.unwrap().1, "refused");
        assert!(back.state("c").interrupted && back.state("c").sent.is_none());
        assert_eq!(back.state("d"), State::default());
        assert_eq!(back.failing().len(), 1);
        back.record(entry("e", Event::Sent)).unwrap();
        assert!(Log::open(dir.path()).unwrap().state("e").sent.is_some(), "written after the cut");
    }
}
