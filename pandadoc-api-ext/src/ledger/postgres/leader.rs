//! The leader lease of a [`PostgresLedger`]: taking it, keeping it, giving it up.

use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio_postgres::types::Type;

use super::{Inner, LeaseHolder, Param, PostgresLedger};
use crate::sync::StoreError;

impl PostgresLedger {
    /// Tries once to take the leader lease; `true` if this replica holds it (now or already).
    /// A replica that held it and missed its deadline gets it back if it is still unexpired.
    pub async fn try_lead(&self) -> Result<bool, StoreError> {
        self.writable()?;
        if self.is_leading() {
            return Ok(true);
        }
        let lease = &self.inner.lease;
        let (holder, ttl) = (&lease.holder, lease.ttl_secs());
        let began = Instant::now();
        if let Some(epoch) = lease.epoch() {
            let sql = &self.inner.sql.renew;
            let params: [Param; 3] = [
                (holder, Type::TEXT),
                (&epoch, Type::INT8),
                (&ttl, Type::FLOAT8),
            ];
            if self.read("renew the lease", sql, &params).await?.is_empty() {
                lease.lost(epoch);
            } else {
                lease.held(epoch, began);
                return Ok(true);
            }
        }
        let sql = &self.inner.sql.take;
        let params: [Param; 2] = [(holder, Type::TEXT), (&ttl, Type::FLOAT8)];
        let Some(row) = self.read("take the lease", sql, &params).await?.pop() else {
            return Ok(false);
        };
        let epoch: i64 = row.get(0);
        lease.held(epoch, began);
        self.keep_renewing(epoch);
        Ok(true)
    }

    /// Renews the lease of `epoch` every `lease_ttl / 3` until it is lost, released, or this
    /// ledger dropped. A failed renewal is retried; the leader's deadline decides.
    fn keep_renewing(&self, epoch: i64) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let every = self.inner.lease.renew_every();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                let ledger = PostgresLedger { inner };
                let lease = &ledger.inner.lease;
                if lease.epoch() != Some(epoch) {
                    return;
                }
                let began = Instant::now();
                let (holder, ttl) = (&lease.holder, lease.ttl_secs());
                let params: [Param; 3] = [
                    (holder, Type::TEXT),
                    (&epoch, Type::INT8),
                    (&ttl, Type::FLOAT8),
                ];
                match ledger
                    .read("renew the lease", &ledger.inner.sql.renew, &params)
                    .await
                {
                    Ok(rows) if rows.is_empty() => {
                        tracing::warn!(location = %ledger.inner.location, epoch, "the lease was lost");
                        lease.lost(epoch);
                        return;
                    }
                    Ok(_) => lease.renewed(epoch, began),
                    Err(e) => tracing::warn!(error = %e, "could not renew the lease; retrying"),
                }
            }
        });
    }

    /// Waits until this replica holds the leader lease, trying every `lease_poll`. A database
    /// that cannot be reached is tried again (with a warning), not an error.
    pub async fn lead(&self) -> Result<(), StoreError> {
        loop {
            match self.try_lead().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e @ StoreError::Database { .. }) => {
                    tracing::warn!(error = %e, "could not try the lease; trying again");
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(self.inner.options.lease_poll).await;
        }
    }

    /// Whether this replica holds the lease and may act: within its deadline.
    pub fn is_leading(&self) -> bool {
        self.inner.lease.is_leading()
    }

    /// Gives the lease up (at a graceful stop), so that a stand-by takes over at its next poll
    /// instead of after the lease expires.
    pub async fn release(&self) -> Result<(), StoreError> {
        let lease = &self.inner.lease;
        let Some(epoch) = lease.epoch() else {
            return Ok(());
        };
        lease.lost(epoch);
        let params: [Param; 2] = [(&lease.holder, Type::TEXT), (&epoch, Type::INT8)];
        let sql = &self.inner.sql.release;
        self.call("release the lease", async |c| {
            c.execute_typed(sql, &params).await
        })
        .await
        .map(drop)
    }

    /// The replica holding an unexpired lease, if any.
    pub async fn leader(&self) -> Result<Option<LeaseHolder>, StoreError> {
        let rows = self
            .read("find the lease's holder", &self.inner.sql.holder, &[])
            .await?;
        Ok(rows.first().map(|r| LeaseHolder {
            holder: r.get::<_, Option<String>>(0).unwrap_or_default(),
            epoch: r.get(1),
            expires: r.get(2),
        }))
    }
}
