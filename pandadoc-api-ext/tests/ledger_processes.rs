//! The ledger across processes that die: a sync writing a ledger is SIGKILLed at random points
//! (both backends), and three replicas share a PostgreSQL ledger while they are killed and
//! restarted at random.
//!
//! A test binary of its own (no libtest harness): it is both the test and, started again with
//! `PANDADOC_LEDGER_TEST_ROLE` set, the child processes it kills. Positional arguments filter
//! the tests by name, as libtest's do; the last line is `N passed, N failed`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use common::ledgers;
use common::sim::{self, Change, Fault};
use pandadoc_api_ext::ledger::{
    Ledger, LedgerOptions, PostgresLedger, PostgresOptions, SqliteLedger,
};
use pandadoc_api_ext::sync::{CheckpointStore, OptOutSync, SyncError, SyncOptions};
use pandadoc_api_ext::{Client, SystemClock};

const ROLE: &str = "PANDADOC_LEDGER_TEST_ROLE";
/// How often a stand-by tries the lease in the replica test.
const LEASE_POLL: Duration = Duration::from_millis(100);
/// The takeover bound the replica test checks: `LEASE_POLL` after the server ends the dead
/// leader's session (at once on loopback), plus room for a loaded machine to schedule the
/// stand-by.
/// The replicas' lease: a dead leader's is taken within `LEASE_TTL + LEASE_POLL`.
const LEASE_TTL: Duration = Duration::from_millis(1500);
/// `LEASE_TTL + LEASE_POLL`, and room for a loaded machine.
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if let Ok(role) = std::env::var(ROLE) {
        return runtime.block_on(child(&role));
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        for name in TESTS.iter().map(|(name, _)| name) {
            println!("{name}: test");
        }
        return;
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in TESTS {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| runtime.block_on(test()));
        let verdict = if result.is_ok() { "ok" } else { "FAILED" };
        println!(
            "test {name} ... {verdict} ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        if result.is_ok() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(101);
    }
}

type Test = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

const TESTS: [(&str, Test); 3] = [
    (
        "sqlite_sigkill_at_random_points_leaves_all_old_or_all_new",
        || Box::pin(sigkill_at_random_points(Backend::Sqlite)),
    ),
    (
        "postgres_sigkill_at_random_points_leaves_all_old_or_all_new",
        || Box::pin(sigkill_at_random_points(Backend::Postgres)),
    ),
    (
        "postgres_three_replicas_killed_at_random_agree_with_the_truth",
        || Box::pin(three_replicas()),
    ),
];

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Where a child finds its ledger: `LEDGER` = `sqlite:<path>` or `postgres:<schema>` (the
/// server's URL in `PANDADOC_TEST_POSTGRES_URL`).
fn ledger_env(backend: Backend, place: &str) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite:{place}"),
        Backend::Postgres => format!("postgres:{place}"),
    }
}

async fn child(role: &str) {
    let var = |name: &str| std::env::var(name).unwrap();
    let client = sim::client(&var("BASE_URL"), None);
    let start = DateTime::parse_from_rfc3339(&var("START"))
        .unwrap()
        .with_timezone(&Utc);
    let ledger = var("LEDGER");
    match (role, ledger.split_once(':').unwrap()) {
        ("crash", ("sqlite", path)) => {
            let ledger = SqliteLedger::open(path, &LedgerOptions::default()).unwrap();
            crash_child(client, ledger, start).await
        }
        ("crash", ("postgres", schema)) => {
            let options = LedgerOptions::default().schema(schema);
            let url = var(ledgers::POSTGRES_URL);
            let ledger = PostgresLedger::connect(&url, &options, &PostgresOptions::default())
                .await
                .unwrap();
            crash_child(client, ledger, start).await
        }
        ("replica", ("postgres", schema)) => replica_child(client, schema, start).await,
        other => panic!("unknown role {other:?}"),
    }
}

/// Syncs into the ledger until caught up, a line on stdout after each window recorded.
async fn crash_child(client: Client, ledger: impl Ledger, start: DateTime<Utc>) {
    let options = SyncOptions::default().max_window(TimeDelta::hours(1));
    let mut sync = OptOutSync::new(client, ledger, start, options);
    loop {
        match sync
            .step_into_ledger(async |_| Ok::<(), std::convert::Infallible>(()))
            .await
        {
            Ok(Some(_)) => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "window").and_then(|()| out.flush()).unwrap();
            }
            Ok(None) => return,
            Err(SyncError::Api(e)) if e.is_retryable() => continue,
            Err(e) => panic!("{e}"),
        }
    }
}

