//! The ledger on PostgreSQL (feature `postgres`): shared by replicas, one of which polls.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::batch::{NEWER_WINS, Prepared, Row, prepare};
use super::sql::{self, Dialect, Statements};
use super::tls::Tls;
use super::{
    Applied, Ledger, LedgerEntry, LedgerOptions, LedgerStats, SetAside, Tables, Textability,
    canonical_phone,
};
use crate::SmsOptOutChange;
use crate::sync::{Checkpoint, CheckpointStore, StoreError};

/// How a [`PostgresLedger`] connects and leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    lease_poll: Duration,
    connect_timeout: Duration,
    application_name: String,
}

impl Default for PostgresOptions {
    /// Lease polled every second, connections given 10 s, application name `pandadoc-ledger`.
    fn default() -> Self {
        Self {
            lease_poll: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
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

    /// How long connecting may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `application_name` of the connections, shown by [`PostgresLedger::leader`] and in
    /// `pg_stat_activity` (e.g. `opt-outs@host-a`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }
}

/// The replica that holds a ledger's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseHolder {
    /// The server process id of its session.
    pub pid: i32,
    /// Its `application_name`.
    pub application_name: String,
    /// Its address, `None` over a Unix socket.
    pub client_addr: Option<String>,
    /// When its session started.
    pub since: Option<DateTime<Utc>>,
}

/// A ledger on PostgreSQL; replicas of a service share one.
///
/// - **Lease**: [`lead`](Self::lead) waits until this replica holds the ledger's leader lease,
///   a session-level advisory lock on the writing connection, so that one replica at a time
///   polls PandaDoc. The server frees it when that session ends: at once when the leader's
///   process dies (the kernel closes its socket), or within about 25 s when its host or
///   network does (TCP keepalives of 10 s, then 3 probes 5 s apart, set on the session). A
///   stand-by takes over within `lease_poll` after that. If two replicas ever write at once,
///   the checkpoint's compare-and-set still rejects the second (nothing is lost or skipped).
///   An advisory lock rather than a lease row: no clocks to trust, and a dead leader's lock
///   goes as soon as the server sees its session gone, with no expiry to wait for.
/// - **Writes** are set-based: one statement for the history and one for the numbers per
///   batch (`unnest` arrays, `ON CONFLICT ... WHERE` newer), in one transaction with the
///   checkpoint.
/// - **TLS** with rustls, as libpq's `sslmode` means it: `disable`, `prefer` (the default:
///   TLS when the server has it), `require`, `verify-ca` and `verify-full`, with `sslrootcert`
///   a PEM file of roots or `system` (see the table in the module `tls`'s docs, repeated in
///   the README's ledger page).
/// - The URL's password never appears in `Debug`, `Display` or errors.
#[derive(Clone)]
pub struct PostgresLedger {
    inner: Arc<Inner>,
}

struct Inner {
    location: String,
    tables: Tables,
    options: PostgresOptions,
    /// `None` when connected read-only.
    writer: Option<Mutex<Writer>>,
    reader: Client,
    reads: ReadStatements,
    leading: AtomicBool,
    /// Drives the writing connection, which holds the lease: finished once that session is gone.
    session: Option<tokio::task::JoinHandle<()>>,
}

struct Writer {
    client: Client,
    cas: Statement,
    history: Statement,
    numbers: Statement,
    set_aside: Statement,
    checkpoint: Statement,
    confirm_caught_up: Statement,
}

/// The read statements, prepared once on the reading connection.
struct ReadStatements {
    checkpoint: Statement,
    entry: Statement,
    textability: Statement,
    entries: Statement,
    history_of: Statement,
    freshness: Statement,
    count_by_status: Statement,
    count_history: Statement,
    count_rejected: Statement,
    rejected: Statement,
    schema_version: Statement,
}

impl fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLedger")
            .field("location", &self.inner.location)
            .field("tables", &self.inner.tables.numbers)
            .finish_non_exhaustive()
    }
}

