//! Prints SMS opt-out changes, one JSON object per line: those of a time window, or (`--sync`)
//! every change since a checkpoint kept in a state file.
//!
//! ```text
//! PANDADOC_API_KEY=... cargo run -q -p pandadoc-api-ext --example sms_opt_outs -- --last 24h
//! PANDADOC_ACCESS_TOKEN=... cargo run -q -p pandadoc-api-ext --example sms_opt_outs -- \
//!     --from 2025-01-28T00:00:00Z --to 2025-01-29T00:00:00Z
//! PANDADOC_API_KEY=... cargo run -q -p pandadoc-api-ext --example sms_opt_outs -- \
//!     --sync --state opt-outs.json [--since T | --last 1h] [--follow --every 60s]
//! ```
//!
//! `PANDADOC_BASE_URL` points it at another server (a local mock). On failure it prints one
//! line `error[KIND]: detail` to stderr (`error[KIND]: HTTP 503 Service Unavailable: detail`
//! when the server answered) and exits 2 for invalid input, 1 otherwise.
//!
//! `--sync` catches up from the checkpoint in `--state` to `now - lag`, writing and flushing
//! each window's changes before the checkpoint moves past them, and exits 0 when caught up. A
//! kill at any instant loses nothing: the next run starts from the last saved checkpoint (and
//! may print some changes again). `--follow` then polls every `--every` until SIGINT or
//! SIGTERM, finishes the window under way, saves, and exits 0.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use pandadoc_api_ext::sync::{
    CheckpointStore, FileStore, OptOutSync, StoreError, SyncError, SyncOptions, WindowReport,
};
use pandadoc_api_ext::{Client, Error, ErrorKind, TimeRange};

const USAGE: &str = "usage: sms_opt_outs [--last <N>s|m|h|d] [--from <RFC 3339>] [--to <RFC 3339>]
       sms_opt_outs --sync --state <PATH> [--since <RFC 3339> | --last <SPAN>] [--follow] [--every <SPAN>]
                    [--lag <SPAN>] [--overlap <SPAN>] [--max-window <SPAN>] [--rate <N>/min]";

fn parse_span(flag: &str, text: &str) -> Result<TimeDelta, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{flag} {text:?}: expected a number and a unit, like 24h"))?;
    let span = match unit {
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        _ => return Err(format!("{flag} {text:?}: the unit is one of s, m, h, d")),
    };
    span.ok_or_else(|| format!("{flag} {text:?}: too long"))
}

fn parse_time(flag: &str, text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{flag} {text:?}: not an RFC 3339 time ({e})"))
}

fn parse_rate(text: &str) -> Result<u32, String> {
    text.trim_end_matches("/min")
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("--rate {text:?}: expected requests per minute, like 10/min"))
}

/// What to do.
enum Mode {
    /// Print one window's changes.
    Once(TimeRange),
    /// Catch up from the checkpoint in `state` (and keep following).
    Sync {
        state: PathBuf,
        /// `--since` / `--last`: the start of a first run.
        start: Option<DateTime<Utc>>,
        follow: bool,
        every: TimeDelta,
        options: SyncOptions,
    },
}

fn parse_args(args: &[String], now: DateTime<Utc>) -> Result<Mode, String> {
    let (mut last, mut from, mut to, mut since) = (None, None, None, None);
    let (mut sync, mut state, mut follow, mut every) = (false, None, false, None);
    let mut options = SyncOptions::default();
    let mut sync_only = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--last" => last = Some(parse_span(flag, value()?)?),
            "--from" => from = Some(parse_time(flag, value()?)?),
            "--to" => to = Some(parse_time(flag, value()?)?),
            "--sync" => sync = true,
            other => {
                sync_only.push(other.to_string());
                match other {
                    "--since" => since = Some(parse_time(flag, value()?)?),
                    "--state" => state = Some(PathBuf::from(value()?)),
                    "--follow" => follow = true,
                    "--every" => every = Some(parse_span(flag, value()?)?),
                    "--lag" => options = options.lag(parse_span(flag, value()?)?),
                    "--overlap" => options = options.overlap(parse_span(flag, value()?)?),
                    "--max-window" => options = options.max_window(parse_span(flag, value()?)?),
                    "--rate" => options = options.requests_per_minute(parse_rate(value()?)?),
                    _ => return Err(format!("unknown argument {other:?} (see --help)")),
                }
            }
        }
    }
    if !sync {
        if let Some(flag) = sync_only.first() {
            return Err(format!("{flag} goes with --sync"));
        }
        return Ok(Mode::Once(match (last, from, to) {
            (None, None, None) => TimeRange::default(),
            (Some(span), None, None) => TimeRange::last(span),
            (None, Some(from), None) => TimeRange::since(from),
            (None, Some(from), Some(to)) => TimeRange::between(from, to),
            (None, None, Some(to)) => TimeRange::between(to - TimeDelta::hours(1), to),
            _ => return Err("--last does not go with --from or --to".to_string()),
        }));
    }
    if from.is_some() || to.is_some() {
        return Err("--sync reads up to now: use --since (or --last) for where to start".into());
    }
    let start = match (since, last) {
        (Some(_), Some(_)) => return Err("--since does not go with --last".into()),
        (Some(t), None) => Some(t),
        (None, Some(span)) => Some(now - span),
        (None, None) => None,
    };
    let every = every.unwrap_or(TimeDelta::seconds(60));
    if every <= TimeDelta::zero() {
        return Err("--every must be positive".into());
    }
    Ok(Mode::Sync {
        state: state.ok_or("--sync needs --state <PATH>")?,
        start,
        follow,
        every,
        options,
    })
}

