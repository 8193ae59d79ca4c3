//! The opt-out sync against a simulated PandaDoc: a loopback server holds a truth log of
//! thousands of changes of hundreds of numbers over several simulated days and answers windows
//! as the endpoint does (the latest change of each number with `from <= opt_out_changed <= to`),
//! shows some changes only seconds after their timestamp, and injects 429 / 503 / connection
//! resets. The sync runs on an injected clock and is "crashed" (its future dropped, a new sync
//! built on the same store) at points proptest picks. At the end, the latest status of every
//! number folded from what was delivered equals the truth for every change older than
//! `now - lag`.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::sim::{Change, Fault, Server, SimClock, start_server, t0};
use pandadoc_api_ext::sync::{
    Checkpoint, CheckpointStore, MemoryStore, OptOutSync, StoreError, SyncError, SyncOptions,
};
use pandadoc_api_ext::{Client, Clock, SmsOptOutChange};
use proptest::prelude::*;

fn client(server: &Server, clock: &SimClock) -> Client {
    common::sim::client(&server.base_url, Some(clock))
}

fn options() -> SyncOptions {
    SyncOptions::default()
        .lag(TimeDelta::seconds(30))
        .overlap(TimeDelta::minutes(5))
        .max_window(TimeDelta::hours(7))
}

/// The latest status of each number among `changes` (ties: the later delivery).
fn fold<'a>(
    changes: impl IntoIterator<Item = &'a SmsOptOutChange>,
) -> HashMap<String, (DateTime<Utc>, String)> {
    let mut latest: HashMap<String, (DateTime<Utc>, String)> = HashMap::new();
    for c in changes {
        let (Some(phone), Some(status), Some(at)) = (&c.phone_number, &c.status, c.opt_out_changed)
        else {
            panic!("the simulation always sends every field: {c:?}")
        };
        let entry = latest
            .entry(phone.clone())
            .or_insert((at, status.to_string()));
        if at >= entry.0 {
            *entry = (at, status.to_string());
        }
    }
    latest
}

/// The truth: the latest change of each number at or before `until`.
fn expected(log: &[Change], until: DateTime<Utc>) -> HashMap<String, (DateTime<Utc>, String)> {
    let mut latest = HashMap::new();
    for c in log.iter().filter(|c| c.at <= until) {
        latest.insert(c.phone.clone(), (c.at, c.status.to_string()));
    }
    latest
}

/// Runs the simulation: the clock moves in `steps` (minutes), a sync catches up after each, and
/// is dropped when the server receives a request listed in `crashes`.
async fn simulate(seed: u64, faults: Vec<Fault>, crashes: Vec<usize>, steps: Vec<i64>) {
    let log = Arc::new(common::sim::truth(seed, t0(), 1000, 4000, 3));
    let clock = SimClock(Arc::new(Mutex::new(t0())));
    let server = start_server(log.clone(), Arc::new(clock.clone()), Arc::new(faults)).await;
    let store = MemoryStore::default();
    let delivered: Arc<Mutex<Vec<SmsOptOutChange>>> = Arc::default();
    let mut crashes = crashes.into_iter().peekable();
    let end = t0() + TimeDelta::days(3) + TimeDelta::hours(1);
    let mut steps = steps.into_iter().cycle();
    while clock.now() < end {
        clock.advance(TimeDelta::minutes(steps.next().unwrap_or(60)).min(end - clock.now()));
        loop {
            // A crash point still ahead of the server's request count.
            let done = server.requests();
            while crashes.peek().is_some_and(|&c| c < done) {
                crashes.next();
            }
            *server.crash_at.lock().unwrap() = crashes.peek().copied();
            let mut sync = OptOutSync::new(client(&server, &clock), store.clone(), t0(), options());
            let sink = delivered.clone();
            let run = sync.catch_up(async |batch| {
                sink.lock().unwrap().extend(batch.changes);
                Ok::<(), std::convert::Infallible>(())
            });
            tokio::select! {
                result = run => {
                    match result {
                        Ok(_) => break,
                        // Retries ran out on a burst of faults: a new run resumes.
                        Err(SyncError::Api(e)) if e.is_retryable() => continue,
                        Err(e) => panic!("the sync failed: {e}"),
                    }
                }
                () = server.crash.notified() => {
                    crashes.next(); // crashed: the future is dropped; a new sync resumes
                }
            }
        }
    }
    let checkpoint = store.load().await.unwrap().expect("a checkpoint");
    let now = clock.now();
    assert!(checkpoint.watermark <= now - TimeDelta::seconds(30));
    assert!(
        checkpoint.watermark >= now - TimeDelta::seconds(31),
        "caught up"
    );
    let got = fold(delivered.lock().unwrap().iter());
    let want = expected(&log, checkpoint.watermark);
    let missing: Vec<_> = want
        .iter()
        .filter(|(phone, truth)| got.get(*phone) != Some(truth))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "numbers whose latest delivered status is not the truth (of {}): {missing:?}",
        want.len()
    );
    assert_eq!(
        got.len(),
        want.len(),
        "no number delivered that never changed"
    );
}

