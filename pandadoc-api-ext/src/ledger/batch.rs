//! A batch of changes made ready for a ledger: checked, canonical, and reduced to what the
//! database must compare. The ordering rule lives here, once, for both backends.

use chrono::{DateTime, Utc};

use super::canonical_phone;
use crate::SmsOptOutChange;
use crate::sync::StoreError;

/// How a status ranks against another of the same `opt_out_changed`: the more restrictive
/// wins (opt-out over a status this program does not know over opt-in).
pub(crate) fn rank(status: &str) -> i16 {
    match status {
        "opt-in" => 0,
        "opt-out" => 2,
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
    /// The latest change of each number in the batch (one row per number).
    pub latest: Vec<Row>,
    /// Every distinct change of the batch, for the history.
    pub history: Vec<Row>,
}

/// Checks and reduces `changes`. A change without a number, a status or a time cannot be
/// recorded without guessing: the whole batch is [`StoreError::InvalidInput`] and nothing is
/// written (the sync stops with the checkpoint where it was, and says why).
pub(crate) fn prepare(changes: &[SmsOptOutChange]) -> Result<Prepared, StoreError> {
    let mut history = Vec::with_capacity(changes.len());
    for change in changes {
        let (Some(phone), Some(status), Some(changed)) =
            (&change.phone_number, &change.status, change.opt_out_changed)
        else {
            return Err(StoreError::InvalidInput {
                message: format!(
                    "a change the ledger cannot record (a number, a status and a time are \
                     needed): {change:?}"
                ),
            });
        };
        let status = status.as_str().to_string();
        history.push(Row {
            phone: canonical_phone(phone)?,
            rank: rank(&status),
            status,
            changed_us: changed.timestamp_micros(),
        });
    }
    // Number order, then the ordering rule: repeats end up side by side, and the last row of
    // each number is its latest change. Neighbouring writes then touch neighbouring pages, and
    // the same batch takes its row locks in the same order on every replica.
    history.sort_unstable_by(|a, b| (&a.phone, a.key()).cmp(&(&b.phone, b.key())));
    history.dedup();
    let mut latest: Vec<Row> = Vec::new();
    for (i, row) in history.iter().enumerate() {
        if history
            .get(i + 1)
            .is_none_or(|next| next.phone != row.phone)
        {
            latest.push(row.clone());
        }
    }
    Ok(Prepared { latest, history })
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
        }
    }

    #[test]
    fn the_newest_change_wins_and_opt_out_wins_a_tie() {
        use SmsOptOutStatus::*;
        let batch = prepare(&[
            change("+1 415 555 0100", OptOut, 10),
            change("+14155550100", OptIn, 20),
            change("+14155550100", OptIn, 20),
            change("+14155550101", OptIn, 30),
            change("+14155550101", OptOut, 30),
            change("+14155550101", Unknown("paused".into()), 30),
        ])
        .unwrap();
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
    fn a_change_missing_a_field_rejects_the_batch() {
        let mut bad = change("+14155550100", SmsOptOutStatus::OptOut, 1);
        bad.opt_out_changed = None;
        let err = prepare(&[bad]).unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
        let err = prepare(&[change("555-0100", SmsOptOutStatus::OptOut, 1)]).unwrap_err();
        assert!(err.to_string().contains("555-0100"), "{err}");
    }
}
