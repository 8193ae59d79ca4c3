//! `list`: the changes of one window, straight from PandaDoc.

use pandadoc_api_ext::{Client, SmsOptOutChange, TimeRange};

use crate::args::ListArgs;
use crate::failure::Failure;
use crate::output::{self, Lines, Record};

impl Record for SmsOptOutChange {
    const COLUMNS: &'static [&'static str] = &["phone_number", "status", "opt_out_changed"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.phone_number.clone().unwrap_or_default(),
            self.status
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            self.opt_out_changed
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
        ]
    }
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

pub async fn list(args: &ListArgs) -> Result<(), Failure> {
    let client = Client::from_env().map_err(Failure::api)?;
    let range = match (args.last, args.from, args.to) {
        (Some(span), _, _) => TimeRange::last(span),
        (None, Some(from), Some(to)) => TimeRange::between(from, to),
        (None, Some(from), None) => TimeRange::since(from),
        _ => TimeRange::default(),
    };
    let page = client.sms_opt_outs(range).await.map_err(Failure::api)?;
    output::print(&mut Lines::new(), args.format, &page.changes, true).map_err(Failure::output)?;
    crate::say::status(&format!(
        "{} changes in {}",
        page.changes.len(),
        page.window
    ));
    Ok(())
}
