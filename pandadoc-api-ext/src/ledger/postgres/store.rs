//! A [`PostgresLedger`]'s writes (a batch and its checkpoint in one transaction) and reads.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio_postgres::types::Type;

use super::connect::begin;
use super::lookups::{self, entry};
use super::{Param, PostgresLedger};
use crate::SmsOptOutChange;
use crate::ledger::batch::{Prepared, Row, prepare};
use crate::ledger::{
    Applied, Freshness, Ledger, LedgerEntry, LedgerStats, SetAside, Textability, canonical_phone,
};
use crate::sync::{Checkpoint, CheckpointStore, StoreError};

impl PostgresLedger {
    async fn write(
        &self,
        batch: &Prepared,
        expected: Option<Checkpoint>,
        new: Checkpoint,
    ) -> Result<Applied, StoreError> {
        self.writable()?;
        let location = &self.inner.location;
        let lease = &self.inner.lease;
        let fence = lease.fence(location)?;
        let sql = &self.inner.sql;
        let began = Instant::now();
        let idle = self.inner.options.idle_in_transaction();
        let outcome = self
            .call("apply a batch", async |client| {
                let tx = begin(client, idle).await?;
                // The fence: this epoch still holds an unexpired lease, extended here; the row
                // stays locked until the commit, so no takeover can slip in between.
                if let Some(epoch) = fence {
                    let ttl = lease.ttl_secs();
                    let params: [Param; 3] = [
                        (&lease.holder, Type::TEXT),
                        (&epoch, Type::INT8),
                        (&ttl, Type::FLOAT8),
                    ];
                    if tx.query_typed(&sql.renew, &params).await?.is_empty() {
                        return Ok(Err(StoreError::LeaseLost {
                            location: location.clone(),
                        }));
                    }
                }
                let (new_at, expected_at) = (new.watermark, expected.map(|c| c.watermark));
                let cas: [Param; 2] = [
                    (&new_at, Type::TIMESTAMPTZ),
                    (&expected_at, Type::TIMESTAMPTZ),
                ];
                if tx.execute_typed(&sql.shared.cas, &cas).await? == 0 {
                    let found: Option<DateTime<Utc>> = tx
                        .query_typed_one(&sql.shared.checkpoint, &[])
                        .await?
                        .get(0);
                    return Ok(Err(StoreError::Conflict {
                        expected,
                        found: found.map(|watermark| Checkpoint { watermark }),
                    }));
                }
                let now = Utc::now();
                let mut applied = Applied::default();
                if !batch.history.is_empty() {
                    let rows = Columns::of(&batch.history);
                    let params: [Param; 4] = [
                        (&rows.phone, Type::TEXT_ARRAY),
                        (&rows.status, Type::TEXT_ARRAY),
                        (&rows.changed, Type::TIMESTAMPTZ_ARRAY),
                        (&now, Type::TIMESTAMPTZ),
                    ];
                    applied.recorded = tx.execute_typed(&sql.history, &params).await?;
                }
                if !batch.rejected.is_empty() {
                    let record: Vec<&str> =
                        batch.rejected.iter().map(|r| r.record.as_str()).collect();
                    let reason: Vec<&str> =
                        batch.rejected.iter().map(|r| r.reason.as_str()).collect();
                    let phone: Vec<Option<&str>> =
                        batch.rejected.iter().map(|r| r.phone.as_deref()).collect();
                    let params: [Param; 4] = [
                        (&record, Type::TEXT_ARRAY),
                        (&reason, Type::TEXT_ARRAY),
                        (&phone, Type::TEXT_ARRAY),
                        (&now, Type::TIMESTAMPTZ),
                    ];
                    applied.set_aside = tx.execute_typed(&sql.set_aside, &params).await?;
                }
                if !batch.latest.is_empty() {
                    let rows = Columns::of(&batch.latest);
                    let params: [Param; 5] = [
                        (&rows.phone, Type::TEXT_ARRAY),
                        (&rows.status, Type::TEXT_ARRAY),
                        (&rows.rank, Type::INT2_ARRAY),
                        (&rows.changed, Type::TIMESTAMPTZ_ARRAY),
                        (&now, Type::TIMESTAMPTZ),
                    ];
                    applied.updated = tx.execute_typed(&sql.numbers, &params).await?;
                }
                tx.commit().await?;
                Ok(Ok(applied))
            })
            .await?;
        match (&outcome, fence) {
            (Err(StoreError::LeaseLost { .. }), Some(epoch)) => lease.lost(epoch),
            (Ok(_), Some(epoch)) => lease.renewed(epoch, began),
            _ => {}
        }
        outcome
    }
}

/// Rows as the arrays `unnest` reads.
struct Columns<'a> {
    phone: Vec<&'a str>,
    status: Vec<&'a str>,
    rank: Vec<i16>,
    changed: Vec<DateTime<Utc>>,
}

impl<'a> Columns<'a> {
    fn of(rows: &'a [Row]) -> Self {
        Self {
            phone: rows.iter().map(|r| r.phone.as_str()).collect(),
            status: rows.iter().map(|r| r.status.as_str()).collect(),
            rank: rows.iter().map(|r| r.rank).collect(),
            changed: rows.iter().map(Row::changed).collect(),
        }
    }
}

