//! The do-not-text ledger on both backends: SQLite in temporary files, PostgreSQL on the
//! server `PANDADOC_TEST_POSTGRES_URL` names (each test in a schema of its own).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::ledgers;
use common::sim::{SimClock, start_server, t0};
use pandadoc_api_ext::ledger::{
    HELD, Ledger, LedgerOptions, PostgresLedger, PostgresOptions, SCHEMA_VERSION, SqliteLedger,
    Textability,
};
use pandadoc_api_ext::sync::{Checkpoint, CheckpointStore, OptOutSync, StoreError, SyncOptions};
use pandadoc_api_ext::{SmsOptOutChange, SmsOptOutStatus, Unreadable};
use proptest::prelude::*;

pub(crate) fn at(s: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(s)
}

pub(crate) fn change(phone: &str, status: &str, s: i64) -> SmsOptOutChange {
    SmsOptOutChange {
        phone_number: Some(phone.into()),
        status: Some(status.into()),
        opt_out_changed: Some(at(s)),
        unreadable: None,
    }
}

pub(crate) fn checkpoint(s: i64) -> Checkpoint {
    Checkpoint { watermark: at(s) }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Property: any delivery order with repeats leaves the ledger of the latest changes alone.

const PHONES: [&str; 6] = [
    "+14155550100",
    "+14155550101",
    "+442071838750",
    "+33142685300",
    "+14155550104",
    "+14155550105",
];
const STATUSES: [&str; 3] = ["opt-in", "opt-out", "paused"];

/// A change: indices into `PHONES` and `STATUSES`, and a second after `t0`.
type Change = (usize, usize, i64);

/// Distinct changes: a small space, so that times tie often.
fn changes() -> impl Strategy<Value = Vec<Change>> {
    prop::collection::btree_set((0..PHONES.len(), 0..STATUSES.len(), 0i64..12), 1..30)
        .prop_map(|s| s.into_iter().collect())
}

/// The batches: every change at least once, some twice or three times, in any order, cut
/// anywhere.
fn deliveries() -> impl Strategy<Value = (Vec<Change>, Vec<Vec<usize>>)> {
    changes().prop_flat_map(|changes| {
        let n = changes.len();
        (
            Just(changes),
            prop::collection::vec(0..n, 0..2 * n),
            prop::collection::vec(1usize..8, 1..20),
        )
            .prop_flat_map(move |(changes, extra, cuts)| {
                let order: Vec<usize> = (0..n).chain(extra).collect();
                (Just(changes), Just(order).prop_shuffle(), Just(cuts))
            })
            .prop_map(|(changes, order, cuts)| {
                let mut batches = Vec::new();
                let mut rest = &order[..];
                for cut in cuts.into_iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (batch, tail) = rest.split_at(cut.min(rest.len()));
                    batches.push(batch.to_vec());
                    rest = tail;
                }
                (changes, batches)
            })
    })
}

/// The rule, written out independently: later time wins; on a tie opt-out, then an unknown
/// status, then opt-in.
fn latest(changes: &[Change]) -> BTreeMap<String, (String, DateTime<Utc>)> {
    let restrictive = |s: usize| [0, 2, 1][s];
    let mut best: BTreeMap<usize, (i64, usize)> = BTreeMap::new();
    for &(p, s, t) in changes {
        let slot = best.entry(p).or_insert((t, s));
        if (t, restrictive(s)) > (slot.0, restrictive(slot.1)) {
            *slot = (t, s);
        }
    }
    best.into_iter()
        .map(|(p, (t, s))| (PHONES[p].to_string(), (STATUSES[s].to_string(), at(t))))
        .collect()
}

