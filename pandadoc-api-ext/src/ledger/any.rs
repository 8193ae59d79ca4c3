//! A ledger named by a URL, whichever backend it is: what the program opens, and what a library
//! user configured with the same `sqlite:` / `postgres://` URLs opens.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};

#[cfg(feature = "sqlite")]
use super::SqliteLedger;
use super::{
    Applied, Freshness, Ledger, LedgerEntry, LedgerOptions, LedgerStats, SetAside, Textability,
};
#[cfg(feature = "postgres")]
use super::{PostgresLedger, PostgresOptions};
use crate::SmsOptOutChange;
use crate::sync::{Checkpoint, CheckpointStore, StoreError};

/// Where a ledger is: `sqlite:PATH` (or `sqlite://PATH`) for a file, or
/// `postgres://user:password@host:port/dbname` (or `postgresql://`, with libpq's parameters
/// such as `?sslmode=require`) for a server.
///
/// Parsing checks the form and touches nothing. `Display` and `Debug` show the location
/// without the password, so a parsed URL can be logged.
///
/// ```
/// use pandadoc_api_ext::ledger::LedgerUrl;
///
/// let url: LedgerUrl = "postgres://optouts:s3cret@db:5432/optouts".parse()?;
/// assert_eq!(url.to_string(), "postgres://optouts@db:5432/optouts");
/// assert!(format!("{url:?}").find("s3cret").is_none());
/// let file: LedgerUrl = "sqlite:/var/lib/opt-outs.db".parse()?;
/// assert_eq!(file.sqlite_path(), Some(std::path::Path::new("/var/lib/opt-outs.db")));
/// # Ok::<(), pandadoc_api_ext::sync::StoreError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LedgerUrl(Target);

#[derive(Clone, PartialEq, Eq)]
enum Target {
    Sqlite(PathBuf),
    /// The URL as given (with its password) and where it points (without).
    Postgres {
        url: String,
        location: String,
    },
}

impl LedgerUrl {
    /// Parses `text`; [`StoreError::InvalidInput`] names what is wrong (never the password).
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let invalid = |message: String| StoreError::InvalidInput { message };
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(invalid(
                    "the ledger URL sqlite: needs a path, like sqlite:/var/lib/opt-outs.db".into(),
                ));
            }
            return Ok(Self(Target::Sqlite(PathBuf::from(path))));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self(Target::Postgres {
                location: postgres_location(text)?,
                url: text.to_string(),
            }));
        }
        Err(invalid(
            "the ledger URL is sqlite:PATH or postgres://user@host/dbname".into(),
        ))
    }

    /// The file of a `sqlite:` URL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.0 {
            Target::Sqlite(path) => Some(path),
            Target::Postgres { .. } => None,
        }
    }

    /// Opens the ledger to write (creating its file, schema and tables if need be, and
    /// bringing an older schema to this version), with PostgreSQL's default
    /// [`PostgresOptions`](super::PostgresOptions).
    pub async fn open(&self, options: &LedgerOptions) -> Result<AnyLedger, StoreError> {
        self.open_as(options, Access::Write, &Default::default())
            .await
    }

    /// Opens the ledger to look numbers up: nothing is created, written or locked (see
    /// `SqliteLedger::open_read_only`, `PostgresLedger::connect_read_only`). A missing ledger
    /// is [`StoreError::NoLedger`].
    pub async fn open_read_only(&self, options: &LedgerOptions) -> Result<AnyLedger, StoreError> {
        self.open_as(options, Access::Read, &Default::default())
            .await
    }

    /// [`open`](Self::open) or, with `Access::Read`, [`open_read_only`](Self::open_read_only),
    /// with these options for a PostgreSQL ledger (a SQLite one ignores them).
    #[cfg(feature = "postgres")]
    pub async fn open_with(
        &self,
        options: &LedgerOptions,
        access: Access,
        postgres: &PostgresOptions,
    ) -> Result<AnyLedger, StoreError> {
        self.open_as(options, access, postgres).await
    }

    async fn open_as(
        &self,
        options: &LedgerOptions,
        access: Access,
        postgres: &PostgresSettings,
    ) -> Result<AnyLedger, StoreError> {
        match &self.0 {
            Target::Sqlite(path) => open_sqlite(path, options, access).await,
            #[cfg(feature = "postgres")]
            Target::Postgres { url, .. } => match access {
                Access::Write => PostgresLedger::connect(url, options, postgres).await,
                Access::Read => PostgresLedger::connect_read_only(url, options, postgres).await,
            }
            .map(AnyLedger::Postgres),
            #[cfg(not(feature = "postgres"))]
            Target::Postgres { .. } => {
                let _ = (postgres, access);
                Err(not_built("postgres"))
            }
        }
    }
}

/// How a ledger is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// To write: created or upgraded if need be (the sync).
    Write,
    /// To look up only: nothing created, written or locked.
    Read,
}

#[cfg(feature = "postgres")]
type PostgresSettings = PostgresOptions;
/// Without PostgreSQL there is nothing to set.
#[cfg(not(feature = "postgres"))]
type PostgresSettings = ();

#[cfg(feature = "sqlite")]
async fn open_sqlite(
    path: &Path,
    options: &LedgerOptions,
    access: Access,
) -> Result<AnyLedger, StoreError> {
    let (path, options) = (path.to_path_buf(), options.clone());
    let location = path.display().to_string();
    tokio::task::spawn_blocking(move || match access {
        Access::Write => SqliteLedger::open(path, &options),
        Access::Read => SqliteLedger::open_read_only(path, &options),
    })
    .await
    .map_err(|e| StoreError::Io {
        location,
        source: std::io::Error::other(e),
    })?
    .map(AnyLedger::Sqlite)
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_: &Path, _: &LedgerOptions, _: Access) -> Result<AnyLedger, StoreError> {
    Err(not_built("sqlite"))
}

