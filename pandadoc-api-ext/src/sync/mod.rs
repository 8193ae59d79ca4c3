//! A gapless, resumable feed of SMS opt-out changes from a checkpoint.
//!
//! `GET /public/v1/sms-opt-outs` answers "the latest change of each number inside a window".
//! [`OptOutSync`] turns that into an at-least-once, ordered feed:
//!
//! - It reads windows from the checkpoint up to `now - lag`, each at most `max_window` long
//!   (overlap included), so a sync that was down for a month catches up in chunks.
//! - Consecutive windows overlap by `overlap`, to catch changes the server wrote late. A change
//!   seen twice (same number, status and `opt_out_changed`) is delivered once within a run.
//! - Each window's changes go to the caller sorted by `opt_out_changed`. The checkpoint moves
//!   (compare-and-set, only forward) after the caller accepted them; empty windows move it too.
//! - Any failure stops the sync with the error, the checkpoint at the last accepted window:
//!   nothing is ever skipped. Deliveries are idempotent by `(phone_number, opt_out_changed)`.
//! - While the caller (or the ledger) takes a window, the next one is requested when it is a
//!   whole window (`max_window` long, ending before `now - lag`): at most one page ahead, taken
//!   by the next step only if the checkpoint then starts it, dropped when a step fails. A
//!   catch-up then waits for the slower of the two, not for both.
//!
//! ```no_run
//! use pandadoc_api_ext::Client;
//! use pandadoc_api_ext::sync::{FileStore, OptOutSync, SyncOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::from_env()?;
//! let start = chrono::Utc::now() - chrono::TimeDelta::hours(1); // used only without a checkpoint
//! let mut sync = OptOutSync::new(client, FileStore::new("opt-outs.json"), start, SyncOptions::default());
//! sync.catch_up(async |batch| {
//!     for change in &batch.changes {
//!         println!("{:?} is now {:?}", change.phone_number, change.status); // store it first
//!     }
//!     Ok::<(), std::io::Error>(()) // an error here stops the sync; the checkpoint stays
//! })
//! .await?;
//! # Ok(()) }
//! ```

mod ahead;
mod store;

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tracing::Instrument;

pub use store::{Checkpoint, CheckpointStore, FileStore, MemoryStore, StoreError};

use crate::{Client, Error, SmsOptOutChange, Window};

/// How a sync reads windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    lag: TimeDelta,
    overlap: TimeDelta,
    max_window: TimeDelta,
    requests_per_minute: Option<u32>,
}

impl Default for SyncOptions {
    /// Lag 30 s, overlap 5 min, windows of at most 24 h, no pacing.
    fn default() -> Self {
        Self {
            lag: TimeDelta::seconds(30),
            overlap: TimeDelta::minutes(5),
            max_window: TimeDelta::hours(24),
            requests_per_minute: None,
        }
    }
}

impl SyncOptions {
    /// How far behind now a window ends, so that the server has written what it reports.
    pub fn lag(mut self, lag: TimeDelta) -> Self {
        self.lag = lag;
        self
    }

    /// How much each window re-reads of the one before, for changes written late.
    pub fn overlap(mut self, overlap: TimeDelta) -> Self {
        self.overlap = overlap;
        self
    }

    /// The longest window a request asks for, overlap included (each request reads
    /// `max_window - overlap` of new time; `overlap` must be shorter).
    pub fn max_window(mut self, max_window: TimeDelta) -> Self {
        self.max_window = max_window;
        self
    }

    /// At most this many requests a minute (sandbox keys allow 10), so that a long catch-up
    /// paces itself instead of running into 429s.
    pub fn requests_per_minute(mut self, limit: u32) -> Self {
        self.requests_per_minute = Some(limit);
        self
    }

