//! Where a sync keeps its checkpoint: a store with compare-and-set semantics.

use std::fmt;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far a sync has delivered: every change with `opt_out_changed <= watermark` that was
/// visible when its window was read has been accepted by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The end (`timestamp_to`) of the last window the caller accepted.
    pub watermark: DateTime<Utc>,
}

/// A checkpoint store failed, or another process moved the checkpoint.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// `save` expected `expected` but found `found`: another process (a replica) moved the
    /// checkpoint. Nothing was written.
    Conflict {
        /// What this sync last read.
        expected: Option<Checkpoint>,
        /// What the store holds.
        found: Option<Checkpoint>,
    },
    /// The stored checkpoint does not parse. It is left as it is.
    Corrupt {
        /// Where it is (a file path, a table name).
        location: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing failed.
    Io {
        /// Where (a file path, a table name).
        location: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A database (a ledger's) failed: connecting, a query, a transaction.
    Database {
        /// Which database: a file path, or `host:port/dbname` (never a password).
        location: String,
        /// What failed, e.g. `apply a batch`.
        operation: String,
        /// The driver's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value given to the store is not valid (a phone number, a table prefix, a database
    /// URL), or a change lacks what the store needs to record it. Nothing was written.
    InvalidInput {
        /// What is wrong, naming the value.
        message: String,
    },
    /// A ledger opened read-only is not there: the file, the schema or the tables are missing
    /// (a mistyped location, or a ledger never written). Nothing was created.
    NoLedger {
        /// Where it was looked for.
        location: String,
    },
    /// A ledger opened read-only has a schema older than this program reads: opening it for
    /// writing once (a sync) upgrades it. It is left as it is.
    SchemaTooOld {
        /// Which database.
        location: String,
        /// The version found.
        found: i64,
        /// The version this program reads.
        supported: i64,
    },
    /// This replica lost the ledger's lease (another took it over, or it could not renew it
    /// within its deadline): nothing was written. Stand by and lead again.
    LeaseLost {
        /// Which database.
        location: String,
    },
    /// The database holds a ledger schema newer than this program knows: it is left as it is.
    SchemaTooNew {
        /// Which database.
        location: String,
        /// The version found.
        found: i64,
        /// The newest version this program knows.
        supported: i64,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |c: &Option<Checkpoint>| {
            c.map_or_else(|| "none".to_string(), |c| c.watermark.to_rfc3339())
        };
        match self {
            Self::Conflict { expected, found } => write!(
                f,
                "the checkpoint was moved by another process (expected {}, found {})",
                show(expected),
                show(found)
            ),
            Self::Corrupt { location, message } => {
                write!(f, "the checkpoint in {location} is not valid: {message}")
            }
            Self::Io { location, source } => write!(f, "{location}: {source}"),
            Self::Database {
                location,
                operation,
                source,
            } => write!(f, "{location}: {operation}: {source}"),
            Self::InvalidInput { message } => f.write_str(message),
            Self::LeaseLost { location } => write!(
                f,
                "{location}: this replica lost the ledger's lease (another took over, or it \
                 could not renew in time): nothing was written"
            ),
            Self::NoLedger { location } => write!(
                f,
                "{location}: no ledger there (its tables are missing); a sync, or opening it \
                 for writing, creates it"
            ),
            Self::SchemaTooOld {
                location,
                found,
                supported,
            } => write!(
                f,
                "{location}: the ledger schema is version {found}, older than this program reads \
                 ({supported}): a sync, or opening it for writing, upgrades it"
            ),
            Self::SchemaTooNew {
                location,
                found,
                supported,
            } => write!(
                f,
                "{location}: the ledger schema is version {found}, newer than this program knows \
                 ({supported}): upgrade the program"
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Database { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// Keeps a sync's [`Checkpoint`], with compare-and-set: [`save`](Self::save) writes only if the
/// store still holds what the sync last read, so replicas sharing a store can never move it
/// backwards or skip a window.
///
/// On a database, the checkpoint is one row and `save` one conditional update:
///
/// ```text
/// load:  SELECT watermark FROM sms_sync WHERE name = $1
/// save:  UPDATE sms_sync SET watermark = $new WHERE name = $1 AND watermark = $expected
///        (INSERT ... ON CONFLICT DO NOTHING when expected is none)
///        -> 0 rows changed: StoreError::Conflict
/// ```
///
/// ```
/// use pandadoc_api_ext::sync::{Checkpoint, CheckpointStore, StoreError};
///
/// struct Row(std::sync::Mutex<Option<Checkpoint>>); // stands for a database row
///
/// impl CheckpointStore for Row {
///     async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
///         Ok(*self.0.lock().unwrap())
///     }
///     async fn save(&self, expected: Option<&Checkpoint>, new: &Checkpoint) -> Result<(), StoreError> {
///         let mut row = self.0.lock().unwrap(); // in SQL: UPDATE ... WHERE watermark = expected
///         if row.as_ref() != expected {
///             return Err(StoreError::Conflict { expected: expected.copied(), found: *row });
///         }
///         *row = Some(*new);
///         Ok(())
///     }
/// }
/// ```
pub trait CheckpointStore: Send + Sync {
    /// The stored checkpoint, `None` before the first save.
    fn load(&self) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    /// Stores `new` if the store still holds `expected`; otherwise
    /// [`StoreError::Conflict`] and nothing is written.
    fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A checkpoint in memory, shared by its clones (tests, or replicas of one process).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore(Arc<Mutex<Option<Checkpoint>>>);

impl CheckpointStore for MemoryStore {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        Ok(*self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    async fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<(), StoreError> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref() != expected {
            return Err(StoreError::Conflict {
                expected: expected.copied(),
                found: *slot,
            });
        }
        *slot = Some(*new);
        Ok(())
    }
}

/// A checkpoint in a JSON file: `{"version": 1, "watermark": "2025-01-28T12:00:00Z"}`.
///
/// `save` takes an exclusive lock on `<path>.lock`, compares, writes `<path>.tmp`, fsyncs it,
/// renames it over `<path>` and fsyncs the directory: a crash at any instant leaves the old or
/// the new checkpoint, never a torn one. A file that does not parse is reported
/// ([`StoreError::Corrupt`]) and never overwritten.
#[derive(Clone, Debug)]
pub struct FileStore {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    watermark: DateTime<Utc>,
}

impl FileStore {
    /// A store at `path` (the file need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            location: self.path.display().to_string(),
            source,
        }
    }

    fn read(&self) -> Result<Option<Checkpoint>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let corrupt = |message: String| StoreError::Corrupt {
            location: self.path.display().to_string(),
            message,
        };
        let file: FileFormat =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.version != 1 {
            return Err(corrupt(format!("unknown version {}", file.version)));
        }
        Ok(Some(Checkpoint {
            watermark: file.watermark,
        }))
    }

    fn write(&self, expected: Option<&Checkpoint>, new: &Checkpoint) -> Result<(), StoreError> {
        let lock_path = sibling(&self.path, "lock");
        let lock = std::fs::File::create(&lock_path).map_err(|e| self.io(e))?;
        lock.lock().map_err(|e| self.io(e))?;
        let found = self.read()?;
        if found.as_ref() != expected {
            return Err(StoreError::Conflict {
                expected: expected.copied(),
                found,
            });
        }
        let tmp = sibling(&self.path, "tmp");
        let text = serde_json::to_vec(&FileFormat {
            version: 1,
            watermark: new.watermark,
        })
        .expect("a checkpoint serializes");
        let mut file = std::fs::File::create(&tmp).map_err(|e| self.io(e))?;
        file.write_all(&text).map_err(|e| self.io(e))?;
        file.write_all(b"\n").map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| self.io(e))?;
        }
        Ok(())
    }
}

/// `path` with `.suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

impl CheckpointStore for FileStore {
    async fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read())
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Io {
                    location: String::new(),
                    source: std::io::Error::other(e),
                })
            })
    }

    async fn save(
        &self,
        expected: Option<&Checkpoint>,
        new: &Checkpoint,
    ) -> Result<(), StoreError> {
        let (store, expected, new) = (self.clone(), expected.copied(), *new);
        tokio::task::spawn_blocking(move || store.write(expected.as_ref(), &new))
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Io {
                    location: String::new(),
                    source: std::io::Error::other(e),
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Checkpoint {
        Checkpoint {
            watermark: DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc),
        }
    }

    #[tokio::test]
    async fn the_file_store_compares_and_sets_and_never_overwrites_a_corrupt_file() {
        let dir = std::env::temp_dir().join(format!("pandadoc-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let _ = std::fs::remove_file(&path);
        let store = FileStore::new(&path);
        assert_eq!(store.load().await.unwrap(), None);
        let (a, b) = (at("2025-01-28T10:00:00Z"), at("2025-01-28T11:00:00Z"));
        store.save(None, &a).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(a));
        assert!(matches!(
            store.save(None, &b).await,
            Err(StoreError::Conflict { found: Some(f), .. }) if f == a
        ));
        store.save(Some(&a), &b).await.unwrap();
        assert_eq!(FileStore::new(&path).load().await.unwrap(), Some(b));
        assert!(
            !sibling(&path, "tmp").exists(),
            "the temporary file was renamed"
        );

        std::fs::write(&path, "{\"version\": 1, \"watermark\": \"yesterday\"}").unwrap();
        let err = store.load().await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("state.json"), "{err}");
        assert!(store.save(Some(&b), &a).await.is_err());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("yesterday"),
            "never overwritten"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
