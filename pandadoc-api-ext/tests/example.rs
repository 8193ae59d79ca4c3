//! The example program against a local mock: JSON lines on success, `error[KIND]: detail` and
//! the documented exit codes on failure, nothing sent on invalid input.

mod common;

use std::process::{Command, Output, Stdio};

use httpmock::prelude::*;
use serde_json::{Value, json};

fn command(base_url: &str, key: &str, args: &[&str]) -> Command {
    let mut command = Command::new(common::example_binary());
    command
        .args(args)
        .env_clear()
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
        ("k1", vec!["--last", "1y"]),
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
            "{stderr}"
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
