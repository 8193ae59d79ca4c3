//! `export`: the whole list, in number order, for a CRM or an SMS tool.

use pandadoc_api_ext::ledger::{Ledger, LedgerEntry};

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

/// The current list, in number order, a page at a time.
pub async fn export(args: &ExportArgs) -> Result<(), Failure> {
    let (only_opted_out, format) = (args.only.is_some(), args.format);
    let (url, options) = args.ledger.parsed().map_err(Failure::store)?;
    let ledger = crate::ledger::open(&url, &options).await?;
    let mut lines = Lines::new();
    let mut after: Option<String> = None;
    let mut first = true;
    loop {
        let page = ledger
            .entries(after.as_deref(), 10_000, only_opted_out)
            .await
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