/// `postgres://user@host:port/dbname`, without the password.
fn location(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(h, p)| match h {
            tokio_postgres::config::Host::Tcp(h) => format!("{h}:{p}"),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// The URL's settings with `postgres`'s, its TLS, and where it points (without the password).
fn configure(url: &str, postgres: &PostgresOptions) -> Result<(Config, Tls, String), StoreError> {
    let (mut config, tls) = parse(url)?;
    config
        .connect_timeout(postgres.connect_timeout)
        .application_name(&postgres.application_name)
        .ssl_mode(tls.ssl_mode());
    let location = location(&config);
    Ok((config, tls, location))
}

/// The URL's connection settings and TLS (`sslmode`, `sslrootcert`: see [`super::tls`]); a
/// malformed URL is invalid input.
fn parse(url: &str) -> Result<(Config, Tls), StoreError> {
    let (url, tls) = super::tls::split(url)?;
    let config = url.parse().map_err(|e| StoreError::InvalidInput {
        message: format!("not a PostgreSQL URL (postgres://user@host:port/dbname): {e}"),
    })?;
    Ok((config, tls))
}

/// Where `url` points, without its password ([`LedgerUrl`](super::LedgerUrl)'s display).
pub(crate) fn location_of(url: &str) -> Result<String, StoreError> {
    parse(url).map(|(config, _)| location(&config))
}

fn database(location: &str, operation: &str, e: tokio_postgres::Error) -> StoreError {
    StoreError::Database {
        location: location.to_string(),
        operation: operation.to_string(),
        source: Box::new(e),
    }
}

/// A client, and the task driving its connection (finished once the session is gone).
async fn connect(
    config: &Config,
    tls: &Tls,
    location: &str,
) -> Result<(Client, tokio::task::JoinHandle<()>), StoreError> {
    let failed = |e| database(location, "connect", e);
    match tls.client_config(location)? {
        Some(rustls) => {
            let (client, connection) = config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(rustls))
                .await
                .map_err(failed)?;
            Ok((client, tokio::spawn(async { drop(connection.await) })))
        }
        None => {
            let (client, connection) = config.connect(NoTls).await.map_err(failed)?;
            Ok((client, tokio::spawn(async { drop(connection.await) })))
        }
    }
}

impl PostgresLedger {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`, with
    /// `?sslmode=require` for TLS), and creates or checks the ledger's schema.
    pub async fn connect(
        url: &str,
        options: &LedgerOptions,
        postgres: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        let tables = options.tables(true)?;
        let (config, tls, location) = configure(url, postgres)?;
        let (writer, session) = connect(&config, &tls, &location).await?;
        // Keepalives on the lease's session: the server ends a dead leader's session, and so
        // frees its lease, within about 25 s.
        writer
            .batch_execute(
                "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
                 SET tcp_keepalives_count = 3",
            )
            .await
            .map_err(|e| database(&location, "set keepalives", e))?;
        create_schema(&writer, &tables, &location).await?;
        let t = &tables;
        let shared = Statements::new(t, Dialect::Postgres);
        let prepare_on = async |client: &Client, sql: &str| {
            client
                .prepare(sql)
                .await
                .map_err(|e| database(&location, "prepare a statement", e))
        };
        let writer = Writer {
            cas: prepare_on(&writer, &shared.cas).await?,
            history: prepare_on(
                &writer,
                &format!(
                    "INSERT INTO {} (phone, status, changed, recorded) \
                     SELECT p, s, c, $4 FROM unnest($1::text[], $2::text[], $3::timestamptz[]) \
                     AS u(p, s, c) ON CONFLICT DO NOTHING",
                    t.history
                ),
            )
            .await?,
            numbers: prepare_on(
                &writer,
                &format!(
                    "INSERT INTO {} AS cur (phone, status, rank, changed, recorded) \
                     SELECT p, s, r, c, $5 FROM \
                     unnest($1::text[], $2::text[], $3::int2[], $4::timestamptz[]) AS u(p, s, r, c) \
                     {NEWER_WINS}",
                    t.numbers
                ),
            )
            .await?,
            set_aside: prepare_on(
                &writer,
                &format!(
                    "INSERT INTO {} (record, reason, phone, received) \
                     SELECT r, w, p, $4 FROM unnest($1::text[], $2::text[], $3::text[]) \
                     AS u(r, w, p) ON CONFLICT DO NOTHING",
                    t.rejected
                ),
            )
            .await?,
            checkpoint: prepare_on(&writer, &shared.checkpoint).await?,
            confirm_caught_up: prepare_on(&writer, &shared.confirm_caught_up).await?,
            client: writer,
        };
        let (reader, _) = connect(&config, &tls, &location).await?;
        Self::with(location, tables, postgres, Some((writer, session)), reader).await
    }

    /// Connects to look numbers up: one connection, and nothing created, written or locked,
    /// so a role with only `SELECT` on the ledger's tables (and `USAGE` on their schema)
    /// suffices. A missing schema or table is [`StoreError::NoLedger`]; a schema of another
    /// version than this program's is refused (a sync upgrades an older one). The write
    /// methods of [`Ledger`] and the lease answer [`StoreError::InvalidInput`].
    pub async fn connect_read_only(
        url: &str,
        options: &LedgerOptions,
        postgres: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        let tables = options.tables(true)?;
        let (config, tls, location) = configure(url, postgres)?;
        let (reader, _) = connect(&config, &tls, &location).await?;
        let found = match reader.query_opt(&sql::schema_version(&tables), &[]).await {
            Ok(row) => row.map(|r| r.get::<_, i64>(0)),
            Err(e)
                if e.code().is_some_and(|c| {
                    *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME
                }) =>
            {
                None
            }
            Err(e) => return Err(database(&location, "read the schema version", e)),
        };
        sql::readable(found, &location)?;
        Self::with(location, tables, postgres, None, reader).await
    }

    async fn with(
        location: String,
        tables: Tables,
        postgres: &PostgresOptions,
        writer: Option<(Writer, tokio::task::JoinHandle<()>)>,
        reader: Client,
    ) -> Result<Self, StoreError> {
        let shared = Statements::new(&tables, Dialect::Postgres);
        let prepare_on = async |client: &Client, sql: &str| {
            client
                .prepare(sql)
                .await
                .map_err(|e| database(&location, "prepare a statement", e))
        };
        let reads = ReadStatements {
            checkpoint: prepare_on(&reader, &shared.checkpoint).await?,
            entry: prepare_on(&reader, &shared.entry).await?,
            textability: prepare_on(&reader, &shared.textability).await?,
            entries: prepare_on(&reader, &shared.entries).await?,
            history_of: prepare_on(&reader, &shared.history_of).await?,
            freshness: prepare_on(&reader, &shared.freshness).await?,
            count_by_status: prepare_on(&reader, &shared.count_by_status).await?,
            count_history: prepare_on(&reader, &shared.count_history).await?,
            count_rejected: prepare_on(&reader, &shared.count_rejected).await?,
            rejected: prepare_on(&reader, &shared.rejected).await?,
            schema_version: prepare_on(&reader, &shared.schema_version).await?,
        };
        let (writer, session) = match writer {
            Some((writer, session)) => (Some(Mutex::new(writer)), Some(session)),
            None => (None, None),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                location,
                tables,
                options: postgres.clone(),
                writer,
                reader,
                reads,
                leading: AtomicBool::new(false),
                session,
            }),
        })
    }

    /// The writing connection; an error when connected read-only.
    async fn writer(&self) -> Result<tokio::sync::MutexGuard<'_, Writer>, StoreError> {
        match &self.inner.writer {
            Some(writer) => Ok(writer.lock().await),
            None => Err(sql::read_only(&self.inner.location)),
        }
    }

    /// `postgres://user@host:port/dbname` (never the password).
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    fn error(&self, operation: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + use<> {
        let (location, operation) = (self.inner.location.clone(), operation.to_string());
        move |e| database(&location, &operation, e)
    }

    /// Tries once to take the leader lease; `true` if this replica holds it (now or already).
    pub async fn try_lead(&self) -> Result<bool, StoreError> {
        if self.is_leading() {
            return Ok(true);
        }
        let writer = self.writer().await?;
        let got: bool = writer
            .client
            .query_one(
                "SELECT pg_try_advisory_lock($1)",
                &[&self.inner.tables.lease_key],
            )
            .await
            .map_err(self.error("take the lease"))?
            .get(0);
        self.inner.leading.store(got, Ordering::SeqCst);
        Ok(got)
    }

    /// Waits until this replica holds the leader lease, trying every `lease_poll`.
    pub async fn lead(&self) -> Result<(), StoreError> {
        while !self.try_lead().await? {
            tokio::time::sleep(self.inner.options.lease_poll).await;
        }
        Ok(())
    }

    /// Whether this replica holds the lease: it took it and its session is still open.
    pub fn is_leading(&self) -> bool {
        self.inner.leading.load(Ordering::SeqCst)
            && self
                .inner
                .session
                .as_ref()
                .is_some_and(|s| !s.is_finished())
    }

    /// The replica holding the lease, if any.
    pub async fn leader(&self) -> Result<Option<LeaseHolder>, StoreError> {
        let key = self.inner.tables.lease_key as u64;
        let row = self
            .inner
            .reader
            .query_opt(
                "SELECT a.pid, a.application_name, a.client_addr::text, a.backend_start \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                 AND l.classid::int8 = $1 AND l.objid::int8 = $2",
                &[&((key >> 32) as i64), &((key & 0xffff_ffff) as i64)],
            )
            .await
            .map_err(self.error("find the lease's holder"))?;
        Ok(row.map(|r| LeaseHolder {
            pid: r.get(0),
            application_name: r.get::<_, Option<String>>(1).unwrap_or_default(),
            client_addr: r.get(2),
            since: r.get(3),
        }))
    }

    async fn write(
        &self,
        batch: &Prepared,
        expected: Option<Checkpoint>,
        new: Checkpoint,
    ) -> Result<Applied, StoreError> {
        let err = self.error("apply a batch");
        let mut writer = self.writer().await?;
        let Writer {
            client,
            cas,
            history,
            numbers,
            set_aside,
            checkpoint,
            ..
        } = &mut *writer;
        let tx = client.transaction().await.map_err(&err)?;
        let moved = tx
            .execute(cas, &[&new.watermark, &expected.map(|c| c.watermark)])
            .await
            .map_err(&err)?;
        if moved == 0 {
            let found: Option<DateTime<Utc>> =
                tx.query_one(&*checkpoint, &[]).await.map_err(&err)?.get(0);
            return Err(StoreError::Conflict {
                expected,
                found: found.map(|watermark| Checkpoint { watermark }),
            });
        }
        let now = Utc::now();
        let mut applied = Applied::default();
        if !batch.history.is_empty() {
            let rows = Columns::of(&batch.history);
            applied.recorded = tx
                .execute(history, &[&rows.phone, &rows.status, &rows.changed, &now])
                .await
                .map_err(&err)?;
        }
        if !batch.rejected.is_empty() {
            let record: Vec<&str> = batch.rejected.iter().map(|r| r.record.as_str()).collect();
            let reason: Vec<&str> = batch.rejected.iter().map(|r| r.reason.as_str()).collect();
            let phone: Vec<Option<&str>> =
                batch.rejected.iter().map(|r| r.phone.as_deref()).collect();
            applied.set_aside = tx
                .execute(set_aside, &[&record, &reason, &phone, &now])
                .await
                .map_err(&err)?;
        }
        if !batch.latest.is_empty() {
            let latest = Columns::of(&batch.latest);
            applied.updated = tx
                .execute(
                    numbers,
                    &[
                        &latest.phone,
                        &latest.status,
                        &latest.rank,
                        &latest.changed,
                        &now,
                    ],
                )
                .await
                .map_err(&err)?;
        }
        tx.commit().await.map_err(&err)?;
        Ok(applied)
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

fn entry(phone: String, row: &tokio_postgres::Row, at: usize) -> LedgerEntry {
    LedgerEntry {
        phone_number: phone,
        status: row.get::<_, &str>(at).into(),
        opt_out_changed: row.get(at + 1),
        recorded: row.get(at + 2),
    }
}

/// Creates the schema and tables of a new ledger, or brings an existing one to this version: a
/// newer one is refused before anything is written. Concurrent creators wait for each other.
async fn create_schema(client: &Client, t: &Tables, location: &str) -> Result<(), StoreError> {
    let err = |e| database(location, "create the schema", e);
    client.batch_execute("BEGIN").await.map_err(err)?;
    let result = async {
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&(t.lease_key ^ 1)])
            .await
            .map_err(err)?;
        let schema = t.schema.trim_matches('"');
        let exists = client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
            .await
            .map_err(err)?
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE SCHEMA {}", t.schema))
                .await
                .map_err(err)?;
        }
        client
            .batch_execute(&sql::meta_table(t))
            .await
            .map_err(err)?;
        let found: Option<i64> = client
            .query_opt(&sql::schema_version(t), &[])
            .await
            .map_err(err)?
            .map(|r| r.get(0));
        for migration in sql::migrations(t, Dialect::Postgres, found, location)? {
            client.batch_execute(&migration).await.map_err(err)?;
        }
        Ok(())
    }
    .await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = client.batch_execute(end).await.map_err(err);
    result.and(ended)
}

impl CheckpointStore for PostgresLedger {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        let row = self
            .inner
            .reader
            .query_one(&self.inner.reads.checkpoint, &[])
            .await
            .map_err(self.error("read the checkpoint"))?;
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
        let row = self
            .inner
            .reader
            .query_opt(&self.inner.reads.entry, &[&phone])
            .await
            .map_err(self.error("look a number up"))?;
        Ok(row.map(|r| entry(phone, &r, 0)))
    }

    async fn textability(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> Result<Textability, StoreError> {
        let phone = canonical_phone(phone)?;
        let row = self
            .inner
            .reader
            .query_one(&self.inner.reads.textability, &[&phone])
            .await
            .map_err(self.error("look a number up"))?;
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

    async fn entries(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .inner
            .reader
            .query(
                &self.inner.reads.entries,
                &[&after.unwrap_or(""), &only_opted_out, &limit],
            )
            .await
            .map_err(self.error("list numbers"))?;
        Ok(rows
            .iter()
            .map(|r| entry(r.get::<_, String>(0), r, 1))
            .collect())
    }

    async fn history(&self, phone: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let phone = canonical_phone(phone)?;
        let rows = self
            .inner
            .reader
            .query(&self.inner.reads.history_of, &[&phone])
            .await
            .map_err(self.error("read the history"))?;
        Ok(rows.iter().map(|r| entry(phone.clone(), r, 0)).collect())
    }

    async fn confirm_caught_up(&self, watermark: DateTime<Utc>) -> Result<(), StoreError> {
        let writer = self.writer().await?;
        writer
            .client
            .execute(&writer.confirm_caught_up, &[&watermark])
            .await
            .map(drop)
            .map_err(self.error("confirm the sync caught up"))
    }

    async fn set_aside(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetAside>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .inner
            .reader
            .query(&self.inner.reads.rejected, &[&after.unwrap_or(""), &limit])
            .await
            .map_err(self.error("list the changes set aside"))?;
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

    async fn stats(&self) -> Result<LedgerStats, StoreError> {
        let err = self.error("read the ledger's figures");
        let (reader, reads) = (&self.inner.reader, &self.inner.reads);
        let freshness = reader
            .query_one(&reads.freshness, &[])
            .await
            .map_err(&err)?;
        let numbers_by_status = reader
            .query(&reads.count_by_status, &[])
            .await
            .map_err(&err)?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect();
        let count = async |statement| {
            reader
                .query_one(statement, &[])
                .await
                .map(|r| r.get::<_, i64>(0))
                .map_err(&err)
        };
        Ok(LedgerStats {
            checkpoint: freshness.get(0),
            caught_up: freshness.get(1),
            as_of: freshness.get(2),
            numbers_by_status,
            history: count(&reads.count_history).await? as u64,
            set_aside: count(&reads.count_rejected).await? as u64,
            schema_version: count(&reads.schema_version).await?,
        })
    }
}
