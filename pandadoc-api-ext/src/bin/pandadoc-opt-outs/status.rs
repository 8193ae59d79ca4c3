//! `status`: the ledger's checkpoint, how far behind now, counts, schema version and lease.

use chrono::Utc;
use pandadoc_api_ext::ledger::{AnyLedger, Ledger};
use serde_json::json;

use crate::args::StatusArgs;
use crate::failure::Failure;
use crate::output::Lines;

/// The checkpoint, how far behind now, counts, schema version and (PostgreSQL) the lease.
pub async fn status(args: &StatusArgs) -> Result<(), Failure> {
    let (url, options) = args.ledger.parsed().map_err(Failure::store)?;
    let ledger = crate::ledger::open(&url, &options).await?;
    let stats = ledger.stats().await.map_err(Failure::store)?;
    let behind = stats.checkpoint.map(|c| (Utc::now() - c).num_seconds());
    let mut status = json!({
        "checkpoint": stats.checkpoint,
        "behind_s": behind,
        "numbers_by_status": stats.numbers_by_status,
        "history": stats.history,
        "schema_version": stats.schema_version,
    });
    status["location"] = json!(ledger.location());
    if let AnyLedger::Postgres(pg) = &ledger {
        let holder = pg.leader().await.map_err(Failure::store)?;
        status["lease_holder"] = json!(holder.map(|h| json!({
            "pid": h.pid,
            "application_name": h.application_name,
            "client_addr": h.client_addr,
            "since": h.since,
        })));
    }
    let mut lines = Lines::new();
    lines.line(&status.to_string()).map_err(Failure::output)?;
    lines.flush().map_err(Failure::output)?;
    Ok(())
}
