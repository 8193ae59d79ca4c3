//! `export`: the whole list, in number order, for a CRM or an SMS tool; or the changes set
//! aside.

use pandadoc_api_ext::ledger::{Access, AnyLedger, Ledger, LedgerEntry, SetAside};
use pandadoc_api_ext::sync::StoreError;

use crate::args::ExportArgs;
use crate::failure::Failure;
use crate::output::{self, Format, Lines, Record};

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

impl Record for SetAside {
    const COLUMNS: &'static [&'static str] = &["record", "reason", "phone_number", "received"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.record.clone(),
            self.reason.clone(),
            self.phone_number.clone().unwrap_or_default(),
            self.received.to_rfc3339(),
        ]
    }
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

const PAGE: usize = 10_000;

/// The current list in number order (or what was set aside), a page at a time.
pub async fn export(args: &ExportArgs) -> Result<(), Failure> {
    let ledger = crate::ledger::open_named(&args.ledger, Access::Read).await?;
    if args.set_aside {
        let page =
            async |l: &AnyLedger, after: Option<String>| l.set_aside(after.as_deref(), PAGE).await;
        return print_pages(&ledger, args.format, page, |r: &SetAside| r.record.clone()).await;
    }
    let only_opted_out = args.only.is_some();
    let page = async |l: &AnyLedger, after: Option<String>| {
        l.entries(after.as_deref(), PAGE, only_opted_out).await
    };
    print_pages(&ledger, args.format, page, |e: &LedgerEntry| {
        e.phone_number.clone()
    })
    .await
}

/// Prints every page `fetch` gives, each after the key of the last record of the one before.
/// A table is printed once, from all of them, so that its columns line up.
async fn print_pages<R: Record>(
    ledger: &AnyLedger,
    format: Format,
    fetch: impl AsyncFn(&AnyLedger, Option<String>) -> Result<Vec<R>, StoreError>,
    key: impl Fn(&R) -> String,
) -> Result<(), Failure> {
    let mut lines = Lines::new();
    let mut after: Option<String> = None;
    let mut first = true;
    let mut table = Vec::new();
    loop {
        let page = fetch(ledger, after.clone()).await.map_err(Failure::store)?;
        let Some(last) = page.last() else { break };
        after = Some(key(last));
        if format == Format::Table {
            table.extend(page);
            continue;
        }
        output::print(&mut lines, format, &page, first).map_err(Failure::output)?;
        first = false;
    }
    if format == Format::Table || (first && format == Format::Csv) {
        output::print(&mut lines, format, &table, true).map_err(Failure::output)?;
    }
    Ok(())
}
