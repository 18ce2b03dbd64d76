//! `schedule.toml`: the sources imported while serving, the digests and alerts sent, and where
//! they go. Parsed strictly (an unknown key is an error that names it) and validated into typed
//! values before anything runs, so a typo never becomes a silently skipped digest.

use super::due::Cadence;
use crate::metrics::compare::Versus;
use crate::model::filter::FilterParams;
use crate::model::{Filter, ShopTz};
use chrono::{NaiveTime, Weekday};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A schedule, validated.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The file it was read from (relative paths in it are relative to its folder).
    pub path: PathBuf,
    /// The time zone digest times are in (default: the warehouse's).
    pub timezone: Option<ShopTz>,
    /// What is imported, and how often.
    pub sources: Vec<Source>,
    /// The SMTP server, if e-mail is sent.
    pub smtp: Option<Smtp>,
    /// The webhooks, by name.
    pub webhooks: Vec<Webhook>,
    /// The digests.
    pub digests: Vec<Digest>,
    /// Where new alerts go, if anywhere.
    pub alerts: Option<Recipients>,
    /// How failed deliveries are retried.
    pub retry: Retry,
}

/// One scheduled source.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its name, unique in the schedule.
    pub name: String,
    /// What it reads.
    pub kind: SourceKind,
    /// How often it is looked at.
    pub every: Duration,
}

/// What a source reads.
#[derive(Clone, Debug)]
pub enum SourceKind {
    /// A folder where exports are dropped: each new entry (an export folder of five CSV files,
    /// or a flat CSV file read with `map`) is appended once it is complete.
    Drop {
        /// The folder.
        folder: PathBuf,
        /// How an entry is known to be complete.
        complete: Completion,
        /// The mapping flat files are read with.
        map: Option<PathBuf>,
    },
    /// A PostgreSQL database, read from its watermark (the `--append` path).
    Postgres {
        /// The URL (from the environment or a file: it may hold a password).
        url: Secret,
        /// The query file, if any.
        query_file: Option<PathBuf>,
    },
    /// A flat export read with its mapping, appended whenever it changes.
    Flat {
        /// The file.
        file: PathBuf,
        /// Its mapping.
        map: PathBuf,
    },
}

/// How a dropped entry is known to be complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Its size and modification time have not changed for this long.
    Settled(Duration),
    /// A marker file `NAME<suffix>` exists beside it.
    Marker(String),
}

/// A secret value: read from an environment variable or a file only its owner can read, at
/// the moment it is used, and never printed (its `Debug` shows where it comes from).
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The variable's name.
    Env(String),
    /// The file's path.
    File(PathBuf),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Env(v) => write!(f, "${v}"),
            Secret::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Secret {
    /// The secret's value.
    ///
    /// # Errors
    /// The variable is unset, or the file cannot be read or others may read it.
    pub fn value(&self) -> Result<String, String> {
        match self {
            Secret::Env(v) => std::env::var(v).map_err(|_| format!("the environment variable {v} is not set")),
            Secret::File(p) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(format!(
                            "{}: others may read this secret; make it readable by its owner only (chmod 600)",
                            p.display()
                        ));
                    }
                }
                let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                Ok(text.trim_end_matches(['\n', '\r']).to_string())
            }
        }
    }
}

/// How e-mail is sent.
#[derive(Clone, Debug)]
pub struct Smtp {
    /// The server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// The user name, if the server wants one.
    pub username: Option<String>,
    /// The password.
    pub password: Option<Secret>,
    /// The sender (`Name <address>`).
    pub from: String,
}

/// An SMTP connection's protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain text upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// No TLS: only to a server on loopback.
    None,
}

/// A webhook.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Its name, which digests and alerts refer to.
    pub name: String,
    /// Its body's shape.
    pub format: WebhookFormat,
    /// Its URL (a secret: a Slack or Teams URL is its own credential).
    pub url: Secret,
    /// The HMAC-SHA256 key that signs a `json` body.
    pub secret: Option<Secret>,
}

