//! What the client adds on top of the network, against a hand-written floor, in one run.
//!
//! `cargo bench -p pandadoc-api-ext --bench client` runs every case for three clients against a
//! loopback HTTP/1.1 keep-alive server in this process that streams canned bytes:
//! - **baseline**: plain reqwest + serde_json into hand-written structs, no retries, no hooks;
//! - **keyed** (instruction counts only): the baseline sending the headers ext sends, an
//!   `Authorization` API key (which the real API requires) and a `User-Agent`;
//! - **bounded** (instruction counts only): keyed with a per-request timeout, as ext has (every
//!   wait bounded);
//! - **raw**: the generated `pandadoc_api::Client`;
//! - **ext**: `pandadoc_api_ext::Client` with an API key, default retries and tracing (no
//!   subscriber), as a user would have it.
//!
//! It prints a table and writes `target/bench/summary.json`. Cases: decode of 1k/100k/1M-record
//! answers (MB/s), sequential small requests on one connection (req/s), 64 concurrent requests
//! through one shared client (req/s), peak RSS for the 1M-record answer (measured in a child
//! process per client), and `cargo xtask generate --check` wall time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use pandadoc_api_ext::{RetryPolicy, TimeRange};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

#[path = "../tests/common/loopback.rs"]
mod loopback;
use loopback::Loopback;

const RECORD: &str = r#"{"phone_number":"+14155550123","status":"opt-out","opt_out_changed":"2025-01-28T12:00:00Z"}"#;
const CLIENTS: [&str; 3] = ["baseline", "raw", "ext"];
/// Clients `PANDADOC_BENCH_PROFILE` can name.
const PROFILED: [&str; 5] = ["baseline", "keyed", "bounded", "raw", "ext"];
const KEY: &str = "bench-key-0123456789";

// ---- the server -------------------------------------------------------------------------------

/// Serves, on every request of every connection, an answer of `records` opt-out records,
/// streamed from one pre-rendered chunk so that even 1M records (about 94 MB) are not held in
/// memory.
async fn serve(records: usize) -> String {
    let per_chunk = 512;
    let chunk: Arc<Vec<u8>> = Arc::new(format!("{RECORD},").repeat(per_chunk).into_bytes());
    let body_len = "{\"results\":[".len()
        + records.saturating_sub(1) * (RECORD.len() + 1)
        + RECORD.len()
        + "]}".len();
    let head: Arc<Vec<u8>> = Arc::new(
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {body_len}\r\n\r\n").into_bytes(),
    );
    let server = Loopback::start(move |_, socket| {
        let (chunk, head) = (chunk.clone(), head.clone());
        Box::pin(async move {
            let mut out = Vec::with_capacity((head.len() + body_len).min(64 * 1024));
            out.extend_from_slice(&head);
            out.extend_from_slice(b"{\"results\":[");
            let mut left = records.saturating_sub(1);
            while left > 0 {
                let n = left.min(per_chunk);
                out.extend_from_slice(&chunk[..n * (RECORD.len() + 1)]);
                left -= n;
                if out.len() >= 64 * 1024 {
                    if socket.write_all(&out).await.is_err() {
                        return false;
                    }
                    out.clear();
                }
            }
            out.extend_from_slice(RECORD.as_bytes());
            out.extend_from_slice(b"]}");
            socket.write_all(&out).await.is_ok()
        })
    })
    .await;
    server.base_url
}

// ---- the three clients ------------------------------------------------------------------------

#[derive(Deserialize)]
#[allow(dead_code)]
struct Page {
    #[serde(default)]
    results: Vec<Change>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Change {
    phone_number: Option<String>,
    status: Option<String>,
    opt_out_changed: Option<DateTime<Utc>>,
}

struct Clients {
    base: String,
    window: (DateTime<Utc>, DateTime<Utc>),
    baseline: reqwest::Client,
    raw: pandadoc_api::Client,
    ext: pandadoc_api_ext::Client,
}

impl Clients {
    fn new(base: &str) -> Self {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        Self {
            base: base.to_string(),
            window: (at("2025-01-28T00:00:00Z"), at("2025-01-29T00:00:00Z")),
            baseline: reqwest::Client::new(),
            raw: pandadoc_api::Client::new(base, pandadoc_api::Hooks::default()),
            ext: pandadoc_api_ext::Client::builder()
                .api_key(KEY)
                .base_url(base)
                .retry(RetryPolicy::default())
                .build()
                .unwrap(),
        }
    }

