//! `/metrics`: the library's counters (requests, changes recorded) and `serve`'s own, in
//! Prometheus's text format (metrics-exporter-prometheus). The ledger's figures are read when
//! scraped, so they are true whichever replica keeps the ledger.
//!
//! | Name | Type | What |
//! |---|---|---|
//! | `pandadoc_sync_lag_seconds` | gauge | how far the ledger's checkpoint is behind the database's now |
//! | `pandadoc_ledger_caught_up_timestamp_seconds` | gauge | when a sync last confirmed it was caught up (Unix s, the database's clock) |
//! | `pandadoc_ledger_stale` | gauge | 1 while the ledger is staler than `--max-staleness` |
//! | `pandadoc_ledger_up` | gauge | 1 if the ledger answered this scrape |
//! | `pandadoc_sync_leading` | gauge | 1 while this process polls PandaDoc |
//! | `pandadoc_lookups_total{verdict}` | counter | look-ups by verdict |
//! | `pandadoc_lookup_duration_seconds` | histogram | a look-up's time in the ledger |
//! | `pandadoc_http_requests_in_flight` | gauge | requests under way |
//!
//! and the library's (`pandadoc_api_ext::metrics`): `pandadoc_requests_total{operation,outcome}`,
//! `pandadoc_sync_changes_applied_total`, `pandadoc_sync_set_aside_total`,
//! `pandadoc_sync_last_poll_timestamp_seconds`.

use std::time::Duration;

use chrono::TimeDelta;
use metrics::{Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pandadoc_api_ext::ledger::{AnyLedger, Ledger, Textability};

const LAG: &str = "pandadoc_sync_lag_seconds";
const CAUGHT_UP: &str = "pandadoc_ledger_caught_up_timestamp_seconds";
const STALE: &str = "pandadoc_ledger_stale";
const UP: &str = "pandadoc_ledger_up";
const LEADING: &str = "pandadoc_sync_leading";
const LOOKUPS: &str = "pandadoc_lookups_total";
const LOOKUP_SECONDS: &str = "pandadoc_lookup_duration_seconds";
const IN_FLIGHT: &str = "pandadoc_http_requests_in_flight";

/// From 50 µs (a SQLite look-up) to 1 s (a ledger in trouble).
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The recorder's handle and the per-look-up handles, registered once.
pub struct Metrics {
    handle: PrometheusHandle,
    /// By verdict: opted-out, opted-in, never-seen, stale.
    lookups: [Counter; 4],
    latency: Histogram,
    pub in_flight: Gauge,
}

impl Metrics {
    /// Installs the process's recorder (once) and keeps its histograms bounded: samples are
    /// folded into buckets every 5 s whether or not anyone scrapes.
    pub fn install() -> Result<Self, String> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(LOOKUP_SECONDS.into()), BUCKETS)
            .and_then(|b| b.install_recorder())
            .map_err(|e| e.to_string())?;
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        describe();
        let verdict = |v: &'static str| metrics::counter!(LOOKUPS, "verdict" => v);
        Ok(Self {
            handle,
            lookups: [
                verdict("opted-out"),
                verdict("opted-in"),
                verdict("never-seen"),
                verdict("stale"),
            ],
            latency: metrics::histogram!(LOOKUP_SECONDS),
            in_flight: metrics::gauge!(IN_FLIGHT),
        })
    }

    /// A look-up of the ledger (one number, or a whole batch) took `took`.
    pub fn looked_up(&self, took: Duration) {
        self.latency.record(took.as_secs_f64());
    }

    /// A number's answer was `answer`.
    pub fn answered(&self, answer: &Textability) {
        let i = match answer {
            Textability::OptedOut(_) => 0,
            Textability::OptedIn(_) => 1,
            Textability::NeverSeen => 2,
            Textability::Stale { .. } => 3,
        };
        self.lookups[i].increment(1);
    }

    /// The text of a scrape, `ledger`'s figures read now (stale beyond `max_staleness`), or
    /// `pandadoc_ledger_up 0` when it does not answer within `bound`; `leads`: whether this
    /// process polls PandaDoc.
    pub async fn render(
        &self,
        ledger: &AnyLedger,
        bound: Duration,
        max_staleness: TimeDelta,
        leads: bool,
    ) -> String {
        match tokio::time::timeout(bound, ledger.freshness()).await {
            Ok(Ok(f)) => {
                metrics::gauge!(UP).set(1.0);
                metrics::gauge!(STALE).set(f64::from(u8::from(f.is_stale(max_staleness))));
                if let Some(lag) = f.lag() {
                    metrics::gauge!(LAG).set(lag.num_milliseconds() as f64 / 1000.0);
                }
                if let Some(at) = f.caught_up {
                    metrics::gauge!(CAUGHT_UP).set(at.timestamp_millis() as f64 / 1000.0);
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the ledger did not answer a scrape");
                metrics::gauge!(UP).set(0.0);
            }
            Err(_) => {
                tracing::warn!(
                    "the ledger did not answer a scrape within {} s",
                    bound.as_secs_f32()
                );
                metrics::gauge!(UP).set(0.0);
            }
        }
        metrics::gauge!(LEADING).set(f64::from(u8::from(leads)));
        self.handle.render()
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    use pandadoc_api_ext::metrics as lib;
    describe_gauge!(
        LAG,
        Unit::Seconds,
        "How far the ledger's checkpoint is behind now (the database's clock)."
    );
    describe_gauge!(
        CAUGHT_UP,
        Unit::Seconds,
        "When a sync last confirmed the ledger caught up (Unix time, the database's clock)."
    );
    describe_gauge!(STALE, "1 while the ledger is staler than --max-staleness.");
    describe_gauge!(UP, "1 if the ledger answered this scrape.");
    describe_gauge!(LEADING, "1 while this process polls PandaDoc.");
    describe_counter!(LOOKUPS, "Look-ups by verdict.");
    describe_histogram!(
        LOOKUP_SECONDS,
        Unit::Seconds,
        "A look-up's time in the ledger."
    );
    describe_gauge!(IN_FLIGHT, "HTTP requests under way.");
    describe_counter!(
        lib::REQUESTS,
        "PandaDoc requests by operation and outcome (one per attempt)."
    );
    describe_counter!(
        lib::CHANGES_APPLIED,
        "Changes this process recorded in the ledger."
    );
    describe_counter!(lib::SET_ASIDE, "Changes this process set aside.");
    describe_gauge!(
        lib::LAST_POLL,
        Unit::Seconds,
        "When this process last committed a window read from PandaDoc (Unix time)."
    );
}
