//! Ledger benchmark: apply throughput, look-ups on a ledger of 1M numbers, and the 30-day
//! catch-up of the sync benchmark written into each ledger against the same catch-up printed
//! as JSON lines.
//!
//! ```text
//! cargo bench -p pandadoc-api-ext --bench ledger                          # SQLite only
//! bash .ci/with-postgres cargo bench -p pandadoc-api-ext --bench ledger   # and PostgreSQL
//! ```
//!
//! SQLite runs in a temporary file (WAL, `synchronous = FULL`: every commit is fsynced);
//! PostgreSQL on the server `PANDADOC_TEST_POSTGRES_URL` names, in a schema of its own. Prints
//! a table and writes the figures to `target/bench/ledger.json`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use common::{ledgers, sim};
use pandadoc_api_ext::ledger::{Ledger, PostgresLedger, SqliteLedger};
use pandadoc_api_ext::sync::{Checkpoint, MemoryStore, OptOutSync, SyncOptions};
use pandadoc_api_ext::{Client, SmsOptOutChange, SystemClock};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `n` changes of numbers drawn from `numbers`, each later than the one before.
fn changes(rng: &mut fastrand::Rng, n: usize, numbers: usize, from: i64) -> Vec<SmsOptOutChange> {
    (0..n)
        .map(|i| SmsOptOutChange {
            phone_number: Some(format!("+1555{:07}", rng.usize(..numbers))),
            status: Some(if rng.bool() { "opt-out" } else { "opt-in" }.into()),
            opt_out_changed: Some(t0() + TimeDelta::seconds(from + i as i64)),
            unreadable: None,
        })
        .collect()
}

/// Applies `total` changes in batches of `batch`; changes a second.
async fn apply_rate(ledger: &impl Ledger, batch: usize, total: usize) -> f64 {
    let mut rng = fastrand::Rng::with_seed(batch as u64);
    let all = changes(&mut rng, total, 1_000_000, 0);
    let mut previous: Option<Checkpoint> = None;
    let started = Instant::now();
    for (n, chunk) in all.chunks(batch).enumerate() {
        let next = Checkpoint {
            watermark: t0() + TimeDelta::hours(n as i64 + 1),
        };
        ledger.apply(chunk, previous.as_ref(), &next).await.unwrap();
        previous = Some(next);
    }
    total as f64 / started.elapsed().as_secs_f64()
}

struct Lookups {
    per_s: f64,
    p50_us: f64,
    p99_us: f64,
}

fn summarize(mut latencies: Vec<Duration>, wall: Duration) -> Lookups {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Lookups {
        per_s: latencies.len() as f64 / wall.as_secs_f64(),
        p50_us: at(0.50).as_secs_f64() * 1e6,
        p99_us: at(0.99).as_secs_f64() * 1e6,
    }
}

fn random_numbers(n: usize) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(42);
    // One in ten is a number the ledger has never seen.
    (0..n)
        .map(|_| format!("+1 555 {:07}", rng.usize(..1_100_000)))
        .collect()
}

/// The 30-day catch-up of `benches/sync.rs` (720,000 changes of 50,000 numbers): seconds.
async fn catch_up(base_url: &str, start: DateTime<Utc>, into: Sink<'_>) -> (f64, usize) {
    let client = Client::builder()
        .api_key("bench")
        .base_url(base_url)
        .build()
        .unwrap();
    let options = SyncOptions::default();
    let started = Instant::now();
    let mut delivered = 0;
    match into {
        Sink::Stdout => {
            // As `--state` does: each change a JSON line, written window by window.
            let mut out = std::io::BufWriter::new(std::fs::File::create("/dev/null").unwrap());
            OptOutSync::new(client, MemoryStore::default(), start, options)
                .catch_up(async |batch| {
                    for change in &batch.changes {
                        serde_json::to_writer(&mut out, change).unwrap();
                        out.write_all(b"\n").unwrap();
                    }
                    out.flush().unwrap();
                    delivered += batch.changes.len();
                    Ok::<(), std::io::Error>(())
                })
                .await
                .unwrap();
        }
        Sink::Sqlite(ledger) => delivered = into_ledger(client, ledger.clone(), start).await,
        Sink::Postgres(ledger) => delivered = into_ledger(client, ledger.clone(), start).await,
    }
    (started.elapsed().as_secs_f64(), delivered)
}

/// The catch-up into `ledger`: changes recorded.
async fn into_ledger(client: Client, ledger: impl Ledger, start: DateTime<Utc>) -> usize {
    let mut delivered = 0;
    OptOutSync::new(client, ledger, start, SyncOptions::default())
        .catch_up_into_ledger(async |batch| {
            delivered += batch.changes.len();
            Ok::<(), std::io::Error>(())
        })
        .await
        .unwrap();
    delivered
}

