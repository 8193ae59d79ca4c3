//! Reaching the server: the URL (with libpq's TLS settings), a small pool that reconnects, and
//! a bound on every call.
//!
//! Every statement is sent with `query_typed` (the unnamed statement, one round trip) or inside
//! an explicit transaction, and nothing relies on session state, so the ledger works through
//! PgBouncer in transaction pooling. Every call has a bound: connecting (`connect_timeout`), a
//! free connection (the same), and each statement or transaction (`statement_timeout`, on this
//! side: a server behind a partition never answers); connections use TCP keepalives and a TCP
//! user timeout, so the kernel gives up on a dead peer too. A connection that timed out is
//! dropped, never reused; one the server closed (a restart) is replaced on the next call.
//!
//! The server needs a bound of its own: a client frozen or cut off in the middle of a
//! transaction leaves it open on the server, its row locks (the lease's among them) held until
//! the server's TCP keepalives give up (two hours by the kernel's defaults; never, behind a
//! proxy or PgBouncer that keeps its side open). Every transaction therefore begins with
//! `SET LOCAL idle_in_transaction_session_timeout` ([`begin`]): the server ends a transaction
//! whose client has sent nothing for that long, and closes that connection.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{Client, Config, NoTls, Transaction};

use super::options::PostgresOptions;
use crate::ledger::tls::Tls;
use crate::sync::StoreError;

/// The URL's settings with `postgres`'s, its TLS, and where it points (without the password).
pub(super) fn configure(
    url: &str,
    postgres: &PostgresOptions,
) -> Result<(Config, Tls, String), StoreError> {
    let (mut config, tls) = parse(url)?;
    config
        .connect_timeout(postgres.connect_timeout)
        .application_name(&postgres.application_name)
        .ssl_mode(tls.ssl_mode())
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(2))
        .keepalives_retries(3)
        .tcp_user_timeout(postgres.statement_timeout);
    let location = location(&config);
    Ok((config, tls, location))
}

/// The URL's connection settings and TLS (`sslmode`, `sslrootcert`: see the `tls` module); a
/// malformed URL is invalid input.
fn parse(url: &str) -> Result<(Config, Tls), StoreError> {
    let (url, tls) = crate::ledger::tls::split(url)?;
    let config = url.parse().map_err(|e| StoreError::InvalidInput {
        message: format!("not a PostgreSQL URL (postgres://user@host:port/dbname): {e}"),
    })?;
    Ok((config, tls))
}

/// Where `url` points, without its password ([`LedgerUrl`](crate::ledger::LedgerUrl)'s display).
pub(crate) fn location_of(url: &str) -> Result<String, StoreError> {
    parse(url).map(|(config, _)| location(&config))
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

/// The pool: at most `pool_size` connections, each made on demand.
pub(super) fn pool(
    config: Config,
    tls: &Tls,
    location: &str,
    postgres: &PostgresOptions,
) -> Result<Pool, StoreError> {
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls.client_config(location)? {
        Some(rustls) => Manager::from_config(
            config,
            tokio_postgres_rustls::MakeRustlsConnect::new(rustls),
            manager_config,
        ),
        None => Manager::from_config(config, NoTls, manager_config),
    };
    Pool::builder(manager)
        .max_size(postgres.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(postgres.connect_timeout))
        .create_timeout(Some(postgres.connect_timeout))
        .recycle_timeout(Some(postgres.statement_timeout))
        .build()
        .map_err(|e| StoreError::Database {
            location: location.to_string(),
            operation: "set up the connection pool".into(),
            source: Box::new(e),
        })
}

/// Begins a transaction that the server ends by itself once it has waited `idle` for this
/// side's next statement (see the module's docs): a transaction-scoped setting, so it works
/// through PgBouncer in transaction pooling too.
pub(super) async fn begin(
    client: &mut Client,
    idle: Duration,
) -> Result<Transaction<'_>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "SET LOCAL idle_in_transaction_session_timeout = {}",
        idle.as_millis().max(1)
    ))
    .await?;
    Ok(tx)
}

/// A database error with where and what.
pub(super) fn database(
    location: &str,
    operation: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::Database {
        location: location.to_string(),
        operation: operation.to_string(),
        source: Box::new(e),
    }
}

/// Runs `f` on a pooled connection within `bound`. A connection that timed out is dropped
/// (its peer may be gone), never handed out again.
pub(super) async fn on_connection<T>(
    pool: &Pool,
    location: &str,
    operation: &str,
    bound: Duration,
    f: impl AsyncFnOnce(&mut Object) -> Result<T, tokio_postgres::Error>,
) -> Result<T, StoreError> {
    let mut client = pool
        .get()
        .await
        .map_err(|e| database(location, operation, e))?;
    match tokio::time::timeout(bound, f(&mut client)).await {
        Ok(result) => result.map_err(|e| database(location, operation, e)),
        Err(_) => {
            drop(Object::take(client));
            Err(database(
                location,
                operation,
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} ms", bound.as_millis()),
                ),
            ))
        }
    }
}
