//! The ledger in one SQLite file (feature `sqlite`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::batch::{NEWER_WINS, Prepared, from_micros, prepare};
use super::sql::{self, Dialect, Statements};
use super::{
    Applied, Freshness, Ledger, LedgerEntry, LedgerOptions, LedgerStats, SetAside, Tables,
    Textability, canonical_phone,
};
use crate::SmsOptOutChange;
use crate::sync::{Checkpoint, CheckpointStore, StoreError};

/// How long a look-up waits for a lock before it fails (it runs on the caller's task).
const LOOKUP_BUSY: Duration = Duration::from_millis(250);

/// A ledger in one SQLite file: WAL, durable commits (`synchronous = FULL`), a 5 s busy
/// timeout, so that other processes may read it (and wait to write) at any time.
///
/// Clones share the connections. The `*_blocking` methods run on the calling thread (fast
/// look-ups from synchronous code). Of the [`Ledger`] methods, the point look-ups
/// ([`entry`](Ledger::entry), [`textability`](Ledger::textability),
/// [`freshness`](Ledger::freshness)) run on the calling task too, on a connection of their
/// own: one indexed read takes microseconds, less than handing it to a blocking thread
/// (`serve` answers about 1.5x as many look-ups a second at 64 clients that way, measured in
/// `docs/performance.md`), and it waits for a lock a quarter of a second at most. Everything
/// else (writes, pages of the list, counts) runs on tokio's blocking pool.
#[derive(Clone)]
pub struct SqliteLedger {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    sql: Sql,
    /// `None` when opened read-only.
    writer: Option<Mutex<Connection>>,
    /// Reads that may take long (pages of the list, counts), off the runtime.
    reader: Mutex<Connection>,
    /// Point look-ups (`entry`, `textability`, `freshness`), on the calling task: one indexed
    /// read, never behind a long one.
    lookup: Mutex<Connection>,
}

impl fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// The statements: the shared ones, and the two writes as SQLite sends them (a row each).
struct Sql {
    shared: Statements,
    history: String,
    numbers: String,
    set_aside: String,
}

