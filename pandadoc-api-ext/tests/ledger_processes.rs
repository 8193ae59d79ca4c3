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
use common::ledgers::{self, MidWrite};
use common::sim::{self, Change, Fault};
use pandadoc_api_ext::ledger::{
    Ledger, LedgerOptions, PostgresLedger, PostgresOptions, SqliteLedger,
};
use pandadoc_api_ext::sync::{CheckpointStore, OptOutSync, StoreError, SyncError, SyncOptions};
use pandadoc_api_ext::{Client, SystemClock};

const ROLE: &str = "PANDADOC_LEDGER_TEST_ROLE";
/// How often a stand-by tries the lease in the replica test.
const LEASE_POLL: Duration = Duration::from_millis(100);
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

const TESTS: [(&str, Test); 4] = [
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
    (
        "postgres_a_frozen_or_cut_off_leader_is_replaced_and_writes_nothing",
        || Box::pin(frozen_and_cut_off()),
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
        // Room for the test to see a write wait at the checkpoint row (`MidWrite`) before the
        // replica gives the write up, on a loaded machine; the server's idle bound stays a
        // third of the lease.
        .statement_timeout(Duration::from_secs(3))
        .application_name(replica_name(std::process::id()));
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
                Err(SyncError::Store(StoreError::LeaseLost { .. })) => {
                    say("lost");
                    break;
                }
                Err(e) => {
                    // An unreachable database, or a write the server ended (this replica was
                    // frozen or cut off in the middle of it): stand by again, and say so if
                    // its deadline has passed meanwhile.
                    eprintln!("replica: {e}");
                    if !ledger.is_leading() {
                        say("lost");
                    }
                    break;
                }
            }
        }
    }
}

/// The `application_name` of the replica with process id `pid`.
fn replica_name(pid: u32) -> String {
    format!("replica-{pid}")
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
    let log = Arc::new(written_over(&mut rng, t0, span, 600));
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
    let end = t0 + TimeDelta::seconds(span);
    let ledger = caught_up_past(&url, &schema, end).await;
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
    assert!(
        one_poller_at_a_time(&served, &leader_kills) >= 1,
        "the polling moved between replicas"
    );
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

/// `n` changes of 150 numbers written over `span` seconds from `t0`, a third of them up to 2 s
/// late; one change per number and time.
fn written_over(rng: &mut fastrand::Rng, t0: DateTime<Utc>, span: i64, n: usize) -> Vec<Change> {
    let log: Vec<Change> = (0..n)
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
    log
}

/// Asserts that no two replicas' requests (paths `/r<id>/...`) overlap in time, but for one
/// cut short by its replica's SIGKILL; the number of handovers between replicas.
fn one_poller_at_a_time(served: &[sim::Served], killed: &[(usize, Instant)]) -> usize {
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
            let a_killed = killed.iter().any(|&(id, at)| id == a && at <= start_b);
            assert!(
                end_a <= start_b || a_killed,
                "replicas {a} and {b} polled at once"
            );
        }
    }
    handovers
}

/// What the replicas said, kept: a line read while waiting for another is not lost.
struct Heard {
    rx: mpsc::Receiver<(usize, String, Instant)>,
    lines: Vec<(usize, String, Instant)>,
}

impl Heard {
    /// When replica `id` first said `line` at or after `since` (waiting up to a minute).
    fn said(&mut self, id: usize, line: &str, since: Instant) -> Instant {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some((_, _, at)) = self
                .lines
                .iter()
                .find(|(who, what, at)| *who == id && what == line && *at >= since)
            {
                return *at;
            }
            let left = end.saturating_duration_since(Instant::now());
            let heard = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("replica {id} never said {line:?}"));
            self.lines.push(heard);
        }
    }
}

