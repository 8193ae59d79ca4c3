//! `pandadoc-opt-outs serve` as a process, over HTTP: each route and error status on SQLite and
//! PostgreSQL (checked against the library's own answers), auth on and off, /readyz following
//! the sync, /metrics parsed as Prometheus parses it, SIGTERM with a request under way, hostile
//! clients, and two `serve --sync` replicas of which only one polls.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::daemon::{Daemon, PATIENCE, scrape, value};
use common::sim::{start_server, truth};
use pandadoc_api_ext::SystemClock;
use pandadoc_api_ext::ledger::{Ledger, LedgerOptions, LedgerUrl};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

/// Runs `sync` once into `ledger` from the simulated endpoint at `base_url`.
fn sync_once(base_url: &str, ledger: &str, prefix: &str, since: &str) {
    let out = common::program()
        .args(["sync", "--ledger", ledger, "--table-prefix", prefix])
        .args(["--since", since, "--max-window", "12h"])
        .env("PANDADOC_API_KEY", "k1")
        .env("PANDADOC_BASE_URL", base_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A SQLite ledger that `init` created, never synced: its directory (removed when dropped) and URL.
fn empty_ledger() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = format!("sqlite:{}", dir.path().join("l.db").display());
    let init = common::program()
        .args(["init", "--ledger", &ledger])
        .output()
        .unwrap();
    assert!(init.status.success());
    (dir, ledger)
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let answer = http.get(url).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let answer = http.post(url).json(body).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

/// The error shape: `{"error": {"kind": kind, "message": non-empty}}`.
fn is_error(body: &Value, kind: &str) -> bool {
    body["error"]["kind"] == kind
        && body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
        && body.as_object().is_some_and(|o| o.len() == 1)
}

/// Syncs two days into `ledger`, serves it, and checks every route against the library's
/// answers read from the same ledger.
async fn every_route(ledger: &str, prefix: &str) {
    let now = Utc::now();
    let since = now - TimeDelta::hours(50);
    let log = Arc::new(truth(21, since, 40, 200, 2));
    let server = start_server(log.clone(), Arc::new(SystemClock), Arc::default()).await;
    sync_once(&server.base_url, ledger, prefix, &since.to_rfc3339());
    let reference = LedgerUrl::parse(ledger)
        .unwrap()
        .open_read_only(&LedgerOptions::default().prefix(prefix))
        .await
        .unwrap();
    let mut serve = Daemon::serve(
        &[
            "--ledger",
            ledger,
            "--table-prefix",
            prefix,
            "--max-batch",
            "50",
        ],
        &[],
    );
    let http = http();
    let staleness = TimeDelta::minutes(15);

    // One number at a time: the library's verdict, status and time, in any usual formatting.
    let mut numbers: Vec<String> = log.iter().map(|c| c.phone.clone()).collect();
    numbers.sort();
    numbers.dedup();
    numbers.push("+19995550000".into()); // never seen
    let mut verdicts = std::collections::BTreeMap::<String, u32>::new();
    for number in &numbers {
        let expected = reference.textability(number, staleness).await.unwrap();
        let spaced = format!("{} {}", &number[..2], &number[2..]);
        let (status, body) = get(&http, &serve.url(&format!("/v1/numbers/{spaced}"))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["number"], number.as_str());
        assert_eq!(body["verdict"], expected.verdict(), "{number}");
        assert_eq!(body["textable"], expected.may_text());
        assert_eq!(body["stale"], false);
        let entry = expected.entry();
        assert_eq!(body["status"], json!(entry.map(|e| e.status.to_string())));
        assert_eq!(
            body["opt_out_changed"],
            json!(entry.map(|e| e.opt_out_changed))
        );
        *verdicts.entry(expected.verdict().into()).or_default() += 1;
    }
    assert!(
        verdicts.len() >= 3,
        "the log gives several verdicts: {verdicts:?}"
    );

    // A batch: answers in order, a bad number its own entry, the others still answered.
    let batch = json!({"numbers": [numbers[0], "not a number", numbers[1], "+1"]});
    let (status, body) = post(&http, &serve.url("/v1/numbers:check"), &batch).await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["number"], numbers[0].as_str());
    assert_eq!(results[2]["number"], numbers[1].as_str());
    assert_eq!(results[1]["input"], "not a number");
    for bad in [&results[1], &results[3]] {
        assert!(
            is_error(&json!({"error": bad["error"]}), "invalid_number"),
            "{bad}"
        );
        assert_eq!(bad.as_object().unwrap().len(), 2, "input and error: {bad}");
    }

    // Each error status, in the one shape.
    let too_many = json!({"numbers": vec!["+14155550100"; 51]});
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            http.get(serve.url("/v1/numbers/12345")),
            400,
            "invalid_number",
        ),
        (
            http.get(serve.url("/v1/numbers/%FF%FE")),
            400,
            "bad_request",
        ),
        (
            http.get(serve.url("/v2/numbers/+14155550100")),
            404,
            "not_found",
        ),
        (
            http.delete(serve.url("/v1/numbers/+14155550100")),
            405,
            "method_not_allowed",
        ),
        (
            http.post(serve.url("/v1/numbers:check")).json(&too_many),
            413,
            "too_many_numbers",
        ),
        (
            http.post(serve.url("/v1/numbers:check"))
                .header("content-type", "application/json")
                .body(vec![b' '; 100 << 10]),
            413,
            "payload_too_large",
        ),
        (
            http.post(serve.url("/v1/numbers:check"))
                .header("content-type", "application/json")
                .body(r#"{"numbers": ["+14155550100""#),
            400,
            "bad_request",
        ),
        (
            http.post(serve.url("/v1/numbers:check"))
                .json(&json!({"numbers": [1, 2]})),
            400,
            "bad_request",
        ),
        (
            http.post(serve.url("/v1/numbers:check"))
                .body(batch.to_string()),
            415,
            "unsupported_media_type",
        ),
    ];
    for (request, want, kind) in cases {
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(status, want, "{body}");
        assert!(is_error(&body, kind), "{want}: {body}");
    }

    // Health, readiness (just synced), and the metrics of what was asked.
    assert_eq!(
        get(&http, &serve.url("/healthz")).await,
        (200, json!({"status": "ok"}))
    );
    let (status, ready) = get(&http, &serve.url("/readyz")).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready");
    let metrics = scrape(&http, &serve.url("/metrics")).await;
    let looked_up = numbers.len() as f64 + 2.0; // and the batch's two good ones
    let by_verdict: f64 = ["opted-out", "opted-in", "never-seen", "stale"]
        .iter()
        .map(|v| value(&metrics, "pandadoc_lookups_total", &[("verdict", v)]).unwrap())
        .sum();
    assert_eq!(by_verdict, looked_up);
    assert_eq!(
        value(
            &metrics,
            "pandadoc_lookups_total",
            &[("verdict", "never-seen")]
        ),
        Some(f64::from(verdicts["never-seen"]))
    );
    // The ledger's time: one sample per number asked alone, one for the whole batch.
    assert_eq!(
        value(&metrics, "pandadoc_lookup_duration_seconds", &[]),
        Some(numbers.len() as f64 + 1.0)
    );
    assert_eq!(value(&metrics, "pandadoc_ledger_up", &[]), Some(1.0));
    assert_eq!(value(&metrics, "pandadoc_ledger_stale", &[]), Some(0.0));
    assert_eq!(value(&metrics, "pandadoc_sync_leading", &[]), Some(0.0));
    let lag = value(&metrics, "pandadoc_sync_lag_seconds", &[]).unwrap();
    assert!((0.0..3600.0).contains(&lag), "{lag}");

    serve.terminate();
    assert!(serve.wait().success(), "{:?}", serve.seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = format!("sqlite:{}", dir.path().join("l.db").display());
    every_route(&ledger, "pandadoc_").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_on_postgres() {
    let Some(url) = common::ledgers::postgres_url() else {
        return;
    };
    every_route(&url, &format!("{}_", common::ledgers::unique("serve"))).await;
}

/// With a token file, the API and /metrics need the token and the probes do not; a public
/// address needs a token or an explicit --insecure-no-auth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_the_api_and_a_public_address_needs_one() {
    let (dir, ledger) = empty_ledger();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cr3t-t0ken-0123456789\n").unwrap();
    let token_path = token_file.to_str().unwrap();
    let serve = Daemon::serve(&["--ledger", &ledger, "--token-file", token_path], &[]);
    let http = http();
    for path in ["/v1/numbers/+14155550100", "/metrics"] {
        let bare = http.get(serve.url(path)).send().await.unwrap();
        assert_eq!(bare.status(), 401, "{path}");
        assert_eq!(bare.headers()["www-authenticate"], "Bearer");
        let body: Value = bare.json().await.unwrap();
        assert!(is_error(&body, "unauthorized"), "{body}");
        let wrong = http
            .get(serve.url(path))
            .bearer_auth("s3cr3t-t0ken-0123456788")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let right = http
            .get(serve.url(path))
            .bearer_auth("s3cr3t-t0ken-0123456789")
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200, "{path}");
    }
    assert_eq!(get(&http, &serve.url("/healthz")).await.0, 200);
    // Never synced: not ready, and it says why.
    let (status, body) = get(&http, &serve.url("/readyz")).await;
    assert_eq!(status, 503);
    assert!(is_error(&body, "stale"), "{body}");
    let posted = http
        .post(serve.url("/v1/numbers:check"))
        .json(&json!({"numbers": ["+14155550100"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 401);

    // A public address without a token: exit 2 before anything listens, one line.
    let out = common::program()
        .args(["serve", "--ledger", &ledger, "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--token-file") && stderr.lines().count() == 1,
        "{stderr}"
    );
    // ... and with the explicit no, it listens (and answers on loopback too).
    let mut open = common::program();
    open.args([
        "serve",
        "--ledger",
        &ledger,
        "--listen",
        "0.0.0.0:0",
        "--insecure-no-auth",
    ])
    .stderr(std::process::Stdio::piped());
    let mut child = open.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_string();
    let answer = http
        .get(format!("http://127.0.0.1:{port}/v1/numbers/+14155550100"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// /readyz is 200 after a sync, turns 503 once the sync has not confirmed it is caught up for
/// longer than --max-staleness, and 200 again after the next sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_sync() {
    let now = Utc::now();
    let since = now - TimeDelta::hours(26);
    let log = Arc::new(truth(5, since, 10, 20, 1));
    let server = start_server(log, Arc::new(SystemClock), Arc::default()).await;
    let (_dir, ledger) = empty_ledger();
    // Served before the first sync, so that the first 200 is looked for at once after it (a
    // loaded machine still has the whole staleness bound to see it).
    let serve = Daemon::serve(&["--ledger", &ledger, "--max-staleness", "8s"], &[]);
    let http = http();
    let ready = async |want: u16| {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let (status, body) = get(&http, &serve.url("/readyz")).await;
            if status == want {
                return body;
            }
            assert!(std::time::Instant::now() < deadline, "never {want}: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let body = ready(503).await;
    assert!(is_error(&body, "stale"), "never synced: {body}");
    sync_once(&server.base_url, &ledger, "pandadoc_", &since.to_rfc3339());
    let body = ready(200).await;
    assert!(body["caught_up"].is_string(), "{body}");
    // The sync stopped: 8 s later the ledger is stale, and the verdicts say so.
    let body = ready(503).await;
    assert!(is_error(&body, "stale"), "{body}");
    let (_, verdict) = get(&http, &serve.url("/v1/numbers/+15550000001")).await;
    assert_eq!(
        (&verdict["verdict"], &verdict["textable"]),
        (&json!("stale"), &json!(false))
    );
    let metrics = scrape(&http, &serve.url("/metrics")).await;
    assert_eq!(value(&metrics, "pandadoc_ledger_stale", &[]), Some(1.0));
    // It resumes: ready again.
    sync_once(&server.base_url, &ledger, "pandadoc_", &since.to_rfc3339());
    ready(200).await;
}

/// SIGTERM while a request is under way: the request is answered, the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_under_way_finish() {
    let (_dir, ledger) = empty_ledger();
    let mut serve = Daemon::serve(&["--ledger", &ledger], &[]);
    let http = http();
    // A request whose body is half sent.
    let address = serve.base.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&address).await.unwrap();
    let body = br#"{"numbers": ["+14155550100", "+14155550101"]}"#;
    let head = format!(
        "POST /v1/numbers:check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body[..10]).await.unwrap();
    // Under way once the server counts it (the scrape itself is the other one).
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let metrics = scrape(&http, &serve.url("/metrics")).await;
        if value(&metrics, "pandadoc_http_requests_in_flight", &[]) == Some(2.0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the request never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    serve.terminate();
    serve
        .wait_for(|l| l.starts_with("stopping"))
        .expect("SIGTERM is taken");
    slow.write_all(&body[10..]).await.unwrap();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""number":"+14155550101""#), "{answer}");
    assert!(serve.wait().success(), "{:?}", serve.seen);
    assert_eq!(serve.seen.last().map(String::as_str), Some("stopped"));
}

/// Garbage, a stalled head, a truncated body, a huge header and a burst of connections beyond
/// the cap: each gets an answer or a closed connection, and the server answers afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_do_not_take_it_down() {
    let (_dir, ledger) = empty_ledger();
    let mut serve = Daemon::serve(
        &[
            "--ledger",
            &ledger,
            "--header-timeout",
            "1s",
            "--request-timeout",
            "2s",
            "--max-connections",
            "16",
        ],
        &[],
    );
    let address = serve.base.trim_start_matches("http://").to_string();
    let exchange = async |bytes: &[u8]| -> String {
        let mut s = TcpStream::connect(&address).await.unwrap();
        // The server may close before it has read everything: that is an answer too.
        let _ = s.write_all(bytes).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, s.read_to_end(&mut answer))
            .await
            .expect("the server closes or answers");
        String::from_utf8_lossy(&answer).into_owned()
    };
    // Not HTTP at all.
    let answer = exchange(b"\x00\xff\xfe garbage\r\n\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    // A head that never ends: closed after the header timeout.
    let answer = exchange(b"GET /healthz HTTP/1.1\r\nhost: x\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A body shorter than announced, then silence: answered 503 within the request timeout.
    let answer = exchange(
        b"POST /v1/numbers:check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 100\r\n\r\n{\"numbers\"",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains(r#""kind":"timeout""#), "{answer}");
    // A header too big for the server.
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let answer = exchange(huge.as_bytes()).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    // 200 connections at once against a cap of 16: every one is answered in turn.
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..200 {
        let address = address.clone();
        burst.spawn(async move {
            let mut s = TcpStream::connect(&address).await.unwrap();
            let request = format!(
                "GET /v1/numbers/+1415555{i:04} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            );
            s.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            s.read_to_end(&mut answer).await.unwrap();
            String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200")
        });
    }
    let answered = burst.join_all().await;
    assert!(answered.iter().all(|ok| *ok), "{answered:?}");
    // Still up, still answering.
    let (status, _) = get(&http(), &serve.url("/v1/numbers/+14155550100")).await;
    assert_eq!(status, 200);
    serve.terminate();
    assert!(serve.wait().success());
}

/// Two `serve --sync` replicas on one PostgreSQL ledger: both answer, one polls. When it stops,
/// it releases the lease and the other takes over without waiting for the lease to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_serve_and_one_polls() {
    let Some(url) = common::ledgers::postgres_url() else {
        return;
    };
    let now = Utc::now();
    let log = Arc::new(truth(9, now - TimeDelta::hours(26), 10, 30, 1));
    let server = start_server(log, Arc::new(SystemClock), Arc::default()).await;
    let prefix = format!("{}_", common::ledgers::unique("replicas"));
    let args = [
        "--ledger",
        &url,
        "--table-prefix",
        &prefix,
        "--sync",
        "--every",
        "1s",
        "--last",
        "4h",
    ];
    let env = [
        ("PANDADOC_API_KEY", "k1"),
        ("PANDADOC_BASE_URL", &server.base_url),
    ];
    let mut first = Daemon::serve(&args, &env);
    first
        .wait_for(|l| l.starts_with("caught up"))
        .expect("the first replica leads and catches up");
    let mut second = Daemon::serve(&args, &env);
    second
        .wait_for(|l| l.starts_with("standing by"))
        .expect("the second stands by");
    let http = http();
    let leading = async |d: &Daemon| {
        let m = scrape(&http, &d.url("/metrics")).await;
        let requests = m
            .samples
            .iter()
            .filter(|s| s.metric == "pandadoc_requests_total")
            .count();
        (value(&m, "pandadoc_sync_leading", &[]), requests)
    };
    let m = scrape(&http, &first.url("/metrics")).await;
    let applied = value(&m, "pandadoc_sync_changes_applied_total", &[]).unwrap();
    assert!(applied > 0.0 && applied <= 30.0, "{applied}");
    let polled = value(&m, "pandadoc_sync_last_poll_timestamp_seconds", &[]).unwrap();
    assert!(
        (polled - Utc::now().timestamp() as f64).abs() < 600.0,
        "{polled}"
    );
    assert!(value(&m, "pandadoc_requests_total", &[("outcome", "success")]).unwrap() >= 1.0);
    let (first_leads, first_requests) = leading(&first).await;
    let (second_leads, second_requests) = leading(&second).await;
    assert_eq!((first_leads, second_leads), (Some(1.0), Some(0.0)));
    assert!(first_requests > 0);
    assert_eq!(second_requests, 0, "the stand-by never called PandaDoc");
    for d in [&first, &second] {
        assert_eq!(get(&http, &d.url("/readyz")).await.0, 200);
    }
    // The leader stops: it releases the lease, the other leads at its next try.
    let first_pid = first.child.id();
    first.terminate();
    assert!(first.wait().success(), "{:?}", first.seen);
    // Released, not left to expire: the moment it has exited, it holds no lease.
    let status = common::program()
        .args(["status", "--ledger", &url, "--table-prefix", &prefix])
        .output()
        .unwrap();
    assert!(status.status.success());
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let holder = status["lease_holder"]["holder"].as_str().unwrap_or("");
    assert!(!holder.ends_with(&format!(":{first_pid}")), "{status}");
    second
        .wait_for(|l| l.starts_with("leading"))
        .expect("the stand-by takes over");
    let deadline = std::time::Instant::now() + PATIENCE;
    while leading(&second).await.1 == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the new leader never polled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.terminate();
    assert!(second.wait().success());
}

/// A PostgreSQL ledger cut off behind a partition (a proxy that stops forwarding, closing
/// nothing): /readyz and a look-up answer 503 `ledger_unavailable` inside the 10 s request
/// timeout instead of hanging, /metrics still answers (`pandadoc_ledger_up 0`), `/healthz`
/// answers, and once the network heals `serve` is ready again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_postgres_ledger_is_unavailable_then_ready_again() {
    let Some(url) = common::ledgers::postgres_url() else {
        return;
    };
    let (proxy, proxied) = common::proxy::Proxy::in_front_of(&url).await;
    let prefix = format!("{}_", common::ledgers::unique("partition"));
    let now = Utc::now();
    let since = now - TimeDelta::hours(26);
    let server = start_server(
        Arc::new(truth(5, since, 10, 20, 1)),
        Arc::new(SystemClock),
        Arc::default(),
    )
    .await;
    sync_once(&server.base_url, &proxied, &prefix, &since.to_rfc3339());
    let serve = Daemon::serve(
        &[
            "--ledger",
            &proxied,
            "--table-prefix",
            &prefix,
            "--max-staleness",
            "1h",
        ],
        &[],
    );
    let http = http();
    let (status, body) = get(&http, &serve.url("/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let m = scrape(&http, &serve.url("/metrics")).await;
    assert_eq!(value(&m, "pandadoc_ledger_up", &[]), Some(1.0));

    proxy.pause();
    // The request timeout (10 s) bounds each answer; 5 s more for a busy machine.
    let bound = Duration::from_secs(10 + 5);
    for path in ["/readyz", "/v1/numbers/+15550000001"] {
        let asked = std::time::Instant::now();
        let (status, body) = get(&http, &serve.url(path)).await;
        let took = asked.elapsed();
        assert_eq!(status, 503, "{path}: {body}");
        assert!(is_error(&body, "ledger_unavailable"), "{path}: {body}");
        assert!(took <= bound, "{path} took {took:?} behind the partition");
    }
    let m = scrape(&http, &serve.url("/metrics")).await;
    assert_eq!(value(&m, "pandadoc_ledger_up", &[]), Some(0.0));
    assert_eq!(get(&http, &serve.url("/healthz")).await.0, 200);

    proxy.resume();
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = get(&http, &serve.url("/readyz")).await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ready after the partition healed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `serve --sync` outlives a PandaDoc outage: the poll that ran out of retries (four 503s) is
/// reported on stderr with its kind, the server keeps answering, the next poll catches up,
/// /readyz turns 200, and /metrics counts each refused attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sync_tries_again_after_an_outage() {
    let now = Utc::now();
    let log = Arc::new(truth(5, now - TimeDelta::hours(26), 10, 20, 1));
    // As many 503s as the default retry policy's attempts (4): one poll runs out of them.
    let attempts: u32 = 4;
    let outage = Arc::new(vec![common::sim::Fault::Unavailable; attempts as usize]);
    let server = start_server(log, Arc::new(SystemClock), outage).await;
    let (_dir, ledger) = empty_ledger();
    let env = [
        ("PANDADOC_API_KEY", "k1"),
        ("PANDADOC_BASE_URL", &server.base_url),
    ];
    let args = [
        "--ledger", &ledger, "--sync", "--every", "1s", "--last", "4h",
    ];
    let mut serve = Daemon::serve(&args, &env);
    let stopped = serve
        .wait_for(|l| l.starts_with("the sync stopped"))
        .expect("the outage is reported");
    assert!(
        stopped.contains("error[server]") && stopped.contains("trying again in 1 s"),
        "{stopped}"
    );
    assert_eq!(get(&http(), &serve.url("/healthz")).await.0, 200);
    serve
        .wait_for(|l| l.starts_with("caught up"))
        .expect("the next poll catches up");
    let http = http();
    let (status, body) = get(&http, &serve.url("/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let m = scrape(&http, &serve.url("/metrics")).await;
    let refused = value(&m, "pandadoc_requests_total", &[("outcome", "server")]);
    assert_eq!(refused, Some(f64::from(attempts)), "{:?}", serve.seen);
    let served = value(&m, "pandadoc_requests_total", &[("outcome", "success")]);
    assert!(served.is_some_and(|n| n >= 1.0), "{served:?}");
}
