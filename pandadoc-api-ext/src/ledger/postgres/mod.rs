//! The ledger on PostgreSQL (feature `postgres`): shared by replicas, one of which polls.
//!
//! This file holds the ledger, its options and how it reaches the database; `leader` its
//! lease, `store` its writes and reads ([`Ledger`](super::Ledger)), `statements` its SQL,
//! `schema` its creation and migration, `connect` the pool and TLS, `lookups` the batch of
//! look-ups.

mod connect;
mod leader;
mod lease;
mod lookups;
mod options;
mod schema;
mod statements;
mod store;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use self::connect::{configure, database, on_connection, pool};
use self::lease::Lease;
use self::schema::create_schema;
use self::statements::Sql;
use super::sql;
use super::{LedgerOptions, Tables};
use crate::sync::StoreError;

pub(crate) use self::connect::location_of;
pub use self::options::PostgresOptions;

/// The replica that holds a ledger's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseHolder {
    /// Its name: its `application_name` and a random suffix.
    pub holder: String,
    /// The lease's epoch: it grows at every takeover (the fencing token).
    pub epoch: i64,
    /// When the lease expires unless renewed (the database's clock).
    pub expires: DateTime<Utc>,
}

/// A ledger on PostgreSQL; replicas of a service share one.
///
/// - **Lease**: [`lead`](Self::lead) waits until this replica holds the ledger's leader lease,
///   so that one replica at a time polls PandaDoc. The lease is a row with an epoch and an
///   expiry by the database's clock, renewed by the leader every `lease_ttl / 3`. A leader
///   that has not renewed within `2 lease_ttl / 3` (its own monotonic clock) stops acting
///   before its lease can expire on the server; a stand-by takes over within
///   `lease_ttl + lease_poll` of the leader's last renewal, whether it died, froze or was cut
///   off. Every write checks its epoch in its own transaction ([`StoreError::LeaseLost`]
///   otherwise, nothing written), so a leader that wakes up after a takeover writes nothing.
///   A replica that never called `lead` writes under the checkpoint's compare-and-set alone.
/// - **Writes** are set-based: one statement for the history, one for the numbers and one for
///   what is set aside per batch (`unnest` arrays, `ON CONFLICT ... WHERE` newer), in one
///   transaction with the checkpoint.
/// - **Connections**: a small pool that replaces a connection the server closed (a restart,
///   a failover), a bound on every call, and nothing that needs session state, so it works
///   through PgBouncer in transaction pooling (see the `connect` module's docs).
/// - **TLS** with rustls, as libpq's `sslmode` means it: `disable`, `prefer` (the default:
///   TLS when the server has it), `require`, `verify-ca` and `verify-full`, with `sslrootcert`
///   a PEM file of roots or `system`.
/// - The URL's password never appears in `Debug`, `Display` or errors.
#[derive(Clone)]
pub struct PostgresLedger {
    inner: Arc<Inner>,
}

struct Inner {
    location: String,
    tables: Tables,
    options: PostgresOptions,
    pool: Pool,
    sql: Sql,
    read_only: bool,
    lease: Lease,
}

impl fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLedger")
            .field("location", &self.inner.location)
            .field("tables", &self.inner.tables.numbers)
            .field("read_only", &self.inner.read_only)
            .finish_non_exhaustive()
    }
}

/// A query parameter and its type (`query_typed` sends both in one round trip).
type Param<'a> = (&'a (dyn ToSql + Sync), Type);

impl PostgresLedger {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`, with
    /// libpq's `sslmode` and `sslrootcert`), and creates the ledger's schema or brings it to
    /// this version.
    pub async fn connect(
        url: &str,
        options: &LedgerOptions,
        postgres: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        let ledger = Self::open(url, options, postgres, false)?;
        let t = ledger.inner.tables.clone();
        let location = ledger.inner.location.clone();
        let idle = postgres.idle_in_transaction();
        ledger
            .call("create the schema", async |client| {
                create_schema(client, &t, &location, idle).await
            })
            .await??;
        Ok(ledger)
    }

    /// Connects to look numbers up: nothing is created, written or locked, so a role with only
    /// `SELECT` on the ledger's tables (and `USAGE` on their schema) suffices. A missing schema
    /// or table is [`StoreError::NoLedger`]; a schema of another version than this program's
    /// is refused (a sync upgrades an older one). The write methods of [`Ledger`](super::Ledger) and the
    /// lease answer [`StoreError::InvalidInput`].
    pub async fn connect_read_only(
        url: &str,
        options: &LedgerOptions,
        postgres: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        let ledger = Self::open(url, options, postgres, true)?;
        let version = sql::schema_version(&ledger.inner.tables);
        let found = on_connection(
            &ledger.inner.pool,
            &ledger.inner.location,
            "read the schema version",
            postgres.statement_timeout,
            async |client| match client.query_typed_opt(&version, &[]).await {
                Ok(row) => Ok(Ok(row.map(|r| r.get::<_, i64>(0)))),
                Err(e)
                    if e.code().is_some_and(|c| {
                        *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME
                    }) =>
                {
                    Ok(Ok(None))
                }
                Err(e) => Ok(Err(e)),
            },
        )
        .await?
        .map_err(|e| database(&ledger.inner.location, "read the schema version", e))?;
        sql::readable(found, &ledger.inner.location)?;
        Ok(ledger)
    }

    fn open(
        url: &str,
        options: &LedgerOptions,
        postgres: &PostgresOptions,
        read_only: bool,
    ) -> Result<Self, StoreError> {
        let tables = options.tables(true)?;
        let (config, tls, location) = configure(url, postgres)?;
        let pool = pool(config, &tls, &location, postgres)?;
        Ok(Self {
            inner: Arc::new(Inner {
                sql: Sql::new(&tables),
                lease: Lease::new(&postgres.application_name, postgres.lease_ttl),
                location,
                tables,
                options: postgres.clone(),
                pool,
                read_only,
            }),
        })
    }

    /// `postgres://user@host:port/dbname` (never the password).
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// Runs `f` on a pooled connection within the statement bound.
    async fn call<T>(
        &self,
        operation: &str,
        f: impl AsyncFnOnce(&mut tokio_postgres::Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        on_connection(
            &self.inner.pool,
            &self.inner.location,
            operation,
            self.inner.options.statement_timeout,
            async |client| f(client).await,
        )
        .await
    }

    /// Rows of a read: a prepared statement cached on the connection, or (without prepared
    /// statements) the statement sent whole.
    async fn read(
        &self,
        operation: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let prepared = self.inner.options.prepared_statements;
        on_connection(
            &self.inner.pool,
            &self.inner.location,
            operation,
            self.inner.options.statement_timeout,
            async |client| {
                if !prepared {
                    return client.query_typed(sql, params).await;
                }
                let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
                let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
                let statement = client.prepare_typed_cached(sql, &types).await?;
                client.query(&statement, &values).await
            },
        )
        .await
    }

    /// The one row of a read.
    async fn read_one(
        &self,
        operation: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<tokio_postgres::Row, StoreError> {
        let mut rows = self.read(operation, sql, params).await?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            n => Err(database(
                &self.inner.location,
                operation,
                std::io::Error::other(format!("{n} rows where one was expected")),
            )),
        }
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.inner.read_only {
            Err(sql::read_only(&self.inner.location))
        } else {
            Ok(())
        }
    }
}