/// A webhook body's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    /// Slack's incoming webhooks (`text` and `blocks`).
    Slack,
    /// Microsoft Teams' incoming webhooks (a message card).
    Teams,
    /// shoplens's own JSON, signed with HMAC-SHA256 in `X-Shoplens-Signature`.
    Json,
}

/// Where something is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// E-mail addresses.
    pub to: Vec<String>,
    /// Webhook names.
    pub webhooks: Vec<String>,
}

/// One digest.
#[derive(Clone, Debug)]
pub struct Digest {
    /// Its name, unique in the schedule.
    pub name: String,
    /// When it is sent, and the period it covers.
    pub cadence: Cadence,
    /// What the period is compared with.
    pub versus: Versus,
    /// The selection it reports on (its range is the period's).
    pub filter: Filter,
    /// Where it goes.
    pub recipients: Recipients,
}

/// How failed deliveries are retried: after `first`, then twice as long each time, up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// The first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { first: Duration::from_secs(30), max: Duration::from_secs(3600) }
    }
}

impl Retry {
    /// The wait after the `failures`-th failure in a row (1 for the first).
    pub fn wait(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// Why a schedule cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ScheduleError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, naming the key.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    timezone: Option<String>,
    #[serde(default)]
    source: Vec<RawSource>,
    smtp: Option<RawSmtp>,
    #[serde(default)]
    webhook: Vec<RawWebhook>,
    #[serde(default)]
    digest: Vec<RawDigest>,
    alerts: Option<RawRecipients>,
    retry: Option<RawRetry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    every: String,
    folder: Option<PathBuf>,
    settle: Option<String>,
    marker: Option<String>,
    map: Option<PathBuf>,
    postgres_env: Option<String>,
    postgres_file: Option<PathBuf>,
    query_file: Option<PathBuf>,
    file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    from: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    name: String,
    format: String,
    url_env: Option<String>,
    url_file: Option<PathBuf>,
    secret_env: Option<String>,
    secret_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRecipients {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    webhooks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    category: Option<String>,
    country: Option<String>,
    method: Option<String>,
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    name: String,
    every: String,
    at: Option<String>,
    weekday: Option<String>,
    day: Option<u32>,
    compare: Option<String>,
    filter: Option<RawFilter>,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    webhooks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    first: Option<String>,
    max: Option<String>,
}

fn duration(key: &str, text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{key} = {text:?}: {e} (write e.g. \"30s\", \"5m\", \"1h\")"))?;
    if d.is_zero() {
        return Err(format!("{key} = {text:?}: must be longer than zero"));
    }
    Ok(d)
}

fn secret(key: &str, env: Option<String>, file: Option<PathBuf>, base: &Path) -> Result<Option<Secret>, String> {
    match (env, file) {
        (Some(_), Some(_)) => Err(format!("give {key}_env or {key}_file, not both")),
        (Some(v), None) => Ok(Some(Secret::Env(v))),
        (None, Some(f)) => Ok(Some(Secret::File(base.join(f)))),
        (None, None) => Ok(None),
    }
}

fn address(key: &str, a: &str) -> Result<(), String> {
    a.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| format!("{key}: {a:?} is not an e-mail address ({e})"))
}

