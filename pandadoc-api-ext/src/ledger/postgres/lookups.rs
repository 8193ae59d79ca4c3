//! A batch of look-ups in one statement: the statement, and the answers folded from its rows.
//! (The connection and the call are the ledger's; this file only builds and reads.)

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::ledger::{LedgerEntry, Tables, Textability, canonical_phone};
use crate::sync::StoreError;

/// The checkpoint, when last confirmed caught up and the database's now, once, with every
/// number of the array `1` that the ledger holds (one row per number found; one row with a
/// `NULL` number when none is).
pub(super) fn statement(t: &Tables) -> String {
    format!(
        "SELECT c.watermark, c.caught_up, now(), n.phone, n.status, n.changed, n.recorded \
         FROM {} c LEFT JOIN {} n ON n.phone = ANY($1::text[]) WHERE c.id = 1",
        t.checkpoint, t.numbers
    )
}

/// The numbers to send: each input's canonical form, or its own error.
pub(super) fn canonical(phones: &[&str]) -> Vec<Result<String, StoreError>> {
    phones.iter().map(|p| canonical_phone(p)).collect()
}

/// A stored entry from a row whose status is at column `at` (then the time and when recorded).
pub(super) fn entry(phone: String, row: &tokio_postgres::Row, at: usize) -> LedgerEntry {
    LedgerEntry {
        phone_number: phone,
        status: row.get::<_, &str>(at).into(),
        opt_out_changed: row.get(at + 1),
        recorded: row.get(at + 2),
    }
}

/// Each input's answer, from [`statement`]'s rows (an empty result: the checkpoint row is
/// missing, which the schema does not allow; judged as a ledger never synced).
pub(super) fn answers(
    numbers: Vec<Result<String, StoreError>>,
    rows: &[tokio_postgres::Row],
    max_staleness: TimeDelta,
) -> Vec<Result<Textability, StoreError>> {
    let (checkpoint, caught_up, now): (Option<DateTime<Utc>>, Option<DateTime<Utc>>, _) = rows
        .first()
        .map_or((None, None, Utc::now()), |r| (r.get(0), r.get(1), r.get(2)));
    let found: HashMap<String, &tokio_postgres::Row> = rows
        .iter()
        .filter_map(|r| r.get::<_, Option<String>>(3).map(|phone| (phone, r)))
        .collect();
    numbers
        .into_iter()
        .map(|number| {
            let number = number?;
            let entry = found.get(&number).map(|row| entry(number, row, 4));
            Ok(Textability::decide(
                entry,
                checkpoint,
                caught_up,
                now,
                max_staleness,
            ))
        })
        .collect()
}
