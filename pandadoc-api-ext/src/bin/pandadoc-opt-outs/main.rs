//! `pandadoc-opt-outs`: keep a do-not-text list from PandaDoc's SMS opt-outs.
//!
//! Install with `cargo install --path pandadoc-api-ext --features cli`; `--help` on each
//! subcommand has an example. Data goes to stdout, everything else to stderr.
//!
//! Files by concern, imports one way: this file parses, sets up logging and dispatches; each
//! subcommand has its file (`list`, `sync`, `check`, `export`, `status`, `serve`), over `args` (the
//! command line), `failure` (exit codes), `ledger` (opening one), `output` (whole lines on
//! stdout) and `say` (everything on stderr).

mod args;
mod check;
mod export;
mod failure;
mod ledger;
mod list;
mod output;
mod say;
mod serve;
mod status;
mod sync;

use std::process::ExitCode;

use clap::Parser;
use pandadoc_api_ext::ErrorKind;

use crate::args::{Cli, Command, LogFormat};
use crate::failure::Failure;

async fn run(cli: Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::List(args) => list::list(args).await.map(|()| 0),
        Command::Sync(args) => sync::run(args, cli.quiet).await.map(|()| 0),
        Command::Check(args) => check::check(args).await,
        Command::Export(args) => export::export(args).await.map(|()| 0),
        Command::Status(args) => status::status(args).await.map(|()| 0),
        Command::Init(args) => status::init(args).await.map(|()| 0),
        Command::Serve(args) => serve::serve(args, cli.quiet).await.map(|()| 0),
    }
}

fn logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    // Quiet by default (the error line says what failed) but for records the client cannot
    // read whole and changes the ledger sets aside, which an operator must see; RUST_LOG=warn
    // shows retries, RUST_LOG=info every request and window.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("error,pandadoc_api_ext::ledger=warn,pandadoc_api_ext::sms_opt_outs=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(say::Logs);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// clap's usage error as one line: its message up to the usage part.
fn usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    format!(
        "{} (see --help)",
        message.join(" ").trim_start_matches("error: ")
    )
}

/// Whether the command line asks for JSON logs (read before clap, for its own errors).
fn asks_for_json() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--log-format=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--log-format" && w[1] == "json")
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
            say::init(asks_for_json(), false);
            say::error(&ErrorKind::InvalidInput.to_string(), &usage_error(&e));
            return ExitCode::from(2);
        }
    };
    say::init(matches!(cli.log_format, LogFormat::Json), cli.quiet);
    logs(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            say::error("runtime", &e.to_string());
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            say::error(&failure.kind, &failure.message);
            ExitCode::from(failure.code)
        }
    }
}
