//! What the client adds on top of the network, against a hand-written floor, in one run.
//!
//! `cargo bench -p pandadoc-api-ext --bench client` runs every case for three clients against a
//! loopback HTTP/1.1 keep-alive server in this process that streams canned bytes:
//! - **baseline**: plain reqwest + serde_json into hand-written structs, no retries, no hooks;
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use pandadoc_api_ext::{RetryPolicy, TimeRange};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const RECORD: &str = r#"{"phone_number":"+14155550123","status":"opt-out","opt_out_changed":"2025-01-28T12:00:00Z"}"#;
const CLIENTS: [&str; 3] = ["baseline", "raw", "ext"];

// ---- the server -------------------------------------------------------------------------------

/// Serves, on every request of every connection, an answer of `records` opt-out records,
/// streamed from one pre-rendered chunk so that even 1M records (about 94 MB) are not held in
/// memory.
async fn serve(records: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let per_chunk = 512;
    let chunk: Arc<Vec<u8>> = Arc::new(format!("{RECORD},").repeat(per_chunk).into_bytes());
    let body_len = "{\"results\":[".len()
        + records.saturating_sub(1) * (RECORD.len() + 1)
        + RECORD.len()
        + "]}".len();
    let head: Arc<Vec<u8>> = Arc::new(
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {body_len}\r\n\r\n").into_bytes(),
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let _ = socket.set_nodelay(true);
            let (chunk, head) = (chunk.clone(), head.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                loop {
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    seen.drain(..end);
                    let mut out = Vec::with_capacity(64 * 1024);
                    out.extend_from_slice(&head);
                    out.extend_from_slice(b"{\"results\":[");
                    let mut left = records.saturating_sub(1);
                    while left > 0 {
                        let n = left.min(per_chunk);
                        out.extend_from_slice(&chunk[..n * (RECORD.len() + 1)]);
                        left -= n;
                        if out.len() >= 64 * 1024 {
                            if socket.write_all(&out).await.is_err() {
                                return;
                            }
                            out.clear();
                        }
                    }
                    out.extend_from_slice(RECORD.as_bytes());
                    out.extend_from_slice(b"]}");
                    if socket.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
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
    baseline: reqwest::Client,
    raw: pandadoc_api::Client,
    ext: pandadoc_api_ext::Client,
}

impl Clients {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            baseline: reqwest::Client::new(),
            raw: pandadoc_api::Client::new(base, pandadoc_api::Hooks::default()),
            ext: pandadoc_api_ext::Client::builder()
                .api_key("bench-key-0123456789")
                .base_url(base)
                .retry(RetryPolicy::default())
                .build()
                .unwrap(),
        }
    }

    /// One request by `client`; the number of records decoded.
    async fn call(&self, client: &str) -> usize {
        let (from, to) = ("2025-01-28T00:00:00Z", "2025-01-29T00:00:00Z");
        match client {
            "baseline" => {
                let url = format!(
                    "{}/public/v1/sms-opt-outs?timestamp_from={from}&timestamp_to={to}",
                    self.base
                );
                let bytes = self
                    .baseline
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                serde_json::from_slice::<Page>(&bytes)
                    .unwrap()
                    .results
                    .len()
            }
            "raw" => {
                let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
                let page = self
                    .raw
                    .list_recent_sms_opt_outs()
                    .timestamp_from(at(from))
                    .timestamp_to(at(to))
                    .send()
                    .await
                    .unwrap();
                page.into_inner().results.len()
            }
            _ => {
                let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
                self.ext
                    .sms_opt_outs(TimeRange::between(at(from), at(to)))
                    .await
                    .unwrap()
                    .changes
                    .len()
            }
        }
    }
}

// ---- measurement ------------------------------------------------------------------------------

/// Per-iteration times recorded by criterion's `iter_custom`, by (case, client).
type Samples = Arc<Mutex<BTreeMap<(String, String), Vec<Duration>>>>;

fn median(samples: &[Duration]) -> f64 {
    let mut s: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn bench_decode(c: &mut Criterion, samples: &Samples, records: usize, label: &str) {
    let rt = runtime();
    let url = rt.block_on(serve(records));
    let clients = Clients::new(&url);
    let mut group = c.benchmark_group(format!("decode {label}"));
    if records >= 100_000 {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if records >= 1_000_000 {
                20
            } else {
                6
            }));
    }
    for client in CLIENTS {
        group.bench_function(client, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(rt.block_on(clients.call(client)), records);
                }
                let elapsed = start.elapsed();
                samples
                    .lock()
                    .unwrap()
                    .entry((format!("decode {label}"), client.into()))
                    .or_default()
                    .push(elapsed / iters as u32);
                elapsed
            })
        });
    }
    group.finish();
}

