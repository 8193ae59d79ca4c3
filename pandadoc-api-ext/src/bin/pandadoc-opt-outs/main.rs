//! `pandadoc-opt-outs`: keep a do-not-text list from PandaDoc's SMS opt-outs.
//!
//! Install with `cargo install --path pandadoc-api-ext --features cli`; `--help` on each
//! subcommand has an example. Data goes to stdout, everything else to stderr.

mod ledger;
mod output;
mod sync;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use pandadoc_api_ext::sync::{StoreError, SyncError, SyncOptions};
use pandadoc_api_ext::{Client, Error, ErrorKind, SmsOptOutChange, TimeRange};

use crate::output::{Format, Lines, Record};

const EXIT_CODES: &str = "\
Exit codes:
  0  done (check: every number may be texted)
  1  a failure: PandaDoc, the network, the ledger or stdout (one line error[KIND]: ... on stderr)
  2  invalid input: a flag, a time, a phone number, a URL, a corrupt state file, a ledger schema
     newer than this program; nothing was sent
  3  check: at least one number opted out
  4  check: the ledger is staler than --max-staleness

Environment:
  PANDADOC_API_KEY or PANDADOC_ACCESS_TOKEN   credentials
  PANDADOC_BASE_URL                           another server (a local mock)
  PANDADOC_LEDGER                             the ledger URL (sqlite:PATH or postgres://...)
  RUST_LOG                                    log filter (e.g. pandadoc_api_ext=debug)";

/// Keep a do-not-text list from PandaDoc's SMS opt-outs (STOP / START replies).
#[derive(Parser, Debug)]
#[command(name = "pandadoc-opt-outs", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// No progress on stderr (errors still print).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Logs on stderr as text, or as JSON lines for a log shipper.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the changes of one window (no flag: the last hour).
    #[command(after_help = "Example:\n  pandadoc-opt-outs list --last 24h --format table")]
    List(ListArgs),
    /// Follow the opt-outs from a checkpoint into a ledger or, with --state, onto stdout.
    #[command(after_help = "Examples:\n  \
        pandadoc-opt-outs sync --ledger sqlite:/var/lib/opt-outs.db --last 30d\n  \
        pandadoc-opt-outs sync --ledger postgres://optouts@db/optouts --follow --every 60s\n  \
        pandadoc-opt-outs sync --state state.json >> changes.jsonl")]
    Sync(SyncArgs),
    /// May these numbers be texted? One line per number.
    #[command(after_help = "Example:\n  \
        pandadoc-opt-outs check --ledger sqlite:opt-outs.db '+1 415 555 0100' || echo 'do not text'\n\n\
        Exit 0: every number may be texted; 3: at least one opted out; 4: the ledger is stale.")]
    Check(CheckArgs),
    /// Print the current list, in number order, for a CRM or an SMS tool.
    #[command(
        after_help = "Example:\n  pandadoc-opt-outs export --ledger sqlite:opt-outs.db --only opted-out --format csv > dnt.csv"
    )]
    Export(ExportArgs),
    /// The ledger's checkpoint, how far behind now, counts, schema version and lease holder.
    #[command(
        after_help = "Example:\n  pandadoc-opt-outs status --ledger postgres://optouts@db/optouts"
    )]
    Status(StatusArgs),
}

fn span(text: &str) -> Result<TimeDelta, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a span like 90s, 15m, 24h or 30d ({e})"))?;
    TimeDelta::from_std(d).map_err(|_| format!("{text:?} is too long"))
}

fn std_span(text: &str) -> Result<Duration, String> {
    let d = span(text)?;
    if d <= TimeDelta::zero() {
        return Err("must be positive".into());
    }
    d.to_std().map_err(|e| e.to_string())
}

fn time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like 2025-01-28T12:00:00Z ({e})"))
}

fn rate(text: &str) -> Result<u32, String> {
    text.trim_end_matches("/min")
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?}: expected requests per minute, like 10/min"))
}