impl CheckpointStore for PostgresLedger {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        let row = self
            .read_one(
                "read the checkpoint",
                &self.inner.sql.shared.checkpoint,
                &[],
            )
            .await?;
        Ok(row
            .get::<_, Option<DateTime<Utc>>>(0)
            .map(|watermark| Checkpoint { watermark }))
    }

    /// Moves the checkpoint alone (compare-and-set); [`Ledger::apply`] records changes with it.
    async fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<(), StoreError> {
        self.write(&Prepared::default(), expected.copied(), *new)
            .await
            .map(drop)
    }
}

impl Ledger for PostgresLedger {
    async fn apply(
        &self,
        changes: &[SmsOptOutChange],
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        let batch = prepare(changes, new.watermark);
        self.write(&batch, expected.copied(), *new).await
    }

    async fn entry(&self, phone: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let phone = canonical_phone(phone)?;
        let rows = self
            .read(
                "look a number up",
                &self.inner.sql.shared.entry,
                &[(&phone, Type::TEXT)],
            )
            .await?;
        Ok(rows.first().map(|r| entry(phone.clone(), r, 0)))
    }

    async fn textability(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> Result<Textability, StoreError> {
        let phone = canonical_phone(phone)?;
        let row = self
            .read_one(
                "look a number up",
                &self.inner.sql.shared.textability,
                &[(&phone, Type::TEXT)],
            )
            .await?;
        let found = row
            .get::<_, Option<&str>>(3)
            .is_some()
            .then(|| entry(phone, &row, 3));
        Ok(Textability::decide(
            found,
            row.get(0),
            row.get(1),
            row.get(2),
            max_staleness,
        ))
    }

    async fn textabilities(
        &self,
        phones: &[&str],
        max_staleness: TimeDelta,
    ) -> Result<Vec<Result<Textability, StoreError>>, StoreError> {
        let numbers = lookups::canonical(phones);
        let sent: Vec<&str> = numbers.iter().flatten().map(String::as_str).collect();
        let rows = self
            .read(
                "look numbers up",
                &self.inner.sql.textabilities,
                &[(&sent, Type::TEXT_ARRAY)],
            )
            .await?;
        Ok(lookups::answers(numbers, &rows, max_staleness))
    }

    async fn entries(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after = after.unwrap_or("");
        let rows = self
            .read(
                "list numbers",
                &self.inner.sql.shared.entries,
                &[
                    (&after, Type::TEXT),
                    (&only_opted_out, Type::BOOL),
                    (&limit, Type::INT8),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| entry(r.get::<_, String>(0), r, 1))
            .collect())
    }

    async fn history(&self, phone: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let phone = canonical_phone(phone)?;
        let rows = self
            .read(
                "read the history",
                &self.inner.sql.shared.history_of,
                &[(&phone, Type::TEXT)],
            )
            .await?;
        Ok(rows.iter().map(|r| entry(phone.clone(), r, 0)).collect())
    }

    async fn confirm_caught_up(&self, watermark: DateTime<Utc>) -> Result<(), StoreError> {
        self.writable()?;
        let sql = &self.inner.sql.shared.confirm_caught_up;
        self.call("confirm the sync caught up", async |c| {
            c.execute_typed(sql, &[(&watermark, Type::TIMESTAMPTZ)])
                .await
        })
        .await
        .map(drop)
    }

    fn may_poll(&self) -> Result<(), StoreError> {
        self.inner.lease.fence(&self.inner.location).map(drop)
    }

    /// Checked every 50 ms while a window is under way, for a replica that took the lease.
    async fn lease_lost(&self) -> StoreError {
        loop {
            if let Err(lost) = self.may_poll() {
                return lost;
            }
            if !self.inner.lease.took() {
                return std::future::pending().await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn set_aside(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetAside>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after = after.unwrap_or("");
        let rows = self
            .read(
                "list the changes set aside",
                &self.inner.sql.shared.rejected,
                &[(&after, Type::TEXT), (&limit, Type::INT8)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SetAside {
                record: r.get(0),
                reason: r.get(1),
                phone_number: r.get(2),
                received: r.get(3),
            })
            .collect())
    }

    async fn freshness(&self) -> Result<Freshness, StoreError> {
        let row = self
            .read_one("read the checkpoint", &self.inner.sql.shared.freshness, &[])
            .await?;
        Ok(Freshness {
            checkpoint: row.get(0),
            caught_up: row.get(1),
            as_of: row.get(2),
        })
    }

    async fn stats(&self) -> Result<LedgerStats, StoreError> {
        let operation = "read the ledger's figures";
        let sql = &self.inner.sql.shared;
        let freshness = self.read_one(operation, &sql.freshness, &[]).await?;
        let numbers_by_status = self
            .read(operation, &sql.count_by_status, &[])
            .await?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect();
        let count = async |statement: &str| {
            self.read_one(operation, statement, &[])
                .await
                .map(|r| r.get::<_, i64>(0))
        };
        Ok(LedgerStats {
            checkpoint: freshness.get(0),
            caught_up: freshness.get(1),
            as_of: freshness.get(2),
            numbers_by_status,
            history: count(&sql.count_history).await? as u64,
            set_aside: count(&sql.count_rejected).await? as u64,
            schema_version: count(&sql.schema_version).await?,
        })
    }
}
