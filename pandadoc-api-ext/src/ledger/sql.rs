//! The ledger's SQL, written once for both backends: the tables and their versioned
//! migrations, the version check, the checkpoint's compare-and-set, the ordering guard of the
//! upsert and the read statements. A backend says only how its database spells what differs
//! ([`Dialect`]) and how it sends a batch (rows or arrays).

use super::Tables;
use crate::sync::StoreError;

/// The schema version this program writes. A database at a newer version is refused
/// ([`StoreError::SchemaTooNew`]), never written to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How a database spells what the backends do not share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// A build with one backend spells only its own.
#[cfg_attr(not(all(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The `n`th bind parameter.
    pub fn param(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }

    /// Text compared byte by byte (SQLite's default; PostgreSQL's `C` collation).
    fn text(self) -> &'static str {
        match self {
            Self::Sqlite => "TEXT",
            Self::Postgres => "text COLLATE \"C\"",
        }
    }

    /// An instant: microseconds since the Unix epoch on SQLite, `timestamptz` on PostgreSQL.
    fn time(self) -> &'static str {
        match self {
            Self::Sqlite => "INTEGER",
            Self::Postgres => "timestamptz",
        }
    }

    /// The current instant by the database's clock, as [`Self::time`] stores it.
    pub fn now(self) -> &'static str {
        match self {
            Self::Sqlite => "CAST(unixepoch('subsec') * 1000000 AS INTEGER)",
            Self::Postgres => "now()",
        }
    }

    /// The database's now as a read returns it: SQLite's is this machine's clock (the file is
    /// local), which the reader takes itself (`NULL` here: no clock call per look-up).
    fn now_read(self) -> &'static str {
        match self {
            Self::Sqlite => "NULL",
            Self::Postgres => "now()",
        }
    }

    /// Storage options: SQLite keys its tables without a rowid; PostgreSQL leaves room in the
    /// numbers' pages for updates in place.
    fn table_options(self, updated_in_place: bool) -> &'static str {
        match (self, updated_in_place) {
            (Self::Sqlite, _) => " WITHOUT ROWID",
            (Self::Postgres, true) => " WITH (fillfactor = 70)",
            (Self::Postgres, false) => "",
        }
    }
}

/// The migrations, in order: the `n`th brings a ledger from version `n - 1` to `n`. Each is
/// one batch of statements, run in the transaction that then records its version.
const MIGRATIONS: &[fn(&Tables, Dialect) -> String] = &[initial, set_aside_and_caught_up, lease];

/// Version 1: the numbers, the history, the checkpoint.
fn initial(t: &Tables, d: Dialect) -> String {
    let (text, time) = (d.text(), d.time());
    format!(
        "CREATE TABLE IF NOT EXISTS {numbers} (
            phone {text} PRIMARY KEY, status {text} NOT NULL, rank smallint NOT NULL,
            changed {time} NOT NULL, recorded {time} NOT NULL){numbers_options};
         CREATE TABLE IF NOT EXISTS {history} (
            phone {text} NOT NULL, status {text} NOT NULL, changed {time} NOT NULL,
            recorded {time} NOT NULL, PRIMARY KEY (changed, phone, status)){history_options};
         CREATE TABLE IF NOT EXISTS {checkpoint} (
            id integer PRIMARY KEY CHECK (id = 1), watermark {time}, updated {time});
         INSERT INTO {checkpoint} (id) VALUES (1) ON CONFLICT DO NOTHING;",
        numbers = t.numbers,
        history = t.history,
        checkpoint = t.checkpoint,
        numbers_options = d.table_options(true),
        history_options = d.table_options(false),
    )
}

/// Version 2: changes set aside (a change the ledger cannot apply, kept as received, once), and
/// when the sync last confirmed it was caught up, by the database's clock (a ledger of version
/// 1 starts from its checkpoint's last move).
fn set_aside_and_caught_up(t: &Tables, d: Dialect) -> String {
    let (text, time) = (d.text(), d.time());
    format!(
        "CREATE TABLE IF NOT EXISTS {rejected} (
            record {text} PRIMARY KEY, reason {text} NOT NULL, phone {text},
            received {time} NOT NULL){options};
         ALTER TABLE {checkpoint} ADD COLUMN caught_up {time};
         UPDATE {checkpoint} SET caught_up = updated;",
        rejected = t.rejected,
        checkpoint = t.checkpoint,
        options = d.table_options(false),
    )
}

/// Version 3: the leader lease, one row (holder, epoch, expiry by the database's clock).
fn lease(t: &Tables, d: Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {lease} (
            id integer PRIMARY KEY CHECK (id = 1), holder {text}, epoch bigint NOT NULL,
            expires {time});
         INSERT INTO {lease} (id, epoch) VALUES (1, 0) ON CONFLICT DO NOTHING;",
        lease = t.lease,
        text = d.text(),
        time = d.time(),
    )
}

/// The table of versions, created before anything else (it says which migrations are due).
pub(crate) fn meta_table(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value bigint NOT NULL)",
        t.meta
    )
}

