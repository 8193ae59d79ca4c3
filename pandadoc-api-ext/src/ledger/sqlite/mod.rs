//! The ledger in one SQLite file (feature `sqlite`).
//!
//! This file holds the ledger, how it opens its file and its schema; `blocking` its writes
//! and reads on the calling thread, `store` the async [`Ledger`](crate::ledger::Ledger) over them.

mod blocking;
mod store;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::batch::{NEWER_WINS, from_micros};
use super::sql::{self, Dialect, Statements};
use super::{Freshness, LedgerEntry, LedgerOptions, Tables};
use crate::sync::{Checkpoint, StoreError};

/// How long a look-up waits for a lock before it fails (it runs on the caller's task).
const LOOKUP_BUSY: Duration = Duration::from_millis(250);

/// A ledger in one SQLite file: WAL, durable commits (`synchronous = FULL`), a 5 s busy
/// timeout, so that other processes may read it (and wait to write) at any time.
///
/// Clones share the connections. The `*_blocking` methods run on the calling thread (fast
/// look-ups from synchronous code). Of the [`Ledger`](crate::ledger::Ledger) methods, the point look-ups
/// ([`entry`](crate::ledger::Ledger::entry), [`textability`](crate::ledger::Ledger::textability),
/// [`freshness`](crate::ledger::Ledger::freshness)) run on the calling task too, on a connection of their
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
    /// [`Ledger`](crate::ledger::Ledger) answer [`StoreError::InvalidInput`] and write nothing.
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
