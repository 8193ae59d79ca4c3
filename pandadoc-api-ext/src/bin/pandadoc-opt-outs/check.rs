//! `check`: may these numbers be texted? One line each, and the exit code says it in brief.

use pandadoc_api_ext::ledger::{Access, Ledger, LedgerEntry, Textability, canonical_phone};
use serde_json::json;

use crate::args::CheckArgs;
use crate::failure::Failure;
use crate::output::{self, Lines, Record};

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

/// One line per number. Exit 0: every number may be texted; 3: at least one opted out; 4: the
/// ledger is staler than `max_staleness` (no answer can be trusted).
pub async fn check(args: &CheckArgs) -> Result<u8, Failure> {
    let (phones, max_staleness, format) = (&args.phones, args.max_staleness, args.format);
    // Every number is checked before any is looked up: a typo is exit 2, with nothing printed.
    let numbers = phones
        .iter()
        .map(|phone| canonical_phone(phone))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::store)?;
    let ledger = crate::ledger::open_named(&args.ledger, Access::Read).await?;
    // One call (one statement on PostgreSQL, one reading of the ledger's freshness).
    let asked: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let answers = ledger
        .textabilities(&asked, max_staleness)
        .await
        .map_err(Failure::store)?;
    let mut verdicts = Vec::with_capacity(numbers.len());
    let (mut opted_out, mut stale) = (false, false);
    for (phone, answer) in numbers.into_iter().zip(answers) {
        let answer = answer.map_err(Failure::store)?;
        opted_out |= matches!(answer, Textability::OptedOut(_));
        stale |= matches!(answer, Textability::Stale { .. });
        let (verdict, entry) = (answer.verdict(), answer.entry().cloned());
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