fn fault(n: u8) -> Fault {
    match n {
        0 => Fault::Throttle,
        1 => Fault::Unavailable,
        2 => Fault::Reset,
        _ => Fault::None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn crashes_faults_and_late_writes_lose_no_opt_out(
        seed in any::<u64>(),
        faults in prop::collection::vec(0u8..12, 0..200),
        crashes in prop::collection::btree_set(0usize..200, 0..16),
        steps in prop::collection::vec(1i64..240, 1..12),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(simulate(
            seed,
            faults.into_iter().map(fault).collect(),
            crashes.into_iter().collect(),
            steps,
        ));
    }
}

/// A store that records every watermark it accepted.
#[derive(Clone, Default)]
struct Recording {
    inner: MemoryStore,
    saved: Arc<Mutex<Vec<DateTime<Utc>>>>,
}

impl CheckpointStore for Recording {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.load().await
    }
    async fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<(), StoreError> {
        self.inner.save(expected, new).await?;
        self.saved.lock().unwrap().push(new.watermark);
        Ok(())
    }
}

#[tokio::test]
async fn two_syncs_sharing_a_store_never_move_it_backwards_nor_skip_a_window() {
    // Every change at least an hour old (visible) when the replicas run.
    let log = Arc::new(common::sim::truth(7, t0(), 100, 1500, 2));
    let clock = SimClock(Arc::new(Mutex::new(
        t0() + TimeDelta::days(2) + TimeDelta::hours(1),
    )));
    let server = start_server(log.clone(), Arc::new(clock.clone()), Arc::new(Vec::new())).await;
    let store = Recording::default();
    let options = options().max_window(TimeDelta::hours(3));
    let mut a = OptOutSync::new(client(&server, &clock), store.clone(), t0(), options);
    let mut b = OptOutSync::new(client(&server, &clock), store.clone(), t0(), options);
    let delivered: Arc<Mutex<Vec<SmsOptOutChange>>> = Arc::default();
    let mut conflicts = 0;
    loop {
        // Both read the same checkpoint, both deliver (at least once), then race to save: the
        // later save must lose.
        let (sink_a, sink_b) = (delivered.clone(), delivered.clone());
        let (ra, rb) = tokio::join!(
            a.step(async |batch| {
                sink_a.lock().unwrap().extend(batch.changes);
                Ok::<(), std::convert::Infallible>(())
            }),
            b.step(async |batch| {
                sink_b.lock().unwrap().extend(batch.changes);
                Ok::<(), std::convert::Infallible>(())
            }),
        );
        let mut progressed = false;
        for result in [ra, rb] {
            match result {
                Ok(Some(_)) => progressed = true,
                Ok(None) => {}
                Err(SyncError::Store(StoreError::Conflict { .. })) => conflicts += 1,
                Err(e) => panic!("{e}"),
            }
        }
        if !progressed {
            break;
        }
    }
    assert!(
        conflicts > 0,
        "the replicas raced and one of them lost each time"
    );
    let saved = store.saved.lock().unwrap().clone();
    assert!(
        saved.windows(2).all(|w| w[0] < w[1]),
        "only forward: {saved:?}"
    );
    assert!(
        saved.windows(2).all(|w| w[1] - w[0] <= TimeDelta::hours(3)),
        "no window skipped"
    );
    assert_eq!(saved.first().copied(), Some(t0() + TimeDelta::hours(3)));
    let watermark = *saved.last().unwrap();
    assert_eq!(
        fold(delivered.lock().unwrap().iter()),
        expected(&log, watermark)
    );
}

