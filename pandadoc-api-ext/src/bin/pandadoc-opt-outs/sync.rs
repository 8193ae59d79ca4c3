//! `sync`: the opt-out sync into a state file (changes on stdout) or a ledger.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use pandadoc_api_ext::Client;
use pandadoc_api_ext::ledger::{Access, AnyLedger, LedgerOptions};
use pandadoc_api_ext::sync::{
    CheckpointStore, FileStore, OptOutSync, StoreError, SyncError, WindowReport,
};

use crate::args::{SyncArgs, SyncTarget};
use crate::failure::Failure;
use crate::output::Lines;

/// Set on SIGINT or SIGTERM (Ctrl-C elsewhere): finish the window under way, then stop.
#[derive(Clone)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
}

impl Stop {
    pub fn listen() -> Self {
        let stop = Self {
            flag: Arc::default(),
            wake: Arc::default(),
        };
        let s = stop.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                match signal(SignalKind::terminate()) {
                    Ok(mut terminate) => tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = terminate.recv() => {}
                    },
                    Err(_) => drop(tokio::signal::ctrl_c().await),
                }
            }
            #[cfg(not(unix))]
            drop(tokio::signal::ctrl_c().await);
            s.flag.store(true, Ordering::SeqCst);
            s.wake.notify_waiters();
        });
        stop
    }

    fn stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once stopped.
    pub async fn wait(&self) {
        while !self.sleep(Duration::from_secs(3600)).await {}
    }

    /// Waits `pause`; `true` if stopped meanwhile.
    pub async fn sleep(&self, pause: Duration) -> bool {
        let woken = self.wake.notified();
        if self.stopped() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => self.stopped(),
            () = woken => true,
        }
    }
}

/// Reports windows on stderr: an indicatif bar on a terminal, one line per window otherwise,
/// nothing with `--quiet`.
struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    step: TimeDelta,
    windows: u64,
    changes: u64,
}

