//! Fresh ledgers for tests and benches: SQLite in a temporary file, PostgreSQL in a schema of
//! its own on the server `PANDADOC_TEST_POSTGRES_URL` names (`bash .ci/with-postgres ...`
//! starts a throwaway one).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pandadoc_api_ext::ledger::{
    Ledger, LedgerOptions, PostgresLedger, PostgresOptions, SqliteLedger,
};

pub const POSTGRES_URL: &str = "PANDADOC_TEST_POSTGRES_URL";
/// PgBouncer in transaction pooling in front of that server (`.ci/with-postgres` starts it).
pub const PGBOUNCER_URL: &str = "PANDADOC_TEST_PGBOUNCER_URL";

/// The test server's URL. Without one: under `CI=true` a failure (CI starts a server), else
/// `None` and one line on how to run the PostgreSQL tests.
pub fn postgres_url() -> Option<String> {
    url_of(POSTGRES_URL, "PostgreSQL")
}

/// PgBouncer's URL, as [`postgres_url`].
pub fn pgbouncer_url() -> Option<String> {
    url_of(PGBOUNCER_URL, "PgBouncer")
}

fn url_of(variable: &str, what: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "CI=true but {variable} is not set: .ci/run starts a throwaway {what} and sets it"
        ),
        _ => {
            eprintln!(
                "skipped: {what} ledger test (no {variable}); run `bash .ci/with-postgres cargo test --workspace`"
            );
            None
        }
    }
}

/// A name no other test (of this or another process) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A ledger in a new temporary directory (removed with the returned guard).
pub fn sqlite() -> (tempfile::TempDir, SqliteLedger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger =
        SqliteLedger::open(dir.path().join("ledger.db"), &LedgerOptions::default()).unwrap();
    (dir, ledger)
}

/// Options of a ledger in a schema of its own.
pub fn fresh_schema() -> LedgerOptions {
    LedgerOptions::default().schema(unique("t"))
}

/// A ledger in a new schema on the test server.
pub async fn postgres(url: &str) -> PostgresLedger {
    PostgresLedger::connect(url, &fresh_schema(), &PostgresOptions::default())
        .await
        .unwrap()
}

/// Every number of `ledger` with its status and time, read page by page in number order.
pub async fn contents(ledger: &impl Ledger) -> BTreeMap<String, (String, DateTime<Utc>)> {
    let mut all = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = ledger.entries(after.as_deref(), 97, false).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.phone_number.clone());
        for e in page {
            all.insert(e.phone_number, (e.status.to_string(), e.opt_out_changed));
        }
    }
    all
}

/// Fills `ledger` with `numbers` numbers `+1555` followed by seven digits from 0 (one in seven
/// opted out), in batches of 100k, and confirms it caught up now: look-ups are not stale.
pub async fn fill(ledger: &impl Ledger, numbers: usize) {
    use pandadoc_api_ext::SmsOptOutChange;
    use pandadoc_api_ext::sync::Checkpoint;
    let t0 = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut previous: Option<Checkpoint> = None;
    let batches = numbers.div_ceil(100_000);
    for n in 0..batches {
        let batch: Vec<SmsOptOutChange> = (n * 100_000..((n + 1) * 100_000).min(numbers))
            .map(|i| SmsOptOutChange {
                phone_number: Some(format!("+1555{i:07}")),
                status: Some(if i % 7 == 0 { "opt-out" } else { "opt-in" }.into()),
                opt_out_changed: Some(t0 + chrono::TimeDelta::seconds(i as i64)),
                unreadable: None,
            })
            .collect();
        let next = Checkpoint {
            watermark: Utc::now() - chrono::TimeDelta::seconds((batches - n) as i64),
        };
        ledger
            .apply(&batch, previous.as_ref(), &next)
            .await
            .unwrap();
        previous = Some(next);
    }
    ledger
        .confirm_caught_up(previous.unwrap().watermark)
        .await
        .unwrap();
}

/// A connection for a test's own statements on the server at `url`.
pub async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// How many connections named `application_name` are in `state` (`pg_stat_activity`'s, or
/// `waiting` for a lock).
pub async fn backends(admin: &tokio_postgres::Client, application_name: &str, state: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
             AND CASE WHEN $2 = 'waiting' THEN wait_event_type = 'Lock' ELSE state = $2 END",
            &[&application_name, &state],
        )
        .await
        .unwrap()
        .get(0)
}

/// A write held at its compare-and-set: the test holds the ledger's checkpoint row, so the
/// next write waits there with its fence's lock on the lease row taken. Once released, that
/// write goes on on the server, to wait for its client's next statement.
pub struct MidWrite {
    url: String,
    client: tokio_postgres::Client,
}

impl MidWrite {
    /// Holds the checkpoint row of the ledger in `schema`.
    pub async fn take(url: &str, schema: &str) -> Self {
        let client = admin(url).await;
        client
            .batch_execute(&format!(
                "BEGIN; SELECT 1 FROM \"{schema}\".pandadoc_sms_checkpoint FOR UPDATE"
            ))
            .await
            .unwrap();
        Self {
            url: url.to_string(),
            client,
        }
    }

    /// Returns once a write of the connections named `application_name` waits for the row
    /// (within a minute).
    pub async fn until_waiting(self, application_name: &str) -> Self {
        let watcher = admin(&self.url).await;
        let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while backends(&watcher, application_name, "waiting").await == 0 {
            assert!(
                std::time::Instant::now() < end,
                "{application_name} never wrote"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        self
    }

    /// Lets the write go on.
    pub async fn release(self) {
        self.client.batch_execute("ROLLBACK").await.unwrap();
    }
}