    /// Checks the options as the sync does before its first request: an
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error names what is wrong.
    pub fn check(&self) -> Result<(), Error> {
        let second = TimeDelta::seconds(1);
        if self.lag < TimeDelta::zero() || self.overlap < TimeDelta::zero() {
            return Err(Error::invalid_input(
                "sync: lag and overlap cannot be negative",
            ));
        }
        if self.max_window < second || self.max_window - self.overlap < second {
            return Err(Error::invalid_input(
                "sync: max_window must be at least 1 s longer than the overlap",
            ));
        }
        if self.requests_per_minute == Some(0) {
            return Err(Error::invalid_input(
                "sync: requests per minute must be above 0",
            ));
        }
        Ok(())
    }
}

/// One window's changes, handed to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncBatch {
    /// The window read.
    pub window: Window,
    /// Its changes not yet delivered in this run, sorted by `opt_out_changed` (changes without
    /// a time come last).
    pub changes: Vec<SmsOptOutChange>,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowReport {
    /// The window read.
    pub window: Window,
    /// Changes delivered (after dropping those already delivered in this run).
    pub delivered: usize,
    /// How far the new checkpoint is behind now.
    pub behind: TimeDelta,
    /// The window ended at the sync's target (`now - lag`): after it, the store was caught up.
    pub caught_up: bool,
}

/// Why a sync stopped. The checkpoint is at the last window the caller accepted.
#[derive(Debug)]
#[non_exhaustive]
pub enum SyncError {
    /// The request failed (after the client's retries), or the options are invalid.
    Api(Error),
    /// The checkpoint store failed, or another process moved the checkpoint.
    Store(StoreError),
    /// The caller did not accept a batch.
    Rejected(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "checkpoint: {e}"),
            Self::Rejected(e) => write!(f, "the batch was not accepted: {e}"),
        }
    }
}

impl std::error::Error for SyncError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Api(e) => Some(e),
            Self::Store(e) => Some(e),
            Self::Rejected(e) => Some(e.as_ref()),
        }
    }
}

