//! The ledger on PostgreSQL (feature `postgres`): shared by replicas, one of which polls.

mod connect;
mod lease;
mod lookups;

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::Pool;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use self::connect::{configure, database, on_connection, pool};
use self::lease::Lease;
use self::lookups::entry;
use super::batch::{NEWER_WINS, Prepared, Row, prepare};
use super::sql::{self, Dialect, Statements};
use super::{
    Applied, Freshness, Ledger, LedgerEntry, LedgerOptions, LedgerStats, SetAside, Tables,
    Textability, canonical_phone,
};
use crate::SmsOptOutChange;
use crate::sync::{Checkpoint, CheckpointStore, StoreError};

pub(crate) use self::connect::location_of;

/// How a [`PostgresLedger`] connects and leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    lease_poll: Duration,
    lease_ttl: Duration,
    connect_timeout: Duration,
    statement_timeout: Duration,
    pool_size: usize,
    prepared_statements: bool,
    application_name: String,
}

impl Default for PostgresOptions {
    /// A lease of 15 s polled every second, 5 s to connect, 10 s for a statement, 4
    /// connections, application name `pandadoc-ledger`.
    fn default() -> Self {
        Self {
            lease_poll: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            pool_size: 4,
            prepared_statements: true,
            application_name: "pandadoc-ledger".into(),
        }
    }
}

impl PostgresOptions {
    /// How often a stand-by tries to take the lease ([`PostgresLedger::lead`]).
    pub fn lease_poll(mut self, every: Duration) -> Self {
        self.lease_poll = every;
        self
    }

    /// How long the lease lasts on the server after each renewal (15 s by default). The leader
    /// renews every third of it and stops acting two thirds after its last renewal began; a
    /// stand-by takes over within `lease_ttl + lease_poll` of the leader's last renewal.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// How long connecting, or waiting for a free connection, may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long any statement or transaction may take (on this side: a server behind a
    /// partition never answers). Also the connections' TCP user timeout.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// At most this many connections (4 by default).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Whether look-ups use prepared statements, cached per connection (the default: about
    /// twice as fast). Turn it off behind PgBouncer in transaction pooling before 1.21, which
    /// cannot keep a prepared statement between transactions: every statement is then sent
    /// whole (`query_typed`). Writes are always sent whole.
    pub fn prepared_statements(mut self, prepared: bool) -> Self {
        self.prepared_statements = prepared;
        self
    }

    /// The `application_name` of the connections, and the start of this replica's name in the
    /// lease (e.g. `opt-outs@host-a`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }
}

/// The replica that holds a ledger's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// The statements: the shared ones, the writes as PostgreSQL sends them (arrays), the lease's.
struct Sql {
    shared: Statements,
    textabilities: String,
    history: String,
    numbers: String,
    set_aside: String,
    take: String,
    renew: String,
    release: String,
    holder: String,
}

impl Sql {
    fn new(t: &Tables) -> Self {
        Self {
            shared: Statements::new(t, Dialect::Postgres),
            textabilities: lookups::statement(t),
            history: format!(
                "INSERT INTO {} (phone, status, changed, recorded) \
                 SELECT p, s, c, $4 FROM unnest($1::text[], $2::text[], $3::timestamptz[]) \
                 AS u(p, s, c) ON CONFLICT DO NOTHING",
                t.history
            ),
            numbers: format!(
                "INSERT INTO {} AS cur (phone, status, rank, changed, recorded) \
                 SELECT p, s, r, c, $5 FROM \
                 unnest($1::text[], $2::text[], $3::int2[], $4::timestamptz[]) AS u(p, s, r, c) \
                 {NEWER_WINS}",
                t.numbers
            ),
            set_aside: format!(
                "INSERT INTO {} (record, reason, phone, received) \
                 SELECT r, w, p, $4 FROM unnest($1::text[], $2::text[], $3::text[]) \
                 AS u(r, w, p) ON CONFLICT DO NOTHING",
                t.rejected
            ),
            take: format!(
                "UPDATE {} SET holder = $1, epoch = epoch + 1, \
                 expires = clock_timestamp() + make_interval(secs => $2) \
                 WHERE id = 1 AND (expires IS NULL OR expires < clock_timestamp()) \
                 RETURNING epoch",
                t.lease
            ),
            renew: format!(
                "UPDATE {} SET expires = clock_timestamp() + make_interval(secs => $3) \
                 WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires > clock_timestamp() \
                 RETURNING epoch",
                t.lease
            ),
            release: format!(
                "UPDATE {} SET expires = NULL WHERE id = 1 AND holder = $1 AND epoch = $2",
                t.lease
            ),
            holder: format!(
                "SELECT holder, epoch, expires FROM {} \
                 WHERE id = 1 AND expires > clock_timestamp()",
                t.lease
            ),
        }
    }
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
        ledger
            .call("create the schema", async |client| {
                create_schema(client, &t, &location).await
            })
            .await??;
        Ok(ledger)
    }

    /// Connects to look numbers up: nothing is created, written or locked, so a role with only
    /// `SELECT` on the ledger's tables (and `USAGE` on their schema) suffices. A missing schema
    /// or table is [`StoreError::NoLedger`]; a schema of another version than this program's
    /// is refused (a sync upgrades an older one). The write methods of [`Ledger`] and the
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
        let outcome = self
            .call("apply a batch", async |client| {
                let tx = client.transaction().await?;
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

/// Creates the schema and tables of a new ledger, or brings an existing one to this version: a
/// newer one is refused before anything is written. Concurrent creators wait for each other.
/// The outer error is the database's; the inner one a refusal.
async fn create_schema(
    client: &mut tokio_postgres::Client,
    t: &Tables,
    location: &str,
) -> Result<Result<(), StoreError>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.query_typed(
        "SELECT pg_advisory_xact_lock($1)",
        &[(&(t.lease_key ^ 1), Type::INT8)],
    )
    .await?;
    let schema = t.schema.trim_matches('"');
    let exists = tx
        .query_typed_opt(
            "SELECT 1 FROM pg_namespace WHERE nspname = $1",
            &[(&schema, Type::TEXT)],
        )
        .await?
        .is_some();
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA {}", t.schema))
            .await?;
    }
    tx.batch_execute(&sql::meta_table(t)).await?;
    let found: Option<i64> = tx
        .query_typed_opt(&sql::schema_version(t), &[])
        .await?
        .map(|r| r.get(0));
    let migrations = match sql::migrations(t, Dialect::Postgres, found, location) {
        Ok(migrations) => migrations,
        Err(refused) => return Ok(Err(refused)),
    };
    for migration in migrations {
        tx.batch_execute(&migration).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
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
