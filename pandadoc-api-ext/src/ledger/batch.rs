//! A batch of changes made ready for a ledger: checked, canonical, and reduced to what the
//! database must compare; what cannot be applied is set aside. The ordering rule lives here,
//! once, for both backends.

use chrono::{DateTime, Utc};

use super::canonical_phone;
use crate::SmsOptOutChange;

/// The status of a number held as opted out because a change of it could not be read (no
/// status, or no time): it wins every tie, so only a later well-formed change replaces it.
pub const HELD: &str = "held";

/// How a status ranks against another of the same `opt_out_changed`: the more restrictive
/// wins (a hold over opt-out over a status this program does not know over opt-in).
pub(crate) fn rank(status: &str) -> i16 {
    match status {
        "opt-in" => 0,
        "opt-out" => 2,
        HELD => 3,
        _ => 1,
    }
}

/// The ordering rule in SQL, for both backends: the end of the numbers' upsert (the table
/// aliased `cur`). A stored change is replaced only where the new one's
/// `(changed, rank, status)` is greater: the order of [`Row::key`].
pub(crate) const NEWER_WINS: &str = "ON CONFLICT (phone) DO UPDATE SET status = excluded.status, \
     rank = excluded.rank, changed = excluded.changed, recorded = excluded.recorded \
     WHERE (excluded.changed, excluded.rank, excluded.status) > (cur.changed, cur.rank, cur.status)";

/// One change as stored: canonical number, status text, its rank, and `opt_out_changed` in
/// microseconds since the Unix epoch (PostgreSQL's resolution; the API sends seconds).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Row {
    pub phone: String,
    pub status: String,
    pub rank: i16,
    pub changed_us: i64,
}

impl Row {
    /// The ordering key: a change replaces the stored one only if its key is greater.
    pub fn key(&self) -> (i64, i16, &str) {
        (self.changed_us, self.rank, &self.status)
    }

    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub fn changed(&self) -> DateTime<Utc> {
        from_micros(self.changed_us)
    }
}

pub(crate) fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A batch for one transaction.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    /// The latest change of each number in the batch (one row per number), holds included.
    pub latest: Vec<Row>,
    /// Every distinct well-formed change of the batch, for the history.
    pub history: Vec<Row>,
    /// The changes that cannot be applied, set aside.
    pub rejected: Vec<Unapplied>,
}

/// A change set aside: the record as received (JSON), why, and its number when it could be
/// read (that number is held).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unapplied {
    pub record: String,
    pub reason: String,
    pub phone: Option<String>,
}

/// Checks and reduces `changes`, read in a window that ends at `window_end`. A change the
/// ledger cannot apply never stops the rest: it is set aside (with a warning naming it). Where
/// its number can be read but its status or time cannot, the number is held ([`HELD`]) at the
/// change's time, or at `window_end` when it has none (the change happened by then), so that
/// it cannot become textable because of it.
pub(crate) fn prepare(changes: &[SmsOptOutChange], window_end: DateTime<Utc>) -> Prepared {
    let mut history = Vec::with_capacity(changes.len());
    let mut holds = Vec::new();
    let mut rejected = Vec::new();
    for change in changes {
        let phone = change.phone_number.as_deref().map(canonical_phone);
        // What keeps the change from being applied, and its number when that can be read.
        let (problem, phone) = match (
            &change.unreadable,
            phone,
            &change.status,
            change.opt_out_changed,
        ) {
            (None, Some(Ok(phone)), Some(status), Some(changed)) => {
                let status = status.as_str().to_string();
                history.push(Row {
                    phone,
                    rank: rank(&status),
                    status,
                    changed_us: changed.timestamp_micros(),
                });
                continue;
            }
            (Some(unreadable), phone, ..) => (
                format!("unreadable ({})", unreadable.reason),
                phone.and_then(Result::ok),
            ),
            (None, Some(Err(e)), ..) => (e.to_string(), None),
            (None, None, ..) => ("no phone_number".to_string(), None),
            (None, Some(Ok(phone)), None, _) => ("no status".to_string(), Some(phone)),
            (None, Some(Ok(phone)), Some(_), None) => {
                ("no opt_out_changed".to_string(), Some(phone))
            }
        };
        let reason = match &phone {
            Some(phone) => {
                holds.push(Row {
                    phone: phone.clone(),
                    status: HELD.into(),
                    rank: rank(HELD),
                    changed_us: change
                        .opt_out_changed
                        .unwrap_or(window_end)
                        .timestamp_micros(),
                });
                format!("{problem}: the number is held as opted out until a later change")
            }
            None => problem,
        };
        let record = match &change.unreadable {
            Some(unreadable) => unreadable.record.clone(),
            None => record(change),
        };
        rejected.push(set_aside(record, reason, phone));
    }
    // Number order, then the ordering rule: repeats end up side by side, and the last row of
    // each number is its latest change. Neighbouring writes then touch neighbouring pages, and
    // the same batch takes its row locks in the same order on every replica.
    let by_key = |a: &Row, b: &Row| (&a.phone, a.key()).cmp(&(&b.phone, b.key()));
    history.sort_unstable_by(by_key);
    history.dedup();
    let mut candidates: Vec<Row> = history.iter().chain(&holds).cloned().collect();
    candidates.sort_unstable_by(by_key);
    let mut latest: Vec<Row> = Vec::new();
    for (i, row) in candidates.iter().enumerate() {
        if candidates
            .get(i + 1)
            .is_none_or(|next| next.phone != row.phone)
        {
            latest.push(row.clone());
        }
    }
    rejected.sort_unstable_by(|a, b| a.record.cmp(&b.record));
    rejected.dedup_by(|a, b| a.record == b.record);
    Prepared {
        latest,
        history,
        rejected,
    }
}

