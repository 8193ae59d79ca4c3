//! `status` and `init`: the ledger's checkpoint, how far behind now and since the sync was last caught
//! up (by the database's clock), counts, changes set aside, schema version and lease.

use chrono::{DateTime, Utc};
use pandadoc_api_ext::ledger::{Access, AnyLedger, Ledger};
use serde_json::json;

use crate::args::{InitArgs, StatusArgs};
use crate::failure::Failure;
use crate::output::Lines;

/// The checkpoint, how far behind now, counts, schema version and (PostgreSQL) the lease.
pub async fn status(args: &StatusArgs) -> Result<(), Failure> {
    let ledger = crate::ledger::open_named(&args.ledger, Access::Read).await?;
    print(&ledger).await
}

/// `init`: the ledger created or upgraded (opened to write), then its status.
pub async fn init(args: &InitArgs) -> Result<(), Failure> {
    let ledger = crate::ledger::open_named(&args.ledger, Access::Write).await?;
    print(&ledger).await
}

/// One JSON line: the figures of `ledger`.
async fn print(ledger: &AnyLedger) -> Result<(), Failure> {
    let stats = ledger.stats().await.map_err(Failure::store)?;
    // Both by the database's clock, as `check` judges staleness.
    let since = |t: Option<DateTime<Utc>>| t.map(|t| (stats.as_of - t).num_seconds());
    let mut status = json!({
        "checkpoint": stats.checkpoint,
        "behind_s": since(stats.checkpoint),
        "caught_up": stats.caught_up,
        "since_caught_up_s": since(stats.caught_up),
        "numbers_by_status": stats.numbers_by_status,
        "history": stats.history,
        "set_aside": stats.set_aside,
        "schema_version": stats.schema_version,
    });
    status["location"] = json!(ledger.location());
    if let AnyLedger::Postgres(pg) = ledger {
        let holder = pg.leader().await.map_err(Failure::store)?;
        status["lease_holder"] = json!(holder.map(|h| json!({
            "holder": h.holder,
            "epoch": h.epoch,
            "expires": h.expires,
        })));
    }
    let mut lines = Lines::new();
    lines.line(&status.to_string()).map_err(Failure::output)?;
    lines.flush().map_err(Failure::output)?;
    Ok(())
}