    /// One request by `client`; the number of records decoded.
    async fn call(&self, client: &str) -> usize {
        let (from, to) = self.window;
        match client {
            // What a hand-written client does: the same query, serialized by serde.
            "baseline" => {
                let url = format!("{}/public/v1/sms-opt-outs", self.base);
                let query = [("timestamp_from", from), ("timestamp_to", to)];
                let response = self.baseline.get(url).query(&query).send().await.unwrap();
                let bytes = response.bytes().await.unwrap();
                serde_json::from_slice::<Page>(&bytes)
                    .unwrap()
                    .results
                    .len()
            }
            "keyed" | "bounded" => {
                let url = format!("{}/public/v1/sms-opt-outs", self.base);
                let query = [("timestamp_from", from), ("timestamp_to", to)];
                let mut request = self
                    .baseline
                    .get(url)
                    .query(&query)
                    .header(reqwest::header::AUTHORIZATION, format!("API-Key {KEY}"))
                    .header(reqwest::header::USER_AGENT, pandadoc_api_ext::USER_AGENT);
                if client == "bounded" {
                    // ext's default bound on a whole request.
                    request = request.timeout(Duration::from_secs(30));
                }
                let response = request.send().await.unwrap();
                let bytes = response.bytes().await.unwrap();
                serde_json::from_slice::<Page>(&bytes)
                    .unwrap()
                    .results
                    .len()
            }
            "raw" => {
                let page = self
                    .raw
                    .list_recent_sms_opt_outs()
                    .timestamp_from(from)
                    .timestamp_to(to)
                    .send()
                    .await
                    .unwrap();
                page.into_inner().results.len()
            }
            _ => self
                .ext
                .sms_opt_outs(TimeRange::between(from, to))
                .await
                .unwrap()
                .changes
                .len(),
        }
    }
}

// ---- measurement ------------------------------------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One unit of work of a case: `n` requests (`concurrency` at a time) by `client`.
async fn work(clients: &Arc<Clients>, client: &'static str, records: usize, concurrency: usize) {
    if concurrency == 1 {
        assert_eq!(clients.call(client).await, records);
        return;
    }
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let clients = clients.clone();
            tokio::spawn(async move { clients.call(client).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), records);
    }
}

/// A case: `records` per answer, `concurrency` requests at a time.
struct Case {
    name: String,
    records: usize,
    concurrency: usize,
}

/// Criterion statistics per client (printed).
fn bench_case(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    clients: &Arc<Clients>,
    case: &Case,
) {
    let mut group = c.benchmark_group(&case.name);
    if case.records >= 100_000 {
        let secs = if case.records >= 1_000_000 { 20 } else { 6 };
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(secs));
    }
    for client in CLIENTS {
        group.bench_function(client, |b| {
            b.iter(|| rt.block_on(work(clients, client, case.records, case.concurrency)))
        });
    }
    group.finish();
}

/// Paired rounds for the summary: each round runs every client back to back, in an order that
/// rotates, so that load drifting on the machine weighs on all three alike. Returns, per client,
/// the seconds per unit of work of each round.
fn paired(
    rt: &tokio::runtime::Runtime,
    clients: &Arc<Clients>,
    case: &Case,
    rounds: usize,
) -> BTreeMap<&'static str, Vec<f64>> {
    let per_round = (2_000_000 / (case.records * case.concurrency).max(1)).clamp(1, 400);
    let mut times: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        for k in 0..CLIENTS.len() {
            let client = CLIENTS[(round + k) % CLIENTS.len()];
            let start = Instant::now();
            for _ in 0..per_round {
                rt.block_on(work(clients, client, case.records, case.concurrency));
            }
            times
                .entry(client)
                .or_default()
                .push(start.elapsed().as_secs_f64() / per_round as f64);
        }
    }
    times
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Peak RSS of a fresh process doing one 1M-record request with `client` (`VmHWM`).
fn child_peak_rss(client: &str) -> Option<u64> {
    let out = std::process::Command::new(std::env::current_exe().ok()?)
        .env("PANDADOC_BENCH_RSS", client)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_bytes=")?.parse().ok())
}

