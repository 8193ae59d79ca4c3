//! The PandaDoc Public API for Rust: the generated [`pandadoc_api`] client made safe to depend
//! on.
//!
//! - **Auth**: API key (`Authorization: API-Key …`), OAuth2 bearer token, or OAuth2 tokens that
//!   refresh themselves ([`OAuthApp`], [`TokenSet`]). Secrets never appear in `Debug`,
//!   `Display`, logs or errors.
//! - **Time ranges**: [`TimeRange`] (last hour by default); both ends are always sent and the
//!   [`Window`] used comes back with the results.
//! - **Errors**: one [`Error`] with a [`ErrorKind`] to match on, the HTTP status, the server's
//!   `type` and `detail`, [`Error::retry_after`] and a bounded snippet of unexpected bodies.
//! - **Retries** of idempotent requests on throttling, 502/503/504, timeouts and connection
//!   errors, with jittered exponential backoff ([`RetryPolicy`]).
//! - **Tracing**: a `pandadoc.request` span per attempt (operation, attempt, status, latency).
//! - **Metrics** (feature `metrics`): requests by outcome, changes recorded; see [`metrics`].
//! - **Sync**: [`sync::OptOutSync`], a gapless, resumable feed of opt-out changes from a
//!   checkpoint, with compare-and-set [`sync::CheckpointStore`]s.
//! - **Ledger**: [`ledger`], a do-not-text list on SQLite (feature `sqlite`) or PostgreSQL
//!   (feature `postgres`), written exactly once per change with the checkpoint.
//!
//! ```no_run
//! use pandadoc_api_ext::{Client, ErrorKind, SmsOptOutStatus, TimeRange};
//!
//! # async fn demo() -> Result<(), pandadoc_api_ext::Error> {
//! let client = Client::builder().api_key(std::env::var("PANDADOC_API_KEY").unwrap_or_default()).build()?;
//! match client.sms_opt_outs(TimeRange::last(chrono::TimeDelta::hours(24))).await {
//!     Ok(page) => {
//!         for change in &page.changes {
//!             if change.status != Some(SmsOptOutStatus::OptIn) {
//!                 println!("do not text {:?} (since {:?})", change.phone_number, change.opt_out_changed);
//!             }
//!         }
//!         println!("window: {}", page.window);
//!     }
//!     Err(e) if e.kind() == ErrorKind::Throttled => println!("try again in {:?}", e.retry_after()),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! Every other operation of the spec is on [`Client::raw`], authenticated.

#![warn(missing_docs)]

mod auth;
mod client;
mod clock;
mod error;
mod json_path;
#[cfg(feature = "sms-opt-outs")]
pub mod ledger;
pub mod metrics;
mod oauth;
mod retry;
#[cfg(feature = "sms-opt-outs")]
mod sms_opt_outs;
#[cfg(feature = "sms-opt-outs")]
pub mod sync;
mod time_range;
mod transport;
mod validation;

pub use auth::RefreshCallback;
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, ResponseValue};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Detail, Error, ErrorKind, Link, SNIPPET_LIMIT};
pub use oauth::{AUTHORIZE_URL, OAuthApp, SCOPE, TOKEN_URL, TokenSet};
pub use retry::RetryPolicy;
#[cfg(feature = "sms-opt-outs")]
pub use sms_opt_outs::{SmsOptOutChange, SmsOptOutStatus, SmsOptOuts, Unreadable};
pub use time_range::{TimeRange, Window};

/// Re-exported so that callers can name the raw client and its types.
pub use pandadoc_api;
/// Re-exported to read a [`TokenSet`]'s secrets (`ExposeSecret`) when storing them.
pub use secrecy;

// The README's usage snippet is compiled, so that it cannot rot (the workspace README's is, by
// the tests crate).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;

/// The `User-Agent` of every request: `pandadoc-api-ext/<version>`.
pub const USER_AGENT: &str = concat!("pandadoc-api-ext/", env!("CARGO_PKG_VERSION"));