/// A replica: waits for the lease ("standby"), then follows ("leading") until it dies.
async fn replica_child(client: Client, schema: &str, start: DateTime<Utc>) {
    let url = std::env::var(ledgers::POSTGRES_URL).unwrap();
    let options = LedgerOptions::default().schema(schema);
    let postgres = PostgresOptions::default()
        .lease_poll(LEASE_POLL)
        .lease_ttl(LEASE_TTL)
        .application_name(format!("replica-{}", std::process::id()));
    let say = |line: &str| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").and_then(|()| out.flush()).unwrap();
    };
    let sync_options = SyncOptions::default()
        .lag(TimeDelta::seconds(1))
        .overlap(TimeDelta::seconds(3))
        .max_window(TimeDelta::hours(1));
    let ledger = loop {
        match PostgresLedger::connect(&url, &options, &postgres).await {
            Ok(ledger) => break ledger,
            Err(e) => {
                eprintln!("replica: {e}");
                tokio::time::sleep(LEASE_POLL).await;
            }
        }
    };
    loop {
        say("standby");
        if let Err(e) = ledger.lead().await {
            eprintln!("replica: {e}");
            continue;
        }
        say("leading");
        let mut sync = OptOutSync::new(client.clone(), ledger.clone(), start, sync_options);
        loop {
            match sync
                .catch_up_into_ledger(async |_| Ok::<(), std::convert::Infallible>(()))
                .await
            {
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(SyncError::Api(e)) if e.is_retryable() => continue,
                Err(e) => {
                    // A lost lease (or an unreachable database): stand by again.
                    eprintln!("replica: {e}");
                    break;
                }
            }
        }
    }
}

/// A child process, its stdout lines sent to `lines` with when they came.
fn spawn(
    role: &str,
    env: &[(&str, String)],
    id: usize,
    lines: mpsc::Sender<(usize, String, Instant)>,
) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(ROLE, role)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send((id, line, Instant::now())).is_err() {
                return;
            }
        }
    });
    child
}

/// What the server does with each of `n` requests: 3 in `one_in` meet a 429, a 503 or a reset.
fn faults(rng: &mut fastrand::Rng, n: usize, one_in: u8) -> Arc<Vec<Fault>> {
    Arc::new(
        (0..n)
            .map(|_| match rng.u8(..one_in) {
                0 => Fault::Throttle,
                1 => Fault::Unavailable,
                2 => Fault::Reset,
                _ => Fault::None,
            })
            .collect(),
    )
}

/// The truth log with at most one change of a number per second (no ties to rule on).
fn distinct(mut log: Vec<Change>) -> Vec<Change> {
    let mut seen = BTreeSet::new();
    log.retain(|c| seen.insert((c.phone.clone(), c.at)));
    log
}

/// The latest change of each number at or before `until`.
fn truth_at(
    log: &[Change],
    until: Option<DateTime<Utc>>,
) -> BTreeMap<String, (String, DateTime<Utc>)> {
    let mut latest = BTreeMap::new();
    if let Some(until) = until {
        for c in log.iter().filter(|c| c.at <= until) {
            latest.insert(c.phone.clone(), (c.status.to_string(), c.at));
        }
    }
    latest
}

/// Every entry: number -> (status, changed).
/// All old or all new: the numbers are the truth at the checkpoint, the history holds only
/// changes of the truth at or before it, and each number is the latest of its history.
async fn consistent(ledger: &impl Ledger, log: &[Change]) -> Option<DateTime<Utc>> {
    let watermark = ledger.load().await.unwrap().map(|c| c.watermark);
    let numbers = ledgers::contents(ledger).await;
    assert_eq!(
        numbers,
        truth_at(log, watermark),
        "numbers at checkpoint {watermark:?}"
    );
    let known: BTreeSet<_> = log
        .iter()
        .map(|c| (c.phone.clone(), c.status.to_string(), c.at))
        .collect();
    let mut history = 0;
    for (phone, (status, at)) in &numbers {
        let changes = ledger.history(phone).await.unwrap();
        history += changes.len() as u64;
        for h in &changes {
            assert!(
                Some(h.opt_out_changed) <= watermark,
                "{h:?} is past the checkpoint"
            );
            assert!(
                known.contains(&(
                    h.phone_number.clone(),
                    h.status.to_string(),
                    h.opt_out_changed
                )),
                "{h:?} was never sent"
            );
        }
        let last = changes.last().expect("a number has a history");
        assert_eq!(
            (&last.status.to_string(), &last.opt_out_changed),
            (status, at)
        );
    }
    assert_eq!(
        ledger.stats().await.unwrap().history,
        history,
        "no history without a number"
    );
    watermark
}

