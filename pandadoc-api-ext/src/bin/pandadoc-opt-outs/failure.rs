//! How the program fails: one line on stderr, `error[KIND]: ...`, and a documented exit code
//! (`--help` lists them).

use pandadoc_api_ext::sync::{StoreError, SyncError};
use pandadoc_api_ext::{Error, ErrorKind};

/// A failure: the line for stderr and the exit code.
pub struct Failure {
    pub line: String,
    pub code: u8,
}

impl Failure {
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        Self {
            line: format!("error[{}]: {message}", ErrorKind::InvalidInput),
            code: 2,
        }
    }

    pub fn api(e: Error) -> Self {
        let status = match e.status() {
            Some(s) => match s.canonical_reason() {
                Some(reason) => format!("HTTP {} {reason}: ", s.as_u16()),
                None => format!("HTTP {}: ", s.as_u16()),
            },
            None => String::new(),
        };
        Self {
            line: format!(
                "error[{}]: {status}{}",
                e.kind(),
                e.message().replace('\n', " ")
            ),
            code: if e.kind() == ErrorKind::InvalidInput {
                2
            } else {
                1
            },
        }
    }

    pub fn store(e: StoreError) -> Self {
        match e {
            e @ StoreError::Corrupt { .. } => {
                Self::invalid(format!("{e}; fix or remove it (it was not changed)"))
            }
            e @ (StoreError::InvalidInput { .. } | StoreError::SchemaTooNew { .. }) => {
                Self::invalid(e)
            }
            e @ (StoreError::NoLedger { .. } | StoreError::SchemaTooOld { .. }) => Self::invalid(
                format!("{e} (`pandadoc-opt-outs init --ledger URL` creates or upgrades it)"),
            ),
            e @ StoreError::Conflict { .. } => Self {
                line: format!("error[checkpoint]: {e}"),
                code: 1,
            },
            e => Self {
                line: format!("error[store]: {}", e.to_string().replace('\n', " ")),
                code: 1,
            },
        }
    }

    pub fn sync(e: SyncError) -> Self {
        match e {
            SyncError::Api(e) => Self::api(e),
            SyncError::Store(e) => Self::store(e),
            SyncError::Rejected(e) => Self::output(e),
            other => Self {
                line: format!("error[sync]: {other}"),
                code: 1,
            },
        }
    }

    pub fn output(e: impl std::fmt::Display) -> Self {
        Self {
            line: format!("error[output]: {e}"),
            code: 1,
        }
    }
}
