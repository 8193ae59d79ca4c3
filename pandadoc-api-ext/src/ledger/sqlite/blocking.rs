//! A [`SqliteLedger`]'s writes and reads on the calling thread (the `_blocking` methods).

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{SqliteLedger, entry, lock, read_checkpoint, read_freshness};
use crate::SmsOptOutChange;
use crate::ledger::batch::{Prepared, from_micros, prepare};
use crate::ledger::{
    Applied, Freshness, LedgerEntry, LedgerStats, SetAside, Textability, canonical_phone,
};
use crate::sync::{Checkpoint, StoreError};

impl SqliteLedger {
    /// [`Ledger::apply`](crate::ledger::Ledger::apply), on this thread.
    pub fn apply_blocking(
        &self,
        changes: &[SmsOptOutChange],
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        let batch = prepare(changes, new.watermark);
        self.write(&batch, expected.copied(), *new)
    }

    pub(super) fn write(
        &self,
        batch: &Prepared,
        expected: Option<Checkpoint>,
        new: Checkpoint,
    ) -> Result<Applied, StoreError> {
        let err = self.error("apply a batch");
        let mut conn = self.writer()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let now = Utc::now().timestamp_micros();
        let moved = tx
            .prepare_cached(&self.inner.sql.shared.cas)
            .and_then(|mut s| {
                s.execute(params![
                    new.watermark.timestamp_micros(),
                    expected.map(|c| c.watermark.timestamp_micros())
                ])
            })
            .map_err(&err)?;
        if moved == 0 {
            let found = read_checkpoint(&tx, &self.inner.sql.shared).map_err(&err)?;
            return Err(StoreError::Conflict { expected, found });
        }
        let mut applied = Applied::default();
        {
            let mut history = tx.prepare_cached(&self.inner.sql.history).map_err(&err)?;
            for row in &batch.history {
                applied.recorded += history
                    .execute(params![row.phone, row.status, row.changed_us, now])
                    .map_err(&err)? as u64;
            }
            let mut set_aside = tx.prepare_cached(&self.inner.sql.set_aside).map_err(&err)?;
            for r in &batch.rejected {
                applied.set_aside += set_aside
                    .execute(params![r.record, r.reason, r.phone, now])
                    .map_err(&err)? as u64;
            }
            let mut numbers = tx.prepare_cached(&self.inner.sql.numbers).map_err(&err)?;
            for row in &batch.latest {
                applied.updated += numbers
                    .execute(params![
                        row.phone,
                        row.status,
                        row.rank,
                        row.changed_us,
                        now
                    ])
                    .map_err(&err)? as u64;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(applied)
    }

    /// [`Ledger::entry`](crate::ledger::Ledger::entry), on this thread.
    pub fn entry_blocking(&self, phone: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let phone = canonical_phone(phone)?;
        let conn = lock(&self.inner.lookup);
        conn.prepare_cached(&self.inner.sql.shared.entry)
            .and_then(|mut s| {
                s.query_row([&phone], |r| {
                    Ok(entry(phone.clone(), r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(self.error("look a number up"))
    }

    /// [`Ledger::textability`](crate::ledger::Ledger::textability), on this thread (one query).
    pub fn textability_blocking(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> Result<Textability, StoreError> {
        let phone = canonical_phone(phone)?;
        let conn = lock(&self.inner.lookup);
        let (checkpoint, caught_up, now, found) = conn
            .prepare_cached(&self.inner.sql.shared.textability)
            .and_then(|mut s| {
                s.query_row([&phone], |r| {
                    let checkpoint: Option<i64> = r.get(0)?;
                    let caught_up: Option<i64> = r.get(1)?;
                    let now: Option<i64> = r.get(2)?;
                    let status: Option<String> = r.get(3)?;
                    let found = match status {
                        Some(status) => Some(entry(phone.clone(), status, r.get(4)?, r.get(5)?)),
                        None => None,
                    };
                    Ok((
                        checkpoint.map(from_micros),
                        caught_up.map(from_micros),
                        now.map_or_else(Utc::now, from_micros),
                        found,
                    ))
                })
            })
            .map_err(self.error("look a number up"))?;
        Ok(Textability::decide(
            found,
            checkpoint,
            caught_up,
            now,
            max_staleness,
        ))
    }

    /// [`Ledger::confirm_caught_up`](crate::ledger::Ledger::confirm_caught_up), on this thread.
    pub fn confirm_caught_up_blocking(&self, watermark: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.writer()?;
        conn.prepare_cached(&self.inner.sql.shared.confirm_caught_up)
            .and_then(|mut s| s.execute([watermark.timestamp_micros()]))
            .map(drop)
            .map_err(self.error("confirm the sync caught up"))
    }

    pub(super) fn set_aside_blocking(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetAside>, StoreError> {
        let conn = lock(&self.inner.reader);
        conn.prepare_cached(&self.inner.sql.shared.rejected)
            .and_then(|mut s| {
                s.query_map(
                    params![
                        after.unwrap_or(""),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |r| {
                        Ok(SetAside {
                            record: r.get(0)?,
                            reason: r.get(1)?,
                            phone_number: r.get(2)?,
                            received: from_micros(r.get(3)?),
                        })
                    },
                )?
                .collect()
            })
            .map_err(self.error("list the changes set aside"))
    }

    /// [`Ledger::entries`](crate::ledger::Ledger::entries), on this thread.
    pub fn entries_blocking(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let conn = lock(&self.inner.reader);
        conn.prepare_cached(&self.inner.sql.shared.entries)
            .and_then(|mut s| {
                s.query_map(
                    params![
                        after.unwrap_or(""),
                        only_opted_out,
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |r| Ok(entry(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?
                .collect()
            })
            .map_err(self.error("list numbers"))
    }

    pub(super) fn history_blocking(&self, phone: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let phone = canonical_phone(phone)?;
        let conn = lock(&self.inner.reader);
        conn.prepare_cached(&self.inner.sql.shared.history_of)
            .and_then(|mut s| {
                s.query_map([&phone], |r| {
                    Ok(entry(phone.clone(), r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
            })
            .map_err(self.error("read the history"))
    }

    /// [`Ledger::freshness`](crate::ledger::Ledger::freshness), on this thread.
    pub fn freshness_blocking(&self) -> Result<Freshness, StoreError> {
        read_freshness(&lock(&self.inner.lookup), &self.inner.sql.shared.freshness)
            .map_err(self.error("read the checkpoint"))
    }

    pub(super) fn stats_blocking(&self) -> Result<LedgerStats, StoreError> {
        let sql = &self.inner.sql.shared;
        let conn = lock(&self.inner.reader);
        let read = || -> rusqlite::Result<LedgerStats> {
            let Freshness {
                checkpoint,
                caught_up,
                as_of,
            } = read_freshness(&conn, &sql.freshness)?;
            let mut by_status = std::collections::BTreeMap::new();
            let mut s = conn.prepare_cached(&sql.count_by_status)?;
            for row in s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (status, n) = row?;
                by_status.insert(status, n as u64);
            }
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            Ok(LedgerStats {
                checkpoint,
                caught_up,
                as_of,
                numbers_by_status: by_status,
                history: count(&sql.count_history)? as u64,
                set_aside: count(&sql.count_rejected)? as u64,
                schema_version: conn.query_row(&sql.schema_version, [], |r| r.get(0))?,
            })
        };
        read().map_err(self.error("read the ledger's figures"))
    }
}
