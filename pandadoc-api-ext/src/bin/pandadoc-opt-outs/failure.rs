//! How the program fails: one line on stderr, `error[KIND]: ...`, and a documented exit code
//! (`--help` lists them).

use pandadoc_api_ext::sync::{StoreError, SyncError};
use pandadoc_api_ext::{Error, ErrorKind};

/// A failure: the line for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The error's kind: an `ErrorKind`'s name, or `store`, `checkpoint`, `output`, ...
    pub kind: String,
    /// What failed, on one line.
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        Self {
            kind: ErrorKind::InvalidInput.to_string(),
            message: message.to_string(),
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
            kind: e.kind().to_string(),
            message: format!("{status}{}", e.message().replace('\n', " ")),
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
                kind: "checkpoint".into(),
                message: e.to_string(),
                code: 1,
            },
            e => Self {
                kind: "store".into(),
                message: e.to_string().replace('\n', " "),
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
                kind: "sync".into(),
                message: other.to_string(),
                code: 1,
            },
        }
    }

    pub fn output(e: impl std::fmt::Display) -> Self {
        Self {
            kind: "output".into(),
            message: e.to_string(),
            code: 1,
        }
    }
}