/// A well-formed change as the ledger keeps it when it is set aside (an unreadable one is kept
/// as received).
fn record(change: &SmsOptOutChange) -> String {
    serde_json::to_string(change).unwrap_or_else(|_| format!("{change:?}"))
}

fn set_aside(record: String, reason: String, phone: Option<String>) -> Unapplied {
    tracing::warn!(
        target: "pandadoc_api_ext::ledger",
        record = %record,
        reason = %reason,
        "a change the ledger cannot apply is set aside"
    );
    Unapplied {
        record,
        reason,
        phone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SmsOptOutStatus;

    fn change(phone: &str, status: SmsOptOutStatus, at: i64) -> SmsOptOutChange {
        SmsOptOutChange {
            phone_number: Some(phone.into()),
            status: Some(status),
            opt_out_changed: DateTime::from_timestamp(at, 0),
            unreadable: None,
        }
    }

    fn end() -> DateTime<Utc> {
        DateTime::from_timestamp(100, 0).unwrap()
    }

    #[test]
    fn the_newest_change_wins_and_opt_out_wins_a_tie() {
        use SmsOptOutStatus::*;
        let batch = prepare(
            &[
                change("+1 415 555 0100", OptOut, 10),
                change("+14155550100", OptIn, 20),
                change("+14155550100", OptIn, 20),
                change("+14155550101", OptIn, 30),
                change("+14155550101", OptOut, 30),
                change("+14155550101", Unknown("paused".into()), 30),
            ],
            end(),
        );
        let got: Vec<_> = batch
            .latest
            .iter()
            .map(|r| (r.phone.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            got,
            [("+14155550100", "opt-in"), ("+14155550101", "opt-out")]
        );
        assert_eq!(
            batch.history.len(),
            5,
            "the repeated change is recorded once"
        );
    }

    #[test]
    fn a_change_that_cannot_be_applied_is_set_aside_and_its_number_held() {
        use SmsOptOutStatus::*;
        let mut no_time = change("+14155550100", OptIn, 1);
        no_time.opt_out_changed = None;
        let mut no_status = change("+14155550101", OptIn, 40);
        no_status.status = None;
        let mut no_phone = change("+14155550102", OptOut, 1);
        no_phone.phone_number = None;
        let batch = prepare(
            &[
                change("+14155550100", OptIn, 50),
                no_time.clone(),
                no_status,
                change("+14155550101", OptIn, 40),
                no_phone,
                change("555-0100", OptOut, 1),
                change("555-0100", OptOut, 1),
                change("+14155550103", OptIn, 5),
            ],
            end(),
        );
        let got: Vec<_> = batch
            .latest
            .iter()
            .map(|r| {
                (
                    r.phone.as_str(),
                    r.status.as_str(),
                    r.changed_us / 1_000_000,
                )
            })
            .collect();
        // No time: held at the window's end, after the opt-in at 50. No status: held at its
        // own time, and a hold wins the tie with the opt-in of the same time.
        assert_eq!(
            got,
            [
                ("+14155550100", HELD, 100),
                ("+14155550101", HELD, 40),
                ("+14155550103", "opt-in", 5)
            ]
        );
        assert_eq!(
            batch.history.len(),
            3,
            "only well-formed changes are history"
        );
        assert_eq!(batch.rejected.len(), 4, "the repeat is set aside once");
        let unreadable = batch
            .rejected
            .iter()
            .find(|r| r.record.contains("555-0100"))
            .unwrap();
        assert!(unreadable.reason.contains("555-0100"), "{unreadable:?}");
        assert_eq!(unreadable.phone, None);
        let held = batch
            .rejected
            .iter()
            .find(|r| r.reason.starts_with("no opt_out_changed"))
            .unwrap();
        assert_eq!(held.phone.as_deref(), Some("+14155550100"));
        assert_eq!(held.record, serde_json::to_string(&no_time).unwrap());
    }
}