async fn apply_in_any_order(ledger: impl Ledger, changes: Vec<Change>, batches: Vec<Vec<usize>>) {
    let mut previous: Option<Checkpoint> = None;
    for (n, batch) in batches.iter().enumerate() {
        let batch: Vec<SmsOptOutChange> = batch
            .iter()
            .map(|&i| {
                let (p, s, t) = changes[i];
                change(PHONES[p], STATUSES[s], t)
            })
            .collect();
        let next = checkpoint(1000 + n as i64);
        ledger
            .apply(&batch, previous.as_ref(), &next)
            .await
            .unwrap();
        previous = Some(next);
    }
    assert_eq!(ledgers::contents(&ledger).await, latest(&changes));
    assert_eq!(ledger.load().await.unwrap(), previous);
    let mut history = BTreeSet::new();
    for phone in PHONES {
        for h in ledger.history(phone).await.unwrap() {
            assert!(
                history.insert((h.phone_number, h.status.to_string(), h.opt_out_changed)),
                "each distinct change once"
            );
        }
    }
    let want: BTreeSet<_> = changes
        .iter()
        .map(|&(p, s, t)| (PHONES[p].to_string(), STATUSES[s].to_string(), at(t)))
        .collect();
    assert_eq!(history, want);
    let stats = ledger.stats().await.unwrap();
    assert_eq!(stats.history, want.len() as u64);
    assert_eq!(stats.schema_version, SCHEMA_VERSION);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_any_order_with_repeats_equals_the_latest_changes((changes, batches) in deliveries()) {
        let (_dir, ledger) = ledgers::sqlite();
        runtime().block_on(apply_in_any_order(ledger, changes, batches));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn postgres_any_order_with_repeats_equals_the_latest_changes((changes, batches) in deliveries()) {
        if let Some(url) = ledgers::postgres_url() {
            runtime().block_on(async {
                apply_in_any_order(ledgers::postgres(&url).await, changes, batches).await
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One suite, both backends.

/// Runs `suite` on a fresh SQLite ledger and, where a server is given, a PostgreSQL one.
macro_rules! both {
    ($sqlite:ident, $postgres:ident, $suite:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let (_dir, ledger) = ledgers::sqlite();
            $suite(ledger).await;
        }

        #[tokio::test]
        async fn $postgres() {
            if let Some(url) = ledgers::postgres_url() {
                $suite(ledgers::postgres(&url).await).await;
            }
        }
    };
}

async fn a_conflict_writes_nothing(ledger: impl Ledger) {
    let one = [change("+14155550100", "opt-out", 5)];
    ledger.apply(&one, None, &checkpoint(10)).await.unwrap();
    // Another replica moved the checkpoint: nothing of this batch is written.
    let mut untimed = change("+14155550101", "opt-out", 1);
    untimed.opt_out_changed = None;
    let err = ledger
        .apply(
            &[change("+14155550100", "opt-in", 9), untimed],
            Some(&checkpoint(7)),
            &checkpoint(20),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { found: Some(f), .. } if *f == checkpoint(10)),
        "{err}"
    );
    assert_eq!(ledger.load().await.unwrap(), Some(checkpoint(10)));
    let entry = ledger.entry("+14155550100").await.unwrap().unwrap();
    assert_eq!(entry.status, SmsOptOutStatus::OptOut);
    assert_eq!(ledger.history("+14155550100").await.unwrap().len(), 1);
    assert_eq!(ledger.entry("+14155550101").await.unwrap(), None);
    assert_eq!(ledger.stats().await.unwrap().set_aside, 0);
    // An empty window moves the checkpoint alone.
    ledger
        .apply(&[], Some(&checkpoint(10)), &checkpoint(20))
        .await
        .unwrap();
    assert_eq!(ledger.load().await.unwrap(), Some(checkpoint(20)));
}
both!(
    sqlite_a_conflict_writes_nothing,
    postgres_a_conflict_writes_nothing,
    a_conflict_writes_nothing
);

async fn a_bad_change_is_set_aside_and_never_makes_a_number_textable(ledger: impl Ledger) {
    let fresh = TimeDelta::days(365 * 100);
    ledger
        .apply(
            &[change("+14155550101", "opt-in", 5)],
            None,
            &checkpoint(10),
        )
        .await
        .unwrap();
    let mut untimed = change("+14155550101", "opt-in", 1);
    untimed.opt_out_changed = None;
    let mut no_status = change("+14155550102", "opt-in", 12);
    no_status.status = None;
    let window = [
        change("+14155550100", "opt-out", 11),
        untimed.clone(),
        no_status,
        change("555-0100", "opt-out", 13),
    ];
    // The window applies around what cannot be applied, and the checkpoint moves.
    let applied = ledger
        .apply(&window, Some(&checkpoint(10)), &checkpoint(20))
        .await
        .unwrap();
    assert_eq!((applied.recorded, applied.set_aside), (1, 3), "{applied:?}");
    assert_eq!(ledger.load().await.unwrap(), Some(checkpoint(20)));
    ledger.confirm_caught_up(at(20)).await.unwrap();
    assert!(matches!(
        ledger.textability("+14155550100", fresh).await.unwrap(),
        Textability::OptedOut(_)
    ));
    // The opted-in number whose new change has no time is held, as is the one without status.
    for phone in ["+14155550101", "+14155550102"] {
        let answer = ledger.textability(phone, fresh).await.unwrap();
        assert!(
            matches!(&answer, Textability::OptedOut(e) if e.status.as_str() == HELD),
            "{phone}: {answer:?}"
        );
    }
    // A repeat delivery (the next window's overlap) is set aside once.
    let applied = ledger
        .apply(&window, Some(&checkpoint(20)), &checkpoint(30))
        .await
        .unwrap();
    assert_eq!(applied.set_aside, 0);
    let stats = ledger.stats().await.unwrap();
    assert_eq!(stats.set_aside, 3);
    let aside = ledger.set_aside(None, 2).await.unwrap();
    let rest = ledger.set_aside(Some(&aside[1].record), 10).await.unwrap();
    assert_eq!((aside.len(), rest.len()), (2, 1), "pages in record order");
    let all: Vec<_> = aside.iter().chain(&rest).collect();
    let held = all
        .iter()
        .find(|r| r.phone_number.as_deref() == Some("+14155550101"))
        .unwrap();
    assert_eq!(held.record, serde_json::to_string(&untimed).unwrap());
    assert!(held.reason.contains("opt_out_changed"), "{held:?}");
    let unreadable = all.iter().find(|r| r.record.contains("555-0100")).unwrap();
    assert_eq!(unreadable.phone_number, None);
    // A later well-formed change releases a hold. The untimed change was held at the end of
    // each window that delivered it (20, then 30); the one without status at its own time, 12.
    ledger
        .apply(
            &[
                change("+14155550101", "opt-in", 29),
                change("+14155550102", "opt-in", 12),
            ],
            Some(&checkpoint(30)),
            &checkpoint(35),
        )
        .await
        .unwrap();
    assert!(
        !ledger
            .textability("+14155550101", fresh)
            .await
            .unwrap()
            .may_text(),
        "still held: the change is older than the last delivery of the untimed one"
    );
    ledger
        .apply(
            &[change("+14155550101", "opt-in", 31)],
            Some(&checkpoint(35)),
            &checkpoint(40),
        )
        .await
        .unwrap();
    ledger.confirm_caught_up(at(40)).await.unwrap();
    assert!(matches!(
        ledger.textability("+14155550101", fresh).await.unwrap(),
        Textability::OptedIn(_)
    ));
    assert!(
        !ledger
            .textability("+14155550102", fresh)
            .await
            .unwrap()
            .may_text(),
        "a hold wins the tie with a change of its own time"
    );
}
both!(
    sqlite_a_bad_change_is_set_aside_and_never_makes_a_number_textable,
    postgres_a_bad_change_is_set_aside_and_never_makes_a_number_textable,
    a_bad_change_is_set_aside_and_never_makes_a_number_textable
);

/// A record the client could not read whole (`SmsOptOutChange::unreadable`) is set aside as
/// received, its number held from what could be read, and the rest of the window applies.
async fn an_unreadable_record_is_set_aside_as_received_and_its_number_held(ledger: impl Ledger) {
    let fresh = TimeDelta::days(365 * 100);
    let unreadable = |record: &str, reason: &str| {
        Some(Box::new(Unreadable {
            record: record.into(),
            reason: reason.into(),
        }))
    };
    // The phone number, the status and the time read; another field did not.
    let mut with_number = change("+14155550103", "opt-in", 11);
    with_number.unreadable = unreadable(
        r#"{"phone_number":"+14155550103","status":"opt-in","opt_out_changed":"2025-01-01T00:00:11Z","carrier":7}"#,
        "carrier: invalid type",
    );
    let without_number = SmsOptOutChange {
        phone_number: None,
        status: None,
        opt_out_changed: None,
        unreadable: unreadable(r#""+14155550104""#, "not an object"),
    };
    let window = [
        change("+14155550100", "opt-out", 10),
        with_number.clone(),
        without_number,
    ];
    let applied = ledger.apply(&window, None, &checkpoint(20)).await.unwrap();
    assert_eq!((applied.recorded, applied.set_aside), (1, 2), "{applied:?}");
    ledger.confirm_caught_up(at(20)).await.unwrap();
    let answer = ledger.textability("+14155550103", fresh).await.unwrap();
    assert!(
        matches!(&answer, Textability::OptedOut(e) if e.status.as_str() == HELD),
        "an opt-in that could not be read whole is not believed: {answer:?}"
    );
    let aside = ledger.set_aside(None, 10).await.unwrap();
    assert_eq!(aside.len(), 2);
    let held = aside
        .iter()
        .find(|r| r.phone_number.as_deref() == Some("+14155550103"))
        .unwrap();
    assert_eq!(held.record, with_number.unreadable.as_ref().unwrap().record);
    assert!(
        held.reason.contains("carrier: invalid type") && held.reason.contains("held"),
        "{held:?}"
    );
    let bare = aside.iter().find(|r| r.phone_number.is_none()).unwrap();
    assert_eq!(bare.record, r#""+14155550104""#);
    assert!(bare.reason.contains("not an object"), "{bare:?}");
    // A later well-formed change releases the hold.
    ledger
        .apply(
            &[change("+14155550103", "opt-in", 12)],
            Some(&checkpoint(20)),
            &checkpoint(30),
        )
        .await
        .unwrap();
    ledger.confirm_caught_up(at(30)).await.unwrap();
    assert!(matches!(
        ledger.textability("+14155550103", fresh).await.unwrap(),
        Textability::OptedIn(_)
    ));
}
both!(
    sqlite_an_unreadable_record_is_set_aside_as_received_and_its_number_held,
    postgres_an_unreadable_record_is_set_aside_as_received_and_its_number_held,
    an_unreadable_record_is_set_aside_as_received_and_its_number_held
);

async fn lookups_tell_the_four_answers_apart(ledger: impl Ledger) {
    let fresh = TimeDelta::days(365 * 100);
    // No checkpoint yet: stale, whatever the bound.
    assert!(matches!(
        ledger.textability("+14155550100", fresh).await.unwrap(),
        Textability::Stale {
            checkpoint: None,
            caught_up: None,
            entry: None
        }
    ));
    let batch = [
        change("+14155550100", "opt-out", 1),
        change("+14155550101", "opt-in", 2),
        change("+14155550102", "paused", 3),
    ];
    ledger.apply(&batch, None, &checkpoint(10)).await.unwrap();
    // A checkpoint is not enough: until the sync confirms it caught up, every answer is stale.
    let unconfirmed = ledger.textability("+14155550101", fresh).await.unwrap();
    assert!(
        matches!(&unconfirmed, Textability::Stale { checkpoint: Some(c), caught_up: None, entry: Some(_) } if *c == at(10)),
        "{unconfirmed:?}"
    );
    assert!(!unconfirmed.may_text());
    // A confirmation for a watermark the checkpoint is not at changes nothing.
    ledger.confirm_caught_up(at(9)).await.unwrap();
    assert_eq!(ledger.stats().await.unwrap().caught_up, None);
    ledger.confirm_caught_up(at(10)).await.unwrap();
    let stats = ledger.stats().await.unwrap();
    let caught_up = stats.caught_up.expect("confirmed");
    assert!(caught_up <= stats.as_of, "both by the database's clock");
    let answer = async |phone: &str| ledger.textability(phone, fresh).await.unwrap();
    assert!(
        matches!(answer("+1 (415) 555-0100").await, Textability::OptedOut(e) if e.phone_number == "+14155550100")
    );
    assert!(matches!(
        answer("+1.415.555.0101").await,
        Textability::OptedIn(_)
    ));
    assert!(
        matches!(answer("+1 415 555 0102").await, Textability::OptedOut(e) if e.status == SmsOptOutStatus::Unknown("paused".into()))
    );
    assert_eq!(answer("+14155550199").await, Textability::NeverSeen);
    // Confirmed longer ago than the bound (a negative bound: any confirmation is too old).
    let stale = ledger
        .textability("+14155550101", TimeDelta::seconds(-1))
        .await
        .unwrap();
    assert!(
        matches!(&stale, Textability::Stale { checkpoint: Some(c), caught_up: Some(_), entry: Some(_) } if *c == at(10)),
        "{stale:?}"
    );
    assert!(!stale.may_text());
    let err = ledger.textability("415-555-0100", fresh).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }));
    assert!(err.to_string().contains("\"415-555-0100\""), "{err}");

    // A batch answers as the numbers one by one, in order; a bad number is its own error.
    let inputs = [
        "+1 (415) 555-0100",
        "415-555-0100",
        "+14155550199",
        "+1.415.555.0101",
        "+14155550100",
        "+1 415 555 0102",
    ];
    for bound in [fresh, TimeDelta::seconds(-1)] {
        let batch = ledger.textabilities(&inputs, bound).await.unwrap();
        assert_eq!(batch.len(), inputs.len());
        for (input, got) in inputs.iter().zip(batch) {
            match ledger.textability(input, bound).await {
                Ok(one) => assert_eq!(got.unwrap(), one, "{input}"),
                Err(e) => assert_eq!(got.unwrap_err().to_string(), e.to_string(), "{input}"),
            }
        }
    }
    assert!(ledger.textabilities(&[], fresh).await.unwrap().is_empty());
}
both!(
    sqlite_lookups_tell_the_four_answers_apart,
    postgres_lookups_tell_the_four_answers_apart,
    lookups_tell_the_four_answers_apart
);

async fn the_list_pages_in_number_order(ledger: impl Ledger) {
    let batch: Vec<_> = (0..25)
        .map(|i| {
            let status = if i % 3 == 0 { "opt-in" } else { "opt-out" };
            change(&format!("+1415555{:04}", 99 - i), status, i)
        })
        .collect();
    ledger.apply(&batch, None, &checkpoint(100)).await.unwrap();
    let all = ledgers::contents(&ledger).await;
    assert_eq!(all.len(), 25);
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = ledger.entries(after.as_deref(), 4, true).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.phone_number.clone());
        out.extend(page);
    }
    assert_eq!(out.len(), 16, "opted out only");
    assert!(
        out.windows(2)
            .all(|w| w[0].phone_number < w[1].phone_number)
    );
    assert!(out.iter().all(|e| !e.may_text()));
    let stats = ledger.stats().await.unwrap();
    assert_eq!(stats.numbers_by_status["opt-out"], 16);
    assert_eq!(stats.numbers_by_status["opt-in"], 9);
    assert_eq!(stats.checkpoint, Some(at(100)));
}
both!(
    sqlite_the_list_pages_in_number_order,
    postgres_the_list_pages_in_number_order,
    the_list_pages_in_number_order
);

// ---------------------------------------------------------------------------------------------
// Schema and configuration.

#[test]
fn sqlite_a_newer_schema_is_refused_and_left_alone() {
    let (dir, ledger) = ledgers::sqlite();
    drop(ledger);
    let path = dir.path().join("ledger.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "UPDATE pandadoc_sms_meta SET value = 99 WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(db);
    let err = SqliteLedger::open(&path, &LedgerOptions::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ledger.db"), "{err}");
    let db = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = db
        .query_row(
            "SELECT value FROM pandadoc_sms_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, 99, "left as it was");
}

/// Look-ups open the ledger read-only: a missing file is an error, never created; on a
/// read-only file they answer and write nothing (no byte of it, no WAL files); writes are
/// refused; a schema of another version is refused (a sync upgrades an older one).
#[tokio::test]
async fn sqlite_lookups_only_read() {
    let dir = tempfile::tempdir().unwrap();
    let options = LedgerOptions::default();
    let missing = dir.path().join("mistyped.db");
    let err = SqliteLedger::open_read_only(&missing, &options).unwrap_err();
    assert!(matches!(err, StoreError::NoLedger { .. }), "{err}");
    assert!(err.to_string().contains("mistyped.db"), "{err}");
    assert!(!missing.exists(), "nothing created");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = SqliteLedger::open_read_only(&empty, &options).unwrap_err();
    assert!(matches!(err, StoreError::NoLedger { .. }), "{err}");

    let path = dir.path().join("ledger.db");
    let writer = SqliteLedger::open(&path, &options).unwrap();
    writer
        .apply(
            &[change("+14155550100", "opt-out", 1)],
            None,
            &checkpoint(5),
        )
        .await
        .unwrap();
    writer.confirm_caught_up(at(5)).await.unwrap();
    drop(writer);
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&path, permissions).unwrap();
    let before = std::fs::read(&path).unwrap();
    let files = || {
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let listed = files();
    let reader = SqliteLedger::open_read_only(&path, &options).unwrap();
    assert!(matches!(
        reader
            .textability("+14155550100", TimeDelta::days(365 * 100))
            .await
            .unwrap(),
        Textability::OptedOut(_)
    ));
    assert_eq!(reader.stats().await.unwrap().set_aside, 0);
    let err = reader
        .apply(
            &[change("+14155550101", "opt-in", 6)],
            Some(&checkpoint(5)),
            &checkpoint(6),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    drop(reader);
    assert_eq!(std::fs::read(&path).unwrap(), before, "not a byte written");
    // Beside it, only SQLite's own WAL index may appear (every WAL reader's, see
    // `SqliteLedger::open_read_only`): no journal, no other file.
    let mut allowed = listed.clone();
    allowed.extend(["ledger.db-shm".into(), "ledger.db-wal".into()]);
    allowed.sort();
    allowed.dedup();
    assert!(files().iter().all(|f| allowed.contains(f)), "{:?}", files());

    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&path, permissions).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "UPDATE pandadoc_sms_meta SET value = 1 WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(db);
    let err = SqliteLedger::open_read_only(&path, &options).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooOld { found: 1, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn sqlite_another_prefix_is_another_ledger_in_the_same_file() {
    let (dir, a) = ledgers::sqlite();
    let b = SqliteLedger::open(
        dir.path().join("ledger.db"),
        &LedgerOptions::default().prefix("crm_"),
    )
    .unwrap();
    a.apply(
        &[change("+14155550100", "opt-out", 1)],
        None,
        &checkpoint(5),
    )
    .await
    .unwrap();
    assert_eq!(b.load().await.unwrap(), None);
    assert_eq!(b.entry("+14155550100").await.unwrap(), None);
    let err = SqliteLedger::open(
        dir.path().join("ledger.db"),
        &LedgerOptions::default().prefix("x; DROP TABLE pandadoc_sms_numbers"),
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    assert_eq!(a.stats().await.unwrap().history, 1, "untouched");
}

#[tokio::test]
async fn postgres_a_newer_schema_is_refused_and_left_alone() {
    let Some(url) = ledgers::postgres_url() else {
        return;
    };
    let schema = ledgers::unique("t");
    let options = LedgerOptions::default().schema(&schema);
    let pg = PostgresOptions::default();
    let ledger = PostgresLedger::connect(&url, &options, &pg).await.unwrap();
    drop(ledger);
    let client = ledgers::admin(&url).await;
    client
        .execute(
            &format!(
                "UPDATE \"{schema}\".pandadoc_sms_meta SET value = 7 WHERE key = 'schema_version'"
            ),
            &[],
        )
        .await
        .unwrap();
    let err = PostgresLedger::connect(&url, &options, &pg)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 7, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn postgres_errors_and_debug_never_show_the_password() {
    let Some(url) = ledgers::postgres_url() else {
        return;
    };
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, pw)| pw.to_string())
        .expect("the test URL has a password");
    assert!(password.len() >= 8);
    let ledger = ledgers::postgres(&url).await;
    assert!(!format!("{ledger:?}").contains(&password));
    assert!(!ledger.location().contains(&password));
    let wrong = url.replace(&password, "wrong-secret-123");
    let err = PostgresLedger::connect(
        &wrong,
        &ledgers::fresh_schema(),
        &PostgresOptions::default(),
    )
    .await
    .unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("wrong-secret-123"), "{text}");
    }
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the driver's error is kept"
    );
    let err = PostgresLedger::connect(
        "postgres://u:hunter2@[::1",
        &ledgers::fresh_schema(),
        &PostgresOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}

// ---------------------------------------------------------------------------------------------
// The sync into a ledger.

async fn the_sync_records_the_truth_exactly_once(ledger: impl Ledger + 'static) {
    let log = Arc::new(common::sim::truth(11, t0(), 200, 2000, 2));
    let clock = SimClock(Arc::new(Mutex::new(
        t0() + TimeDelta::days(2) + TimeDelta::hours(1),
    )));
    let faults = (0..40)
        .map(|i| match i % 7 {
            0 => common::sim::Fault::Throttle,
            3 => common::sim::Fault::Reset,
            _ => common::sim::Fault::None,
        })
        .collect();
    let server = start_server(log.clone(), Arc::new(clock.clone()), Arc::new(faults)).await;
    let client = common::sim::client(&server.base_url, Some(&clock));
    let options = SyncOptions::default().max_window(TimeDelta::hours(5));
    let mut printed = 0;
    let windows = OptOutSync::new(client, ledger.clone(), t0(), options)
        .catch_up_into_ledger(async |batch| {
            printed += batch.changes.len();
            Ok::<(), std::convert::Infallible>(())
        })
        .await
        .unwrap();
    assert!(windows >= 10);
    let watermark = ledger.load().await.unwrap().unwrap().watermark;
    // The truth: the latest change of each number (the log is in time order).
    let mut truth = BTreeMap::new();
    for c in log.iter().filter(|c| c.at <= watermark) {
        truth.insert(c.phone.clone(), (c.status.to_string(), c.at));
    }
    assert_eq!(ledgers::contents(&ledger).await, truth);
    assert!(printed >= truth.len(), "every recorded batch was handed on");
}
both!(
    sqlite_the_sync_records_the_truth_exactly_once,
    postgres_the_sync_records_the_truth_exactly_once,
    the_sync_records_the_truth_exactly_once
);

/// A role with only `SELECT` on the ledger's tables (and `USAGE` on their schema) looks
/// numbers up, lists, reads the figures and the lease holder; nothing it runs writes, locks or
/// creates. A missing schema is an error, never created.
#[tokio::test]
async fn postgres_lookups_only_read_with_a_select_only_role() {
    let Some(url) = ledgers::postgres_url() else {
        return;
    };
    let schema = ledgers::unique("ro");
    let options = LedgerOptions::default().schema(&schema);
    let pg = PostgresOptions::default();
    let owner = PostgresLedger::connect(&url, &options, &pg).await.unwrap();
    owner
        .apply(
            &[change("+14155550100", "opt-out", 1)],
            None,
            &checkpoint(5),
        )
        .await
        .unwrap();
    owner.confirm_caught_up(at(5)).await.unwrap();
    let admin = ledgers::admin(&url).await;
    let role = ledgers::unique("reader");
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'; \
             GRANT USAGE ON SCHEMA \"{schema}\" TO {role}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA \"{schema}\" TO {role};"
        ))
        .await
        .unwrap();
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').unwrap().1;
    let reader_url = format!("{scheme}://{role}:reader-pw@{host}");
    let outcome = async move {
        let reader = PostgresLedger::connect_read_only(&reader_url, &options, &pg)
            .await
            .unwrap();
        let fresh = TimeDelta::days(365 * 100);
        assert!(matches!(
            reader.textability("+14155550100", fresh).await.unwrap(),
            Textability::OptedOut(_)
        ));
        let batch = reader
            .textabilities(&["+14155550100", "+14155550199"], fresh)
            .await
            .unwrap();
        assert!(matches!(
            batch[..],
            [Ok(Textability::OptedOut(_)), Ok(Textability::NeverSeen)]
        ));
        assert_eq!(reader.entries(None, 10, true).await.unwrap().len(), 1);
        assert_eq!(reader.history("+14155550100").await.unwrap().len(), 1);
        assert_eq!(reader.stats().await.unwrap().schema_version, SCHEMA_VERSION);
        assert!(reader.set_aside(None, 10).await.unwrap().is_empty());
        reader.leader().await.unwrap();
        let err = reader
            .apply(&[], Some(&checkpoint(5)), &checkpoint(6))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
        assert!(reader.try_lead().await.is_err(), "no lease for a reader");
        // The same role cannot open it to write: the look-up path is the only one it has.
        let err = PostgresLedger::connect(&reader_url, &options, &pg)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err}");
        let missing = LedgerOptions::default().schema(ledgers::unique("none"));
        let err = PostgresLedger::connect_read_only(&reader_url, &missing, &pg)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NoLedger { .. }), "{err}");
    };
    let result = tokio::spawn(outcome).await;
    admin
        .batch_execute(&format!(
            "DROP OWNED BY {role}; DROP ROLE {role}; DROP SCHEMA \"{schema}\" CASCADE"
        ))
        .await
        .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// Through PgBouncer in transaction pooling (no session state survives a transaction): the
