//! `pandadoc-opt-outs sync`, `check`, `export` and `status` as processes: against the simulated
//! endpoint, with a state file or a ledger (SQLite always; PostgreSQL when a test server is
//! given), killed with SIGKILL or stopped with SIGTERM.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use common::sim::{Change, start_server, truth};
use pandadoc_api_ext::SystemClock;
use pandadoc_api_ext::ledger::SCHEMA_VERSION;
use serde_json::Value;

fn command(base_url: &str, args: &[&str]) -> Command {
    let mut command = common::program();
    command
        .args(args)
        .env("PANDADOC_API_KEY", "k1")
        .env("PANDADOC_BASE_URL", base_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn spawn(base_url: &str, args: &[&str]) -> Child {
    command(base_url, args).spawn().unwrap()
}

fn run(base_url: &str, args: &[&str]) -> Output {
    command(base_url, args).output().unwrap()
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
        let at = DateTime::parse_from_rfc3339(&at)
            .unwrap()
            .with_timezone(&Utc);
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
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

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
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
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let since_arg = since.to_rfc3339();
    let args = [
        "sync",
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
    assert!(!first.wait().unwrap().success());
    let mut printed = String::new();
    first
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    let killed_at = watermark(&state);
    // Requests 0..=19 were answered: at most 20 windows of at most an hour were saved.
    assert!(
        killed_at > since && killed_at <= since + TimeDelta::hours(20),
        "{killed_at}"
    );
    *server.hang_at.lock().unwrap() = None;
    let second = run(&server.base_url, &args);
    let stderr = text(second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.contains("holds a checkpoint") && stderr.contains("ignored"),
        "{stderr}"
    );
    printed.push_str(&text(second.stdout));
    assert_eq!(
        fold(&printed),
        expected(&log),
        "every number's latest status"
    );
    assert!(
        watermark(&state) >= now - TimeDelta::seconds(31),
        "caught up"
    );
}

#[tokio::test]
async fn a_corrupt_state_file_exits_2_names_the_file_and_is_left_alone() {
    let server = start_server(Arc::default(), Arc::new(SystemClock), Arc::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"watermark\": 12").unwrap();
    let out = run(
        &server.base_url,
        &["sync", "--state", state.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(out.stderr);
    assert!(
        stderr.starts_with("error[invalid_input]: ") && stderr.contains("state.json"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"watermark\": 12"
    );
    assert_eq!(server.requests(), 0, "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_stops_on_sigterm_and_saves_the_checkpoint() {
    let now = Utc::now();
    // A day of changes ending 3 h ago; the window read is the last 3 h.
    let log = Arc::new(truth(5, now - TimeDelta::hours(27), 10, 20, 1));
    let server = start_server(log, Arc::new(SystemClock), Arc::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = spawn(
        &server.base_url,
        &[
            "sync",
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
}

/// Syncs two days into `ledger` (a URL, tables starting with `prefix`), then checks what every
/// subcommand reads from it.
async fn ledger_round_trip(ledger: &str, prefix: &str) {
    let now = Utc::now();
    let since = now - TimeDelta::hours(50);
    let log = Arc::new(truth(8, since, 60, 300, 2));
    let server = start_server(log.clone(), Arc::new(SystemClock), Arc::default()).await;
    let with_env = |mut c: Command| {
        c.args(["--table-prefix", prefix]);
        c
    };
    let since_arg = since.to_rfc3339();
    let out = with_env(command(
        &server.base_url,
        &[
            "sync",
            "--ledger",
            ledger,
            "--since",
            &since_arg,
            "--max-window",
            "12h",
            "--print",
        ],
    ))
    .output()
    .unwrap();
    let stderr = text(out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("caught up"), "{stderr}");
    assert_eq!(
        fold(&text(out.stdout)),
        expected(&log),
        "--print: what was recorded"
    );

    // The list, whole and opted out only.
    let export = with_env(command(&server.base_url, &["export", "--ledger", ledger]))
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", text(export.stderr));
    let all = text(export.stdout);
    assert_eq!(fold(&all), expected(&log));
    let numbers: Vec<String> = all
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["phone_number"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "number order");
    let csv = with_env(command(
        &server.base_url,
        &[
            "export",
            "--ledger",
            ledger,
            "--only",
            "opted-out",
            "--format",
            "csv",
        ],
    ))
    .output()
    .unwrap();
    let csv = text(csv.stdout);
    let truth = expected(&log);
    let opted_out: Vec<&String> = truth
        .iter()
        .filter(|(_, (_, s))| s == "opt-out")
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        csv.lines().count(),
        opted_out.len() + 1,
        "a header and the opted out"
    );
    assert!(csv.starts_with("phone_number,status,opt_out_changed,recorded\n"));

    // check: 3 when one opted out, 0 when every number may be texted, 4 when stale.
    let out_number = opted_out[0].clone();
    let in_number = truth
        .iter()
        .find(|(_, (_, s))| s == "opt-in")
        .unwrap()
        .0
        .clone();
    let spaced = format!("{} {}", &out_number[..2], &out_number[2..]);
    let check = |phones: &[&str], extra: &[&str]| {
        let mut args = vec!["check", "--ledger", ledger];
        args.extend_from_slice(extra);
        args.extend_from_slice(phones);
        with_env(command(&server.base_url, &args)).output().unwrap()
    };
    let out = check(&[&in_number, &spaced, "+19995550000"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(out.stderr));
    let lines: Vec<Value> = text(out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["verdict"], "opted-in");
    assert_eq!(lines[1]["verdict"], "opted-out");
    assert_eq!(lines[1]["phone_number"], out_number.as_str(), "canonical");
    assert_eq!(lines[2]["verdict"], "never-seen");
    assert_eq!(
        check(&[&in_number, "+19995550000"], &[]).status.code(),
        Some(0)
    );
    // Staleness is judged by when the sync last confirmed it was caught up (by the database's
    // clock): the sync above did, a moment ago; nothing is fresher than zero.
    let stale = check(&[&in_number], &["--max-staleness", "0s"]);
    assert_eq!(stale.status.code(), Some(4));
    assert!(text(stale.stdout).contains("\"stale\""));
    let bad = check(&[&in_number, "555-0100"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty(), "nothing printed for a typo");
    assert!(text(bad.stderr).starts_with("error[invalid_input]: "));

    let status = with_env(command(&server.base_url, &["status", "--ledger", ledger]))
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", text(status.stderr));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["schema_version"], SCHEMA_VERSION);
    assert!(status["behind_s"].as_i64().unwrap() < 120);
    assert!(status["since_caught_up_s"].as_i64().unwrap() < 120);
    assert_eq!(status["set_aside"], 0);
    let counted: u64 = status["numbers_by_status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, truth.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_sync_check_export_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("opt-outs.db").display());
    ledger_round_trip(&url, "pandadoc_").await;
    // The URL may come from the environment.
    let server = start_server(Arc::default(), Arc::new(SystemClock), Arc::default()).await;
    let out = command(&server.base_url, &["status"])
        .env("PANDADOC_LEDGER", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(out.stderr));
    for bad in ["mysql://x/y", "sqlite:"] {
        let out = run(&server.base_url, &["sync", "--ledger", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(out.stderr).starts_with("error[invalid_input]: "));
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ledger_sync_check_export_status_and_a_standby() {
    let Some(url) = common::ledgers::postgres_url() else {
        return;
    };
    ledger_round_trip(&url, &format!("{}_", common::ledgers::unique("cli"))).await;
    // A second replica on the same ledger stands by while the first leads.
    let now = Utc::now();
    let log = Arc::new(truth(3, now - TimeDelta::hours(5), 10, 30, 1));
    let server = start_server(log, Arc::new(SystemClock), Arc::default()).await;
    let prefix = format!("{}_", common::ledgers::unique("standby"));
    let args = [
        "sync",
        "--ledger",
        &url,
        "--table-prefix",
        &prefix,
        "--follow",
        "--every",
        "1h",
    ];
    let mut leader = spawn(&server.base_url, &args);
    let mut leader_err = BufReader::new(leader.stderr.take().unwrap());
    let mut line = String::new();
    tokio::task::block_in_place(|| leader_err.read_line(&mut line)).unwrap();
    assert!(
        line.starts_with("window "),
        "the first replica leads: {line}"
    );
    let mut standby = spawn(&server.base_url, &args);
    let mut standby_err = BufReader::new(standby.stderr.take().unwrap());
    line.clear();
    tokio::task::block_in_place(|| standby_err.read_line(&mut line)).unwrap();
    assert!(
        line.starts_with("standing by: another replica leads"),
        "{line}"
    );
    // A one-shot run (cron) while another replica leads: nothing to do, exit 0.
    let once = run(&server.base_url, &args[..5]);
    assert_eq!(once.status.code(), Some(0));
    assert!(text(once.stderr).contains("another replica leads"));
    leader.kill().unwrap();
    leader.wait().unwrap();
    line.clear();
    tokio::task::block_in_place(|| standby_err.read_line(&mut line)).unwrap();
    assert!(line.starts_with("leading"), "{line}");
    standby.kill().unwrap();
    standby.wait().unwrap();
    // A wrong password: one line, exit 1, and the password it was given never printed.
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, host) = rest.split_once('@').unwrap();
    let user = credentials.split(':').next().unwrap();
    let wrong = format!("{scheme}://{user}:not-the-password-42@{host}");
    let out = run(&server.base_url, &["status", "--ledger", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(out.stderr);
    assert!(
        stderr.starts_with("error[store]: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password-42"), "{stderr}");
}

/// A change the ledger cannot apply (a number that is not E.164) is set aside with a warning
/// on stderr, the rest of the window applies, and the sync exits 0; `status` counts it and
/// `export --set-aside` lists it as received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_record_is_set_aside_and_the_list_goes_on() {
    let now = Utc::now();
    let mut log = truth(4, now - TimeDelta::hours(27), 5, 10, 1);
    let at = log[0].at;
    log.push(Change {
        phone: "555-0100".into(),
        status: "opt-out",
        at,
        visible: at,
    });
    log.sort_by_key(|c| c.at);
    let good = expected(&log[..]).len() - 1;
    let server = start_server(Arc::new(log), Arc::new(SystemClock), Arc::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("opt-outs.db").display());
    let out = run(
        &server.base_url,
        &[
            "sync",
            "--ledger",
            &url,
            "--last",
            "30h",
            "--log-format",
            "json",
        ],
    );
    let stderr = text(out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("set aside") && stderr.contains("555-0100"),
        "the warning names the record: {stderr}"
    );
    // With JSON logs every stderr line is JSON: the warning, the windows, "caught up".
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(lines.iter().any(|l| l["level"] == "WARN"), "{stderr}");
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("caught up"))),
        "{stderr}"
    );
    // --quiet: the status lines go, the warning stays.
    let dir2 = tempfile::tempdir().unwrap();
    let url2 = format!("sqlite:{}", dir2.path().join("quiet.db").display());
    let quiet = run(
        &server.base_url,
        &["sync", "--ledger", &url2, "--last", "30h", "--quiet"],
    );
    let quiet = text(quiet.stderr);
    assert!(
        !quiet.contains("window ") && !quiet.contains("caught up"),
        "{quiet}"
    );
    assert!(quiet.contains("set aside"), "{quiet}");
    let status = run(&server.base_url, &["status", "--ledger", &url]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["set_aside"], 1);
    let counted: u64 = status["numbers_by_status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, good as u64, "every other number applied");
    let aside = run(
        &server.base_url,
        &["export", "--ledger", &url, "--set-aside"],
    );
    let lines: Vec<Value> = text(aside.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let record: Value = serde_json::from_str(lines[0]["record"].as_str().unwrap()).unwrap();
    assert_eq!(record["phone_number"], "555-0100");
    assert!(lines[0]["reason"].as_str().unwrap().contains("555-0100"));
    assert_eq!(lines[0]["phone_number"], Value::Null);
}

/// `check`, `export` and `status` only read: a mistyped SQLite path is a one-line error (exit
/// 2) that says how to create the ledger, never a verdict, and nothing is created; `init`
/// creates it, and then `check` answers (stale: no sync has caught up yet).
#[test]
fn lookups_never_create_a_ledger_and_init_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opt-outs.db");
    let url = format!("sqlite:{}", path.display());
    let unused = "http://127.0.0.1:9";
    for args in [
        vec!["check", "--ledger", &url, "+14155550100"],
        vec!["export", "--ledger", &url],
        vec!["status", "--ledger", &url],
    ] {
        let out = run(unused, &args);
        let stderr = text(out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error[invalid_input]: ")
                && stderr.contains("no ledger")
                && stderr.contains("pandadoc-opt-outs init")
                && stderr.lines().count() == 1,
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "no verdict");
        assert!(!path.exists(), "{args:?} created the ledger");
    }
    let out = run(unused, &["init", "--ledger", &url]);
    assert!(out.status.success(), "{}", text(out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["schema_version"], SCHEMA_VERSION);
    let out = run(unused, &["check", "--ledger", &url, "+14155550100"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(out.stderr));
}

/// The database restarts (`pg_ctl restart -m fast`) under `sync --follow` and a stream of
/// look-ups: a look-up fails only while the server is down, with an error and never a hang
/// (each is bounded), and the first one after the server is back succeeds (the pool replaces
/// the closed connections); the sync stays up, goes on from its checkpoint, and the ledger ends
/// equal to the truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_survives_a_database_restart() {
    use pandadoc_api_ext::ledger::{Ledger, LedgerOptions, LedgerUrl};
    use pandadoc_api_ext::sync::CheckpointStore;
    let Some(bin) = common::cluster::binaries("the PostgreSQL restart test") else {
        return;
    };
    let database =
        tokio::task::spawn_blocking(move || common::cluster::Cluster::start(&bin, &[], &[]))
            .await
            .unwrap();
    let url = database.url("127.0.0.1", "");
    let now = Utc::now();
    let log = truth(6, now - TimeDelta::hours(27), 20, 60, 1);
    let want = expected(&log);
    let server = start_server(Arc::new(log), Arc::new(SystemClock), Arc::default()).await;
    let sync = spawn(
        &server.base_url,
        &[
            "sync", "--ledger", &url, "--last", "30h", "--follow", "--every", "1s", "--lag", "1s",
        ],
    );
    struct Reaped(Child);
    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut sync = Reaped(sync);
    let parsed = LedgerUrl::parse(&url).unwrap();
    let options = LedgerOptions::default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let reader = loop {
        if let Ok(reader) = parsed.open_read_only(&options).await
            && reader.stats().await.is_ok_and(|s| s.caught_up.is_some())
        {
            break reader;
        }
        assert!(std::time::Instant::now() < deadline, "the sync caught up");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let phone = want.keys().next().unwrap().clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lookups = tokio::spawn({
        let (reader, stop) = (reader.clone(), stop.clone());
        async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let began = std::time::Instant::now();
                let answer = tokio::time::timeout(
                    std::time::Duration::from_secs(30),
                    reader.textability(&phone, TimeDelta::hours(1)),
                )
                .await
                .expect("a look-up never hangs");
                seen.push((began, std::time::Instant::now(), answer.is_ok()));
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            seen
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = reader.load().await.unwrap().unwrap().watermark;
    let down = std::time::Instant::now();
    let database = tokio::task::spawn_blocking(move || {
        database.restart();
        database
    })
    .await
    .unwrap();
    let up = std::time::Instant::now();
    // The sync goes on: its checkpoint moves past where it was.
    let deadline = up + std::time::Duration::from_secs(30);
    while reader
        .load()
        .await
        .ok()
        .flatten()
        .is_none_or(|c| c.watermark <= before)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the sync went on after the restart"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = lookups.await.unwrap();
    assert!(
        sync.0.try_wait().unwrap().is_none(),
        "the sync is still running"
    );
    let failed: Vec<_> = seen.iter().filter(|(_, _, ok)| !ok).collect();
    for (began, ended, _) in &failed {
        assert!(
            *ended >= down && *began <= up,
            "a look-up failed while the server was up ({:?} after the restart began)",
            began.saturating_duration_since(down)
        );
    }
    let after: Vec<_> = seen.iter().filter(|(began, _, _)| *began > up).collect();
    assert!(
        !after.is_empty() && after.iter().all(|(_, _, ok)| *ok),
        "every look-up after"
    );
    let slowest = seen.iter().map(|(b, e, _)| *e - *b).max().unwrap();
    eprintln!(
        "restart: down {:?}, {} look-ups, {} failed, the slowest {slowest:?}",
        up - down,
        seen.len(),
        failed.len()
    );
    drop(sync);
    let got: HashMap<String, (String, String)> = common::ledgers::contents(&reader)
        .await
        .into_iter()
        .map(|(phone, (status, at))| {
            let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            (phone, (at, status))
        })
        .collect();
    assert_eq!(got, want, "the ledger equals the truth");
    drop(database);
}

/// A flag wins over the environment: with `PANDADOC_LEDGER` exported, `sync --state PATH`
/// syncs into the state file (it was a usage error), and the ledger is not touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_flag_wins_over_an_exported_ledger() {
    let now = Utc::now();
    let log = Arc::new(truth(2, now - TimeDelta::hours(5), 5, 10, 1));
    let server = start_server(log, Arc::new(SystemClock), Arc::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let ledger = dir.path().join("never.db");
    let out = command(
        &server.base_url,
        &["sync", "--state", state.to_str().unwrap(), "--last", "6h"],
    )
    .env("PANDADOC_LEDGER", format!("sqlite:{}", ledger.display()))
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(out.stderr));
    assert!(
        watermark(&state) > now - TimeDelta::minutes(5),
        "synced into the state file"
    );
    assert!(!ledger.exists(), "the exported ledger was not touched");
}