#[derive(Args, Debug)]
struct ListArgs {
    /// The window: this long up to now.
    #[arg(long, value_parser = span, conflicts_with_all = ["from", "to"])]
    last: Option<TimeDelta>,
    /// The window's start (RFC 3339).
    #[arg(long, value_parser = time)]
    from: Option<DateTime<Utc>>,
    /// The window's end (RFC 3339; default now).
    #[arg(long, value_parser = time, requires = "from")]
    to: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["ledger", "state"]))]
pub struct SyncArgs {
    /// The ledger: sqlite:PATH or postgres://user@host/dbname (?sslmode=require for TLS).
    #[arg(long, env = "PANDADOC_LEDGER", hide_env_values = true)]
    ledger: Option<String>,
    /// A state file for the checkpoint; the changes go to stdout as JSON lines.
    #[arg(long)]
    state: Option<PathBuf>,
    /// With --ledger: also print the changes recorded to stdout.
    #[arg(long, requires = "ledger")]
    print: bool,
    /// Where a first run starts (RFC 3339; ignored once there is a checkpoint).
    #[arg(long, value_parser = time, conflicts_with = "last")]
    since: Option<DateTime<Utc>>,
    /// A first run starts this long ago (default 1h).
    #[arg(long, value_parser = span)]
    last: Option<TimeDelta>,
    /// Keep polling once caught up, until SIGINT or SIGTERM.
    #[arg(long)]
    follow: bool,
    /// With --follow: how often to poll.
    #[arg(long, value_parser = std_span, default_value = "60s", requires = "follow")]
    every: Duration,
    /// Windows end this far behind now.
    #[arg(long, value_parser = span, default_value = "30s")]
    lag: TimeDelta,
    /// Each window re-reads this much of the one before (late writes).
    #[arg(long, value_parser = span, default_value = "5m")]
    overlap: TimeDelta,
    /// The longest window a request asks for, overlap included.
    #[arg(long, value_parser = span, default_value = "24h")]
    max_window: TimeDelta,
    /// At most this many requests a minute (sandbox keys: 10/min).
    #[arg(long, value_parser = rate)]
    rate: Option<u32>,
    /// Ledger tables start with this (letters, digits, _).
    #[arg(long, default_value = "pandadoc_")]
    table_prefix: String,
}

impl SyncArgs {
    fn options(&self) -> SyncOptions {
        let options = SyncOptions::default()
            .lag(self.lag)
            .overlap(self.overlap)
            .max_window(self.max_window);
        match self.rate {
            Some(n) => options.requests_per_minute(n),
            None => options,
        }
    }
}

#[derive(Args, Debug)]
struct LedgerArgs {
    /// The ledger: sqlite:PATH or postgres://user@host/dbname.
    #[arg(long, env = "PANDADOC_LEDGER", hide_env_values = true)]
    ledger: String,
    /// Ledger tables start with this (letters, digits, _).
    #[arg(long, default_value = "pandadoc_")]
    table_prefix: String,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Older than this, the ledger's answers are stale (exit 4).
    #[arg(long, value_parser = span, default_value = "15m")]
    max_staleness: TimeDelta,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// E.164 numbers; spaces, dashes, dots and parentheses are fine.
    #[arg(required = true)]
    phones: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Only {
    OptedOut,
}

#[derive(Args, Debug)]
struct ExportArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Only the numbers that may not be texted.
    #[arg(long, value_enum)]
    only: Option<Only>,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
}

#[derive(Args, Debug)]
struct StatusArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
}

/// A failure: the line for stderr and the exit code.
pub struct Failure {
    line: String,
    code: u8,
}

impl Failure {
    fn invalid(message: impl std::fmt::Display) -> Self {
        Self {
            line: format!("error[{}]: {message}", ErrorKind::InvalidInput),
            code: 2,
        }
    }

    fn api(e: Error) -> Self {
        let status = match e.status() {
            Some(s) => match s.canonical_reason() {
                Some(reason) => format!("HTTP {} {reason}: ", s.as_u16()),
                None => format!("HTTP {}: ", s.as_u16()),
            },
            None => String::new(),
        };
        Self {
            line: format!(
                "error[{}]: {status}{}",
                e.kind(),
                e.message().replace('\n', " ")
            ),
            code: if e.kind() == ErrorKind::InvalidInput {
                2
            } else {
                1
            },
        }
    }