impl Sql {
    fn new(t: &Tables) -> Self {
        Self {
            shared: Statements::new(t, Dialect::Sqlite),
            history: format!(
                "INSERT INTO {} (phone, status, changed, recorded) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT DO NOTHING",
                t.history
            ),
            numbers: format!(
                "INSERT INTO {} AS cur (phone, status, rank, changed, recorded) \
                 VALUES (?1, ?2, ?3, ?4, ?5) {NEWER_WINS}",
                t.numbers
            ),
            set_aside: format!(
                "INSERT INTO {} (record, reason, phone, received) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT DO NOTHING",
                t.rejected
            ),
        }
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteLedger {
    /// Opens (creating if need be) the ledger at `path`, and creates or checks its schema.
    pub fn open(path: impl AsRef<Path>, options: &LedgerOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let tables = options.tables(false)?;
        let error = |operation: &str| {
            let (location, operation) = (path.display().to_string(), operation.to_string());
            move |e: rusqlite::Error| StoreError::Database {
                location,
                operation,
                source: Box::new(e),
            }
        };
        let writer = Connection::open(&path).map_err(error("open"))?;
        writer
            .busy_timeout(Duration::from_secs(5))
            .map_err(error("set the busy timeout"))?;
        writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .map_err(error("turn on WAL"))?;
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(error("set synchronous"))?;
        // A batch dirties pages all over the tables (numbers are random keys): a 64 MiB cache
        // keeps a large batch's pages in memory until its commit instead of spilling them.
        writer
            .pragma_update(None, "cache_size", -65536)
            .map_err(error("set the cache size"))?;
        // Checkpoint the WAL into the file every 64 MiB rather than 4 MiB: a page written by
        // many commits in between is copied once.
        writer
            .pragma_update(None, "wal_autocheckpoint", 16384)
            .map_err(error("set the WAL checkpoint"))?;
        let mut writer = writer;
        create_schema(&mut writer, &tables, &path)?;
        let reader = || -> rusqlite::Result<Connection> {
            let reader = Connection::open(&path)?;
            reader.pragma_update(None, "query_only", true)?;
            Ok(reader)
        };
        let (lookup, reader) = (
            reader().map_err(error("open a reader"))?,
            reader().map_err(error("open a reader"))?,
        );
        Self::with(path, &tables, Some(writer), reader, lookup)
    }

    /// Opens the ledger at `path` to look numbers up: nothing is created or written, and no
    /// lock is taken (a reader never waits for the sync's writes). A missing file, or one
    /// without a ledger's tables, is [`StoreError::NoLedger`]; a schema of another version
    /// than this program's is refused (a sync upgrades an older one). The write methods of
    /// [`Ledger`] answer [`StoreError::InvalidInput`] and write nothing.
    ///
    /// The ledger file may be read-only. As every reader of a SQLite database in WAL mode, this
    /// one uses the WAL and its index beside the file (`PATH-wal`, `PATH-shm`): they exist while
    /// the sync runs, and the reader creates them otherwise, so the directory must allow that
    /// unless they are there.
    pub fn open_read_only(
        path: impl AsRef<Path>,
        options: &LedgerOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let tables = options.tables(false)?;
        let location = path.display().to_string();
        if !path.is_file() {
            return Err(StoreError::NoLedger { location });
        }
        use rusqlite::OpenFlags;
        let open = || {
            Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| StoreError::Database {
                location: location.clone(),
                operation: "open read-only".into(),
                source: Box::new(e),
            })
        };
        let reader = open()?;
        let found = match reader.query_row(&sql::schema_version(&tables), [], |r| r.get(0)) {
            Ok(version) => Some(version),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.starts_with("no such table") => {
                None
            }
            Err(e) => {
                return Err(StoreError::Database {
                    location,
                    operation: "read the schema version".into(),
                    source: Box::new(e),
                });
            }
        };
        sql::readable(found, &location)?;
        let lookup = open()?;
        Self::with(path, &tables, None, reader, lookup)
    }

    fn with(
        path: PathBuf,
        tables: &Tables,
        writer: Option<Connection>,
        reader: Connection,
        lookup: Connection,
    ) -> Result<Self, StoreError> {
        let location = path.display().to_string();
        let failed = |operation: &str| {
            let (location, operation) = (location.clone(), operation.to_string());
            move |e: rusqlite::Error| StoreError::Database {
                location,
                operation,
                source: Box::new(e),
            }
        };
        reader
            .busy_timeout(Duration::from_secs(5))
            .map_err(failed("set the busy timeout"))?;
        reader
            .pragma_update(None, "cache_size", -65536)
            .map_err(failed("set the cache size"))?;
        // A look-up runs on the caller's task: it waits for a lock (rare in WAL mode: a
        // recovery) a quarter of a second at most, then fails.
        lookup
            .busy_timeout(LOOKUP_BUSY)
            .map_err(failed("set the busy timeout"))?;
        lookup
            .pragma_update(None, "cache_size", -65536)
            .map_err(failed("set the cache size"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                sql: Sql::new(tables),
                writer: writer.map(Mutex::new),
                reader: Mutex::new(reader),
                lookup: Mutex::new(lookup),
            }),
        })
    }

    /// The writing connection; an error when opened read-only.
    fn writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        match &self.inner.writer {
            Some(writer) => Ok(lock(writer)),
            None => Err(sql::read_only(&self.inner.path.display().to_string())),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn error(&self, operation: &str) -> impl Fn(rusqlite::Error) -> StoreError + use<> {
        let (location, operation) = (self.inner.path.display().to_string(), operation.to_string());
        move |e| StoreError::Database {
            location: location.clone(),
            operation: operation.clone(),
            source: Box::new(e),
        }
    }

    /// [`Ledger::apply`], on this thread.
    pub fn apply_blocking(
        &self,
        changes: &[SmsOptOutChange],
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        let batch = prepare(changes, new.watermark);
        self.write(&batch, expected.copied(), *new)
    }

    fn write(
        &self,
        batch: &Prepared,
        expected: Option<Checkpoint>,
        new: Checkpoint,
    ) -> Result<Applied, StoreError> {
        let err = self.error("apply a batch");
        let mut conn = self.writer()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let now = Utc::now().timestamp_micros();
        let moved = tx
            .prepare_cached(&self.inner.sql.shared.cas)
            .and_then(|mut s| {
                s.execute(params![
                    new.watermark.timestamp_micros(),
                    expected.map(|c| c.watermark.timestamp_micros())
                ])
            })
            .map_err(&err)?;
        if moved == 0 {
            let found = read_checkpoint(&tx, &self.inner.sql.shared).map_err(&err)?;
            return Err(StoreError::Conflict { expected, found });
        }
        let mut applied = Applied::default();
        {
            let mut history = tx.prepare_cached(&self.inner.sql.history).map_err(&err)?;
            for row in &batch.history {
                applied.recorded += history
                    .execute(params![row.phone, row.status, row.changed_us, now])
                    .map_err(&err)? as u64;
            }
            let mut set_aside = tx.prepare_cached(&self.inner.sql.set_aside).map_err(&err)?;
            for r in &batch.rejected {
                applied.set_aside += set_aside
                    .execute(params![r.record, r.reason, r.phone, now])
                    .map_err(&err)? as u64;
            }
            let mut numbers = tx.prepare_cached(&self.inner.sql.numbers).map_err(&err)?;
            for row in &batch.latest {
                applied.updated += numbers
                    .execute(params![
                        row.phone,
                        row.status,
                        row.rank,
                        row.changed_us,
                        now
                    ])
                    .map_err(&err)? as u64;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(applied)
    }

    /// [`Ledger::entry`], on this thread.
    pub fn entry_blocking(&self, phone: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let phone = canonical_phone(phone)?;
        let conn = lock(&self.inner.lookup);
        conn.prepare_cached(&self.inner.sql.shared.entry)
            .and_then(|mut s| {
                s.query_row([&phone], |r| {
                    Ok(entry(phone.clone(), r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(self.error("look a number up"))
    }

    /// [`Ledger::textability`], on this thread (one query).
    pub fn textability_blocking(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> Result<Textability, StoreError> {
        let phone = canonical_phone(phone)?;
        let conn = lock(&self.inner.lookup);
        let (checkpoint, caught_up, now, found) = conn
            .prepare_cached(&self.inner.sql.shared.textability)
            .and_then(|mut s| {
                s.query_row([&phone], |r| {
                    let checkpoint: Option<i64> = r.get(0)?;
                    let caught_up: Option<i64> = r.get(1)?;
                    let now: Option<i64> = r.get(2)?;
                    let status: Option<String> = r.get(3)?;
                    let found = match status {
                        Some(status) => Some(entry(phone.clone(), status, r.get(4)?, r.get(5)?)),
                        None => None,
                    };
                    Ok((
                        checkpoint.map(from_micros),
                        caught_up.map(from_micros),
                        now.map_or_else(Utc::now, from_micros),
                        found,
                    ))
                })
            })
            .map_err(self.error("look a number up"))?;
        Ok(Textability::decide(
            found,
            checkpoint,
            caught_up,
            now,
            max_staleness,
        ))
    }

    /// [`Ledger::confirm_caught_up`], on this thread.
    pub fn confirm_caught_up_blocking(&self, watermark: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.writer()?;
        conn.prepare_cached(&self.inner.sql.shared.confirm_caught_up)
            .and_then(|mut s| s.execute([watermark.timestamp_micros()]))
            .map(drop)
            .map_err(self.error("confirm the sync caught up"))
    }

    fn set_aside_blocking(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetAside>, StoreError> {
        let conn = lock(&self.inner.reader);
        conn.prepare_cached(&self.inner.sql.shared.rejected)
            .and_then(|mut s| {
                s.query_map(
                    params![
                        after.unwrap_or(""),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |r| {
                        Ok(SetAside {
                            record: r.get(0)?,
                            reason: r.get(1)?,
                            phone_number: r.get(2)?,
                            received: from_micros(r.get(3)?),
                        })
                    },
                )?
                .collect()
            })
            .map_err(self.error("list the changes set aside"))
    }

    /// [`Ledger::entries`], on this thread.
    pub fn entries_blocking(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let conn = lock(&self.inner.reader);
        conn.prepare_cached(&self.inner.sql.shared.entries)
            .and_then(|mut s| {
                s.query_map(
                    params![
                        after.unwrap_or(""),
                        only_opted_out,
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |r| Ok(entry(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?
                .collect()
            })
            .map_err(self.error("list numbers"))
    }

    fn history_blocking(&self, phone: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let phone = canonical_phone(phone)?;
        let conn = lock(&self.inner.reader);
        conn.prepare_cached(&self.inner.sql.shared.history_of)
            .and_then(|mut s| {
                s.query_map([&phone], |r| {
                    Ok(entry(phone.clone(), r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
            })
            .map_err(self.error("read the history"))
    }

    /// [`Ledger::freshness`], on this thread.
    pub fn freshness_blocking(&self) -> Result<Freshness, StoreError> {
        read_freshness(&lock(&self.inner.lookup), &self.inner.sql.shared.freshness)
            .map_err(self.error("read the checkpoint"))
    }

    fn stats_blocking(&self) -> Result<LedgerStats, StoreError> {
        let sql = &self.inner.sql.shared;
        let conn = lock(&self.inner.reader);
        let read = || -> rusqlite::Result<LedgerStats> {
            let Freshness {
                checkpoint,
                caught_up,
                as_of,
            } = read_freshness(&conn, &sql.freshness)?;
            let mut by_status = std::collections::BTreeMap::new();
            let mut s = conn.prepare_cached(&sql.count_by_status)?;
            for row in s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (status, n) = row?;
                by_status.insert(status, n as u64);
            }
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
            Ok(LedgerStats {
                checkpoint,
                caught_up,
                as_of,
                numbers_by_status: by_status,
                history: count(&sql.count_history)? as u64,
                set_aside: count(&sql.count_rejected)? as u64,
                schema_version: conn.query_row(&sql.schema_version, [], |r| r.get(0))?,
            })
        };
        read().map_err(self.error("read the ledger's figures"))
    }

    /// Runs `f` on a blocking thread with a clone of this ledger.
    async fn off_runtime<T: Send + 'static>(
        &self,
        f: impl FnOnce(SqliteLedger) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let ledger = self.clone();
        let location = self.inner.path.display().to_string();
        tokio::task::spawn_blocking(move || f(ledger))
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Database {
                    location,
                    operation: "run a blocking task".into(),
                    source: Box::new(e),
                })
            })
    }
}

fn entry(phone: String, status: String, changed: i64, recorded: i64) -> LedgerEntry {
    LedgerEntry {
        phone_number: phone,
        status: status.as_str().into(),
        opt_out_changed: from_micros(changed),
        recorded: from_micros(recorded),
    }
}

fn read_checkpoint(conn: &Connection, sql: &Statements) -> rusqlite::Result<Option<Checkpoint>> {
    let watermark: Option<i64> = conn
        .query_row(&sql.checkpoint, [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(watermark.map(|us| Checkpoint {
        watermark: from_micros(us),
    }))
}

/// Creates the tables of a new ledger, or brings an existing one to this version: a newer one
/// is refused before anything is written.
fn create_schema(conn: &mut Connection, t: &Tables, path: &Path) -> Result<(), StoreError> {
    let location = path.display().to_string();
    let err = |e: rusqlite::Error| StoreError::Database {
        location: location.clone(),
        operation: "create the schema".into(),
        source: Box::new(e),
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    tx.execute(&sql::meta_table(t), []).map_err(err)?;
    let found: Option<i64> = tx
        .query_row(&sql::schema_version(t), [], |r| r.get(0))
        .optional()
        .map_err(err)?;
    for migration in sql::migrations(t, Dialect::Sqlite, found, &location)? {
        tx.execute_batch(&migration).map_err(err)?;
    }
    tx.commit().map_err(err)
}

impl CheckpointStore for SqliteLedger {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.off_runtime(|l| {
            let conn = lock(&l.inner.reader);
            read_checkpoint(&conn, &l.inner.sql.shared).map_err(l.error("read the checkpoint"))
        })
        .await
    }

    /// Moves the checkpoint alone (compare-and-set); [`Ledger::apply`] records changes with it.
    async fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<(), StoreError> {
        let (expected, new) = (expected.copied(), *new);
        self.off_runtime(move |l| l.write(&Prepared::default(), expected, new).map(drop))
            .await
    }
}

impl Ledger for SqliteLedger {
    async fn apply(
        &self,
        changes: &[SmsOptOutChange],
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<Applied, StoreError> {
        let batch = prepare(changes, new.watermark);
        let (expected, new) = (expected.copied(), *new);
        self.off_runtime(move |l| l.write(&batch, expected, new))
            .await
    }

    // Point look-ups run here, on the caller's task (see `SqliteLedger`).
    async fn entry(&self, phone: &str) -> Result<Option<LedgerEntry>, StoreError> {
        self.entry_blocking(phone)
    }

    async fn textability(
        &self,
        phone: &str,
        max_staleness: TimeDelta,
    ) -> Result<Textability, StoreError> {
        self.textability_blocking(phone, max_staleness)
    }

    async fn entries(
        &self,
        after: Option<&str>,
        limit: usize,
        only_opted_out: bool,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let after = after.map(str::to_string);
        self.off_runtime(move |l| l.entries_blocking(after.as_deref(), limit, only_opted_out))
            .await
    }

    async fn history(&self, phone: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let phone = phone.to_string();
        self.off_runtime(move |l| l.history_blocking(&phone)).await
    }

    async fn confirm_caught_up(&self, watermark: DateTime<Utc>) -> Result<(), StoreError> {
        self.off_runtime(move |l| l.confirm_caught_up_blocking(watermark))
            .await
    }

    async fn set_aside(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetAside>, StoreError> {
        let after = after.map(str::to_string);
        self.off_runtime(move |l| l.set_aside_blocking(after.as_deref(), limit))
            .await
    }

    async fn freshness(&self) -> Result<Freshness, StoreError> {
        self.freshness_blocking()
    }

    async fn stats(&self) -> Result<LedgerStats, StoreError> {
        self.off_runtime(|l| l.stats_blocking()).await
    }
}

fn read_freshness(conn: &Connection, sql: &str) -> rusqlite::Result<Freshness> {
    conn.prepare_cached(sql)?.query_row([], |r| {
        Ok(Freshness {
            checkpoint: r.get::<_, Option<i64>>(0)?.map(from_micros),
            caught_up: r.get::<_, Option<i64>>(1)?.map(from_micros),
            as_of: r
                .get::<_, Option<i64>>(2)?
                .map_or_else(Utc::now, from_micros),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger written by version 1 (its migration alone) opens at this version: the tables
    /// of later versions are added, its rows kept, and `caught_up` starts at the checkpoint's
    /// last move.
    #[test]
    fn an_older_ledger_is_upgraded_where_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let options = LedgerOptions::default();
        let t = options.tables(false).unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute(&sql::meta_table(&t), []).unwrap();
            let first = &sql::migrations(&t, Dialect::Sqlite, None, "v1.db").unwrap()[0];
            conn.execute_batch(first).unwrap();
            conn.execute(
                &format!("UPDATE {} SET watermark = 10, updated = 20", t.checkpoint),
                [],
            )
            .unwrap();
        }
        let ledger = SqliteLedger::open(&path, &options).unwrap();
        let stats = ledger.stats_blocking().unwrap();
        assert_eq!(stats.schema_version, sql::SCHEMA_VERSION);
        assert_eq!(stats.checkpoint, Some(from_micros(10)));
        assert_eq!(stats.caught_up, Some(from_micros(20)));
        assert_eq!(stats.set_aside, 0);
    }
}
