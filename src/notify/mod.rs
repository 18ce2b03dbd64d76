//! Notify: digests and alerts delivered by e-mail and webhooks, each exactly once.
//!
//! [`Notifier::tick`] is the whole job: given the clock's reading, it sends every digest
//! occurrence due since the digest was first scheduled (a missed one late, once, marked late),
//! every new alert (once per segment and month), and retries failed deliveries with backoff.
//! Each delivery (one digest occurrence to one recipient or webhook) goes through the
//! [`log::Log`]: `sending` is synced to disk before the attempt, `sent` or `failed` after it.

pub mod digest;
pub mod log;
pub mod render;
pub mod send;

use crate::analysis::Ctx;
use crate::analysis::insights::Alerts;
use crate::schedule::config::{Digest, Recipients, Schedule};
use crate::schedule::due::Occurrence;
use crate::warehouse::Warehouse;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use log::{Entry, Event, Log, LogError};
use render::Message;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// An occurrence sent this long after it was due is marked late.
pub const GRACE: chrono::Duration = chrono::Duration::minutes(5);

/// One place a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    /// An e-mail address.
    Mail(String),
    /// A webhook, by name.
    Webhook(String),
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Mail(a) => write!(f, "mail:{a}"),
            Channel::Webhook(w) => write!(f, "webhook:{w}"),
        }
    }
}

fn channels(r: &Recipients) -> Vec<Channel> {
    r.to.iter().cloned().map(Channel::Mail).chain(r.webhooks.iter().cloned().map(Channel::Webhook)).collect()
}

/// What a tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Deliveries sent (their ids).
    pub sent: Vec<String>,
    /// Deliveries that failed, with why.
    pub failed: Vec<(String, String)>,
}

/// What the dashboard and `/healthz` show of the deliveries.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct NotifyStatus {
    /// The last delivery sent, and when.
    pub last_sent: Option<(String, DateTime<Utc>)>,
    /// Deliveries whose last attempt failed.
    pub failing: Vec<FailingDelivery>,
}

/// A delivery being retried.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FailingDelivery {
    /// The delivery.
    pub id: String,
    /// Failed attempts in a row.
    pub failures: u32,
    /// The last error.
    pub error: String,
    /// When it failed last.
    pub at: DateTime<Utc>,
    /// When it is tried again.
    pub next_attempt: DateTime<Utc>,
}

/// Sends a schedule's digests and alerts.
pub struct Notifier {
    /// The schedule.
    pub schedule: Arc<Schedule>,
    /// The delivery log.
    pub log: Log,
    /// The time zone digest times are in.
    pub tz: Tz,
    /// The warehouse version whose alerts were last checked.
    alerts_checked: std::sync::Mutex<Option<String>>,
}

impl Notifier {
    /// Sends `schedule`'s messages, logging them in the warehouse folder `root`.
    ///
    /// # Errors
    /// The log cannot be opened.
    pub fn new(schedule: Arc<Schedule>, root: &Path, tz: Tz) -> Result<Notifier, LogError> {
        Ok(Notifier { schedule, log: Log::open(root)?, tz, alerts_checked: std::sync::Mutex::new(None) })
    }

    /// When digest `d` was first scheduled to `channel` with its cadence, registering it at
    /// `now` if it is new: a recipient added later, or a cadence changed, counts from then, and
    /// is not sent the digests of the time before.
    fn registered(&self, d: &Digest, channel: &Channel, now: DateTime<Utc>) -> Result<DateTime<Utc>, LogError> {
        let id = format!("digest/{}/{:?}/{channel}", d.name, d.cadence);
        if let Some(at) = self.log.state(&id).registered {
            return Ok(at);
        }
        self.log.record(Entry { at: now, id, event: Event::Registered, late: false, error: None })?;
        Ok(now)
    }

