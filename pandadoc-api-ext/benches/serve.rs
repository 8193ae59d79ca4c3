//! `serve` benchmark: look-ups over HTTP/1.1 keep-alive from N concurrent clients on loopback,
//! against `pandadoc-opt-outs serve` on SQLite (and PostgreSQL when a test server is given),
//! side by side with the floor: a bare axum handler that answers a constant, in a process of
//! its own on the same runtime, measured by the same client in the same run.
//!
//! ```text
//! cargo bench -p pandadoc-api-ext --bench serve                          # SQLite only
//! bash .ci/with-postgres cargo bench -p pandadoc-api-ext --bench serve   # and PostgreSQL
//! ```
//!
//! The ledger holds 100k numbers; one look-up in eleven is of a number never seen. Each cell
//! runs 3 s after 0.5 s of warm-up. The load generator (reqwest, one connection per client)
//! shares the machine with the server: on 2 cores both halves compete, for the floor as for
//! the ledger. Prints a table and writes the figures to `target/bench/serve.json`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ledgers;
use pandadoc_api_ext::ledger::{LedgerOptions, PostgresLedger, PostgresOptions};
use serde_json::json;

const FLOOR: &str = "SERVE_BENCH_FLOOR";
const NUMBERS: usize = 100_000;
const WARM_UP: Duration = Duration::from_millis(500);
const RUN: Duration = Duration::from_secs(3);
const CLIENTS: [usize; 3] = [1, 16, 64];

/// The floor: a bare axum handler answering a constant, as the program's runtime would run it.
fn floor() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = axum::Router::new().route(
            "/v1/numbers/{number}",
            axum::routing::get(async || {
                (
                    [("content-type", "application/json")],
                    r#"{"number":"+15550000001","verdict":"opted-in","textable":true,"status":"opt-in","opt_out_changed":"2025-01-01T00:00:01Z","stale":false}"#,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        eprintln!("listening on http://{}", listener.local_addr().unwrap());
        axum::serve(listener, app).await.unwrap();
    });
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the server listens").unwrap();
            if let Some(base) = line.strip_prefix("listening on ") {
                break base.to_string();
            }
        };
        // Keep draining stderr so that the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Self { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(ledger: &str, prefix: &str) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pandadoc-opt-outs"));
    command.args([
        "serve",
        "--ledger",
        ledger,
        "--table-prefix",
        prefix,
        "--listen",
        "127.0.0.1:0",
    ]);
    Server::start(command)
}

struct Cell {
    per_s: f64,
    p50_us: f64,
    p99_us: f64,
}

/// `clients` concurrent clients asking `base` about numbers for [`RUN`].
async fn load(base: &str, clients: usize) -> Cell {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let base: Arc<str> = base.into();
    let run = async |duration: Duration, seed: u64| {
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..clients {
            let (http, base) = (http.clone(), base.clone());
            tasks.spawn(async move {
                let mut rng = fastrand::Rng::with_seed(seed + c as u64);
                let mut latencies = Vec::new();
                let end = Instant::now() + duration;
                while Instant::now() < end {
                    let n = rng.usize(..NUMBERS * 11 / 10);
                    let t = Instant::now();
                    let answer = http
                        .get(format!("{base}/v1/numbers/+1555{n:07}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 200);
                    let body = answer.bytes().await.unwrap();
                    assert!(!body.is_empty());
                    latencies.push(t.elapsed());
                }
                latencies
            });
        }
        let started = Instant::now();
        let mut all: Vec<Duration> = tasks.join_all().await.into_iter().flatten().collect();
        (started.elapsed(), {
            all.sort();
            all
        })
    };
    run(WARM_UP, 1).await;
    let (wall, latencies) = run(RUN, 2).await;
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Cell {
        per_s: latencies.len() as f64 / wall.as_secs_f64(),
        p50_us: at(0.50).as_secs_f64() * 1e6,
        p99_us: at(0.99).as_secs_f64() * 1e6,
    }
}

fn main() {
    if std::env::var_os(FLOOR).is_some() {
        return floor();
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` asks for a list: nothing to run
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = std::env::var(ledgers::POSTGRES_URL).ok();
    let mut figures = serde_json::Map::new();
    runtime.block_on(async {
        let mut arms: Vec<(&str, Server, Box<dyn std::any::Any>)> = Vec::new();
        let mut floor = Command::new(std::env::current_exe().unwrap());
        floor.env(FLOOR, "1");
        arms.push(("floor", Server::start(floor), Box::new(())));
        let (dir, sqlite) = ledgers::sqlite();
        ledgers::fill(&sqlite, NUMBERS).await;
        drop(sqlite);
        let path = format!("sqlite:{}", dir.path().join("ledger.db").display());
        arms.push(("sqlite", serve(&path, "pandadoc_"), Box::new(dir)));
        match &postgres {
            Some(url) => {
                let prefix = format!("{}_", ledgers::unique("bench"));
                let options = LedgerOptions::default().prefix(&prefix);
                let pg = PostgresLedger::connect(url, &options, &PostgresOptions::default())
                    .await
                    .unwrap();
                ledgers::fill(&pg, NUMBERS).await;
                arms.push(("postgres", serve(url, &prefix), Box::new(pg)));
            }
            None => eprintln!(
                "PostgreSQL: skipped (no {}); run `bash .ci/with-postgres cargo bench -p pandadoc-api-ext --bench serve`",
                ledgers::POSTGRES_URL
            ),
        }
        println!("look-ups over HTTP keep-alive, {NUMBERS} numbers, {} s per cell", RUN.as_secs());
        println!("{:<10} {:>7} {:>10} {:>9} {:>9} {:>8}", "server", "clients", "per s", "p50 µs", "p99 µs", "x floor");
        let mut floor_rate = [0.0; CLIENTS.len()];
        for (name, server, _) in &arms {
            for (i, clients) in CLIENTS.into_iter().enumerate() {
                let cell = load(&server.base, clients).await;
                if *name == "floor" {
                    floor_rate[i] = cell.per_s;
                }
                let ratio = cell.per_s / floor_rate[i];
                println!(
                    "{name:<10} {clients:>7} {:>10.0} {:>9.0} {:>9.0} {ratio:>8.2}",
                    cell.per_s, cell.p50_us, cell.p99_us
                );
                figures.insert(
                    format!("{name}_{clients}"),
                    json!({"per_s": cell.per_s, "p50_us": cell.p50_us, "p99_us": cell.p99_us, "x_floor": ratio}),
                );
            }
        }
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("serve.json"),
        serde_json::Value::Object(figures).to_string(),
    )
    .unwrap();
}
