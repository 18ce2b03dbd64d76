//! `notify test` and `notify preview`: a schedule's digest sent now, or written to a file to
//! look at, outside the delivery log (so neither counts as the scheduled delivery).

use crate::model::MemoryLimit;
use crate::notify::Channel;
use crate::schedule::config::Schedule;
use crate::schedule::{Clock, Scheduler};
use crate::warehouse::{Store, Warehouse};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// Which schedule, and which of its digests.
#[derive(Args, Debug)]
pub(super) struct Which {
    /// The warehouse folder.
    #[arg(long)]
    warehouse: PathBuf,
    /// The schedule (default: WAREHOUSE/schedule.toml).
    #[arg(long)]
    schedule: Option<PathBuf>,
    /// The digest (default: every digest for `test`, the first for `preview`).
    #[arg(long)]
    digest: Option<String>,
}

#[derive(Subcommand, Debug)]
pub(super) enum NotifyCmd {
    /// Send a digest now to its recipients and webhooks.
    Test {
        #[command(flatten)]
        which: Which,
    },
    /// Write a digest's e-mail (HTML, and the plain text beside it) to look at in a browser.
    Preview {
        #[command(flatten)]
        which: Which,
        /// The HTML file to write (the text goes beside it, `.txt`).
        #[arg(long, default_value = "digest.html")]
        out: PathBuf,
    },
}

/// The schedule at `path`, or the warehouse's own.
pub(super) fn load_schedule(warehouse: &Path, path: Option<&Path>) -> Result<Schedule> {
    let path = path.map_or_else(|| warehouse.join("schedule.toml"), Path::to_path_buf);
    Ok(Schedule::load(&path)?)
}

pub(super) async fn notify(cmd: NotifyCmd, memory: MemoryLimit) -> Result<()> {
    let Which { warehouse, schedule, digest } = match &cmd {
        NotifyCmd::Test { which } | NotifyCmd::Preview { which, .. } => which,
    };
    let plan = load_schedule(warehouse, schedule.as_deref())?;
    if plan.digests.is_empty() {
        bail!("{}: the schedule has no [[digest]]", plan.path.display());
    }
    let names: Vec<String> = match digest {
        Some(d) => vec![d.clone()],
        None => plan.digests.iter().map(|d| d.name.clone()).collect(),
    };
    let store = Store::new(warehouse);
    let scheduler = Scheduler::new(plan, store.clone(), memory, Clock::default()).map_err(anyhow::Error::msg)?;
    let notifier = scheduler.notifier();
    let wh = Warehouse::open_limited(&store, memory, 1).await?;
    let now = chrono::Utc::now();
    match cmd {
        NotifyCmd::Preview { out, .. } => {
            let (message, _) = notifier.preview(&wh, &names[0], now).await.map_err(anyhow::Error::msg)?;
            std::fs::write(&out, &message.html).with_context(|| out.display().to_string())?;
            let text = out.with_extension("txt");
            std::fs::write(&text, &message.text).with_context(|| text.display().to_string())?;
            eprintln!("wrote {} and {} ({})", out.display(), text.display(), message.subject);
        }
        NotifyCmd::Test { .. } => {
            let mut failed = 0;
            for name in names {
                let (message, channels) = notifier.preview(&wh, &name, now).await.map_err(anyhow::Error::msg)?;
                for c in channels {
                    let id = format!("test/{name}/{now}/{c}");
                    match notifier.send(&c, &message, &id).await {
                        Ok(()) => eprintln!("sent digest {name} to {}", describe(&c)),
                        Err(e) => {
                            failed += 1;
                            eprintln!("digest {name} to {}: {e}", describe(&c));
                        }
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} deliveries failed");
            }
        }
    }
    Ok(())
}

fn describe(c: &Channel) -> String {
    match c {
        Channel::Mail(a) => a.clone(),
        Channel::Webhook(w) => format!("webhook {w}"),
    }
}