impl Progress {
    fn new(quiet: bool, step: TimeDelta) -> Self {
        // A bar for people on a terminal; JSON logs are for machines.
        let bar =
            (!quiet && !crate::say::json() && std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .then(|| {
                    let bar = ProgressBar::new(1);
                    bar.set_style(
                        ProgressStyle::with_template("{bar:30} {pos}/{len} windows, {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    crate::say::set_bar(Some(bar.clone()));
                    bar
                });
        Self {
            bar,
            quiet,
            step,
            windows: 0,
            changes: 0,
        }
    }

    fn window(&mut self, report: &WindowReport) {
        self.windows += 1;
        self.changes += report.delivered as u64;
        let behind = report.behind.to_std().unwrap_or_default();
        let behind = humantime::format_duration(Duration::from_secs(behind.as_secs()));
        if let Some(bar) = &self.bar {
            let left = (report.behind.num_seconds().max(0) as u64)
                .div_ceil(self.step.num_seconds().max(1) as u64);
            bar.set_length(self.windows + left);
            bar.set_position(self.windows);
            bar.set_message(format!("{} changes, {behind} behind", self.changes));
        } else if !self.quiet {
            crate::say::status(&format!(
                "window {}: {} changes, {behind} behind",
                report.window, report.delivered
            ));
        }
    }

    fn done(&mut self) {
        if let Some(bar) = self.bar.take() {
            crate::say::set_bar(None);
            bar.finish_and_clear();
        }
        if !self.quiet && self.windows > 0 {
            crate::say::status(&format!(
                "caught up: {} windows, {} changes",
                self.windows, self.changes
            ));
        }
        self.windows = 0;
        self.changes = 0;
    }
}

fn print_changes(
    lines: &mut Lines,
    changes: &[pandadoc_api_ext::SmsOptOutChange],
) -> std::io::Result<()> {
    for change in changes {
        lines.line(&serde_json::to_string(change).map_err(std::io::Error::other)?)?;
    }
    // Printed before the checkpoint moves past them.
    lines.flush()
}

/// Runs the sync: `step` reads and commits one window.
async fn drive<S, F>(
    mut sync: OptOutSync<S>,
    mut step: F,
    args: &SyncArgs,
    quiet: bool,
    stop: &Stop,
) -> Result<(), SyncError>
where
    S: CheckpointStore,
    F: AsyncFnMut(&mut OptOutSync<S>) -> Result<Option<WindowReport>, SyncError>,
{
    let mut progress = Progress::new(quiet, args.poll.max_window - args.poll.overlap);
    loop {
        while !stop.stopped() {
            match step(&mut sync).await {
                Ok(Some(report)) => progress.window(&report),
                Ok(None) => break,
                Err(e) => {
                    progress.done();
                    return Err(e);
                }
            }
        }
        progress.done();
        if !args.follow || stop.stopped() {
            return Ok(());
        }
        if stop.sleep(args.every).await {
            return Ok(());
        }
    }
}

/// Where a first run starts: `--since`, `--last`, or an hour ago; a checkpoint overrides them.
fn start(args: &SyncArgs, checkpoint: Option<DateTime<Utc>>, where_: &str) -> DateTime<Utc> {
    let now = Utc::now();
    let asked = args
        .poll
        .since
        .or_else(|| args.poll.last.map(|span| now - span));
    match (checkpoint, asked) {
        (Some(c), Some(_)) => {
            crate::say::status(&format!(
                "note: {where_} holds a checkpoint ({}): --since/--last are ignored",
                c.to_rfc3339()
            ));
            now
        }
        (Some(_), None) => now,
        (None, asked) => asked.unwrap_or(now - TimeDelta::hours(1)),
    }
}

/// `sync`: invalid options stop it before its first request (exit 2).
pub async fn run(args: &SyncArgs, quiet: bool) -> Result<(), Failure> {
    let client = Client::from_env().map_err(Failure::api)?;
    let target = args.target().map_err(Failure::store)?;
    let stop = Stop::listen();
    match target {
        SyncTarget::State(path) => into_state(client, args, &path, quiet, &stop).await,
        SyncTarget::Ledger(url) => {
            let options = LedgerOptions::default().prefix(&args.table_prefix);
            let ledger =
                crate::ledger::open(&url, &options, Access::Write, !args.no_prepared_statements)
                    .await?;
            into_ledger(client, args, ledger, quiet, &stop).await
        }
    }
}

/// The changes to stdout, the checkpoint in a state file.
async fn into_state(
    client: Client,
    args: &SyncArgs,
    path: &std::path::Path,
    quiet: bool,
    stop: &Stop,
) -> Result<(), Failure> {
    let store = FileStore::new(path);
    let checkpoint = store.load().await.map_err(Failure::store)?;
    let start = start(
        args,
        checkpoint.map(|c| c.watermark),
        &path.display().to_string(),
    );
    let mut lines = Lines::new();
    let sync = OptOutSync::new(client, store, start, args.poll.options());
    drive(
        sync,
        async |sync: &mut OptOutSync<FileStore>| {
            sync.step(async |batch| print_changes(&mut lines, &batch.changes))
                .await
        },
        args,
        quiet,
        stop,
    )
    .await
    .map_err(Failure::sync)
}

/// The changes recorded in a ledger, with its checkpoint. On PostgreSQL only the lease's holder
/// polls: a one-shot run leaves the work to another leader; under `--follow` a stand-by waits
/// for the lease, a leader that loses it stands by again, and a database that cannot be
/// reached (a restart, a failover) is tried again rather than the end of the run.
pub async fn into_ledger(
    client: Client,
    args: &SyncArgs,
    ledger: AnyLedger,
    quiet: bool,
    stop: &Stop,
) -> Result<(), Failure> {
    let mut standing_by = false;
    loop {
        if let AnyLedger::Postgres(pg) = &ledger
            && !pg.is_leading()
        {
            match pg.try_lead().await {
                Ok(true) => {
                    if standing_by {
                        crate::say::status("leading: this replica now polls PandaDoc");
                    }
                }
                Ok(false) => {
                    let holder = pg.leader().await.ok().flatten();
                    let holder = holder.map_or_else(|| "unknown".into(), |h| h.holder);
                    if !args.follow {
                        // A one-shot run (cron) has nothing to do while another replica polls.
                        crate::say::status(&format!(
                            "another replica leads ({holder}): it keeps the ledger; nothing to do"
                        ));
                        return Ok(());
                    }
                    if !standing_by {
                        crate::say::status(&format!(
                            "standing by: another replica leads ({holder}); waiting for its lease"
                        ));
                        standing_by = true;
                    }
                    tokio::select! {
                        led = pg.lead() => led.map_err(Failure::store)?,
                        () = stop.wait() => return Ok(()),
                    }
                    crate::say::status("leading: this replica now polls PandaDoc");
                }
                Err(e) => {
                    if unreachable(args, stop, e).await? {
                        return Ok(());
                    }
                    continue;
                }
            }
        }
        let outcome = async {
            let checkpoint = ledger.load().await?;
            let start = start(args, checkpoint.map(|c| c.watermark), "the ledger");
            let print = args.print;
            let mut lines = Lines::new();
            let sync = OptOutSync::new(client.clone(), ledger.clone(), start, args.poll.options());
            drive(
                sync,
                async |sync: &mut OptOutSync<AnyLedger>| {
                    sync.step_into_ledger(async |batch| {
                        if print {
                            print_changes(&mut lines, &batch.changes)
                        } else {
                            Ok(())
                        }
                    })
                    .await
                },
                args,
                quiet,
                stop,
            )
            .await
        }
        .await;
        match outcome {
            Ok(()) => {
                // A graceful stop: a stand-by takes over at its next poll.
                if let AnyLedger::Postgres(pg) = &ledger {
                    let _ = pg.release().await;
                }
                return Ok(());
            }
            Err(SyncError::Store(StoreError::LeaseLost { .. })) if args.follow => {
                crate::say::status("standing by: this replica lost the lease; another leads");
                standing_by = true;
            }
            Err(SyncError::Store(e @ (StoreError::Database { .. } | StoreError::Io { .. }))) => {
                if unreachable(args, stop, e).await? {
                    return Ok(());
                }
            }
            Err(e) => return Err(Failure::sync(e)),
        }
    }
}

/// The ledger could not be reached: the end of a one-shot run (`Err`); under `--follow` a line
/// and a pause before the next try (`Ok(true)` when stopped meanwhile).
async fn unreachable(args: &SyncArgs, stop: &Stop, e: StoreError) -> Result<bool, Failure> {
    if !args.follow {
        return Err(Failure::store(e));
    }
    let pause = args.every.min(Duration::from_secs(2));
    crate::say::status(&format!(
        "the ledger cannot be reached ({}); trying again in {} s",
        e.to_string().replace('\n', " "),
        pause.as_secs_f32()
    ));
    Ok(stop.sleep(pause).await)
}
