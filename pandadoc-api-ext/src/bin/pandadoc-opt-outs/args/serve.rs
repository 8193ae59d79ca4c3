//! `serve`'s flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use clap::Args;

use super::{LedgerArgs, PollArgs, span, std_span};

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// The address to listen on (port 0: any free port; the address taken is printed). Not a
    /// loopback address: needs --token-file or --insecure-no-auth.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A file holding the bearer token that /v1/* and /metrics require (at least 16
    /// characters; surrounding whitespace ignored). /healthz and /readyz never ask for one.
    #[arg(long, conflicts_with = "insecure_no_auth")]
    pub token_file: Option<PathBuf>,
    /// Answer anyone who can reach a non-loopback --listen address, without a token.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// The sync last confirmed it was caught up longer ago than this (by the database's
    /// clock): every verdict is `stale` and /readyz answers 503.
    #[arg(long, value_parser = span, default_value = "15m")]
    pub max_staleness: TimeDelta,
    /// Also keep the ledger, as `sync --follow` does (credentials from the environment; on
    /// PostgreSQL only the replica holding the lease polls).
    #[arg(long)]
    pub sync: bool,
    /// With --sync: how often to poll.
    #[arg(long, value_parser = std_span, default_value = "60s", requires = "sync")]
    pub every: Duration,
    #[command(flatten)]
    pub poll: PollArgs,
    /// The most numbers one POST /v1/numbers:check may ask about (413 beyond).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_batch: u32,
    /// A request (its body included) is answered within this, or gets 503. It waits on the
    /// ledger 1 s less (at least half of it), so that a ledger that does not answer gets 503
    /// `ledger_unavailable` (and /metrics `pandadoc_ledger_up 0`).
    #[arg(long, value_parser = std_span, default_value = "10s")]
    pub request_timeout: Duration,
    /// A client has this long to send a request's head; an idle keep-alive connection is
    /// closed after it.
    #[arg(long, value_parser = std_span, default_value = "20s")]
    pub header_timeout: Duration,
    /// At most this many connections at once; more wait in the listen queue.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,
}