impl From<Error> for SyncError {
    fn from(e: Error) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

type Seen = (Option<String>, String, Option<DateTime<Utc>>);

/// Reads SMS opt-out changes window by window from a checkpoint; see the [module docs](self).
pub struct OptOutSync<S> {
    client: Client,
    store: S,
    start: DateTime<Utc>,
    options: SyncOptions,
    /// What this run delivered, from the current window's start on.
    delivered: HashSet<Seen>,
    last_request: Option<tokio::time::Instant>,
    /// The next window, read while the last one was committed.
    ahead: Option<ahead::Ahead>,
}

impl<S: fmt::Debug> fmt::Debug for OptOutSync<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptOutSync")
            .field("store", &self.store)
            .field("start", &self.start)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S: CheckpointStore> OptOutSync<S> {
    /// A sync of `client`'s opt-outs into `store`. `start` is where the first run begins when
    /// the store holds no checkpoint yet; with a checkpoint it is not used.
    pub fn new(client: Client, store: S, start: DateTime<Utc>, options: SyncOptions) -> Self {
        Self {
            client,
            store,
            start,
            options,
            delivered: HashSet::new(),
            last_request: None,
            ahead: None,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Reads the next window, hands its changes to `deliver` (unless there are none) and moves
    /// the checkpoint to the window's end once `deliver` returned `Ok`. `Ok(None)` when the
    /// checkpoint is already at `now - lag` (caught up).
    pub async fn step<F, E>(&mut self, deliver: F) -> Result<Option<WindowReport>, SyncError>
    where
        F: AsyncFnOnce(SyncBatch) -> Result<(), E>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.step_with(async |store: &S, expected, next, batch| {
            if let Some(batch) = batch {
                deliver(batch)
                    .await
                    .map_err(|e| SyncError::Rejected(e.into()))?;
            }
            store.save(expected.as_ref(), &next).await?;
            Ok(())
        })
        .await
    }

    /// One step: reads the next window and hands it to `commit` with the checkpoint read and
    /// the one to store (`commit` must move it, compare-and-set, once the changes are safe).
    /// The batch is `None` when the window has no change not delivered in this run.
    pub(crate) async fn step_with<C>(
        &mut self,
        commit: C,
    ) -> Result<Option<WindowReport>, SyncError>
    where
        C: AsyncFnOnce(
            &S,
            Option<Checkpoint>,
            Checkpoint,
            Option<SyncBatch>,
        ) -> Result<(), SyncError>,
    {
        self.options.check()?;
        let second = TimeDelta::seconds(1);
        let now = self.client.now();
        let target = (now - self.options.lag)
            .duration_trunc(second)
            .unwrap_or(now);
        let checkpoint = self.store.load().await?;
        let (watermark, from) = match checkpoint {
            Some(c) => (c.watermark, c.watermark - self.options.overlap),
            None => (self.start, self.start),
        };
        if watermark >= target {
            return Ok(None);
        }
        let from = from.duration_trunc(second).unwrap_or(from);
        // The whole request window, overlap included, is at most `max_window`.
        let to = (from + self.options.max_window).min(target);
        let outer = tracing::Span::current();
        let window_span = |from: DateTime<Utc>, to: DateTime<Utc>| {
            tracing::info_span!(
                parent: &outer,
                "pandadoc.sync.window",
                from = %from.to_rfc3339(),
                to = %to.to_rfc3339(),
                changes = tracing::field::Empty,
                attempts = tracing::field::Empty,
                behind_s = (now - to).num_seconds(),
            )
        };
        let ahead = ahead::Ahead::take_if(&mut self.ahead, from, to);
        let span = ahead
            .as_ref()
            .map_or_else(|| window_span(from, to), |a| a.span.clone());
        async {
            let page = match ahead {
                Some(ahead) => ahead.page?,
                None => {
                    let (client, options) = (&self.client, &self.options);
                    ahead::fetch(client, &mut self.last_request, options, from, to).await?
                }
            };
            let mut changes = page.changes;
            // Stable: the server's order among equal times; changes without a time last.
            changes.sort_by_key(|c| (c.opt_out_changed.is_none(), c.opt_out_changed));
            // Drop what this run delivered already (and repeats within the page); remember the
            // rest only once the caller has accepted it.
            let mut fresh = HashSet::new();
            changes.retain(|c| {
                let key = seen(c);
                !self.delivered.contains(&key) && fresh.insert(key)
            });
            tracing::Span::current().record("changes", changes.len());
            let delivered = changes.len();
            let batch = (!changes.is_empty()).then_some(SyncBatch {
                window: page.window,
                changes,
            });
            let next = Checkpoint { watermark: to };
            // Only changes of the next window can come again.
            let next_from = to - self.options.overlap;
            let committing = commit(&self.store, checkpoint, next, batch);
            // The next window, when it is a whole one, is read while this one is committed.
            let next_from_s = next_from.duration_trunc(second).unwrap_or(next_from);
            let next_to = next_from_s + self.options.max_window;
            if next_to < target {
                let read = ahead::fetch_in(
                    window_span(next_from_s, next_to),
                    &self.client,
                    &mut self.last_request,
                    &self.options,
                    next_from_s,
                    next_to,
                );
                let ((), read) = ahead::alongside(committing, read).await?;
                self.ahead = Some(read);
            } else {
                committing.await?;
            }
            self.delivered.extend(fresh);
            self.delivered
                .retain(|(_, _, at)| at.is_none_or(|at| at >= next_from));
            Ok(Some(WindowReport {
                window: page.window,
                delivered,
                behind: now - to,
                caught_up: to == target,
            }))
        }
        .instrument(span)
        .await
    }

    /// Steps until caught up (`now - lag`), calling `deliver` for every non-empty window.
    /// Returns the number of windows read.
    pub async fn catch_up<F, E>(&mut self, mut deliver: F) -> Result<usize, SyncError>
    where
        F: AsyncFnMut(SyncBatch) -> Result<(), E>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut windows = 0;
        while self
            .step(async |batch| deliver(batch).await)
            .await?
            .is_some()
        {
            windows += 1;
        }
        Ok(windows)
    }
}

fn seen(change: &SmsOptOutChange) -> Seen {
    (
        change.phone_number.clone(),
        change
            .status
            .as_ref()
            .map_or_else(String::new, |s| s.as_str().to_string()),
        change.opt_out_changed,
    )
}