#[cfg_attr(all(feature = "sqlite", feature = "postgres"), allow(dead_code))]
fn not_built(feature: &str) -> StoreError {
    StoreError::InvalidInput {
        message: format!("this build has no {feature} ledger (Cargo feature `{feature}`)"),
    }
}

#[cfg(feature = "postgres")]
fn postgres_location(url: &str) -> Result<String, StoreError> {
    super::postgres::location_of(url)
}

/// Without the driver: the URL's password is cut out by hand, and opening it says why not.
#[cfg(not(feature = "postgres"))]
fn postgres_location(url: &str) -> Result<String, StoreError> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    Ok(match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(user, _)| user);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    })
}

impl FromStr for LedgerUrl {
    type Err = StoreError;
    fn from_str(text: &str) -> Result<Self, StoreError> {
        Self::parse(text)
    }
}

impl fmt::Display for LedgerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Target::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Target::Postgres { location, .. } => f.write_str(location),
        }
    }
}

impl fmt::Debug for LedgerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LedgerUrl({self})")
    }
}

/// Opens the ledger at `url` (see [`LedgerUrl`]): `ledger::open("sqlite:opt-outs.db", ...)`.
pub async fn open(url: &str, options: &LedgerOptions) -> Result<AnyLedger, StoreError> {
    LedgerUrl::parse(url)?.open(options).await
}

/// A ledger of either backend, as [`LedgerUrl::open`] opens it. It is a [`Ledger`] (so the sync
/// runs on it) and each backend's own methods are a `match` away.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyLedger {
    /// A SQLite file.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteLedger),
    /// A PostgreSQL database, shared by replicas.
    #[cfg(feature = "postgres")]
    Postgres(PostgresLedger),
}

/// `$body` with `$l` bound to whichever ledger `$ledger` is.
macro_rules! each {
    ($ledger:expr, $l:ident => $body:expr) => {
        match $ledger {
            #[cfg(feature = "sqlite")]
            AnyLedger::Sqlite($l) => $body,
            #[cfg(feature = "postgres")]
            AnyLedger::Postgres($l) => $body,
        }
    };
}

impl AnyLedger {
    /// Where it is, never with a password: a file's path, or `postgres://user@host:port/db`.
    pub fn location(&self) -> String {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(l) => l.path().display().to_string(),
            #[cfg(feature = "postgres")]
            Self::Postgres(l) => l.location().to_string(),
        }
    }
}

impl CheckpointStore for AnyLedger {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        each!(self, l => l.load().await)
    }

    async fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<(), StoreError> {
        each!(self, l => l.save(expected, new).await)
    }
}

impl Ledger for AnyLedger {
    async fn apply(
        &self,
        changes: &[SmsOptOutChange],
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        each!(self, l => l.apply(changes, expected, new).await)
    }

    async fn entry(&self, phone: &str) -> Result<Option<LedgerEntry>, StoreError> {
        each!(self, l => l.entry(phone).await)
    }

    async fn textability(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> Result<Textability, StoreError> {
        each!(self, l => l.textability(phone, max_staleness).await)
    }

    async fn textabilities(
        &self,
        phones: &[&str],
        max_staleness: TimeDelta,
    ) -> Result<Vec<Result<Textability, StoreError>>, StoreError> {
        let answers = each!(self, l => l.textabilities(phones, max_staleness).await)?;
        // Callers pair answers with numbers by position: a missing one would shift every
        // answer after it onto the wrong number. The backends answer each number by
        // construction; this is where a broken promise becomes an error instead.
        if answers.len() != phones.len() {
            return Err(StoreError::Database {
                location: self.location(),
                operation: "look numbers up".into(),
                source: format!("{} answers for {} numbers", answers.len(), phones.len()).into(),
            });
        }
        Ok(answers)
    }

    async fn freshness(&self) -> Result<Freshness, StoreError> {
        each!(self, l => l.freshness().await)
    }

    async fn entries(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        each!(self, l => l.entries(after, limit, only_opted_out).await)
    }

    async fn history(&self, phone: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        each!(self, l => l.history(phone).await)
    }

    async fn confirm_caught_up(&self, watermark: DateTime<Utc>) -> Result<(), StoreError> {
        each!(self, l => l.confirm_caught_up(watermark).await)
    }

    fn may_poll(&self) -> Result<(), StoreError> {
        each!(self, l => l.may_poll())
    }

    async fn lease_lost(&self) -> StoreError {
        each!(self, l => l.lease_lost().await)
    }

    async fn set_aside(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetAside>, StoreError> {
        each!(self, l => l.set_aside(after, limit).await)
    }

    async fn stats(&self) -> Result<LedgerStats, StoreError> {
        each!(self, l => l.stats().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_without_showing_their_password() {
        let pg = LedgerUrl::parse("postgresql://u:pw%20x@h:6432/d?sslmode=require").unwrap();
        for shown in [pg.to_string(), format!("{pg:?}")] {
            assert!(!shown.contains("pw"), "{shown}");
            assert!(shown.contains("u@h:6432/d"), "{shown}");
        }
        assert_eq!(pg.sqlite_path(), None);
        let file = LedgerUrl::parse("sqlite://rel/l.db").unwrap();
        assert_eq!(file.sqlite_path(), Some(Path::new("rel/l.db")));
        for bad in ["sqlite:", "mysql://h/d", "opt-outs.db", ""] {
            let err = LedgerUrl::parse(bad).unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidInput { .. }),
                "{bad}: {err}"
            );
        }
    }
}
