//! The command line: subcommands, their flags, and the parsers of their values.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use pandadoc_api_ext::ledger::{LedgerOptions, LedgerUrl};
use pandadoc_api_ext::sync::{StoreError, SyncOptions};

use crate::output::Format;

mod serve;
mod values;

pub use serve::ServeArgs;
pub use values::{rate, span, std_span, time};

pub const EXIT_CODES: &str = "\
Exit codes:
  0  done (check: every number may be texted)
  1  a failure: PandaDoc, the network, the ledger or stdout (one line error[KIND]: ... on stderr)
  2  invalid input: a flag, a time, a phone number, a URL, a corrupt state file, a ledger that
     does not exist (check, export, status) or whose schema is of another version; nothing was
     sent
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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress on stderr (errors still print).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Logs on stderr as text, or as JSON lines for a log shipper.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
        Exit 0: every number may be texted; 3: at least one opted out (or held: a change of it\n\
        could not be read); 4: the ledger is stale.\n\n\
        Stale: the sync has not confirmed it was caught up with PandaDoc for longer than\n\
        --max-staleness, both times by the ledger database's clock (so the clocks of the machine\n\
        that syncs and the one that checks never meet). A stale ledger answers nothing: the sync\n\
        has stopped or fallen behind, and a recent STOP may be missing.")]
    Check(CheckArgs),
    /// Print the current list, in number order, for a CRM or an SMS tool.
    #[command(
        after_help = "Examples:\n  pandadoc-opt-outs export --ledger sqlite:opt-outs.db --only opted-out --format csv > dnt.csv\n  \
        pandadoc-opt-outs export --ledger sqlite:opt-outs.db --set-aside"
    )]
    Export(ExportArgs),
    /// Create the ledger, or upgrade its schema to this program's (`sync` does too).
    #[command(
        after_help = "Example:\n  pandadoc-opt-outs init --ledger postgres://owner@db/optouts\n\n\
        check, export and status only read: they never create or upgrade a ledger, so the role\n\
        they connect as needs only SELECT on its tables. init (or a sync) needs the owner's."
    )]
    Init(InitArgs),
    /// The ledger's checkpoint, how far behind now, counts, schema version and lease holder.
    #[command(
        after_help = "Example:\n  pandadoc-opt-outs status --ledger postgres://optouts@db/optouts"
    )]
    Status(StatusArgs),
    /// Answer "may I text?" over HTTP, with health checks and Prometheus metrics.
    #[command(after_help = "Examples:\n  \
        pandadoc-opt-outs serve --ledger sqlite:/var/lib/opt-outs.db --sync\n  \
        curl -s localhost:8080/v1/numbers/+14155550100\n  \
        curl -s localhost:8080/v1/numbers:check -H 'content-type: application/json' \\\n    \
        -d '{\"numbers\": [\"+14155550100\", \"+1 415 555 0101\"]}'\n\n\
        Routes: GET /v1/numbers/{number}, POST /v1/numbers:check, GET /healthz, GET /readyz,\n\
        GET /metrics. Errors are {\"error\": {\"kind\": ..., \"message\": ...}}. SIGTERM or SIGINT:\n\
        requests under way finish, the sync ends its window and releases its lease, exit 0.")]
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// The window: this long up to now.
    #[arg(long, value_parser = span, conflicts_with_all = ["from", "to"])]
    pub last: Option<TimeDelta>,
    /// The window's start (RFC 3339).
    #[arg(long, value_parser = time)]
    pub from: Option<DateTime<Utc>>,
    /// The window's end (RFC 3339; default now).
    #[arg(long, value_parser = time, requires = "from")]
    pub to: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("target").args(["ledger", "state"]))]
pub struct SyncArgs {
    /// The ledger: sqlite:PATH or postgres://user@host/dbname (?sslmode=require for TLS)
    /// [env: PANDADOC_LEDGER, when --state is not given].
    #[arg(long)]
    pub ledger: Option<LedgerArg>,
    /// A state file for the checkpoint; the changes go to stdout as JSON lines.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// With a ledger: also print each window's changes to stdout, once the window is committed
    /// (a crash between the commit and the print loses that window's lines, never the ledger's
    /// rows: print from --state for at-least-once lines).
    #[arg(long, conflicts_with = "state")]
    pub print: bool,
    /// Keep polling once caught up, until SIGINT or SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// With --follow: how often to poll.
    #[arg(long, value_parser = std_span, default_value = "60s", requires = "follow")]
    pub every: Duration,
    #[command(flatten)]
    pub poll: PollArgs,
    /// Ledger tables start with this (letters, digits, _).
    #[arg(long, default_value = "pandadoc_")]
    pub table_prefix: String,
    /// PostgreSQL behind PgBouncer in transaction pooling (before 1.21): send every statement
    /// whole, without prepared statements.
    #[arg(long)]
    pub no_prepared_statements: bool,
}

/// How the sync polls: `sync`'s flags, and `serve --sync`'s.
#[derive(Args, Debug, Clone)]
pub struct PollArgs {
    /// Where a first run starts (RFC 3339; ignored once there is a checkpoint).
    #[arg(long, value_parser = time, conflicts_with = "last")]
    pub since: Option<DateTime<Utc>>,
    /// A first run starts this long ago (default 1h).
    #[arg(long, value_parser = span)]
    pub last: Option<TimeDelta>,
    /// Windows end this far behind now.
    #[arg(long, value_parser = span, default_value = "30s")]
    pub lag: TimeDelta,
    /// Each window re-reads this much of the one before (late writes).
    #[arg(long, value_parser = span, default_value = "5m")]
    pub overlap: TimeDelta,
    /// The longest window a request asks for, overlap included.
    #[arg(long, value_parser = span, default_value = "24h")]
    pub max_window: TimeDelta,
    /// At most this many requests a minute (sandbox keys: 10/min).
    #[arg(long, value_parser = rate)]
    pub rate: Option<u32>,
}

