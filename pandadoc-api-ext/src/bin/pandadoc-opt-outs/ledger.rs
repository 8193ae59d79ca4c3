//! Opening the ledger a command names, as this program presents itself to PostgreSQL.

use pandadoc_api_ext::ledger::{Access, AnyLedger, LedgerOptions, LedgerUrl, PostgresOptions};

use crate::args::LedgerArgs;
use crate::failure::Failure;

/// Opens the ledger at `url`: to write (`sync`, `init`: created or upgraded if need be) or to
/// read (`check`, `export`, `status`: nothing created, written or locked). PostgreSQL sees this
/// process as `pandadoc-opt-outs@HOST:PID` (in `pg_stat_activity` and the lease holder).
pub async fn open(
    url: &LedgerUrl,
    options: &LedgerOptions,
    access: Access,
    prepared_statements: bool,
) -> Result<AnyLedger, Failure> {
    let name = format!("pandadoc-opt-outs@{}:{}", hostname(), std::process::id());
    let postgres = PostgresOptions::default()
        .application_name(name)
        .prepared_statements(prepared_statements);
    url.open_with(options, access, &postgres)
        .await
        .map_err(Failure::store)
}

/// Opens the ledger a look-up or `init` names (`--ledger`, `--table-prefix`, ...).
pub async fn open_named(args: &LedgerArgs, access: Access) -> Result<AnyLedger, Failure> {
    let (url, options) = args.parsed().map_err(Failure::store)?;
    open(&url, &options, access, !args.no_prepared_statements).await
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