/// schema is created, batches apply, the lease is taken, fenced and renewed, look-ups answer,
/// read-only and concurrently.
#[tokio::test]
async fn pgbouncer_the_ledger_works_in_transaction_pooling() {
    let Some(url) = ledgers::pgbouncer_url() else {
        return;
    };
    let schema = ledgers::unique("bouncer");
    let options = LedgerOptions::default().schema(&schema);
    let pg = PostgresOptions::default()
        .lease_ttl(Duration::from_millis(1500))
        .prepared_statements(false);
    let writer = PostgresLedger::connect(&url, &options, &pg).await.unwrap();
    assert!(writer.try_lead().await.unwrap());
    let mut previous = None;
    for n in 0..5 {
        let batch: Vec<_> = (0..50)
            .map(|i| {
                change(
                    &format!("+1415555{:04}", n * 50 + i),
                    if i % 3 == 0 { "opt-out" } else { "opt-in" },
                    n * 50 + i,
                )
            })
            .collect();
        writer
            .apply(&batch, previous.as_ref(), &checkpoint(1000 + n))
            .await
            .unwrap();
        previous = Some(checkpoint(1000 + n));
        // Longer than the lease: only the renewals keep it.
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert!(writer.is_leading(), "renewed through PgBouncer");
    writer.confirm_caught_up(at(1004)).await.unwrap();
    let reader = PostgresLedger::connect_read_only(&url, &options, &pg)
        .await
        .unwrap();
    let fresh = TimeDelta::days(365 * 100);
    let answers = futures_join_all((0..20).map(|i| {
        let reader = reader.clone();
        async move {
            reader
                .textability(&format!("+1415555{:04}", i * 7), fresh)
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(answers.len(), 20);
    assert!(
        answers
            .iter()
            .all(|a| !matches!(a, Textability::Stale { .. }))
    );
    // The same numbers as one batch (one statement, sent whole): the same answers.
    let numbers: Vec<String> = (0..20).map(|i| format!("+1415555{:04}", i * 7)).collect();
    let asked: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let batch: Vec<Textability> = reader
        .textabilities(&asked, fresh)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(batch, answers);
    let stats = reader.stats().await.unwrap();
    assert_eq!(stats.numbers_by_status.values().sum::<u64>(), 250);
    assert_eq!(stats.schema_version, SCHEMA_VERSION);
    assert_eq!(reader.leader().await.unwrap().unwrap().epoch, 1);
    writer.release().await.unwrap();
    assert!(reader.leader().await.unwrap().is_none());
}

/// Runs the futures at once (what `futures::future::join_all` does) on this test's runtime.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