    /// The next instant a digest is due after `now`.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.digests.iter().map(|d| d.cadence.next(self.tz, now).due).min()
    }

    /// Whether delivery `id` should be attempted at `now`: not sent, and past its backoff.
    fn due(&self, id: &str, now: DateTime<Utc>) -> bool {
        let s = self.log.state(id);
        if s.sent.is_some() {
            return false;
        }
        match s.last_failure {
            Some((at, _)) => {
                let wait = self.schedule.retry.wait(s.failures);
                now >= at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
            }
            None => true,
        }
    }

    /// Sends what is due at `now`, from `wh`.
    ///
    /// # Errors
    /// The log cannot be written (nothing more is attempted then: a delivery must not happen
    /// unlogged).
    pub async fn tick(&self, wh: &Warehouse, now: DateTime<Utc>) -> Result<TickReport, LogError> {
        let mut report = TickReport::default();
        for d in &self.schedule.digests {
            let mut since = Vec::new();
            for c in channels(&d.recipients) {
                since.push((self.registered(d, &c, now)?, c));
            }
            let Some(first) = since.iter().map(|(at, _)| *at).min() else { continue };
            for o in d.cadence.between(self.tz, first, now) {
                let pending: Vec<(String, Channel)> = since
                    .iter()
                    .filter(|(at, _)| o.due > *at)
                    .map(|(_, c)| (format!("digest/{}/{}/{c}", d.name, o.key()), c.clone()))
                    .filter(|(id, _)| self.due(id, now))
                    .collect();
                if pending.is_empty() {
                    continue;
                }
                let late = now - o.due > GRACE;
                let message = self.digest_message(wh, d, &o, late).await;
                for (id, c) in pending {
                    self.deliver(&id, &c, message.as_ref(), late, now, &mut report).await?;
                }
            }
        }
        self.alerts(wh, now, &mut report).await?;
        Ok(report)
    }

    async fn digest_message(&self, wh: &Warehouse, d: &Digest, o: &Occurrence, late: bool) -> Result<Message, String> {
        let content = digest::compose(wh, &d.name, &d.filter, (o.from, o.to), d.versus, late)
            .await
            .map_err(|e| format!("digest {}: {e}", d.name))?;
        Ok(render::digest(&content))
    }

    async fn alerts(&self, wh: &Warehouse, now: DateTime<Utc>, report: &mut TickReport) -> Result<(), LogError> {
        let Some(to) = &self.schedule.alerts else { return Ok(()) };
        let version = wh.version.manifest.version.clone();
        let retrying = self.log.failing().iter().any(|(id, _)| id.starts_with("alert/"));
        if !retrying && self.alerts_checked.lock().expect("the lock").as_deref() == Some(version.as_str()) {
            return Ok(());
        }
        let alerts = match Ctx::new(wh).run::<Alerts>(&()).await {
            Ok(a) => a,
            Err(e) => {
                report.failed.push(("alerts".into(), e.to_string()));
                return Ok(());
            }
        };
        let currency = wh.version.manifest.currency.as_ref().map(ToString::to_string);
        for a in &alerts.alerts {
            let message = render::alert(a, currency.as_deref());
            for c in channels(to) {
                let id = format!("alert/{}/{}/{}/{c}", a.kind, a.segment, a.month);
                if self.due(&id, now) {
                    self.deliver(&id, &c, Ok(&message), false, now, report).await?;
                }
            }
        }
        *self.alerts_checked.lock().expect("the lock") = Some(version);
        Ok(())
    }

    async fn deliver(
        &self,
        id: &str,
        channel: &Channel,
        message: Result<&Message, &String>,
        late: bool,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), LogError> {
        let entry = |event, error| Entry { at: now, id: id.to_string(), event, late, error };
        let result = match message {
            Err(e) => Err(e.clone()),
            Ok(m) => {
                self.log.record(entry(Event::Sending, None))?;
                self.send(channel, m, id).await
            }
        };
        match result {
            Ok(()) => {
                self.log.record(entry(Event::Sent, None))?;
                tracing::info!(target: "shoplens::notify", delivery = id, late, "sent");
                report.sent.push(id.to_string());
            }
            Err(e) => {
                self.log.record(entry(Event::Failed, Some(e.clone())))?;
                tracing::warn!(target: "shoplens::notify", delivery = id, error = %e, "delivery failed; retried later");
                report.failed.push((id.to_string(), e));
            }
        }
        Ok(())
    }

    /// Sends `message` to `channel` as delivery `id`, unlogged.
    ///
    /// # Errors
    /// The channel is not configured, or the server or receiver refuses.
    pub async fn send(&self, channel: &Channel, message: &Message, id: &str) -> Result<(), String> {
        match channel {
            Channel::Mail(to) => {
                let smtp = self.schedule.smtp.as_ref().ok_or("no [smtp] section")?;
                send::mail(smtp, to, message, id).await
            }
            Channel::Webhook(name) => {
                let hook = self.schedule.webhook(name).ok_or_else(|| format!("no webhook is named {name:?}"))?;
                send::webhook(hook, message, id).await
            }
        }
    }

    /// The message digest `name` would send for its latest occurrence up to `now` whose period
    /// ends by the data's last day.
    ///
    /// # Errors
    /// No digest has that name, or its figures cannot be computed.
    pub async fn preview(
        &self,
        wh: &Warehouse,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(Message, Vec<Channel>), String> {
        let d = self
            .schedule
            .digests
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| format!("the schedule has no digest named {name:?}"))?;
        // the latest occurrence whose period the data covers (an old export's digest would
        // otherwise report days without orders)
        let last = crate::metrics::dimensions(wh).await.ok().and_then(|d| d.last_date);
        let end_of = |day: chrono::NaiveDate| {
            crate::schedule::due::instant(self.tz, day, chrono::NaiveTime::from_hms_opt(23, 59, 59).expect("a time"))
        };
        let upto = last.and_then(|l| l.succ_opt()).map_or(now, |next| now.min(end_of(next)));
        let back = upto - chrono::Duration::days(40);
        let o = d
            .cadence
            .between(self.tz, back, upto)
            .pop()
            .ok_or_else(|| format!("digest {name} has no occurrence before {now}"))?;
        Ok((self.digest_message(wh, d, &o, false).await?, channels(&d.recipients)))
    }

    /// The deliveries' status at `now`.
    pub fn status(&self) -> NotifyStatus {
        let failing = self
            .log
            .failing()
            .into_iter()
            .filter_map(|(id, s)| {
                let (at, error) = s.last_failure?;
                let wait = chrono::Duration::from_std(self.schedule.retry.wait(s.failures)).ok()?;
                Some(FailingDelivery { id, failures: s.failures, error, at, next_attempt: at + wait })
            })
            .collect();
        NotifyStatus { last_sent: self.log.last_sent(), failing }
    }
}
