//! The async [`Ledger`] of a [`SqliteLedger`]: each call on a blocking thread, or (look-ups)
//! on the caller's.

use chrono::{DateTime, TimeDelta, Utc};

use super::{SqliteLedger, lock, read_checkpoint};
use crate::SmsOptOutChange;
use crate::ledger::batch::{Prepared, prepare};
use crate::ledger::{Applied, Freshness, Ledger, LedgerEntry, LedgerStats, SetAside, Textability};
use crate::sync::{Checkpoint, CheckpointStore, StoreError};

impl CheckpointStore for SqliteLedger {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.off_runtime(|l| {
            let conn = lock(&l.inner.reader);
            read_checkpoint(&conn, &l.inner.sql.shared).map_err(l.error("read the checkpoint"))
        })
        .await
    }

    /// Moves the checkpoint alone (compare-and-set); [`Ledger::apply`] records changes with it.
    async fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<(), StoreError> {
        let (expected, new) = (expected.copied(), *new);
        self.off_runtime(move |l| l.write(&Prepared::default(), expected, new).map(drop))
            .await
    }
}

impl Ledger for SqliteLedger {
    async fn apply(
        &self,
        changes: &[SmsOptOutChange],
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        let batch = prepare(changes, new.watermark);
        let (expected, new) = (expected.copied(), *new);
        self.off_runtime(move |l| l.write(&batch, expected, new))
            .await
    }

    // Point look-ups run here, on the caller's task (see `SqliteLedger`).
    async fn entry(&self, phone: &str) -> Result<Option<LedgerEntry>, StoreError> {
        self.entry_blocking(phone)
    }

    async fn textability(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> Result<Textability, StoreError> {
        self.textability_blocking(phone, max_staleness)
    }

    async fn entries(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let after = after.map(str::to_string);
        self.off_runtime(move |l| l.entries_blocking(after.as_deref(), limit, only_opted_out))
            .await
    }

    async fn history(&self, phone: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let phone = phone.to_string();
        self.off_runtime(move |l| l.history_blocking(&phone)).await
    }

    async fn confirm_caught_up(&self, watermark: DateTime<Utc>) -> Result<(), StoreError> {
        self.off_runtime(move |l| l.confirm_caught_up_blocking(watermark))
            .await
    }

    async fn set_aside(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetAside>, StoreError> {
        let after = after.map(str::to_string);
        self.off_runtime(move |l| l.set_aside_blocking(after.as_deref(), limit))
            .await
    }

    async fn freshness(&self) -> Result<Freshness, StoreError> {
        self.freshness_blocking()
    }

    async fn stats(&self) -> Result<LedgerStats, StoreError> {
        self.off_runtime(|l| l.stats_blocking()).await
    }
}
