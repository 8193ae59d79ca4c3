//! Creating a ledger's schema, or bringing it to this version.

use std::time::Duration;

use tokio_postgres::types::Type;

use super::connect::begin;

use crate::ledger::Tables;
use crate::ledger::sql::{self, Dialect};
use crate::sync::StoreError;

/// Creates the schema and tables of a new ledger, or brings an existing one to this version: a
/// newer one is refused before anything is written. Concurrent creators wait for each other.
/// The outer error is the database's; the inner one a refusal.
pub(super) async fn create_schema(
    client: &mut tokio_postgres::Client,
    t: &Tables,
    location: &str,
    idle: Duration,
) -> Result<Result<(), StoreError>, tokio_postgres::Error> {
    let tx = begin(client, idle).await?;
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