impl PollArgs {
    pub fn options(&self) -> SyncOptions {
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
pub struct LedgerArgs {
    /// The ledger: sqlite:PATH or postgres://user@host/dbname.
    #[arg(long, env = "PANDADOC_LEDGER", hide_env_values = true)]
    pub ledger: LedgerArg,
    /// Ledger tables start with this (letters, digits, _).
    #[arg(long, default_value = "pandadoc_")]
    pub table_prefix: String,
    /// PostgreSQL behind PgBouncer in transaction pooling (before 1.21): send every statement
    /// whole, without prepared statements.
    #[arg(long)]
    pub no_prepared_statements: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The sync last confirmed it was caught up longer ago than this (by the database's
    /// clock): the ledger's answers are stale (exit 4).
    #[arg(long, value_parser = span, default_value = "15m")]
    pub max_staleness: TimeDelta,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// E.164 numbers; spaces, dashes, dots and parentheses are fine.
    #[arg(required = true)]
    pub phones: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Only {
    OptedOut,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// Only the numbers that may not be texted.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// The changes set aside instead (the ledger could not apply them): each as received, why,
    /// its number if readable (held as opted out) and when first received.
    #[arg(long, conflicts_with = "only")]
    pub set_aside: bool,
    /// jsonl and csv stream page by page; table reads the whole list first (for people).
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

/// A ledger URL as given. It is parsed (into a [`LedgerUrl`]) after clap, so that neither a
/// usage error nor `Debug` ever repeats a password: clap's errors quote the value.
#[derive(Clone)]
pub struct LedgerArg(String);

impl From<String> for LedgerArg {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl fmt::Debug for LedgerArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match LedgerUrl::parse(&self.0) {
            Ok(url) => write!(f, "{url:?}"),
            Err(_) => f.write_str("LedgerArg(<not a ledger URL>)"),
        }
    }
}

impl LedgerArg {
    /// The URL, checked ([`StoreError::InvalidInput`] names what is wrong, not the value).
    pub fn url(&self) -> Result<LedgerUrl, StoreError> {
        LedgerUrl::parse(&self.0)
    }
}

/// Where `sync` keeps its checkpoint.
pub enum SyncTarget {
    /// A ledger (the changes are recorded there).
    Ledger(LedgerUrl),
    /// A state file (the changes go to stdout).
    State(PathBuf),
}

impl SyncArgs {
    /// `--ledger`, else `--state`, else `PANDADOC_LEDGER`: a flag always wins over the
    /// environment, so `sync --state PATH` works with `PANDADOC_LEDGER` exported.
    pub fn target(&self) -> Result<SyncTarget, StoreError> {
        if let Some(ledger) = &self.ledger {
            return ledger.url().map(SyncTarget::Ledger);
        }
        if let Some(state) = &self.state {
            return Ok(SyncTarget::State(state.clone()));
        }
        match std::env::var("PANDADOC_LEDGER") {
            Ok(url) if !url.is_empty() => LedgerUrl::parse(&url).map(SyncTarget::Ledger),
            _ => Err(StoreError::InvalidInput {
                message: "sync needs --ledger URL, --state PATH or PANDADOC_LEDGER".into(),
            }),
        }
    }
}

impl LedgerArgs {
    /// The ledger's URL and options.
    pub fn parsed(&self) -> Result<(LedgerUrl, LedgerOptions), StoreError> {
        Ok((
            self.ledger.url()?,
            LedgerOptions::default().prefix(&self.table_prefix),
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn spans_add_up_and_never_overflow() {
        let s = |text| span(text).map(|d| d.num_milliseconds());
        assert_eq!(s("90s"), Ok(90_000));
        assert_eq!(s("1h30m"), Ok(5_400_000));
        assert_eq!(s(" 1h 30m "), Ok(5_400_000));
        assert_eq!(s("2 days"), Ok(172_800_000));
        assert_eq!(s("250ms"), Ok(250));
        assert_eq!(s("0s"), Ok(0));
        // Found by fuzzing (target `values`): humantime panicked on this one.
        let overflow = "0000184467440737095516\
                        15.8s0.2s1.4s000000000000000000000018446744073709551615.";
        for bad in [
            "",
            "h",
            "5",
            "1 fortnight",
            "1.5h",
            "-1h",
            "99999999999999999999s",
            overflow,
        ] {
            assert!(span(bad).is_err(), "{bad:?}");
        }
        assert!(
            span("2000000000000h 2000000000000h").is_err(),
            "the sum overflows"
        );
    }

    /// Found by fuzzing (target `values`): an offset carried year 0000 into year -1.
    #[test]
    fn a_time_is_one_rfc_3339_can_write_back() {
        assert!(time("0000-01-01 00:10:11+10:00").is_err());
        assert!(time("9999-12-31T23:00:00-02:00").is_err());
        let t = time("0000-01-01T00:00:00Z").unwrap();
        assert_eq!(time(&t.to_rfc3339()), Ok(t));
    }

    #[test]
    fn the_parsed_arguments_never_show_a_password() {
        let cli = Cli::try_parse_from([
            "pandadoc-opt-outs",
            "status",
            "--ledger",
            "postgres://optouts:hunter2-secret@db:5432/optouts?sslmode=verify-full",
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("optouts@db:5432/optouts"), "{shown}");
        // Not even a URL that does not parse.
        let cli = Cli::try_parse_from([
            "pandadoc-opt-outs",
            "status",
            "--ledger",
            "postgress://u:hunter2@db/x",
        ])
        .unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }
}