#[tokio::test]
async fn a_rejected_batch_leaves_the_checkpoint_and_is_delivered_again() {
    let log = Arc::new(common::sim::truth(3, t0(), 20, 200, 1));
    let clock = SimClock(Arc::new(Mutex::new(t0() + TimeDelta::days(1))));
    let server = start_server(log.clone(), Arc::new(clock.clone()), Arc::new(Vec::new())).await;
    let store = MemoryStore::default();
    let mut sync = OptOutSync::new(client(&server, &clock), store.clone(), t0(), options());
    let err = sync
        .step(async |_| Err::<(), _>("the database is down"))
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Rejected(_)), "{err}");
    assert_eq!(store.load().await.unwrap(), None, "not moved");
    let mut first = Vec::new();
    sync.step(async |batch| {
        first = batch.changes;
        Ok::<(), std::convert::Infallible>(())
    })
    .await
    .unwrap();
    assert!(!first.is_empty(), "the same changes come again");
    assert!(
        first
            .windows(2)
            .all(|w| w[0].opt_out_changed <= w[1].opt_out_changed),
        "sorted by time"
    );
}

#[tokio::test]
async fn a_rate_limit_spaces_the_requests_of_a_catch_up() {
    let log = Arc::new(common::sim::truth(9, t0(), 10, 50, 1));
    let clock = SimClock(Arc::new(Mutex::new(t0() + TimeDelta::hours(4))));
    let server = start_server(log, Arc::new(clock.clone()), Arc::new(Vec::new())).await;
    // 600 a minute: 100 ms between requests; five windows of at most 1 hour (55 min of new
    // time each after the first) make four gaps.
    let options = options()
        .max_window(TimeDelta::hours(1))
        .requests_per_minute(600);
    let mut sync = OptOutSync::new(
        client(&server, &clock),
        MemoryStore::default(),
        t0(),
        options,
    );
    let started = std::time::Instant::now();
    let windows = sync
        .catch_up(async |_| Ok::<(), std::convert::Infallible>(()))
        .await
        .unwrap();
    assert_eq!(windows, 5);
    assert_eq!(server.requests(), 5);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "paced: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn every_request_window_is_at_most_max_window_overlap_included() {
    let log = Arc::new(common::sim::truth(5, t0(), 10, 100, 1));
    let clock = SimClock(Arc::new(Mutex::new(t0() + TimeDelta::days(1))));
    let server = start_server(log, Arc::new(clock.clone()), Arc::new(Vec::new())).await;
    let (max_window, overlap) = (TimeDelta::hours(6), TimeDelta::minutes(1));
    let options = options().max_window(max_window).overlap(overlap);
    let mut sync = OptOutSync::new(
        client(&server, &clock),
        MemoryStore::default(),
        t0(),
        options,
    );
    sync.catch_up(async |_| Ok::<(), std::convert::Infallible>(()))
        .await
        .unwrap();
    let windows = server.windows.lock().unwrap().clone();
    assert!(windows.len() >= 4, "{windows:?}");
    for (from, to) in &windows {
        assert!(
            *to - *from <= max_window,
            "{from} .. {to} is longer than 6 h"
        );
    }
    assert!(
        windows.windows(2).all(|w| w[1].0 == w[0].1 - overlap),
        "each window re-reads the overlap of the one before: {windows:?}"
    );
    // An overlap as long as the window would never move: refused before anything is sent.
    let mut stuck = OptOutSync::new(
        client(&server, &clock),
        MemoryStore::default(),
        t0(),
        options.overlap(max_window),
    );
    let sent = server.requests();
    let err = stuck
        .step(async |_| Ok::<(), std::convert::Infallible>(()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_window"), "{err}");
    assert_eq!(server.requests(), sent, "nothing sent");
}

/// A catch-up of several whole windows: the next one's request goes out while the current one
/// is committed, and the next step takes that page instead of asking again.
#[tokio::test]
async fn the_next_window_is_read_while_the_current_one_is_committed() {
    let log = Arc::new(common::sim::truth(11, t0(), 50, 400, 1));
    let clock = SimClock(Arc::new(Mutex::new(t0() + TimeDelta::days(1))));
    let server = start_server(log, Arc::new(clock.clone()), Arc::new(Vec::new())).await;
    *server.crash_at.lock().unwrap() = Some(1); // notified when the second request arrives
    let mut sync = OptOutSync::new(
        client(&server, &clock),
        MemoryStore::default(),
        t0(),
        options(),
    );
    let first = sync
        .step(async |_| {
            // The commit waits for the next window's request (bounded: a sync that does not
            // read ahead fails here instead of hanging).
            tokio::time::timeout(Duration::from_secs(30), server.crash.notified())
                .await
                .map_err(|_| "the next window was not requested during this commit")
        })
        .await
        .unwrap()
        .expect("a window");
    assert!(!first.caught_up);
    let windows = server.windows.lock().unwrap().clone();
    assert_eq!(windows.len(), 2, "one window ahead, no more: {windows:?}");
    assert_eq!(
        windows[1].0,
        first.window.to - TimeDelta::minutes(5),
        "options()'s overlap"
    );

    let mut second = Vec::new();
    let report = sync
        .step(async |batch| {
            second = batch.changes;
            Ok::<(), std::convert::Infallible>(())
        })
        .await
        .unwrap()
        .expect("a window");
    assert_eq!(
        (report.window.from, report.window.to),
        windows[1],
        "the page read ahead"
    );
    assert!(!second.is_empty());
    // The third window went out during the second commit; nothing was asked twice.
    let asked = server.windows.lock().unwrap().clone();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked.windows(2).all(|w| w[0] != w[1]), "{asked:?}");
}

/// A commit that fails ends the step at once, whatever the request read ahead is doing, and
/// the page is not kept: the same window is read and delivered again.
#[tokio::test]
async fn a_failed_commit_drops_the_window_read_ahead() {
    let log = Arc::new(common::sim::truth(12, t0(), 50, 400, 1));
    let clock = SimClock(Arc::new(Mutex::new(t0() + TimeDelta::days(1))));
    let server = start_server(log, Arc::new(clock.clone()), Arc::new(Vec::new())).await;
    *server.hang_at.lock().unwrap() = Some(1); // the read ahead is never answered
    let store = MemoryStore::default();
    let mut sync = OptOutSync::new(client(&server, &clock), store.clone(), t0(), options());
    let err = sync
        .step(async |_| {
            tokio::time::timeout(Duration::from_secs(30), server.crash.notified())
                .await
                .expect("the next window is requested during the commit");
            Err::<(), _>("the database is down")
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Rejected(_)), "{err}");
    assert_eq!(store.load().await.unwrap(), None, "not moved");
    *server.hang_at.lock().unwrap() = None;
    let report = sync
        .step(async |_| Ok::<(), std::convert::Infallible>(()))
        .await
        .unwrap()
        .expect("a window");
    let asked = server.windows.lock().unwrap().clone();
    assert_eq!(
        (report.window.from, report.window.to),
        asked[0],
        "the first window again"
    );
    assert_eq!(
        asked.iter().filter(|w| **w == asked[0]).count(),
        2,
        "asked again, not taken from the dropped read: {asked:?}"
    );
}
