//! The sync writing into a ledger: [`OptOutSync::step_into_ledger`] and
//! [`OptOutSync::catch_up_into_ledger`].

use std::future::Future;

use super::Ledger;
use crate::sync::{OptOutSync, SyncBatch, SyncError, WindowReport};

impl<L: Ledger> OptOutSync<L> {
    /// Reads the next window and records it in the ledger with the checkpoint, in one
    /// transaction; then hands the batch to `after` (e.g. to print it). `Ok(None)` when caught
    /// up. An error from `after` stops the sync, the window already recorded.
    pub async fn step_into_ledger<F, E>(
        &mut self,
        after: F,
    ) -> Result<Option<WindowReport>, SyncError>
    where
        F: AsyncFnOnce(&SyncBatch) -> Result<(), E>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.store().may_poll()?;
        let ledger = self.store().clone();
        let step = self.step_with(async |ledger: &L, expected, next, batch| {
            let changes = batch.as_ref().map_or(&[][..], |b| &b.changes[..]);
            let applied = ledger.apply(changes, expected.as_ref(), &next).await?;
            crate::metrics::window_committed(applied.recorded, applied.set_aside);
            if let Some(batch) = &batch {
                after(batch)
                    .await
                    .map_err(|e| SyncError::Rejected(e.into()))?;
            }
            Ok(())
        });
        // A window is dropped, request or write under way, once the lease lapses (the write's
        // own fence and the checkpoint's compare-and-set keep a dropped write harmless).
        // (A race without tokio's macros, which the library does not ask for.)
        let report = {
            let (mut step, mut lost) = (std::pin::pin!(step), std::pin::pin!(ledger.lease_lost()));
            std::future::poll_fn(|cx| {
                if let std::task::Poll::Ready(report) = step.as_mut().poll(cx) {
                    return std::task::Poll::Ready(report);
                }
                lost.as_mut()
                    .poll(cx)
                    .map(|lost| Err(SyncError::Store(lost)))
            })
            .await?
        };
        // Caught up: after a window that reached the target, or with nothing left to read.
        let confirmed = match &report {
            Some(r) if r.caught_up => Some(r.window.to),
            Some(_) => None,
            None => self.store().load().await?.map(|c| c.watermark),
        };
        if let Some(watermark) = confirmed {
            self.store().confirm_caught_up(watermark).await?;
        }
        Ok(report)
    }

    /// [`step_into_ledger`](Self::step_into_ledger) until caught up; the number of windows.
    pub async fn catch_up_into_ledger<F, E>(&mut self, mut after: F) -> Result<usize, SyncError>
    where
        F: AsyncFnMut(&SyncBatch) -> Result<(), E>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut windows = 0;
        while self
            .step_into_ledger(async |batch| after(batch).await)
            .await?
            .is_some()
        {
            windows += 1;
        }
        Ok(windows)
    }
}
