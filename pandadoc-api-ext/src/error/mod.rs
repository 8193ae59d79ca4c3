//! One error type for every failure, classified into a [`ErrorKind`] you can match on.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

mod classify;

#[cfg(feature = "sms-opt-outs")]
pub(crate) use classify::cut;
pub(crate) use classify::{Snippet, classify};

/// How many bytes of a response body an error keeps.
pub const SNIPPET_LIMIT: usize = 512;

/// What went wrong, in classes a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input is invalid (empty key, CR/LF in a token, `from >= to`, bad URL):
    /// nothing was sent.
    InvalidInput,
    /// 401: the credentials are missing, wrong or expired.
    Authentication,
    /// 403: the credentials are valid but not allowed to do this.
    Permission,
    /// 400: the server rejected the request's content.
    BadRequest,
    /// 429: too many requests; see [`Error::retry_after`].
    Throttled,
    /// 404.
    NotFound,
    /// Any other 4xx status.
    ClientError,
    /// 5xx, whatever the body (JSON, HTML or empty).
    Server,
    /// The request or the response took longer than the configured timeout.
    Timeout,
    /// The connection failed (refused, reset, DNS, TLS, body cut short).
    Network,
    /// A response that does not match the spec: a success body that does not decode, or an
    /// undocumented success status. The status and a bounded snippet of the body are kept.
    InvalidResponse,
}

impl ErrorKind {
    /// A stable snake_case name (`throttled`, `invalid_response`, …), for logs and exit messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Authentication => "authentication",
            Self::Permission => "permission",
            Self::BadRequest => "bad_request",
            Self::Throttled => "throttled",
            Self::NotFound => "not_found",
            Self::ClientError => "client_error",
            Self::Server => "server",
            Self::Timeout => "timeout",
            Self::Network => "network",
            Self::InvalidResponse => "invalid_response",
        }
    }

    /// The kind an HTTP error status belongs to.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest,
            401 => Self::Authentication,
            403 => Self::Permission,
            404 => Self::NotFound,
            408 => Self::Timeout,
            429 => Self::Throttled,
            402..=499 => Self::ClientError,
            500..=599 => Self::Server,
            _ => Self::InvalidResponse,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The server's `detail`: text, or messages per field (400 validation errors).
#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    /// A human-readable message.
    Text(String),
    /// Messages per request field, as in `{"count": ["A valid integer is required."]}`.
    Fields(BTreeMap<String, Vec<String>>),
    /// Any other JSON the server sent as `detail`, kept as is.
    Other(Value),
}

impl Detail {
    fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::Null => None,
            Value::String(s) => Some(Self::Text(s.clone())),
            Value::Object(map) => {
                let fields: Option<BTreeMap<String, Vec<String>>> = map
                    .iter()
                    .map(|(k, v)| {
                        let messages = match v {
                            Value::String(s) => Some(vec![s.clone()]),
                            Value::Array(items) => {
                                items.iter().map(|i| i.as_str().map(String::from)).collect()
                            }
                            _ => None,
                        };
                        messages.map(|m| (k.clone(), m))
                    })
                    .collect();
                Some(
                    fields
                        .map(Self::Fields)
                        .unwrap_or_else(|| Self::Other(value.clone())),
                )
            }
            other => Some(Self::Other(other.clone())),
        }
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Fields(fields) => {
                let mut first = true;
                for (field, messages) in fields {
                    if !first {
                        f.write_str("; ")?;
                    }
                    first = false;
                    write!(f, "{field}: {}", messages.join(" "))?;
                }
                Ok(())
            }
            Self::Other(v) => write!(f, "{v}"),
        }
    }
}

/// A link of a 403 answer (`rel`, `href`, `type`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// Relation, e.g. `status`.
    pub rel: Option<String>,
    /// Target URL.
    pub href: Option<String>,
    /// HTTP method to use on `href`.
    #[serde(rename = "type")]
    pub method: Option<String>,
}

/// Every failure of this crate. Match on [`Error::kind`]; the HTTP status, the server's `type`
/// and `detail`, and a bounded snippet of an unexpected body are kept when there were any.
/// No credential is ever part of it.
#[derive(Clone, Debug)]
pub struct Error(Box<Inner>);

