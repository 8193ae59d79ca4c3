//! The crate's integration tests in one binary, a module per area: one link instead of nine.
//! `tracing.rs` (it installs the process's tracing subscriber) and `ledger_processes.rs` (its
//! own runner, which is also its children) keep binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod cli_sync;
mod downstream;
mod errors;
mod ledger;
mod ledger_lease;
mod ledger_tls;
mod oauth;
mod requests_and_auth;
mod retries;
mod serve;
mod sync;