/// `error[KIND]: HTTP 503 Service Unavailable: detail`, the status part only when there was one.
fn error_line(e: &Error) -> String {
    let status = match e.status() {
        Some(s) => match s.canonical_reason() {
            Some(reason) => format!("HTTP {} {reason}: ", s.as_u16()),
            None => format!("HTTP {}: ", s.as_u16()),
        },
        None => String::new(),
    };
    format!(
        "error[{}]: {status}{}",
        e.kind(),
        e.message().replace('\n', " ")
    )
}

/// A failure: the line to print and the exit code.
struct Failure(String, u8);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = if e.kind() == ErrorKind::InvalidInput {
            2
        } else {
            1
        };
        Failure(error_line(&e), code)
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Api(e) => e.into(),
            SyncError::Store(e @ StoreError::Corrupt { .. }) => Failure(
                format!("error[invalid_input]: {e}; fix or remove it (it was not changed)"),
                2,
            ),
            SyncError::Store(e) => Failure(format!("error[checkpoint]: {e}"), 1),
            SyncError::Rejected(e) => Failure(format!("error[output]: {e}"), 1),
            other => Failure(format!("error[sync]: {other}"), 1),
        }
    }
}

fn print_change(out: &mut impl Write, change: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, change)?;
    out.write_all(b"\n")
}

async fn once(range: TimeRange) -> Result<(), Failure> {
    let client = Client::from_env()?;
    let page = client.sms_opt_outs(range).await?;
    let mut out = std::io::stdout().lock();
    for change in &page.changes {
        print_change(&mut out, change).map_err(|e| Failure(format!("error[output]: {e}"), 1))?;
    }
    eprintln!("{} changes in {}", page.changes.len(), page.window);
    Ok(())
}

/// One line per window on stderr; on a terminal, a progress bar rewritten in place (how much
/// of the distance behind now at the first window has been caught up).
fn progress(report: &WindowReport, terminal: bool, first_behind: TimeDelta) {
    let behind = report.behind;
    let line = format!(
        "window {}: {} changes, {}h{:02}m behind",
        report.window,
        report.delivered,
        behind.num_hours(),
        behind.num_minutes() % 60
    );
    if terminal {
        let total = first_behind.num_seconds().max(1) as f64;
        let done = (1.0 - behind.num_seconds() as f64 / total).clamp(0.0, 1.0);
        let filled = (done * 30.0).round() as usize;
        eprint!(
            "\r\x1b[2K[{}{}] {:>3.0}% {line}",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            done * 100.0
        );
    } else {
        eprintln!("{line}");
    }
}

/// Set on SIGINT or SIGTERM: finish the window under way, then stop.
fn stop_signal() -> Result<(Arc<AtomicBool>, Arc<tokio::sync::Notify>), Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let stopped = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    let io = |e: std::io::Error| Failure(format!("error[sync]: cannot listen for signals: {e}"), 1);
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(io)?;
    let (flag, notify) = (stopped.clone(), wake.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        flag.store(true, Ordering::SeqCst);
        notify.notify_one();
    });
    Ok((stopped, wake))
}

async fn sync(
    state: PathBuf,
    start: Option<DateTime<Utc>>,
    follow: bool,
    every: TimeDelta,
    options: SyncOptions,
) -> Result<(), Failure> {
    let client = Client::from_env()?;
    let now = chrono::Utc::now();
    let store = FileStore::new(&state);
    let checkpoint = store.load().await.map_err(SyncError::Store)?;
    let start = match (checkpoint, start) {
        (Some(c), Some(_)) => {
            eprintln!(
                "note: {} holds a checkpoint ({}): --since/--last are ignored",
                state.display(),
                c.watermark.to_rfc3339()
            );
            now
        }
        (Some(_), None) => now,
        (None, start) => start.unwrap_or(now - TimeDelta::hours(1)),
    };
    let (stopped, wake) = stop_signal()?;
    let terminal = std::io::stderr().is_terminal();
    let mut sync = OptOutSync::new(client, store, start, options);
    let mut first_behind = None;
    loop {
        while !stopped.load(Ordering::SeqCst) {
            let step = sync
                .step(async |batch| {
                    let mut out = std::io::stdout().lock();
                    for change in &batch.changes {
                        print_change(&mut out, change)?;
                    }
                    // Printed before the checkpoint moves past them.
                    out.flush()
                })
                .await?;
            match step {
                Some(report) => {
                    let window_span = report.window.to - report.window.from;
                    let first = *first_behind.get_or_insert(report.behind + window_span);
                    progress(&report, terminal, first);
                }
                None => break,
            }
        }
        if terminal {
            eprintln!();
        }
        if !follow || stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        let pause = every.to_std().unwrap_or_default();
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wake.notified() => return Ok(()),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mode = match parse_args(&args, chrono::Utc::now()) {
        Ok(mode) => mode,
        Err(message) => {
            eprintln!("error[{}]: {message}", ErrorKind::InvalidInput);
            return ExitCode::from(2);
        }
    };
    let result = match mode {
        Mode::Once(range) => once(range).await,
        Mode::Sync {
            state,
            start,
            follow,
            every,
            options,
        } => sync(state, start, follow, every, options).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(line, code)) => {
            eprintln!("{line}");
            ExitCode::from(code)
        }
    }
}
