//! What this crate counts, through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`). Nothing is recorded until the application installs a recorder (for instance
//! `metrics-exporter-prometheus`, as `pandadoc-opt-outs serve` does); without the feature the
//! calls compile to nothing.
//!
//! | Name | Type | Labels | What |
//! |---|---|---|---|
//! | [`REQUESTS`] | counter | `operation`, `outcome` | PandaDoc requests sent, one per attempt; `outcome` is `success` or an [`ErrorKind`](crate::ErrorKind) name (`throttled`, `server`, ...) |
//! | [`CHANGES_APPLIED`] | counter | | changes the sync recorded in a ledger (repeats of an overlap not counted) |
//! | [`SET_ASIDE`] | counter | | changes the ledger set aside for the first time |
//! | [`LAST_POLL`] | gauge | | Unix time (seconds) when this process last committed a window read from PandaDoc |

/// PandaDoc requests, by `operation` (the spec's `operationId`) and `outcome`.
pub const REQUESTS: &str = "pandadoc_requests_total";
/// Changes the sync recorded in a ledger.
pub const CHANGES_APPLIED: &str = "pandadoc_sync_changes_applied_total";
/// Changes the ledger set aside.
pub const SET_ASIDE: &str = "pandadoc_sync_set_aside_total";
/// When this process last committed a window read from PandaDoc (Unix seconds).
pub const LAST_POLL: &str = "pandadoc_sync_last_poll_timestamp_seconds";

/// One attempt of `operation` ended with `outcome`.
#[inline]
pub(crate) fn request(operation: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(REQUESTS, "operation" => operation, "outcome" => outcome).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, outcome);
}

/// A window read from PandaDoc was committed to a ledger: `recorded` changes appended to its
/// history, `set_aside` set aside.
#[cfg(feature = "sms-opt-outs")]
pub(crate) fn window_committed(recorded: u64, set_aside: u64) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(CHANGES_APPLIED).increment(recorded);
        metrics::counter!(SET_ASIDE).increment(set_aside);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        metrics::gauge!(LAST_POLL).set(now.as_secs_f64());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (recorded, set_aside);
}
