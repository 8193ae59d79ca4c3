//! Catch-up benchmark: 30 days of SMS opt-out changes at 1,000 an hour (720,000 changes of
//! 50,000 numbers) through the simulated endpoint on loopback, with the default sync options
//! (24 h windows, 5 min overlap, 30 s lag).
//!
//! ```text
//! cargo bench -p pandadoc-api-ext --bench sync
//! ```
//!
//! The process serves the endpoint and runs the sync in a child process of its own (this
//! binary again), so that the child's peak RSS (`VmHWM`) is the sync's alone, not the
//! simulated server's truth log. Prints requests, windows, changes delivered, wall time and
//! peak RSS, and writes them to `target/bench/sync.json`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::sim;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use pandadoc_api_ext::sync::{MemoryStore, OptOutSync, SyncOptions};
use pandadoc_api_ext::{Client, SystemClock};

const ROLE: &str = "PANDADOC_SYNC_BENCH_CHILD";

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The child: catches up from `start` against `base_url`, prints its figures as JSON.
async fn child(base_url: String, start: DateTime<Utc>) {
    let client = Client::builder()
        .api_key("bench")
        .base_url(base_url)
        .build()
        .unwrap();
    let mut sync = OptOutSync::new(
        client,
        MemoryStore::default(),
        start,
        SyncOptions::default(),
    );
    let started = Instant::now();
    let mut delivered = 0usize;
    let windows = sync
        .catch_up(async |batch| {
            delivered += batch.changes.len();
            Ok::<(), std::convert::Infallible>(())
        })
        .await
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "windows": windows,
            "delivered": delivered,
            "wall_s": wall,
            "peak_rss_mib": peak_rss_kib() as f64 / 1024.0,
        })
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if let (Ok(url), Ok(start)) = (std::env::var(ROLE), std::env::var("START")) {
        let start = DateTime::parse_from_rfc3339(&start)
            .unwrap()
            .with_timezone(&Utc);
        return runtime.block_on(child(url, start));
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` asks for a list: nothing to run
    }
    runtime.block_on(async {
        let start = Utc::now() - TimeDelta::days(30) - TimeDelta::hours(1);
        let log = Arc::new(sim::truth(1, start, 50_000, 720_000, 30));
        let server = sim::start_server(log, Arc::new(SystemClock), Arc::default()).await;
        let me = std::env::current_exe().unwrap();
        let output = tokio::process::Command::new(me)
            .env(ROLE, &server.base_url)
            .env("START", start.to_rfc3339())
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut figures: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        figures["requests"] = server.requests()
            .into();
        figures["changes_in_truth"] = 720_000.into();
        println!(
            "sync catch-up, 30 days at 1,000 changes/hour: {} requests, {} windows, {} changes delivered, {:.2} s, peak RSS {:.1} MiB",
            figures["requests"],
            figures["windows"],
            figures["delivered"],
            figures["wall_s"].as_f64().unwrap_or(0.0),
            figures["peak_rss_mib"].as_f64().unwrap_or(0.0),
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sync.json"), figures.to_string()).unwrap();
    });
}
