//! `pandadoc-opt-outs list` against a local mock: JSON lines (or CSV, a table) on success,
//! `error[KIND]: detail` and the documented exit codes on failure, nothing sent on invalid
//! input, `--help` with an example for every subcommand, and no torn line on SIGKILL.

use crate::common;

use std::io::Read;
use std::process::{Command, Output, Stdio};

use httpmock::prelude::*;
use serde_json::{Value, json};

fn command(base_url: &str, key: &str, args: &[&str]) -> Command {
    let mut command = common::program();
    command
        .arg("list")
        .args(args)
        .env("PANDADOC_API_KEY", key)
        .env("PANDADOC_BASE_URL", base_url);
    command
}

fn run(base_url: &str, key: &str, args: &[&str]) -> Output {
    command(base_url, key, args).output().unwrap()
}

#[tokio::test]
async fn prints_one_json_object_per_change() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/public/v1/sms-opt-outs")
                .header("authorization", "API-Key k1")
                .query_param("timestamp_from", "2025-01-28T00:00:00Z")
                .query_param("timestamp_to", "2025-01-28T23:00:00Z");
            then.status(200).json_body(json!({"results": [
                {"phone_number": "+1234567890", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z"},
                {"phone_number": "+1234567891", "status": "paused", "opt_out_changed": "2025-01-28T12:00:00Z"}
            ]}));
        })
        .await;
    let out = run(
        &server.base_url(),
        "k1",
        &[
            "--from",
            "2025-01-28T00:00:00Z",
            "--to",
            "2025-01-29T00:00:00+01:00",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mock.assert_async().await;
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"phone_number": "+1234567890", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z"}),
            json!({"phone_number": "+1234567891", "status": "paused", "opt_out_changed": "2025-01-28T12:00:00Z"}),
        ]
    );
}

/// A record the client cannot read whole is printed with `unreadable` (as received, and why)
/// and named on stderr; the others print as usual.
#[tokio::test]
async fn a_record_that_cannot_be_read_is_printed_marked_and_warned_about() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/public/v1/sms-opt-outs");
            then.status(200).json_body(json!({"results": [
                {"phone_number": "+1234567890", "status": "opt-out", "opt_out_changed": "yesterday"},
                {"phone_number": "+1234567891", "status": "opt-in", "opt_out_changed": "2025-01-28T12:00:00Z"}
            ]}));
        })
        .await;
    let out = run(&server.base_url(), "k1", &["--last", "24h"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot read") && stderr.contains("yesterday"),
        "{stderr}"
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let record = lines[0]["unreadable"]["record"].as_str().unwrap();
    assert!(record.contains("\"yesterday\""), "{record}");
    assert!(
        lines[0]["unreadable"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("opt_out_changed: ")
    );
    assert_eq!(lines[0]["opt_out_changed"], Value::Null);
    assert_eq!(lines[1].get("unreadable"), None);
}

#[tokio::test]
async fn failures_print_the_kind_and_the_server_detail() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|_, then| {
            then.status(401).json_body(json!({"type": "authentication_error", "detail": "Authentication credentials were not provided."}));
        })
        .await;
    let out = run(&server.base_url(), "k1", &["--last", "24h"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error[authentication]: HTTP 401 Unauthorized: Authentication credentials were not provided.\n"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn invalid_input_exits_2_and_sends_nothing() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            then.status(200).json_body(json!({"results": []}));
        })
        .await;
    for (key, args) in [
        ("k1\r\nX: y", vec!["--last", "1h"]),
        ("k1", vec!["--last", "1 fortnight"]),
        ("k1", vec!["--from", "yesterday"]),
        (
            "k1",
            vec![
                "--from",
                "2025-01-29T00:00:00Z",
                "--to",
                "2025-01-28T00:00:00Z",
            ],
        ),
        ("k1", vec!["--bogus"]),
    ] {
        let out = run(&server.base_url(), key, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("error[invalid_input]: ") && stderr.lines().count() == 1,
            "one line: {stderr}"
        );
    }
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn server_errors_with_html_bodies_name_their_status() {
    let cases = [
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ];
    let mut runs = Vec::new();
    for (status, reason) in cases {
        let server = MockServer::start_async().await;
        server
            .mock_async(|_, then| {
                then.status(status)
                    .header("content-type", "text/html")
                    .body("<html><body><h1>upstream trouble</h1></body></html>");
            })
            .await;
        // 502/503/504 are retried with backoff: the three programs run side by side.
        let child = command(&server.base_url(), "k1", &["--last", "1h"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        runs.push((status, reason, server, child));
    }
    for (status, reason, _server, child) in runs {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{status}");
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            format!("error[server]: HTTP {status} {reason}: the body is not the documented JSON\n")
        );
        assert!(out.stdout.is_empty());
    }
}

#[tokio::test]
async fn csv_and_table_formats_have_a_header_and_a_line_per_change() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|_, then| {
            then.status(200).json_body(json!({"results": [
                {"phone_number": "+1234567890", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z"},
                {"phone_number": "+1234567891", "status": "say \"hi\", then stop", "opt_out_changed": "2025-01-28T13:00:00Z"}
            ]}));
        })
        .await;
    let csv = run(
        &server.base_url(),
        "k1",
        &["--last", "1h", "--format", "csv"],
    );
    assert!(csv.status.success());
    assert_eq!(
        String::from_utf8(csv.stdout).unwrap(),
        "phone_number,status,opt_out_changed\n\
         +1234567890,opt-out,2025-01-28T12:00:00+00:00\n\
         +1234567891,\"say \"\"hi\"\", then stop\",2025-01-28T13:00:00+00:00\n"
    );
    let table = run(
        &server.base_url(),
        "k1",
        &["--last", "1h", "--format", "table"],
    );
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("PHONE_NUMBER  STATUS"), "{text}");
    assert_eq!(
        lines[1].find("opt-out"),
        lines[0].find("STATUS"),
        "aligned: {text}"
    );
}