/// The ledger's version, one row (none in a new database).
pub(crate) fn schema_version(t: &Tables) -> String {
    format!("SELECT value FROM {} WHERE key = 'schema_version'", t.meta)
}

/// The statements that bring a ledger at version `found` (`None`: new) to
/// [`SCHEMA_VERSION`], each followed by the update of the version it reaches; refused, with
/// nothing run, when `found` is newer than this program.
pub(crate) fn migrations(
    t: &Tables,
    d: Dialect,
    found: Option<i64>,
    location: &str,
) -> Result<Vec<String>, StoreError> {
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            location: location.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(MIGRATIONS
        .iter()
        .zip(1..)
        .skip(found as usize)
        .map(|(migration, version)| {
            format!(
                "{}\nINSERT INTO {meta} (key, value) VALUES ('schema_version', {version}) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
                migration(t, d),
                meta = t.meta,
            )
        })
        .collect())
}

/// What a read-only open accepts: a ledger at exactly this version (`None`: no ledger).
pub(crate) fn readable(found: Option<i64>, location: &str) -> Result<(), StoreError> {
    let location = location.to_string();
    match found {
        None => Err(StoreError::NoLedger { location }),
        Some(found) if found < SCHEMA_VERSION => Err(StoreError::SchemaTooOld {
            location,
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(found) if found > SCHEMA_VERSION => Err(StoreError::SchemaTooNew {
            location,
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(_) => Ok(()),
    }
}

/// The error of a write on a ledger opened read-only.
pub(crate) fn read_only(location: &str) -> StoreError {
    StoreError::InvalidInput {
        message: format!("{location}: the ledger was opened read-only; nothing was written"),
    }
}

/// Every statement the backends send, by what it does.
pub(crate) struct Statements {
    /// Moves the checkpoint to `1` where it is `2` (compare-and-set); 1 row, else a conflict.
    pub cas: String,
    /// The checkpoint.
    pub checkpoint: String,
    /// A number's status, time and when recorded, by number `1`.
    pub entry: String,
    /// Records that the sync was caught up at watermark `1`, now by the database's clock (no
    /// row where the checkpoint has moved on).
    pub confirm_caught_up: String,
    /// The checkpoint, when the sync last confirmed it was caught up, the database's now (`NULL`
    /// on SQLite: this machine's), and number `1`'s status, time and when recorded if any.
    pub textability: String,
    /// The checkpoint, when last confirmed caught up, and the database's now.
    pub freshness: String,
    /// Up to `3` entries after number `1`, in number order; only opted-out ones when `2`.
    pub entries: String,
    /// Number `1`'s history, oldest first.
    pub history_of: String,
    /// Numbers by status.
    pub count_by_status: String,
    /// Changes in the history.
    pub count_history: String,
    /// Changes set aside.
    pub count_rejected: String,
    /// Up to `2` changes set aside, after record `1`, in record order.
    pub rejected: String,
    /// The schema version.
    pub schema_version: String,
}

impl Statements {
    pub fn new(t: &Tables, d: Dialect) -> Self {
        let p = |n| d.param(n);
        Self {
            cas: format!(
                "UPDATE {} SET watermark = {}, updated = {} \
                 WHERE id = 1 AND watermark IS NOT DISTINCT FROM {}",
                t.checkpoint,
                p(1),
                d.now(),
                p(2)
            ),
            checkpoint: format!("SELECT watermark FROM {} WHERE id = 1", t.checkpoint),
            entry: format!(
                "SELECT status, changed, recorded FROM {} WHERE phone = {}",
                t.numbers,
                p(1)
            ),
            confirm_caught_up: format!(
                "UPDATE {} SET caught_up = {} WHERE id = 1 AND watermark = {}",
                t.checkpoint,
                d.now(),
                p(1)
            ),
            textability: format!(
                "SELECT c.watermark, c.caught_up, {}, n.status, n.changed, n.recorded FROM {} c \
                 LEFT JOIN {} n ON n.phone = {} WHERE c.id = 1",
                d.now_read(),
                t.checkpoint,
                t.numbers,
                p(1)
            ),
            freshness: format!(
                "SELECT watermark, caught_up, {} FROM {} WHERE id = 1",
                d.now_read(),
                t.checkpoint
            ),
            entries: format!(
                "SELECT phone, status, changed, recorded FROM {} WHERE phone > {} \
                 AND (NOT {} OR status <> 'opt-in') ORDER BY phone LIMIT {}",
                t.numbers,
                p(1),
                p(2),
                p(3)
            ),
            history_of: format!(
                "SELECT status, changed, recorded FROM {} WHERE phone = {} \
                 ORDER BY changed, status",
                t.history,
                p(1)
            ),
            count_by_status: format!("SELECT status, count(*) FROM {} GROUP BY status", t.numbers),
            count_history: format!("SELECT count(*) FROM {}", t.history),
            count_rejected: format!("SELECT count(*) FROM {}", t.rejected),
            rejected: format!(
                "SELECT record, reason, phone, received FROM {} WHERE record > {} \
                 ORDER BY record LIMIT {}",
                t.rejected,
                p(1),
                p(2)
            ),
            schema_version: schema_version(t),
        }
    }
}