#[derive(Clone, Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<StatusCode>,
    error_type: Option<String>,
    detail: Option<Detail>,
    info_message: Option<String>,
    links: Vec<Link>,
    retry_after: Option<Duration>,
    body_snippet: Option<String>,
    /// What failed underneath (a `reqwest::Error`, and through it an `io::Error`), for
    /// [`std::error::Error::source`]; shared, so that `Error` stays `Clone`.
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` with a message and nothing else.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            message: message.into(),
            status: None,
            error_type: None,
            detail: None,
            info_message: None,
            links: Vec::new(),
            retry_after: None,
            body_snippet: None,
            source: None,
        }))
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Classifies a transport error of reqwest (no HTTP status was received).
    pub(crate) fn from_reqwest(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else if err.is_builder() {
            ErrorKind::InvalidInput
        } else if err.is_decode() {
            ErrorKind::InvalidResponse
        } else {
            ErrorKind::Network
        };
        // reqwest's messages name the URL (which carries no secret) and the cause.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        let mut e = Self::new(kind, message);
        e.0.status = err.status();
        e.0.source = Some(Arc::new(err));
        e
    }

    /// This error, with the cause of `other` as its own.
    pub(crate) fn caused_as(mut self, other: &Error) -> Self {
        self.0.source = other.0.source.clone();
        self
    }

    /// Changes the kind (where the context knows better than the status).
    pub(crate) fn reclassify(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// Sets the message (used where the caller knows better than the status).
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.0.message = message.into();
        self
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        self.0.status
    }

    /// The server's `type` (e.g. `throttled`, `permission_error`), or OAuth's `error`.
    pub fn error_type(&self) -> Option<&str> {
        self.0.error_type.as_deref()
    }

    /// The server's `detail`.
    pub fn detail(&self) -> Option<&Detail> {
        self.0.detail.as_ref()
    }

    /// Messages per request field, when `detail` was an object of them (400).
    pub fn field_errors(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        match &self.0.detail {
            Some(Detail::Fields(fields)) => Some(fields),
            _ => None,
        }
    }

    /// The 403 answer's human-readable `info_message`.
    pub fn info_message(&self) -> Option<&str> {
        self.0.info_message.as_deref()
    }

    /// The 403 answer's `links`.
    pub fn links(&self) -> &[Link] {
        &self.0.links
    }

    /// How long the server asked to wait: `Retry-After` (seconds or HTTP date), else the
    /// "Expected available in N seconds" of PandaDoc's throttling detail.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// At most [`SNIPPET_LIMIT`] bytes of a body that was not the documented JSON.
    pub fn body_snippet(&self) -> Option<&str> {
        self.0.body_snippet.as_deref()
    }

    /// A short human-readable message (the server's detail where there was one).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Whether the same request may succeed if sent again: throttling and transient errors.
    pub fn is_retryable(&self) -> bool {
        self.is_throttling() || self.is_transient()
    }

    /// 429.
    pub fn is_throttling(&self) -> bool {
        self.0.kind == ErrorKind::Throttled
    }

    /// Timeouts, connection failures and 502/503/504.
    pub fn is_transient(&self) -> bool {
        match self.0.kind {
            ErrorKind::Timeout | ErrorKind::Network => true,
            ErrorKind::Server => matches!(self.0.status.map(|s| s.as_u16()), Some(502..=504)),
            _ => false,
        }
    }

    /// Errors the caller must fix (input, credentials, permissions, request content).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::InvalidInput
                | ErrorKind::Authentication
                | ErrorKind::Permission
                | ErrorKind::BadRequest
                | ErrorKind::NotFound
                | ErrorKind::ClientError
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.kind)?;
        if let Some(status) = self.0.status {
            write!(f, " (HTTP {})", status.as_u16())?;
        }
        write!(f, ": {}", self.0.message)?;
        if let Some(info) = &self.0.info_message {
            write!(f, " ({info})")?;
        }
        if let Some(snippet) = &self.0.body_snippet {
            write!(f, "; body: {snippet:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    /// The error underneath, when there was one: the `reqwest::Error` of a transport failure
    /// (whose own `source()` leads to the `io::Error`), or of a body that could not be read.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_objects_become_field_messages() {
        let json =
            serde_json::json!({"count": ["A valid integer is required."], "order_by": "bad"});
        let Some(Detail::Fields(f)) = Detail::from_json(&json) else {
            panic!()
        };
        assert_eq!(f["count"], ["A valid integer is required."]);
        assert_eq!(f["order_by"], ["bad"]);
        let nested = serde_json::json!({"a": {"b": 1}});
        assert_eq!(Detail::from_json(&nested), Some(Detail::Other(nested)));
    }
}