async fn sigkill_at_random_points(backend: Backend) {
    let (place, _dir, url) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ledger.db").display().to_string();
            (path, Some(dir), None)
        }
        Backend::Postgres => match ledgers::postgres_url() {
            Some(url) => (ledgers::unique("crash"), None, Some(url)),
            None => return,
        },
    };
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    eprintln!("seed {seed}");
    // Two days of changes, all visible by now; 10% of requests meet a fault.
    let start = (Utc::now() - TimeDelta::days(2) - TimeDelta::hours(1))
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap();
    let log = Arc::new(distinct(sim::truth(seed, start, 300, 3000, 2)));
    let faults = faults(&mut rng, 5000, 30);
    let server = sim::start_server(log.clone(), Arc::new(SystemClock), faults).await;
    let env = vec![
        ("BASE_URL", server.base_url.clone()),
        ("START", start.to_rfc3339()),
        ("LEDGER", ledger_env(backend, &place)),
    ];
    let check = async || match backend {
        Backend::Sqlite => {
            consistent(
                &SqliteLedger::open(&place, &LedgerOptions::default()).unwrap(),
                &log,
            )
            .await
        }
        Backend::Postgres => {
            let options = LedgerOptions::default().schema(&place);
            let ledger = PostgresLedger::connect(
                url.as_deref().unwrap(),
                &options,
                &PostgresOptions::default(),
            )
            .await
            .unwrap();
            consistent(&ledger, &log).await
        }
    };
    let (mut kills, mut previous) = (0, None);
    for _ in 0..25 {
        let (tx, rx) = mpsc::channel();
        let mut child = spawn("crash", &env, 0, tx);
        // Kill after a random number of windows (0 to 3: 25 rounds cannot finish the 49
        // windows before round 17, so at least 16 kills land mid-run), a random instant later.
        let windows = rng.usize(..4);
        let mut finished = false;
        for _ in 0..windows {
            if rx.recv_timeout(Duration::from_secs(60)).is_err() {
                finished = true; // the child caught up and exited
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(rng.u64(..3000)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !finished && !status.success() {
            kills += 1;
        }
        let watermark = check().await;
        assert!(watermark >= previous, "the checkpoint never moves back");
        previous = watermark;
    }
    assert!(
        kills >= 16,
        "the first 16 rounds killed a running sync ({kills})"
    );
    // A resumed sync, left to finish, ends with every number equal to the truth.
    let (tx, rx) = mpsc::channel();
    let status = spawn("crash", &env, 0, tx).wait().unwrap();
    drop(rx);
    assert!(status.success());
    let watermark = check().await.expect("a checkpoint");
    assert!(watermark >= Utc::now() - TimeDelta::minutes(5), "caught up");
    assert_eq!(
        truth_at(&log, Some(watermark)),
        truth_at(&log, Some(Utc::now()))
    );
}

/// What the replicas said: who leads, who stands by, and when each took the lease.
#[derive(Default)]
struct Roles {
    leader: Option<usize>,
    standing_by: BTreeSet<usize>,
    took_lease: Vec<(usize, Instant)>,
}

impl Roles {
    /// Reads the replicas' lines until one leads and two stand by (false after a minute).
    fn until_one_leads_and_two_stand_by(
        &mut self,
        rx: &mpsc::Receiver<(usize, String, Instant)>,
    ) -> bool {
        let end = Instant::now() + Duration::from_secs(60);
        while self.leader.is_none() || self.standing_by.len() < 2 {
            let left = end.saturating_duration_since(Instant::now());
            let Ok((id, line, at)) = rx.recv_timeout(left) else {
                return false;
            };
            match line.as_str() {
                "standby" => {
                    self.standing_by.insert(id);
                }
                "leading" => {
                    self.standing_by.remove(&id);
                    self.leader = Some(id);
                    self.took_lease.push((id, at));
                }
                _ => {}
            }
        }
        true
    }
}

async fn three_replicas() {
    let Some(url) = ledgers::postgres_url() else {
        return;
    };
    let schema = ledgers::unique("replicas");
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    eprintln!("seed {seed}");
    // Changes written over the next 12 s, a third of them up to 2 s late (the overlap is 3 s).
    let t0 = Utc::now().duration_trunc(TimeDelta::seconds(1)).unwrap();
    let span = 12;
    let log: Vec<Change> = (0..600)
        .map(|_| {
            let at = t0 + TimeDelta::seconds(rng.i64(0..span));
            let late = if rng.u8(..3) == 0 {
                rng.i64(0..=2000)
            } else {
                0
            };
            Change {
                phone: format!("+1555{:07}", rng.usize(..150)),
                status: if rng.bool() { "opt-out" } else { "opt-in" },
                at,
                visible: at + TimeDelta::milliseconds(late),
            }
        })
        .collect();
    let mut log = distinct(log);
    log.sort_by_key(|c| c.at);
    let log = Arc::new(log);
    let faults = faults(&mut rng, 20_000, 20);
    let server = sim::start_server(log.clone(), Arc::new(SystemClock), faults).await;
    let (tx, rx) = mpsc::channel::<(usize, String, Instant)>();
    let env = |id: usize| {
        vec![
            ("BASE_URL", format!("{}/r{id}", server.base_url)),
            ("START", (t0 - TimeDelta::seconds(1)).to_rfc3339()),
            ("LEDGER", ledger_env(Backend::Postgres, &schema)),
            (ledgers::POSTGRES_URL, url.clone()),
        ]
    };
    let mut replicas: BTreeMap<usize, Child> = BTreeMap::new();
    let mut seen = Roles::default();
    for id in 0..3 {
        replicas.insert(id, spawn("replica", &env(id), id, tx.clone()));
    }
    assert!(seen.until_one_leads_and_two_stand_by(&rx));
    let mut next_id = 3;
    let mut leader_kills: Vec<(usize, Instant)> = Vec::new();
    let stop_killing = Instant::now() + Duration::from_secs(span as u64 + 2);
    while Instant::now() < stop_killing {
        // The fault schedule: a kill every 0.3 to 1.2 s, of the leader half the time.
        std::thread::sleep(Duration::from_millis(rng.u64(300..1200)));
        let victim = if rng.bool() {
            seen.leader.unwrap()
        } else {
            *rng.choice(replicas.keys()).unwrap()
        };
        let mut child = replicas.remove(&victim).unwrap();
        let killed_at = Instant::now();
        child.kill().unwrap();
        child.wait().unwrap();
        seen.standing_by.remove(&victim);
        if seen.leader == Some(victim) {
            seen.leader = None;
            leader_kills.push((victim, killed_at));
        }
        replicas.insert(
            next_id,
            spawn("replica", &env(next_id), next_id, tx.clone()),
        );
        next_id += 1;
        assert!(
            seen.until_one_leads_and_two_stand_by(&rx),
            "a replica leads and two stand by again"
        );
    }
    // The leader catches up past the last change.
    let options = LedgerOptions::default().schema(&schema);
    let ledger = PostgresLedger::connect(&url, &options, &PostgresOptions::default())
        .await
        .unwrap();
    let end = t0 + TimeDelta::seconds(span);
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger
        .load()
        .await
        .unwrap()
        .is_none_or(|c| c.watermark < end)
    {
        assert!(Instant::now() < deadline, "the replicas caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (_, mut child) in replicas {
        let _ = child.kill();
        let _ = child.wait();
    }
    let watermark = consistent(&ledger, &log).await.unwrap();
    assert_eq!(
        truth_at(&log, Some(watermark)),
        truth_at(&log, Some(end)),
        "every change"
    );

    // No two replicas' requests overlap in time: a leader stops before its lease can expire,
    // and a stand-by starts only once it has (a SIGKILLed leader's request may be cut short).
    // A replica may lead again later: leadership is a lease, not a lifetime.
    let served = server.served.lock().unwrap().clone();
    let id_of = |path: &str| -> usize {
        path.trim_start_matches("/r")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut order: Vec<(Instant, Instant, usize)> = served
        .iter()
        .map(|s| (s.start, s.end, id_of(&s.path)))
        .collect();
    order.sort();
    let mut handovers = 0;
    for pair in order.windows(2) {
        let ((_, end_a, a), (start_b, _, b)) = (pair[0], pair[1]);
        if a != b {
            handovers += 1;
            let a_killed = leader_kills
                .iter()
                .any(|&(id, at)| id == a && at <= start_b);
            assert!(
                end_a <= start_b || a_killed,
                "replicas {a} and {b} polled at once"
            );
        }
    }
    assert!(handovers >= 1, "the polling moved between replicas");
    // Each takeover after a leader's SIGKILL came within the bound.
    assert!(
        !leader_kills.is_empty(),
        "the leader was killed at least once"
    );
    let mut slowest = Duration::ZERO;
    for (victim, killed_at) in &leader_kills {
        let (next, took) = seen
            .took_lease
            .iter()
            .find(|(_, at)| at > killed_at)
            .expect("another replica took the lease");
        let takeover = *took - *killed_at;
        slowest = slowest.max(takeover);
        assert!(
            takeover <= TAKEOVER_BOUND,
            "replica {next} took {takeover:?} to take over from replica {victim}"
        );
    }
    eprintln!(
        "replicas: {} processes, {} leader kills (slowest takeover {slowest:?}), {} requests, {} numbers",
        next_id,
        leader_kills.len(),
        served.len(),
        truth_at(&log, Some(end)).len()
    );
}