/// A child process killed when this goes, whatever happened to the test.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A leader frozen (SIGSTOP), then one cut off from the database (a proxy that stops
/// forwarding without closing), each in the middle of a write, its fence holding the lease
/// row (the server ends that transaction): each time a stand-by takes over within the bound,
/// the old leader writes nothing and stands by (the frozen one says it lost the lease once it
/// runs again); no two replicas' requests overlap; the ledger ends equal to the truth.
async fn frozen_and_cut_off() {
    let Some(url) = ledgers::postgres_url() else {
        return;
    };
    let schema = ledgers::unique("faults");
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    eprintln!("seed {seed}");
    let t0 = Utc::now().duration_trunc(TimeDelta::seconds(1)).unwrap();
    let span = 16;
    let log = Arc::new(written_over(&mut rng, t0, span, 500));
    let server = sim::start_server(
        log.clone(),
        Arc::new(SystemClock),
        faults(&mut rng, 20_000, 20),
    )
    .await;
    let (proxy, proxied) = common::proxy::Proxy::in_front_of(&url).await;
    let env = |id: usize, url: &str| {
        vec![
            ("BASE_URL", format!("{}/r{id}", server.base_url)),
            ("START", (t0 - TimeDelta::seconds(1)).to_rfc3339()),
            ("LEDGER", ledger_env(Backend::Postgres, &schema)),
            (ledgers::POSTGRES_URL, url.to_string()),
        ]
    };
    let (tx, rx) = mpsc::channel::<(usize, String, Instant)>();
    let mut heard = Heard {
        rx,
        lines: Vec::new(),
    };
    let began = Instant::now();
    let mut killed = Vec::new();

    // A frozen leader.
    let mut a = Reaped(spawn("replica", &env(0, &url), 0, tx.clone()));
    heard.said(0, "leading", began);
    let mut b = Reaped(spawn("replica", &env(1, &url), 1, tx.clone()));
    heard.said(1, "standby", began);
    // Frozen at the worst moment: in the middle of a write, its fence holding the lease row.
    let held = MidWrite::take(&url, &schema)
        .await
        .until_waiting(&replica_name(a.0.id()))
        .await;
    let frozen = Instant::now();
    signal(&a.0, "-STOP");
    held.release().await;
    let freeze_takeover = heard.said(1, "leading", frozen) - frozen;
    let resumed = Instant::now();
    signal(&a.0, "-CONT");
    heard.said(0, "lost", resumed);
    heard.said(0, "standby", resumed);

    // A leader cut off from the database.
    for (id, child) in [(0, &mut a), (1, &mut b)] {
        killed.push((id, Instant::now()));
        child.0.kill().unwrap();
        child.0.wait().unwrap();
    }
    let c = Reaped(spawn("replica", &env(2, &proxied), 2, tx.clone()));
    heard.said(2, "leading", began);
    let d = Reaped(spawn("replica", &env(3, &url), 3, tx.clone()));
    heard.said(3, "standby", began);
    let held = MidWrite::take(&url, &schema)
        .await
        .until_waiting(&replica_name(c.0.id()))
        .await;
    let cut = Instant::now();
    proxy.pause();
    held.release().await;
    let partition_takeover = heard.said(3, "leading", cut) - cut;
    // Cut off, its deadline passes (or its next call times out first): it stops, stands by.
    heard.said(2, "standby", cut);
    proxy.resume();

    // The leader catches up past the last change.
    let end = t0 + TimeDelta::seconds(span);
    let ledger = caught_up_past(&url, &schema, end).await;
    drop((c, d));
    let watermark = consistent(&ledger, &log).await.unwrap();
    assert_eq!(
        truth_at(&log, Some(watermark)),
        truth_at(&log, Some(end)),
        "every change"
    );
    let served = server.served.lock().unwrap().clone();
    one_poller_at_a_time(&served, &killed);
    for (what, took) in [
        ("freeze", freeze_takeover),
        ("partition", partition_takeover),
    ] {
        assert!(
            took <= TAKEOVER_BOUND,
            "the {what}: the stand-by took {took:?}"
        );
    }
    eprintln!(
        "faults: takeover after a freeze {freeze_takeover:?}, after a partition \
         {partition_takeover:?} (lease {LEASE_TTL:?}), {} requests",
        served.len()
    );
}

/// The replicas' ledger, once its checkpoint is past `end` (within a minute).
async fn caught_up_past(url: &str, schema: &str, end: DateTime<Utc>) -> PostgresLedger {
    let options = LedgerOptions::default().schema(schema);
    let ledger = PostgresLedger::connect(url, &options, &PostgresOptions::default())
        .await
        .unwrap();
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
    ledger
}