fn bench_sequential(c: &mut Criterion, samples: &Samples) {
    let rt = runtime();
    let url = rt.block_on(serve(1));
    let clients = Clients::new(&url);
    let mut group = c.benchmark_group("sequential small requests");
    for client in CLIENTS {
        group.bench_function(client, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                rt.block_on(async {
                    for _ in 0..iters {
                        clients.call(client).await;
                    }
                });
                let elapsed = start.elapsed();
                samples
                    .lock()
                    .unwrap()
                    .entry(("sequential small requests".into(), client.into()))
                    .or_default()
                    .push(elapsed / iters as u32);
                elapsed
            })
        });
    }
    group.finish();
}

fn bench_concurrent(c: &mut Criterion, samples: &Samples) {
    let rt = runtime();
    let url = rt.block_on(serve(1));
    let clients = Arc::new(Clients::new(&url));
    let mut group = c.benchmark_group("64 concurrent requests");
    group.sample_size(20);
    for client in CLIENTS {
        group.bench_function(client, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                rt.block_on(async {
                    for _ in 0..iters {
                        let tasks: Vec<_> = (0..64)
                            .map(|_| {
                                let clients = clients.clone();
                                tokio::spawn(async move { clients.call(client).await })
                            })
                            .collect();
                        for t in tasks {
                            t.await.unwrap();
                        }
                    }
                });
                let elapsed = start.elapsed();
                // Per request, so that the summary reads as requests per second.
                samples
                    .lock()
                    .unwrap()
                    .entry(("64 concurrent requests".into(), client.into()))
                    .or_default()
                    .push(elapsed / (iters as u32 * 64));
                elapsed
            })
        });
    }
    group.finish();
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
    let samples: Samples = Arc::default();
    let mut c = Criterion::default().configure_from_args();
    let sizes: &[(usize, &str)] = if quick {
        &[(1_000, "1k")]
    } else {
        &[(1_000, "1k"), (100_000, "100k"), (1_000_000, "1M")]
    };
    for &(records, label) in sizes {
        bench_decode(&mut c, &samples, records, label);
    }
    bench_sequential(&mut c, &samples);
    bench_concurrent(&mut c, &samples);
    c.final_summary();

    // ---- summary ----
    let samples = samples.lock().unwrap();
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut line = |name: &str, unit: &str, value: &dyn Fn(f64) -> f64, lower_is_better: bool| {
        let get = |client: &str| {
            samples
                .get(&(name.to_string(), client.to_string()))
                .map(|s| median(s))
        };
        let (Some(b), Some(r), Some(e)) = (get("baseline"), get("raw"), get("ext")) else {
            return;
        };
        // Ratios are of times: above 1 means slower than the baseline.
        rows.push(serde_json::json!({
            "name": name, "unit": unit,
            "baseline": value(b), "raw": value(r), "ext": value(e),
            "ratios": { "raw/baseline": r / b, "ext/baseline": e / b },
            "lower_is_better": lower_is_better,
        }));
    };
    for &(records, label) in sizes {
        let mb = (records * (RECORD.len() + 1)) as f64 / 1e6;
        line(&format!("decode {label}"), "MB/s", &|secs| mb / secs, false);
    }
    line(
        "sequential small requests",
        "req/s",
        &|secs| 1.0 / secs,
        false,
    );
    line("64 concurrent requests", "req/s", &|secs| 1.0 / secs, false);
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
                "lower_is_better": true,
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
                "wall": start.elapsed().as_secs_f64(), "lower_is_better": true,
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
