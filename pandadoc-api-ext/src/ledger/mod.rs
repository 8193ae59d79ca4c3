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

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod any;
mod batch;
mod phone;
#[cfg(feature = "postgres")]
mod postgres;
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "postgres")]
mod tls;

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use any::{Access, AnyLedger, LedgerUrl, open};
pub use batch::HELD;
pub use phone::canonical_phone;
#[cfg(feature = "postgres")]
pub use postgres::{LeaseHolder, PostgresLedger, PostgresOptions};
pub use sql::SCHEMA_VERSION;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteLedger;

use crate::SmsOptOutChange;
use crate::SmsOptOutStatus;
use crate::sync::{
    Checkpoint, CheckpointStore, OptOutSync, StoreError, SyncBatch, SyncError, WindowReport,
};

/// A number's status as the ledger holds it: its latest change (from [`Ledger::entry`]), or one
/// change of its history (from [`Ledger::history`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// The number, canonical E.164.
    pub phone_number: String,
    /// Its status.
    pub status: SmsOptOutStatus,
    /// When the status changed (PandaDoc's `opt_out_changed`).
    pub opt_out_changed: DateTime<Utc>,
    /// When the ledger recorded this change (first received it).
    pub recorded: DateTime<Utc>,
}

impl LedgerEntry {
    /// Whether the status allows texting: opt-in only (an unknown status does not).
    pub fn may_text(&self) -> bool {
        self.status == SmsOptOutStatus::OptIn
    }
}

/// The answer to "may I text this number?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Textability {
    /// The number opted out, or has a status this program does not know: do not text.
    OptedOut(LedgerEntry),
    /// The number's latest change is an opt-in.
    OptedIn(LedgerEntry),
    /// No change of the number was ever received (PandaDoc reports numbers that changed).
    NeverSeen,
    /// The sync last confirmed it was caught up longer ago than the bound given, by the
    /// database's clock (or never did): it has stopped or fallen behind, so any answer may be
    /// out of date. What the ledger holds is given anyway.
    Stale {
        /// The checkpoint, `None` before the first window.
        checkpoint: Option<DateTime<Utc>>,
        /// When the sync last confirmed it was caught up (the database's clock).
        caught_up: Option<DateTime<Utc>>,
        /// The number's entry, if any.
        entry: Option<LedgerEntry>,
    },
}

impl Textability {
    /// `true` for [`Self::OptedIn`] and [`Self::NeverSeen`] only.
    pub fn may_text(&self) -> bool {
        matches!(self, Self::OptedIn(_) | Self::NeverSeen)
    }

    /// The verdict's stable name: `opted-out`, `opted-in`, `never-seen` or `stale` (as
    /// `pandadoc-opt-outs check` and `serve` say it).
    pub fn verdict(&self) -> &'static str {
        match self {
            Self::OptedOut(_) => "opted-out",
            Self::OptedIn(_) => "opted-in",
            Self::NeverSeen => "never-seen",
            Self::Stale { .. } => "stale",
        }
    }

    /// The number's entry, whatever the verdict (`None` if never seen).
    pub fn entry(&self) -> Option<&LedgerEntry> {
        match self {
            Self::OptedOut(e) | Self::OptedIn(e) => Some(e),
            Self::NeverSeen => None,
            Self::Stale { entry, .. } => entry.as_ref(),
        }
    }

    /// The answer from an entry, the checkpoint and when the sync last confirmed it was caught
    /// up, at `now` (the same clock as `caught_up`).
    pub(crate) fn decide(
        entry: Option<LedgerEntry>,
        checkpoint: Option<DateTime<Utc>>,
        caught_up: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        max_staleness: TimeDelta,
    ) -> Self {
        let freshness = Freshness {
            checkpoint,
            caught_up,
            as_of: now,
        };
        if freshness.is_stale(max_staleness) {
            return Self::Stale {
                checkpoint,
                caught_up,
                entry,
            };
        }
        match entry {
            None => Self::NeverSeen,
            Some(e) if e.may_text() => Self::OptedIn(e),
            Some(e) => Self::OptedOut(e),
        }
    }
}

/// How current a ledger is, by the database's clock ([`Ledger::freshness`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Freshness {
    /// The sync's checkpoint, `None` before its first window.
    pub checkpoint: Option<DateTime<Utc>>,
    /// When the sync last confirmed it was caught up, `None` if it never did.
    pub caught_up: Option<DateTime<Utc>>,
    /// The database's clock when these were read.
    pub as_of: DateTime<Utc>,
}

impl Freshness {
    /// Whether the ledger's answers are stale: no checkpoint yet, or the sync last confirmed
    /// it was caught up more than `max_staleness` before [`Self::as_of`] (or never did). The
    /// one rule behind [`Textability::Stale`].
    pub fn is_stale(&self, max_staleness: TimeDelta) -> bool {
        self.checkpoint.is_none()
            || self
                .caught_up
                .is_none_or(|c| c < self.as_of - max_staleness)
    }

    /// How far the checkpoint is behind [`Self::as_of`]: what the list may be missing at most
    /// (`None` before the first window).
    pub fn lag(&self) -> Option<TimeDelta> {
        self.checkpoint.map(|c| self.as_of - c)
    }
}

/// A change set aside: the ledger could not apply it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetAside {
    /// The change as received, in JSON (`null` or absent where the API sent no value).
    pub record: String,
    /// Why it could not be applied.
    pub reason: String,
    /// Its number, canonical, when it could be read: that number is held as opted out.
    pub phone_number: Option<String>,
    /// When the ledger first received it.
    pub received: DateTime<Utc>,
}

