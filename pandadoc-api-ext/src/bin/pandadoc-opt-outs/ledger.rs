//! `check`, `export` and `status`: answers from a ledger, without a PandaDoc call.

use chrono::{TimeDelta, Utc};
use pandadoc_api_ext::ledger::{
    Ledger, LedgerEntry, LedgerOptions, PostgresLedger, PostgresOptions, SqliteLedger, Textability,
    canonical_phone,
};
use pandadoc_api_ext::sync::StoreError;
use serde_json::json;

use crate::Failure;
use crate::output::{self, Format, Lines, Record};

/// A ledger named by a URL: `sqlite:PATH` or `postgres://...`.
#[derive(Clone, Debug)]
pub enum AnyLedger {
    Sqlite(SqliteLedger),
    Postgres(PostgresLedger),
}

/// Opens the ledger at `url`; an unknown scheme is invalid input.
pub async fn open(url: &str, prefix: &str) -> Result<AnyLedger, StoreError> {
    let options = LedgerOptions::default().prefix(prefix);
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path).to_string();
        if path.is_empty() {
            return Err(StoreError::InvalidInput {
                message: "the ledger URL sqlite: needs a path, like sqlite:/var/lib/opt-outs.db"
                    .into(),
            });
        }
        let location = path.clone();
        return tokio::task::spawn_blocking(move || SqliteLedger::open(path, &options))
            .await
            .map_err(|e| StoreError::Io {
                location,
                source: std::io::Error::other(e),
            })?
            .map(AnyLedger::Sqlite);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let name = format!("pandadoc-opt-outs@{}:{}", hostname(), std::process::id());
        let pg = PostgresOptions::default().application_name(name);
        return PostgresLedger::connect(url, &options, &pg)
            .await
            .map(AnyLedger::Postgres);
    }
    Err(StoreError::InvalidInput {
        message: "the ledger URL is sqlite:PATH or postgres://user@host/dbname".into(),
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Calls `$method` on whichever ledger it is.
macro_rules! on {
    ($ledger:expr, $l:ident => $body:expr) => {
        match $ledger {
            AnyLedger::Sqlite($l) => $body,
            AnyLedger::Postgres($l) => $body,
        }
    };
}
pub(crate) use on;

struct Verdict {
    phone: String,
    verdict: &'static str,
    entry: Option<LedgerEntry>,
}

impl Record for Verdict {
    const COLUMNS: &'static [&'static str] =
        &["phone_number", "verdict", "status", "opt_out_changed"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.phone.clone(),
            self.verdict.into(),
            self.entry
                .as_ref()
                .map(|e| e.status.to_string())
                .unwrap_or_default(),
            self.entry
                .as_ref()
                .map(|e| e.opt_out_changed.to_rfc3339())
                .unwrap_or_default(),
        ]
    }
    fn json(&self) -> serde_json::Value {
        json!({
            "phone_number": self.phone,
            "verdict": self.verdict,
            "status": self.entry.as_ref().map(|e| e.status.to_string()),
            "opt_out_changed": self.entry.as_ref().map(|e| e.opt_out_changed),
        })
    }
}

impl Record for LedgerEntry {
    const COLUMNS: &'static [&'static str] =
        &["phone_number", "status", "opt_out_changed", "recorded"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.phone_number.clone(),
            self.status.to_string(),
            self.opt_out_changed.to_rfc3339(),
            self.recorded.to_rfc3339(),
        ]
    }
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// One line per number. Exit 0: every number may be texted; 3: at least one opted out; 4: the
/// ledger is staler than `max_staleness` (no answer can be trusted).
pub async fn check(
    ledger: &AnyLedger,
    phones: &[String],
    max_staleness: TimeDelta,
    format: Format,
) -> Result<u8, Failure> {
    // Every number is checked before any is looked up: a typo is exit 2, with nothing printed.
    for phone in phones {
        canonical_phone(phone).map_err(Failure::store)?;
    }
    let mut verdicts = Vec::with_capacity(phones.len());
    let (mut opted_out, mut stale) = (false, false);
    for phone in phones {
        let answer =
            on!(ledger, l => l.textability(phone, max_staleness).await).map_err(Failure::store)?;
        let (verdict, entry) = match answer {
            Textability::OptedOut(e) => {
                opted_out = true;
                ("opted-out", Some(e))
            }
            Textability::OptedIn(e) => ("opted-in", Some(e)),
            Textability::NeverSeen => ("never-seen", None),
            Textability::Stale { entry, .. } => {
                stale = true;
                ("stale", entry)
            }
        };
        let phone = canonical_phone(phone).map_err(Failure::store)?;
        verdicts.push(Verdict {
            phone,
            verdict,
            entry,
        });
    }
    output::print(&mut Lines::new(), format, &verdicts, true).map_err(Failure::output)?;
    Ok(if stale {
        4
    } else if opted_out {
        3
    } else {
        0
    })
}

/// The current list, in number order, a page at a time.
pub async fn export(
    ledger: &AnyLedger,
    only_opted_out: bool,
    format: Format,
) -> Result<(), Failure> {
    let mut lines = Lines::new();
    let mut after: Option<String> = None;
    let mut first = true;
    loop {
        let page = on!(ledger, l => l.entries(after.as_deref(), 10_000, only_opted_out).await)
            .map_err(Failure::store)?;
        let Some(last) = page.last() else { break };
        after = Some(last.phone_number.clone());
        output::print(&mut lines, format, &page, first).map_err(Failure::output)?;
        first = false;
    }
    if first && format == Format::Csv {
        output::print::<LedgerEntry>(&mut lines, format, &[], true).map_err(Failure::output)?;
    }
    Ok(())
}

/// The checkpoint, how far behind now, counts, schema version and (PostgreSQL) the lease.
pub async fn status(ledger: &AnyLedger) -> Result<(), Failure> {
    let stats = on!(ledger, l => l.stats().await).map_err(Failure::store)?;
    let behind = stats.checkpoint.map(|c| (Utc::now() - c).num_seconds());
    let mut status = json!({
        "checkpoint": stats.checkpoint,
        "behind_s": behind,
        "numbers_by_status": stats.numbers_by_status,
        "history": stats.history,
        "schema_version": stats.schema_version,
    });
    if let AnyLedger::Postgres(pg) = ledger {
        let holder = pg.leader().await.map_err(Failure::store)?;
        status["location"] = json!(pg.location());
        status["lease_holder"] = json!(holder.map(|h| json!({
            "pid": h.pid,
            "application_name": h.application_name,
            "client_addr": h.client_addr,
            "since": h.since,
        })));
    }
    if let AnyLedger::Sqlite(l) = ledger {
        status["location"] = json!(l.path().display().to_string());
    }
    let mut lines = Lines::new();
    lines.line(&status.to_string()).map_err(Failure::output)?;
    lines.flush().map_err(Failure::output)?;
    Ok(())
}
