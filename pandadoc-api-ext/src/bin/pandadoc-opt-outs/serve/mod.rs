//! `serve`: "may I text?" over HTTP for senders in any language, with health checks and
//! Prometheus metrics; with `--sync`, the same process keeps the ledger too.
//!
//! Files, imports one way: this one sets up, runs and stops; `routes` (the API) over `auth`
//! (the token), `metrics` (the exposition) and `error` (the error shape, which `auth` uses
//! too); `http` (the accept loop).

mod auth;
mod error;
mod http;
mod metrics;
mod routes;

use std::time::Duration;

use pandadoc_api_ext::Client;
use pandadoc_api_ext::ledger::{Access, AnyLedger};
use tokio::net::TcpListener;

use self::http::Limits;
use self::metrics::Metrics;
use self::routes::{AppState, Shared};
use crate::args::{ServeArgs, SyncArgs};
use crate::failure::Failure;
use crate::sync::Stop;

/// Once stopped, the sync gets this long to finish its window (its writes are atomic: cut off,
/// it has written all of a window or nothing).
const SYNC_DRAIN: Duration = Duration::from_secs(20);

/// Serves until SIGTERM or SIGINT, then stops within the request timeout (requests under way)
/// and [`SYNC_DRAIN`] (the sync's window), releases the lease and returns.
pub async fn serve(args: &ServeArgs, quiet: bool) -> Result<(), Failure> {
    // Everything that can be wrong with the command line fails here, before anything binds.
    let token = auth::token(
        args.listen,
        args.token_file.as_deref(),
        args.insecure_no_auth,
    )?;
    let client = match args.sync {
        true => Some(Client::from_env().map_err(Failure::api)?),
        false => None,
    };
    if args.sync {
        args.poll.options().check().map_err(Failure::api)?;
    }
    let access = if args.sync {
        Access::Write
    } else {
        Access::Read
    };
    let ledger = crate::ledger::open_named(&args.ledger, access).await?;
    let metrics = Metrics::install().map_err(|e| Failure {
        kind: "metrics".into(),
        message: e,
        code: 1,
    })?;
    let listener = TcpListener::bind(args.listen).await.map_err(|e| Failure {
        kind: "listen".into(),
        message: format!("cannot listen on {}: {e}", args.listen),
        code: 1,
    })?;
    let stop = Stop::listen();
    let address = listener.local_addr().map_or(args.listen, |a| a);
    crate::say::status(&format!("listening on http://{address}"));

    let state = AppState::new(Shared {
        ledger: ledger.clone(),
        max_staleness: args.max_staleness,
        max_batch: args.max_batch as usize,
        request_timeout: args.request_timeout,
        syncs: args.sync,
        token,
        metrics,
    });
    let limits = Limits {
        connections: args.max_connections as usize,
        header_timeout: args.header_timeout,
        drain: args.request_timeout + Duration::from_secs(1),
    };
    let stopping = async {
        stop.wait().await;
        crate::say::status("stopping: requests under way finish, then the sync's window");
    };
    let serving = http::serve(listener, routes::router(state), &limits, stopping);
    // In this task, beside the server (whose connections have tasks of their own).
    let syncing = async {
        let Some(client) = client else { return };
        let sync_args = sync_args(args);
        let cut_off = async {
            stop.wait().await;
            tokio::time::sleep(SYNC_DRAIN).await;
        };
        tokio::select! {
            () = keep(client, &sync_args, ledger.clone(), quiet, &stop) => {}
            () = cut_off => {
                crate::say::status("the sync did not finish its window in time: it was cut off");
            }
        }
    };
    tokio::join!(serving, syncing);
    // The sync releases its lease when it ends; and here when it was cut off.
    if let AnyLedger::Postgres(pg) = &ledger {
        let _ = pg.release().await;
    }
    crate::say::status("stopped");
    Ok(())
}

/// `sync --follow`'s arguments for the sync `serve` runs.
fn sync_args(args: &ServeArgs) -> SyncArgs {
    SyncArgs {
        ledger: None,
        state: None,
        print: false,
        follow: true,
        every: args.every,
        poll: args.poll.clone(),
        table_prefix: args.ledger.table_prefix.clone(),
        no_prepared_statements: args.ledger.no_prepared_statements,
    }
}

/// Keeps the ledger as `sync --follow` does, and goes on after what would end that run (PandaDoc
/// refusing, a conflict): the server keeps answering, and /readyz and the metrics say the
/// ledger falls behind.
async fn keep(client: Client, args: &SyncArgs, ledger: AnyLedger, quiet: bool, stop: &Stop) {
    loop {
        match crate::sync::into_ledger(client.clone(), args, ledger.clone(), quiet, stop).await {
            Ok(()) => return,
            Err(failure) => {
                crate::say::status(&format!(
                    "the sync stopped: error[{}]: {}; trying again in {} s",
                    failure.kind,
                    failure.message,
                    args.every.as_secs_f32()
                ));
                if stop.sleep(args.every).await {
                    return;
                }
            }
        }
    }
}
