//! The last day's SMS opt-out changes, one line each, with the errors a caller meets.
//!
//! ```text
//! PANDADOC_API_KEY=... cargo run -q -p pandadoc-api-ext --example sms_opt_outs
//! ```
//!
//! The program people run is `pandadoc-opt-outs` (feature `cli`): `list`, `sync` into a
//! ledger, `check`, `export`, `status`.

use chrono::TimeDelta;
use pandadoc_api_ext::{Client, ErrorKind, SmsOptOutStatus, TimeRange};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // PANDADOC_API_KEY or PANDADOC_ACCESS_TOKEN; PANDADOC_BASE_URL for a mock server.
    let client = Client::from_env()?;

    match client
        .sms_opt_outs(TimeRange::last(TimeDelta::hours(24)))
        .await
    {
        Ok(page) => {
            eprintln!("{} changes in {}", page.changes.len(), page.window);
            for change in &page.changes {
                let verdict = match &change.status {
                    Some(SmsOptOutStatus::OptIn) => "may text",
                    // Opted out, or a status this client does not know yet: do not text.
                    _ => "do not text",
                };
                println!(
                    "{} {verdict} (since {})",
                    change.phone_number.as_deref().unwrap_or("?"),
                    change
                        .opt_out_changed
                        .map_or_else(|| "?".to_string(), |t| t.to_rfc3339())
                );
            }
            Ok(())
        }
        // Retries already ran; the server says when to come back.
        Err(e) if e.kind() == ErrorKind::Throttled => {
            eprintln!("throttled: try again in {:?}", e.retry_after());
            Err(e.into())
        }
        // Wrong or missing credentials: no retry will help.
        Err(e) if e.kind() == ErrorKind::Authentication => {
            eprintln!("check PANDADOC_API_KEY: {}", e.message());
            Err(e.into())
        }
        Err(e) => {
            eprintln!(
                "error[{}]: {} (status {:?})",
                e.kind(),
                e.message(),
                e.status()
            );
            Err(e.into())
        }
    }
}
