//! A simulated `GET /public/v1/sms-opt-outs`: a truth log of changes, answered window by window
//! as the endpoint does (the latest visible change of each number with
//! `from <= opt_out_changed <= to`), with injected faults.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use pandadoc_api_ext::{Client, Clock, RetryPolicy};
use tokio::sync::Notify;

use super::loopback::{Loopback, write_answer};

/// One change of the truth log.
#[derive(Clone, Debug)]
pub struct Change {
    pub phone: String,
    pub status: &'static str,
    pub at: DateTime<Utc>,
    /// When the server starts to report it (a change written late).
    pub visible: DateTime<Utc>,
}

/// The simulated clock, shared by the server and the client.
#[derive(Clone)]
pub struct SimClock(pub Arc<Mutex<DateTime<Utc>>>);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl SimClock {
    pub fn advance(&self, by: TimeDelta) {
        *self.0.lock().unwrap() += by;
    }
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `changes` changes of `numbers` numbers over `days` days from `start`; one in three shows up
/// to 120 s late (more than the lag: only the overlap of the next window catches it).
pub fn truth(
    seed: u64,
    start: DateTime<Utc>,
    numbers: usize,
    changes: usize,
    days: i64,
) -> Vec<Change> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let span = days * 86_400;
    let mut log: Vec<Change> = (0..changes)
        .map(|_| {
            let at = start + TimeDelta::seconds(rng.i64(0..span));
            let late = if rng.u8(..3) == 0 {
                rng.i64(0..=120)
            } else {
                0
            };
            Change {
                phone: format!("+1555{:07}", rng.usize(..numbers)),
                status: if rng.bool() { "opt-out" } else { "opt-in" },
                at,
                visible: at + TimeDelta::seconds(late),
            }
        })
        .collect();
    log.sort_by_key(|c| c.at);
    log
}

/// What the server does with the n-th request.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    None,
    Throttle,
    Unavailable,
    Reset,
}

pub struct Server {
    pub base_url: String,
    server: Loopback,
    /// Notified when request number `crash_at` arrives (the test then drops the sync).
    pub crash: Arc<Notify>,
    pub crash_at: Arc<Mutex<Option<usize>>>,
    /// Request number `hang_at` is never answered (after `crash` is notified).
    pub hang_at: Arc<Mutex<Option<usize>>>,
    /// The window (`timestamp_from`, `timestamp_to`) of every well-formed request.
    pub windows: Arc<Mutex<Vec<Window>>>,
    /// Every request answered (or dropped), in the order they arrived.
    pub served: Arc<Mutex<Vec<Served>>>,
}

impl Server {
    /// Requests received.
    pub fn requests(&self) -> usize {
        self.server.requests()
    }
}

/// A request's `timestamp_from` and `timestamp_to`.
pub type Window = (DateTime<Utc>, DateTime<Utc>);

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Served {
    /// The request's path (a base URL with a path tells clients apart).
    pub path: String,
    /// When its head arrived.
    pub start: std::time::Instant,
    /// When the answer was written (or the connection dropped).
    pub end: std::time::Instant,
}

pub fn query_time(query: &str, name: &str) -> Option<DateTime<Utc>> {
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))?;
    let decoded = raw.replace("%3A", ":").replace("%2B", "+");
    DateTime::parse_from_rfc3339(&decoded)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The endpoint's answer: the latest visible change of each number inside the window.
pub fn answer(
    log: &[Change],
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    let mut latest: HashMap<&str, &Change> = HashMap::new();
    for c in log {
        if c.at >= from && c.at <= to && c.visible <= now {
            latest.insert(&c.phone, c); // the log is in time order: the last one wins
        }
    }
    let mut results: Vec<serde_json::Value> = latest
        .values()
        .map(|c| {
            serde_json::json!({
                "phone_number": c.phone,
                "status": c.status,
                "opt_out_changed": c.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        })
        .collect();
    // The server's order is not time order.
    results.sort_by(|a, b| a["phone_number"].as_str().cmp(&b["phone_number"].as_str()));
    serde_json::json!({ "results": results }).to_string()
}

/// A loopback server answering `GET /public/v1/sms-opt-outs` windows from `log`, as seen at
/// `clock`'s now, with the n-th request meeting `faults[n]`.
pub async fn start_server(
    log: Arc<Vec<Change>>,
    clock: Arc<dyn Clock>,
    faults: Arc<Vec<Fault>>,
) -> Server {
    let crash = Arc::new(Notify::new());
    let crash_at = Arc::new(Mutex::new(None));
    let hang_at = Arc::new(Mutex::new(None));
    let windows = Arc::new(Mutex::new(Vec::new()));
    let served = Arc::new(Mutex::new(Vec::new()));
    let (n, at, hang, w, sv) = (
        crash.clone(),
        crash_at.clone(),
        hang_at.clone(),
        windows.clone(),
        served.clone(),
    );
    let server = Loopback::start(move |request, socket| {
        let (log, clock, faults, crash, crash_at, hang_at, windows, served) = (
            log.clone(),
            clock.clone(),
            faults.clone(),
            n.clone(),
            at.clone(),
            hang.clone(),
            w.clone(),
            sv.clone(),
        );
        Box::pin(async move {
            let start = std::time::Instant::now();
            let number = request.number;
            if *crash_at.lock().unwrap() == Some(number) {
                crash.notify_one();
            }
            if *hang_at.lock().unwrap() == Some(number) {
                crash.notify_one();
                std::future::pending::<()>().await;
            }
            let target = request.target();
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let record = |served: &Mutex<Vec<Served>>| {
                served.lock().unwrap().push(Served {
                    path: path.to_string(),
                    start,
                    end: std::time::Instant::now(),
                })
            };
            let (status, body) = match faults.get(number).copied().unwrap_or(Fault::None) {
                Fault::Reset => {
                    record(&served);
                    return false;
                }
                Fault::Throttle => (
                    429,
                    r#"{"type":"throttled","detail":"Request was throttled. Expected available in 0 seconds."}"#
                        .to_string(),
                ),
                Fault::Unavailable => (503, "<html>busy</html>".to_string()),
                Fault::None => {
                    match (
                        query_time(query, "timestamp_from"),
                        query_time(query, "timestamp_to"),
                    ) {
                        (Some(from), Some(to)) => {
                            windows.lock().unwrap().push((from, to));
                            (200, answer(&log, clock.now(), from, to))
                        }
                        _ => (400, r#"{"type":"request_error","detail":"both ends"}"#.into()),
                    }
                }
            };
            let written = write_answer(
                socket,
                status,
                &["content-type: application/json"],
                body.as_bytes(),
            )
            .await;
            record(&served);
            written
        })
    })
    .await;
    Server {
        base_url: server.base_url.clone(),
        server,
        crash,
        crash_at,
        hang_at,
        windows,
        served,
    }
}

/// A client of the simulated endpoint: retries fast (8 attempts, 1 to 5 ms apart), on the
/// simulated clock when one is given (else the system's).
pub fn client(base_url: &str, clock: Option<&SimClock>) -> Client {
    let builder = Client::builder()
        .api_key("sim-key")
        .base_url(base_url)
        .retry(
            RetryPolicy::default()
                .max_attempts(8)
                .initial_backoff(std::time::Duration::from_millis(1))
                .max_backoff(std::time::Duration::from_millis(5)),
        );
    match clock {
        Some(clock) => builder.clock(clock.clone()),
        None => builder,
    }
    .build()
    .unwrap()
}