fn vm_hwm() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn main() {
    // PANDADOC_BENCH_PROFILE=<client>: 2000 (PANDADOC_BENCH_PROFILE_N) sequential small requests,
    // for a profiler
    // (`valgrind --tool=callgrind` counts instructions: repeatable, unlike wall time here).
    if let Ok(client) = std::env::var("PANDADOC_BENCH_PROFILE") {
        let client: &'static str = PROFILED
            .into_iter()
            .find(|c| *c == client)
            .expect("baseline, keyed, bounded, raw or ext");
        // PANDADOC_BENCH_PROFILE_CONCURRENCY=64: units of 64 concurrent requests on the
        // benchmark's two-worker runtime instead (for `perf record`, not for counting).
        let concurrency: usize = std::env::var("PANDADOC_BENCH_PROFILE_CONCURRENCY")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        // One thread: the count does not depend on how two workers happened to share the
        // work (with two, it varies by about 1% from run to run).
        let rt = if concurrency > 1 {
            runtime()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let clients = Arc::new(Clients::new(&rt.block_on(serve(1))));
        let n: usize = std::env::var("PANDADOC_BENCH_PROFILE_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2000);
        for _ in 0..n {
            rt.block_on(work(&clients, client, 1, concurrency));
        }
        return;
    }
    if let Ok(client) = std::env::var("PANDADOC_BENCH_RSS") {
        let rt = runtime();
        let url = rt.block_on(serve(1_000_000));
        let clients = Clients::new(&url);
        assert_eq!(rt.block_on(clients.call(&client)), 1_000_000);
        println!("peak_rss_bytes={}", vm_hwm().unwrap_or(0));
        return;
    }
    // PANDADOC_BENCH_QUICK=1: the small cases only (a smoke run).
    let quick = std::env::var_os("PANDADOC_BENCH_QUICK").is_some();
    let mut c = Criterion::default().configure_from_args();
    let rt = runtime();
    let sizes: &[(usize, &str)] = if quick {
        &[(1_000, "1k")]
    } else {
        &[(1_000, "1k"), (100_000, "100k"), (1_000_000, "1M")]
    };
    let mut cases: Vec<Case> = sizes
        .iter()
        .map(|&(records, label)| Case {
            name: format!("decode {label}"),
            records,
            concurrency: 1,
        })
        .collect();
    cases.push(Case {
        name: "sequential small requests".into(),
        records: 1,
        concurrency: 1,
    });
    cases.push(Case {
        name: "64 concurrent requests".into(),
        records: 1,
        concurrency: 64,
    });

    let mut rows: Vec<serde_json::Value> = Vec::new();
    for case in &cases {
        let url = rt.block_on(serve(case.records));
        let clients = Arc::new(Clients::new(&url));
        bench_case(&mut c, &rt, &clients, case);
        let times = paired(
            &rt,
            &clients,
            case,
            if case.records >= 1_000_000 { 5 } else { 15 },
        );
        let ratio = |client: &str| {
            median(
                times[client]
                    .iter()
                    .zip(&times["baseline"])
                    .map(|(t, b)| t / b)
                    .collect(),
            )
        };
        let per_unit = |client: &str| median(times[client].clone());
        let (value, unit): (Box<dyn Fn(f64) -> f64>, &str) = if case.name.starts_with("decode") {
            let mb = (case.records * (RECORD.len() + 1)) as f64 / 1e6;
            (Box::new(move |secs| mb / secs), "MB/s")
        } else {
            let n = case.concurrency as f64;
            (Box::new(move |secs| n / secs), "req/s")
        };
        // Ratios are of times (median over rounds): above 1 means slower than the baseline.
        rows.push(serde_json::json!({
            "name": case.name, "unit": unit,
            "baseline": value(per_unit("baseline")), "raw": value(per_unit("raw")), "ext": value(per_unit("ext")),
            "ratios": { "raw/baseline": ratio("raw"), "ext/baseline": ratio("ext") },
        }));
    }
    c.final_summary();

    if !quick {
        let rss: Vec<Option<u64>> = CLIENTS.iter().map(|c| child_peak_rss(c)).collect();
        if let [Some(b), Some(r), Some(e)] = rss[..] {
            let body = (1_000_000 * (RECORD.len() + 1)) as f64;
            rows.push(serde_json::json!({
                "name": "peak RSS, 1M records", "unit": "MB",
                "baseline": b as f64 / 1e6, "raw": r as f64 / 1e6, "ext": e as f64 / 1e6,
                "ratios": { "raw/baseline": r as f64 / b as f64, "ext/baseline": e as f64 / b as f64,
                            "ext/body": e as f64 / body, "raw/body": r as f64 / body, "baseline/body": b as f64 / body },
                "body_mb": body / 1e6,

            }));
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let _ = std::process::Command::new(&cargo)
            .args(["build", "-q", "-p", "xtask"])
            .current_dir(&root)
            .status();
        let start = Instant::now();
        let ok = std::process::Command::new(&cargo)
            .args(["run", "-q", "-p", "xtask", "--", "generate", "--check"])
            .current_dir(&root)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            rows.push(serde_json::json!({
                "name": "cargo xtask generate --check (vendored spec)", "unit": "s",
                "wall": start.elapsed().as_secs_f64(),
            }));
        }
    }

    println!(
        "\n{:<46} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "case", "baseline", "raw", "ext", "raw/base", "ext/base"
    );
    for row in &rows {
        let f = |k: &str| {
            row.get(k)
                .and_then(serde_json::Value::as_f64)
                .map_or("-".into(), |v| format!("{v:.2}"))
        };
        let r = |k: &str| {
            row["ratios"]
                .get(k)
                .and_then(serde_json::Value::as_f64)
                .map_or("-".into(), |v| format!("{v:.3}"))
        };
        let name = format!(
            "{} ({})",
            row["name"].as_str().unwrap(),
            row["unit"].as_str().unwrap()
        );
        let wall = row.get("wall").map(|_| f("wall"));
        println!(
            "{:<46} {:>12} {:>12} {:>12} {:>10} {:>10}",
            name,
            wall.clone().unwrap_or_else(|| f("baseline")),
            f("raw"),
            f("ext"),
            r("raw/baseline"),
            r("ext/baseline")
        );
    }
    println!("(decode and request ratios are of times: above 1 is slower than the baseline)");
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    let machine = serde_json::json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string())),
    });
    let summary = serde_json::json!({ "machine": machine, "cases": rows });
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();
    println!("wrote {}", dir.join("summary.json").display());
}