impl Schedule {
    /// Reads and validates the schedule at `path`.
    ///
    /// # Errors
    /// The file cannot be read, is not TOML, has an unknown key, or a value is not acceptable.
    pub fn load(path: &Path) -> Result<Schedule, ScheduleError> {
        let err = |message: String| ScheduleError { path: path.to_path_buf(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Schedule::parse(&text, path).map_err(err)
    }

    /// Validates the schedule in `text`, read from `path`.
    ///
    /// # Errors
    /// As [`Schedule::load`], the message without the path.
    pub fn parse(text: &str, path: &Path) -> Result<Schedule, String> {
        let raw: RawSchedule = toml::from_str(text).map_err(|e| e.to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        let timezone = raw.timezone.map(|t| t.parse::<ShopTz>().map_err(|e| format!("timezone: {e}"))).transpose()?;
        let mut names = BTreeSet::new();
        let mut sources = Vec::new();
        for s in raw.source {
            let at = format!("source {:?}", s.name);
            if s.name.is_empty() || !names.insert(s.name.clone()) {
                return Err(format!("{at}: each source needs a name of its own"));
            }
            let every = duration(&format!("{at}: every"), &s.every)?;
            let url = secret(&format!("{at}: postgres"), s.postgres_env, s.postgres_file, base)?;
            let kind = match (s.folder, url, s.file) {
                (Some(folder), None, None) => {
                    let complete = match (s.settle, s.marker) {
                        (Some(_), Some(_)) => return Err(format!("{at}: give settle or marker, not both")),
                        (_, Some(m)) if m.is_empty() || m.contains('/') => {
                            return Err(format!("{at}: marker is a file name suffix such as \".done\""));
                        }
                        (_, Some(m)) => Completion::Marker(m),
                        (Some(t), None) => Completion::Settled(duration(&format!("{at}: settle"), &t)?),
                        (None, None) => Completion::Settled(Duration::from_secs(5)),
                    };
                    SourceKind::Drop { folder: base.join(folder), complete, map: s.map.map(|m| base.join(m)) }
                }
                (None, Some(url), None) => {
                    if s.map.is_some() || s.settle.is_some() || s.marker.is_some() {
                        return Err(format!("{at}: map, settle and marker are for folders and files"));
                    }
                    SourceKind::Postgres { url, query_file: s.query_file.map(|q| base.join(q)) }
                }
                (None, None, Some(file)) => {
                    let Some(map) = s.map else {
                        return Err(format!("{at}: a flat file needs its mapping: map = \"mapping.toml\""));
                    };
                    SourceKind::Flat { file: base.join(file), map: base.join(map) }
                }
                _ => {
                    return Err(format!(
                        "{at}: give exactly one of folder (a drop folder), postgres_env/postgres_file (a database) \
                         or file (a flat export)"
                    ));
                }
            };
            sources.push(Source { name: s.name, kind, every });
        }
        let smtp = raw
            .smtp
            .map(|s| -> Result<Smtp, String> {
                let security = match s.security.as_deref().unwrap_or("starttls") {
                    "starttls" => Security::StartTls,
                    "tls" => Security::Tls,
                    "none" => Security::None,
                    other => {
                        return Err(format!("smtp: security = {other:?}: write \"starttls\", \"tls\" or \"none\""));
                    }
                };
                let port = s.port.unwrap_or(match security {
                    Security::Tls => 465,
                    Security::StartTls => 587,
                    Security::None => 25,
                });
                address("smtp: from", &s.from)?;
                let password = secret("smtp: password", s.password_env, s.password_file, base)?;
                if password.is_some() && s.username.is_none() {
                    return Err("smtp: a password needs its username".into());
                }
                Ok(Smtp { host: s.host, port, security, username: s.username, password, from: s.from })
            })
            .transpose()?;
        let mut webhooks = Vec::new();
        for w in raw.webhook {
            let at = format!("webhook {:?}", w.name);
            if w.name.is_empty() || webhooks.iter().any(|x: &Webhook| x.name == w.name) {
                return Err(format!("{at}: each webhook needs a name of its own"));
            }
            let format = match w.format.as_str() {
                "slack" => WebhookFormat::Slack,
                "teams" => WebhookFormat::Teams,
                "json" => WebhookFormat::Json,
                other => return Err(format!("{at}: format = {other:?}: write \"slack\", \"teams\" or \"json\"")),
            };
            let url = secret(&format!("{at}: url"), w.url_env, w.url_file, base)?
                .ok_or_else(|| format!("{at}: give url_env or url_file (a webhook URL is a credential)"))?;
            let key = secret(&format!("{at}: secret"), w.secret_env, w.secret_file, base)?;
            if format == WebhookFormat::Json && key.is_none() {
                return Err(format!("{at}: a json webhook is signed: give secret_env or secret_file"));
            }
            webhooks.push(Webhook { name: w.name, format, url, secret: key });
        }
        let recipients = |at: &str, to: Vec<String>, hooks: Vec<String>| -> Result<Recipients, String> {
            for a in &to {
                address(&format!("{at}: to"), a)?;
            }
            for h in &hooks {
                if !webhooks.iter().any(|w| &w.name == h) {
                    return Err(format!("{at}: no webhook is named {h:?}"));
                }
            }
            if !to.is_empty() && smtp.is_none() {
                return Err(format!("{at}: e-mail recipients need an [smtp] section"));
            }
            if to.is_empty() && hooks.is_empty() {
                return Err(format!("{at}: name its recipients (to = [...]) or webhooks (webhooks = [...])"));
            }
            Ok(Recipients { to, webhooks: hooks })
        };
        let mut digests = Vec::new();
        let mut digest_names = BTreeSet::new();
        for d in raw.digest {
            let at = format!("digest {:?}", d.name);
            if d.name.is_empty() || !digest_names.insert(d.name.clone()) {
                return Err(format!("{at}: each digest needs a name of its own"));
            }
            let time = match d.at.as_deref() {
                None => NaiveTime::from_hms_opt(8, 0, 0).expect("a valid time"),
                Some(t) => NaiveTime::parse_from_str(t, "%H:%M")
                    .map_err(|_| format!("{at}: at = {t:?}: write the time as HH:MM, e.g. \"08:00\""))?,
            };
            let cadence = match d.every.as_str() {
                "day" => {
                    if d.weekday.is_some() || d.day.is_some() {
                        return Err(format!("{at}: weekday and day are for weekly and monthly digests"));
                    }
                    Cadence::Daily { at: time }
                }
                "week" => {
                    let w = d.weekday.as_deref().unwrap_or("monday");
                    let weekday =
                        w.parse::<Weekday>().map_err(|_| format!("{at}: weekday = {w:?} is not a weekday"))?;
                    Cadence::Weekly { on: weekday, at: time }
                }
                "month" => {
                    let day = d.day.unwrap_or(1);
                    if !(1..=28).contains(&day) {
                        return Err(format!("{at}: day = {day}: a monthly digest goes out on day 1 to 28"));
                    }
                    Cadence::Monthly { day, at: time }
                }
                other => return Err(format!("{at}: every = {other:?}: write \"day\", \"week\" or \"month\"")),
            };
            let versus = match d.compare.as_deref() {
                None => Versus::PreviousPeriod,
                Some(v) => v.parse::<Versus>().map_err(|e| format!("{at}: compare: {e}"))?,
            };
            let filter = match d.filter {
                None => Filter::default(),
                Some(f) => Filter::parse(FilterParams {
                    category: f.category.as_deref(),
                    country: f.country.as_deref(),
                    method: f.method.as_deref(),
                    channel: f.channel.as_deref(),
                    ..Default::default()
                })
                .map_err(|e| format!("{at}: filter: {e}"))?,
            };
            let recipients = recipients(&at, d.to, d.webhooks)?;
            digests.push(Digest { name: d.name, cadence, versus, filter, recipients });
        }
        let alerts = raw.alerts.map(|a| recipients("alerts", a.to, a.webhooks)).transpose()?;
        let retry = match raw.retry {
            None => Retry::default(),
            Some(r) => {
                let d = Retry::default();
                let first = r.first.map(|t| duration("retry: first", &t)).transpose()?.unwrap_or(d.first);
                let max = r.max.map(|t| duration("retry: max", &t)).transpose()?.unwrap_or(d.max);
                if max < first {
                    return Err("retry: max is shorter than first".into());
                }
                Retry { first, max }
            }
        };
        Ok(Schedule { path: path.to_path_buf(), timezone, sources, smtp, webhooks, digests, alerts, retry })
    }

    /// The webhook named `name`.
    pub fn webhook(&self, name: &str) -> Option<&Webhook> {
        self.webhooks.iter().find(|w| w.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Schedule, String> {
        Schedule::parse(text, Path::new("/etc/shoplens/schedule.toml"))
    }

    #[test]
    fn a_typo_or_a_dangling_name_is_an_error_that_names_it() {
        let e = parse("[[digest]]\nname = \"d\"\nevery = \"day\"\nat = \"08:00\"\nwebhook = [\"x\"]\n").unwrap_err();
        assert!(e.contains("unknown field `webhook`"), "{e}");
        let e = parse("[[digest]]\nname = \"d\"\nevery = \"day\"\nwebhooks = [\"slack\"]\n").unwrap_err();
        assert!(e.contains("no webhook is named \"slack\""), "{e}");
        let e = parse("[[digest]]\nname = \"d\"\nevery = \"day\"\nto = [\"a@b.example\"]\n").unwrap_err();
        assert!(e.contains("[smtp]"), "{e}");
        let e = parse("[[digest]]\nname = \"d\"\nevery = \"fortnight\"\n").unwrap_err();
        assert!(e.contains("fortnight"), "{e}");
        let e = parse("[[source]]\nname = \"s\"\nevery = \"soon\"\nfolder = \"drop\"\n").unwrap_err();
        assert!(e.contains("every"), "{e}");
        let hook = "[[webhook]]\nname = \"h\"\nformat = \"json\"\nurl_env = \"U\"\n";
        assert!(parse(hook).unwrap_err().contains("signed"), "a json webhook needs its key");
        let e = parse("[smtp]\nhost = \"h\"\nfrom = \"not an address\"\n").unwrap_err();
        assert!(e.contains("from"), "{e}");
    }

    #[test]
    fn a_complete_schedule_reads_into_typed_values() {
        let s = parse(
            r#"
timezone = "Europe/Berlin"
[[source]]
name = "drop"
folder = "drop"
every = "1m"
marker = ".done"
[smtp]
host = "smtp.example.com"
username = "u"
password_env = "P"
from = "shoplens <r@example.com>"
[[webhook]]
name = "slack"
format = "slack"
url_file = "slack-url"
[[digest]]
name = "weekly-de"
every = "week"
weekday = "tuesday"
at = "07:30"
compare = "previous_year"
to = ["m@example.com"]
webhooks = ["slack"]
[digest.filter]
country = "DE"
[retry]
first = "10s"
"#,
        )
        .unwrap();
        match &s.sources[0].kind {
            SourceKind::Drop { folder, complete, .. } => {
                assert_eq!(folder, Path::new("/etc/shoplens/drop"));
                assert_eq!(complete, &Completion::Marker(".done".into()));
            }
            other => panic!("{other:?}"),
        }
        let smtp = s.smtp.as_ref().unwrap();
        assert_eq!((smtp.port, smtp.security), (587, Security::StartTls));
        let d = &s.digests[0];
        assert_eq!(d.cadence, Cadence::Weekly { on: Weekday::Tue, at: NaiveTime::from_hms_opt(7, 30, 0).unwrap() });
        assert_eq!(d.versus, Versus::PreviousYear);
        assert_eq!(d.filter.country(), Some("DE"));
        assert_eq!(s.retry.wait(1), Duration::from_secs(10));
        assert_eq!(s.retry.wait(3), Duration::from_secs(40));
        assert_eq!(s.retry.wait(30), Duration::from_secs(3600));
        assert_eq!(
            format!("{:?}", s.webhooks[0].url),
            "/etc/shoplens/slack-url",
            "a secret shows where it is, not what"
        );
    }
}
