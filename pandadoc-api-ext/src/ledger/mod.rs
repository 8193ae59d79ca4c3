//! A do-not-text ledger: the latest SMS status of every phone number, the history of every
//! change received, and the sync's checkpoint, in one database.
//!
//! The [sync](crate::sync) delivers each change at least once, in windows that overlap. A
//! ledger makes its effect exactly-once:
//!
//! - [`Ledger::apply`] writes a window in **one transaction**: each number is upserted only
//!   where the change is newer than the stored one, every distinct change is appended to the
//!   history (a repeat adds nothing), and the checkpoint moves by compare-and-set. A crash at
//!   any instant leaves all three as they were or all three new.
//! - **Ordering rule**: a change replaces the stored one only if its `opt_out_changed` is
//!   later. On equal times the more restrictive status wins: opt-out, then a status this
//!   program does not know, then opt-in. So replays and overlaps, in any order, leave the same
//!   ledger as the latest change of each number alone.
//! - **One bad record never stops the list.** A change the ledger cannot apply (no number, a
//!   number that is not E.164, no status, no time: the API makes every field optional) is set
//!   aside, as received, with its reason ([`Ledger::set_aside`]), and the rest of its window
//!   applies. Where its number can be read, that number is **held**: its status becomes
//!   `held` (an unknown status, so opted out) at the change's time, or at the window's end
//!   when the change has none, and it wins every tie; only a later well-formed change replaces
//!   it.
//! - **Look-ups** are local: [`Ledger::textability`] answers "may I text this number?" from
//!   the database, and says [`Textability::Stale`] when the sync has not confirmed it was
//!   caught up within the bound you give, both times by the **database's clock** (the syncing
//!   and the checking machines' clocks never meet).
//!
//! Backends, each behind a Cargo feature: `SqliteLedger` (feature `sqlite`: one file, one
//! machine) and `PostgresLedger` (feature `postgres`: replicas, one of which polls at a time).
//! `open` takes either by URL (`sqlite:PATH`, `postgres://...`, see `LedgerUrl`) and gives an
//! `AnyLedger`, as the `pandadoc-opt-outs` program does.
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pandadoc_api_ext::Client;
//! use pandadoc_api_ext::ledger::{self, Ledger, LedgerOptions, Textability};
//! use pandadoc_api_ext::sync::{OptOutSync, SyncOptions};
//!
//! let ledger = ledger::open("sqlite:opt-outs.db", &LedgerOptions::default()).await?;
//! let start = chrono::Utc::now() - chrono::TimeDelta::days(30); // used only without a checkpoint
//! let mut sync = OptOutSync::new(Client::from_env()?, ledger.clone(), start, SyncOptions::default());
//! sync.catch_up_into_ledger(async |_batch| Ok::<(), std::io::Error>(())).await?;
//!
//! match ledger.textability("+1 415 555 0100", chrono::TimeDelta::minutes(15)).await? {
//!     Textability::OptedIn(_) | Textability::NeverSeen => println!("may text"),
//!     Textability::OptedOut(entry) => println!("do not text: {} since {}", entry.status, entry.opt_out_changed),
//!     Textability::Stale { checkpoint, .. } => println!("the ledger is stale (checkpoint {checkpoint:?})"),
//! }
//! # Ok(()) }
//! ```

// Without a backend, the plumbing they share (batches, table names) has no user.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

mod answers;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod any;
mod batch;
mod into_ledger;
mod options;
mod phone;
#[cfg(feature = "postgres")]
mod postgres;
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "postgres")]
mod tls;

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};

pub use answers::{Applied, Freshness, LedgerEntry, LedgerStats, SetAside, Textability};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use any::{Access, AnyLedger, LedgerUrl, open};
pub use batch::HELD;
pub use options::LedgerOptions;
pub(crate) use options::Tables;
pub use phone::canonical_phone;
#[cfg(feature = "postgres")]
pub use postgres::{LeaseHolder, PostgresLedger, PostgresOptions};
pub use sql::SCHEMA_VERSION;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteLedger;

use crate::SmsOptOutChange;
use crate::sync::{Checkpoint, CheckpointStore, StoreError};