/// What a ledger holds, in brief.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerStats {
    /// The sync's checkpoint.
    pub checkpoint: Option<DateTime<Utc>>,
    /// When the sync last confirmed it was caught up (the database's clock).
    pub caught_up: Option<DateTime<Utc>>,
    /// The database's clock when these figures were read.
    pub as_of: DateTime<Utc>,
    /// Numbers by status (`opt-in`, `opt-out`, or an unknown status's text).
    pub numbers_by_status: BTreeMap<String, u64>,
    /// Changes in the history.
    pub history: u64,
    /// Changes set aside ([`Ledger::set_aside`]).
    pub set_aside: u64,
    /// The schema version of the database.
    pub schema_version: i64,
}

/// What one [`Ledger::apply`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Numbers whose entry was created or replaced by a newer change.
    pub updated: u64,
    /// Changes appended to the history (repeats are not).
    pub recorded: u64,
    /// Changes set aside for the first time (repeats are not).
    pub set_aside: u64,
}

/// Where a ledger's tables live: their names start with `prefix` (default `pandadoc_`), and
/// on PostgreSQL they are in `schema` (default `public`). Both must be SQL identifiers
/// (ASCII letters, digits, `_`, not starting with a digit, at most 40 bytes), so that no
/// configuration value can inject SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerOptions {
    prefix: String,
    schema: String,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            prefix: "pandadoc_".into(),
            schema: "public".into(),
        }
    }
}

impl LedgerOptions {
    /// Tables named `<prefix>sms_numbers`, `<prefix>sms_history`, ...
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The PostgreSQL schema (created if missing); SQLite has none and ignores it.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The checked names of the tables, `schema.` included where `qualified`.
    pub(crate) fn tables(&self, qualified: bool) -> Result<Tables, StoreError> {
        identifier("table prefix", &self.prefix, true)?;
        identifier("schema", &self.schema, false)?;
        let at = |name: &str| {
            if qualified {
                format!("\"{}\".\"{}{name}\"", self.schema, self.prefix)
            } else {
                format!("\"{}{name}\"", self.prefix)
            }
        };
        Ok(Tables {
            meta: at("sms_meta"),
            numbers: at("sms_numbers"),
            history: at("sms_history"),
            checkpoint: at("sms_checkpoint"),
            rejected: at("sms_rejected"),
            lease: at("sms_lease"),
            schema: format!("\"{}\"", self.schema),
            lease_key: lease_key(&format!("{}.{}", self.schema, self.prefix)),
        })
    }
}

/// Quoted table names, ready to be put into SQL.
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    pub meta: String,
    pub numbers: String,
    pub history: String,
    pub checkpoint: String,
    pub rejected: String,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub lease: String,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub schema: String,
    /// The PostgreSQL advisory-lock key that serializes this ledger's schema changes.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub lease_key: i64,
}

fn identifier(what: &str, value: &str, may_be_empty: bool) -> Result<(), StoreError> {
    let ok = value.len() <= 40
        && (may_be_empty || !value.is_empty())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !value.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput {
            message: format!(
                "the ledger {what} {value:?} is not an SQL identifier (letters, digits and _, \
                 not starting with a digit, at most 40)"
            ),
        })
    }
}

/// FNV-1a: a stable 64-bit key from the ledger's name (the same on every replica and release).
fn lease_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "pandadoc-ledger:".bytes().chain(name.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

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

    /// [`textability`](Self::textability) of each of `phones`, in their order: the inner error
    /// is a number's own (it cannot be read), the outer one the ledger's. PostgreSQL answers a
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_configuration_value_reaches_sql_unchecked() {
        assert!(LedgerOptions::default().tables(true).is_ok());
        assert!(LedgerOptions::default().prefix("").tables(false).is_ok());
        for bad in ["x\"; DROP TABLE t; --", "a b", "1abc", "é", &"a".repeat(41)] {
            let err = LedgerOptions::default()
                .prefix(bad)
                .tables(false)
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidInput { .. }), "{bad}");
            assert!(
                LedgerOptions::default().schema(bad).tables(true).is_err(),
                "{bad}"
            );
        }
        assert!(LedgerOptions::default().schema("").tables(true).is_err());
    }

    #[test]
    fn a_stale_ledger_says_so_whatever_it_holds() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let entry = |status| LedgerEntry {
            phone_number: "+14155550100".into(),
            status,
            opt_out_changed: now,
            recorded: now,
        };
        let fresh = Some(now - TimeDelta::minutes(1));
        let bound = TimeDelta::minutes(15);
        use SmsOptOutStatus::*;
        assert!(matches!(
            Textability::decide(Some(entry(OptOut)), fresh, fresh, now, bound),
            Textability::OptedOut(_)
        ));
        assert!(matches!(
            Textability::decide(Some(entry(Unknown("x".into()))), fresh, fresh, now, bound),
            Textability::OptedOut(_)
        ));
        assert!(Textability::decide(Some(entry(OptIn)), fresh, fresh, now, bound).may_text());
        assert!(Textability::decide(None, fresh, fresh, now, bound).may_text());
        let stale =
            Textability::decide(Some(entry(OptIn)), fresh, Some(now - bound * 2), now, bound);
        assert!(matches!(stale, Textability::Stale { entry: Some(_), .. }));
        assert!(!stale.may_text());
        assert!(!Textability::decide(None, None, None, now, bound).may_text());
        // A checkpoint that moved recently is not enough: the sync must have caught up.
        assert!(!Textability::decide(None, fresh, None, now, bound).may_text());
        assert!(matches!(
            Textability::decide(Some(entry(Unknown(HELD.into()))), fresh, fresh, now, bound),
            Textability::OptedOut(_)
        ));
    }
}