#[test]
fn every_subcommand_has_help_with_an_example_and_usage_errors_exit_2() {
    for sub in ["list", "sync", "check", "export", "status"] {
        let out = common::program().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Example"), "{sub} --help: {help}");
        assert!(
            help.contains(&format!("pandadoc-opt-outs {sub}")),
            "{sub} --help: {help}"
        );
    }
    let top = common::program().arg("--help").output().unwrap();
    assert!(
        String::from_utf8(top.stdout)
            .unwrap()
            .contains("Exit codes:")
    );
    for args in [
        vec![],
        vec!["sync"],
        vec!["check", "--ledger", "sqlite:x.db"],
        vec!["frobnicate"],
    ] {
        let out = common::program().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("error[invalid_input]: ") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_printing_never_leaves_a_torn_line() {
    // 40,000 records: far more than a pipe holds, so the program blocks writing them.
    let results: Vec<Value> = (0..40_000)
        .map(|i| json!({"phone_number": format!("+1555{i:07}"), "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z"}))
        .collect();
    let server = MockServer::start_async().await;
    server
        .mock_async(|_, then| {
            then.status(200).json_body(json!({ "results": results }));
        })
        .await;
    let mut rng = fastrand::Rng::new();
    for _ in 0..5 {
        let mut child = command(&server.base_url(), "k1", &["--last", "1h"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Read a random part, then kill it while it writes the rest.
        let mut head = vec![0u8; rng.usize(1..200_000)];
        tokio::task::block_in_place(|| stdout.read_exact(&mut head)).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        head.extend(rest);
        assert_eq!(
            head.last(),
            Some(&b'\n'),
            "the output ends with a whole line"
        );
        let text = String::from_utf8(head).unwrap();
        for line in text.lines() {
            let v: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("torn line {line:?}: {e}"));
            assert_eq!(v["status"], "opt-out");
        }
    }
}

#[tokio::test]
async fn json_logs_on_stderr_for_a_log_shipper() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|_, then| {
            then.status(429)
                .header("retry-after", "0")
                .json_body(json!({"type": "throttled", "detail": "Request was throttled."}));
        })
        .await;
    let out = command(
        &server.base_url(),
        "sekrit-key-7f3a",
        &["--last", "1h", "--log-format", "json"],
    )
    .env("RUST_LOG", "warn")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    // Every line is one JSON object: the retries' warnings, then the error with its kind.
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let (last, retries) = lines.split_last().expect("logs, then the error");
    assert_eq!(last["level"], "ERROR", "{last}");
    assert_eq!(last["fields"]["kind"], "throttled", "{last}");
    assert!(
        last["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 429"),
        "{last}"
    );
    assert!(!retries.is_empty());
    assert!(retries.iter().all(|r| r["level"] == "WARN"), "{stderr}");
    // A usage error too, when JSON was asked for.
    let usage = command(
        &server.base_url(),
        "sekrit-key-7f3a",
        &["--last", "1 fortnight", "--log-format", "json"],
    )
    .output()
    .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let usage: Value = serde_json::from_slice(&usage.stderr).unwrap();
    assert_eq!(usage["fields"]["kind"], "invalid_input", "{usage}");
    assert!(!stderr.contains("sekrit"), "the key never shows: {stderr}");
}