/// A do-not-text ledger; see the [module docs](self). It is the sync's checkpoint store, and a
/// handle: clones share the database (the sync watches the lease through one while it writes
/// through another).
pub trait Ledger: CheckpointStore + Clone {
    /// Records `changes` (read in a window that ends at `new`) and moves the checkpoint from
    /// `expected` to `new`, in one transaction. [`StoreError::Conflict`] when the checkpoint is
    /// not `expected` (another replica moved it): nothing is written. A change that cannot be
    /// applied is set aside, and its number held where it can be read (see the
    /// [module docs](self)); the rest applies.
    fn apply(
        &self,
        changes: &[SmsOptOutChange],
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// The latest status of `phone` (any usual formatting of an E.164 number).
    fn entry(
        &self,
        phone: &str,
    ) -> impl Future<Output = Result<Option<LedgerEntry>, StoreError>> + Send;

    /// Records that the sync was caught up at `watermark` (its target, `now - lag`), at the
    /// database's now; nothing when the checkpoint is elsewhere. The sync calls it; staleness
    /// is judged by it. The default does nothing (a ledger without a clock of its own).
    fn confirm_caught_up(
        &self,
        watermark: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = watermark;
        async { Ok(()) }
    }

    /// Whether this replica may call PandaDoc now: a PostgreSQL leader past its lease's deadline
    /// (or that lost it) may not ([`StoreError::LeaseLost`]); the sync asks before each window.
    /// The default always may.
    fn may_poll(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Resolves, with the reason, once this replica may no longer call PandaDoc: the sync drops
    /// a window under way then (a retry may wait long after a 429), so a leader never acts past
    /// its deadline. The default never resolves.
    fn lease_lost(&self) -> impl Future<Output = StoreError> + Send {
        std::future::pending()
    }

    /// May `phone` be texted? [`Textability::Stale`] when the sync last confirmed it was
    /// caught up more than `max_staleness` ago, by the database's clock. The default, for a
    /// ledger without a clock of its own, takes the checkpoint for that time and this machine's
    /// clock for now.
    fn textability(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> impl Future<Output = Result<Textability, StoreError>> + Send {
        async move {
            let entry = self.entry(phone).await?;
            let checkpoint = self.load().await?.map(|c| c.watermark);
            Ok(Textability::decide(
                entry,
                checkpoint,
                checkpoint,
                Utc::now(),
                max_staleness,
            ))
        }
    }

    /// [`textability`](Self::textability) of each of `phones`: exactly one answer per number,
    /// in their order (callers pair them by position; `AnyLedger` fails rather than hand on
    /// fewer). The inner error is a number's own (it cannot be read), the outer one the
    /// ledger's. PostgreSQL answers a
    /// whole batch in one statement, judged against one reading of its freshness; the default
    /// (SQLite, in-process) looks the numbers up one by one.
    fn textabilities(
        &self,
        phones: &[&str],
        max_staleness: TimeDelta,
    ) -> impl Future<Output = Result<Vec<Result<Textability, StoreError>>, StoreError>> + Send {
        async move {
            let mut answers = Vec::with_capacity(phones.len());
            for phone in phones {
                answers.push(match canonical_phone(phone) {
                    Ok(phone) => Ok(self.textability(&phone, max_staleness).await?),
                    Err(e) => Err(e),
                });
            }
            Ok(answers)
        }
    }

    /// How current the ledger is, by the database's clock: one cheap read, for a readiness
    /// probe. The default, for a ledger without a clock of its own, takes the checkpoint for
    /// the time the sync was last caught up and this machine's clock for now.
    fn freshness(&self) -> impl Future<Output = Result<Freshness, StoreError>> + Send {
        async move {
            let checkpoint = self.load().await?.map(|c| c.watermark);
            Ok(Freshness {
                checkpoint,
                caught_up: checkpoint,
                as_of: Utc::now(),
            })
        }
    }

    /// Up to `limit` entries with numbers after `after`, in number order (a stable order: page
    /// through the whole list by passing the last number back). Only opted-out ones (every
    /// status but opt-in) when `only_opted_out`.
    fn entries(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;

    /// Every change of `phone` received, oldest first. The history is kept in time order (so
    /// that a window's changes append), so this reads all of it: for audits, not per message.
    fn history(
        &self,
        phone: &str,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;

    /// Up to `limit` changes set aside, after the record `after`, in record order (page through
    /// them all by passing the last record back).
    fn set_aside(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<SetAside>, StoreError>> + Send;

    /// The checkpoint, when last caught up, counts, and schema version.
    fn stats(&self) -> impl Future<Output = Result<LedgerStats, StoreError>> + Send;
}