enum Sink<'a> {
    Stdout,
    Sqlite(&'a SqliteLedger),
    Postgres(&'a PostgresLedger),
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` asks for a list: nothing to run
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = std::env::var(ledgers::POSTGRES_URL).ok();
    if postgres.is_none() {
        eprintln!(
            "PostgreSQL: skipped (no {}); run `bash .ci/with-postgres cargo bench -p pandadoc-api-ext --bench ledger`",
            ledgers::POSTGRES_URL
        );
    }
    // `cargo bench --bench ledger -- apply` runs one part (apply, look-ups, catch-up);
    // `-- apply-10000` one batch size.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |part: &str| {
        parts.is_empty()
            || parts.iter().any(|p| {
                part.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
            })
    };
    let mut figures = serde_json::Map::new();
    runtime.block_on(async {
        // Apply throughput.
        let sizes = [(100, 200_000), (10_000, 300_000), (100_000, 500_000)];
        for (batch, total) in sizes
            .into_iter()
            .filter(|(batch, _)| run(&format!("apply-{batch}")))
        {
            let (_dir, sqlite) = ledgers::sqlite();
            let rate = apply_rate(&sqlite, batch, total).await;
            println!("apply, SQLite, batches of {batch:>6}: {rate:>9.0} changes/s");
            figures.insert(format!("apply_sqlite_{batch}"), json!(rate));
            if let Some(url) = &postgres {
                let pg = ledgers::postgres(url).await;
                let rate = apply_rate(&pg, batch, total).await;
                println!("apply, PostgreSQL, batches of {batch:>6}: {rate:>9.0} changes/s");
                figures.insert(format!("apply_postgres_{batch}"), json!(rate));
            }
        }

        if run("look-ups") {
            lookups(&postgres, &mut figures).await;
        }
        if run("catch-up") {
            catch_ups(&postgres, &mut figures).await;
        }
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ledger.json"),
        serde_json::Value::Object(figures).to_string(),
    )
    .unwrap();
}

type Figures = serde_json::Map<String, serde_json::Value>;

/// Look-ups on 1M numbers.
async fn lookups(postgres: &Option<String>, figures: &mut Figures) {
    let numbers = random_numbers(200_000);
    let (_dir, sqlite) = ledgers::sqlite();
    ledgers::fill(&sqlite, 1_000_000).await;
    let bound = TimeDelta::minutes(15);
    let mut latencies = Vec::with_capacity(numbers.len());
    let started = Instant::now();
    let mut may_text = 0;
    for n in &numbers {
        let t = Instant::now();
        may_text += usize::from(sqlite.textability_blocking(n, bound).unwrap().may_text());
        latencies.push(t.elapsed());
    }
    let s = summarize(latencies, started.elapsed());
    assert!(may_text > 0 && may_text < numbers.len());
    println!(
        "look-ups, SQLite, 1M numbers, in-process: {:>9.0}/s, p50 {:.1} µs, p99 {:.1} µs",
        s.per_s, s.p50_us, s.p99_us
    );
    figures.insert("lookup_sqlite_per_s".into(), json!(s.per_s));
    figures.insert("lookup_sqlite_p99_us".into(), json!(s.p99_us));
    if let Some(url) = &postgres {
        let pg = ledgers::postgres(url).await;
        ledgers::fill(&pg, 1_000_000).await;
        let numbers = &numbers[..20_000];
        let mut latencies = Vec::with_capacity(numbers.len());
        let started = Instant::now();
        for n in numbers {
            let t = Instant::now();
            pg.textability(n, bound).await.unwrap();
            latencies.push(t.elapsed());
        }
        let s = summarize(latencies, started.elapsed());
        println!(
            "look-ups, PostgreSQL, 1M numbers, one connection on loopback: {:>9.0}/s, p50 {:.1} µs, p99 {:.1} µs",
            s.per_s, s.p50_us, s.p99_us
        );
        figures.insert("lookup_postgres_per_s".into(), json!(s.per_s));
        figures.insert("lookup_postgres_p99_us".into(), json!(s.p99_us));
        // Batches of 1000 (`serve`'s largest by default): one call each, against the same
        // 1000 looked up one by one.
        let (mut one_by_one, mut batched) = (Vec::new(), Vec::new());
        for chunk in numbers.chunks(1000) {
            let t = Instant::now();
            for n in chunk {
                pg.textability(n, bound).await.unwrap();
            }
            one_by_one.push(t.elapsed());
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let t = Instant::now();
            let answers = pg.textabilities(&chunk, bound).await.unwrap();
            batched.push(t.elapsed());
            assert_eq!(answers.len(), chunk.len());
        }
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2].as_secs_f64() * 1e3
        };
        let (one_by_one, batched) = (median(one_by_one), median(batched));
        println!(
            "look-ups, PostgreSQL, 1000 numbers: one by one {one_by_one:.1} ms, one batch {batched:.1} ms (medians)"
        );
        figures.insert(
            "lookup_postgres_1000_one_by_one_ms".into(),
            json!(one_by_one),
        );
        figures.insert("lookup_postgres_1000_batch_ms".into(), json!(batched));
    }
}

/// The 30-day catch-up, three ways.
async fn catch_ups(postgres: &Option<String>, figures: &mut Figures) {
    let start = Utc::now() - TimeDelta::days(30) - TimeDelta::hours(1);
    let log = Arc::new(sim::truth(1, start, 50_000, 720_000, 30));
    let server = sim::start_server(log, Arc::new(SystemClock), Arc::default()).await;
    let (stdout_s, delivered) = catch_up(&server.base_url, start, Sink::Stdout).await;
    println!("catch-up, 30 days, JSON lines: {stdout_s:.2} s ({delivered} changes)");
    figures.insert("catch_up_stdout_s".into(), json!(stdout_s));
    let (_dir, sqlite) = ledgers::sqlite();
    let (s, _) = catch_up(&server.base_url, start, Sink::Sqlite(&sqlite)).await;
    println!(
        "catch-up, 30 days, SQLite ledger: {s:.2} s ({:.2}x)",
        s / stdout_s
    );
    figures.insert("catch_up_sqlite_s".into(), json!(s));
    if let Some(url) = &postgres {
        let pg = ledgers::postgres(url).await;
        let (s, _) = catch_up(&server.base_url, start, Sink::Postgres(&pg)).await;
        println!(
            "catch-up, 30 days, PostgreSQL ledger: {s:.2} s ({:.2}x)",
            s / stdout_s
        );
        figures.insert("catch_up_postgres_s".into(), json!(s));
    }
}