    pub fn store(e: StoreError) -> Self {
        match e {
            e @ StoreError::Corrupt { .. } => {
                Self::invalid(format!("{e}; fix or remove it (it was not changed)"))
            }
            e @ (StoreError::InvalidInput { .. } | StoreError::SchemaTooNew { .. }) => {
                Self::invalid(e)
            }
            e @ StoreError::Conflict { .. } => Self {
                line: format!("error[checkpoint]: {e}"),
                code: 1,
            },
            e => Self {
                line: format!("error[store]: {}", e.to_string().replace('\n', " ")),
                code: 1,
            },
        }
    }

    pub fn sync(e: SyncError) -> Self {
        match e {
            SyncError::Api(e) => Self::api(e),
            SyncError::Store(e) => Self::store(e),
            SyncError::Rejected(e) => Self::output(e),
            other => Self {
                line: format!("error[sync]: {other}"),
                code: 1,
            },
        }
    }

    pub fn output(e: impl std::fmt::Display) -> Self {
        Self {
            line: format!("error[output]: {e}"),
            code: 1,
        }
    }
}

impl Record for SmsOptOutChange {
    const COLUMNS: &'static [&'static str] = &["phone_number", "status", "opt_out_changed"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.phone_number.clone().unwrap_or_default(),
            self.status
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            self.opt_out_changed
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
        ]
    }
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

async fn list(args: &ListArgs, quiet: bool) -> Result<(), Failure> {
    let client = Client::from_env().map_err(Failure::api)?;
    let range = match (args.last, args.from, args.to) {
        (Some(span), _, _) => TimeRange::last(span),
        (None, Some(from), Some(to)) => TimeRange::between(from, to),
        (None, Some(from), None) => TimeRange::since(from),
        _ => TimeRange::default(),
    };
    let page = client.sms_opt_outs(range).await.map_err(Failure::api)?;
    output::print(&mut Lines::new(), args.format, &page.changes, true).map_err(Failure::output)?;
    if !quiet {
        eprintln!("{} changes in {}", page.changes.len(), page.window);
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::List(args) => list(args, cli.quiet).await.map(|()| 0),
        Command::Sync(args) => {
            // Invalid options stop the sync before its first request (exit 2).
            let client = Client::from_env().map_err(Failure::api)?;
            let ledger = match &args.ledger {
                Some(url) => Some(
                    ledger::open(url, &args.table_prefix)
                        .await
                        .map_err(Failure::store)?,
                ),
                None => None,
            };
            let stop = sync::Stop::listen();
            sync::run(client, args, ledger, cli.quiet, &stop)
                .await
                .map(|()| 0)
        }
        Command::Check(args) => {
            let l = ledger::open(&args.ledger.ledger, &args.ledger.table_prefix)
                .await
                .map_err(Failure::store)?;
            ledger::check(&l, &args.phones, args.max_staleness, args.format).await
        }
        Command::Export(args) => {
            let l = ledger::open(&args.ledger.ledger, &args.ledger.table_prefix)
                .await
                .map_err(Failure::store)?;
            ledger::export(&l, args.only.is_some(), args.format)
                .await
                .map(|()| 0)
        }
        Command::Status(args) => {
            let l = ledger::open(&args.ledger.ledger, &args.ledger.table_prefix)
                .await
                .map_err(Failure::store)?;
            ledger::status(&l).await.map(|()| 0)
        }
    }
}

fn logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    // Quiet by default (the error line says what failed); RUST_LOG=warn shows retries,
    // RUST_LOG=info every request and window.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: clap's message up to its usage part.
            let text = e.render().to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let message = message.join(" ");
            eprintln!(
                "error[{}]: {} (see --help)",
                ErrorKind::InvalidInput,
                message.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    logs(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error[runtime]: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("{}", failure.line);
            ExitCode::from(failure.code)
        }
    }
}
