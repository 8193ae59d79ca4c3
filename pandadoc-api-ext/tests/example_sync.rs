//! The example program's `--sync`: killed with SIGKILL mid-run and run again, it loses no
//! change and leaves a valid state file; a corrupt state file is reported and left alone;
//! `--follow` stops cleanly on SIGTERM.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use common::sim::{Change, start_server, truth};
use pandadoc_api_ext::SystemClock;
use serde_json::Value;

fn spawn(base_url: &str, args: &[&str]) -> Child {
    Command::new(common::example_binary())
        .args(args)
        .env_clear()
        .env("PANDADOC_API_KEY", "k1")
        .env("PANDADOC_BASE_URL", base_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pandadoc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn watermark(state: &Path) -> DateTime<Utc> {
    let json: Value = serde_json::from_slice(&std::fs::read(state).unwrap())
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", state.display()));
    assert_eq!(json["version"], 1);
    DateTime::parse_from_rfc3339(json["watermark"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The latest (time, status) of each number in JSON lines.
fn fold(lines: &str) -> HashMap<String, (String, String)> {
    let mut latest: HashMap<String, (String, String)> = HashMap::new();
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let (phone, status, at) = (
            v["phone_number"].as_str().unwrap().to_string(),
            v["status"].as_str().unwrap().to_string(),
            v["opt_out_changed"].as_str().unwrap().to_string(),
        );
        let entry = latest.entry(phone).or_insert((at.clone(), status.clone()));
        if at >= entry.0 {
            *entry = (at, status);
        }
    }
    latest
}

fn expected(log: &[Change]) -> HashMap<String, (String, String)> {
    log.iter()
        .map(|c| {
            (
                c.phone.clone(),
                (
                    c.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    c.status.to_string(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_loses_no_change_and_leaves_a_valid_state_file() {
    let now = Utc::now();
    let since = now - TimeDelta::hours(50);
    // Changes over two days, all older than an hour: visible, and older than the lag.
    let log = Arc::new(truth(21, since, 150, 400, 2));
    let server = start_server(log.clone(), Arc::new(SystemClock), Arc::default()).await;
    // Request 20 is never answered: the program is waiting for it when it is killed.
    *server.hang_at.lock().unwrap() = Some(20);
    let dir = scratch("sigkill");
    let state = dir.join("state.json");
    let since_arg = since.to_rfc3339();
    let args = [
        "--sync",
        "--state",
        state.to_str().unwrap(),
        "--since",
        &since_arg,
        "--max-window",
        "1h",
    ];
    let mut first = spawn(&server.base_url, &args);
    server.crash.notified().await;
    first.kill().unwrap(); // SIGKILL
    let status = first.wait().unwrap();
    assert!(!status.success());
    let mut printed = String::new();
    first
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    let killed_at = watermark(&state);
    // Requests 0..=19 were answered: at most 20 one-hour windows were saved.
    assert!(
        killed_at > since && killed_at <= since + TimeDelta::hours(20),
        "{killed_at}"
    );

    *server.hang_at.lock().unwrap() = None;
    let second = spawn(&server.base_url, &args).wait_with_output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let stderr = String::from_utf8(second.stderr).unwrap();
    assert!(
        stderr.contains("holds a checkpoint") && stderr.contains("ignored"),
        "{stderr}"
    );
    printed.push_str(&String::from_utf8(second.stdout).unwrap());
    assert_eq!(
        fold(&printed),
        expected(&log),
        "every number's latest status"
    );
    assert!(
        watermark(&state) >= now - TimeDelta::seconds(31),
        "caught up"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_corrupt_state_file_exits_2_names_the_file_and_is_left_alone() {
    let server = start_server(Arc::default(), Arc::new(SystemClock), Arc::default()).await;
    let dir = scratch("corrupt");
    let state = dir.join("state.json");
    std::fs::write(&state, "{\"watermark\": 12").unwrap();
    let out = spawn(
        &server.base_url,
        &["--sync", "--state", state.to_str().unwrap()],
    )
    .wait_with_output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error[invalid_input]: ") && stderr.contains("state.json"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"watermark\": 12"
    );
    assert_eq!(
        server.requests.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing sent"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_stops_on_sigterm_and_saves_the_checkpoint() {
    let now = Utc::now();
    // A day of changes ending 3 h ago; the window read is the last 3 h.
    let log = Arc::new(truth(5, now - TimeDelta::hours(27), 10, 20, 1));
    let server = start_server(log, Arc::new(SystemClock), Arc::default()).await;
    let dir = scratch("follow");
    let state = dir.join("state.json");
    let mut child = spawn(
        &server.base_url,
        &[
            "--sync",
            "--follow",
            "--every",
            "1h",
            "--state",
            state.to_str().unwrap(),
            "--last",
            "3h",
        ],
    );
    // The first window's progress line: it has caught up (one window covers 3 h).
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    tokio::task::block_in_place(|| stderr.read_line(&mut line)).unwrap();
    assert!(line.starts_with("window "), "{line}");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    assert!(watermark(&state) >= now - TimeDelta::seconds(31));
    let _ = std::fs::remove_dir_all(&dir);
}
