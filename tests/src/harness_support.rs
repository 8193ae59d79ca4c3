//! The fixed part of the contract-test harness: what does not depend on the spec. The
//! generated part (`harness.rs`, written by `cargo xtask generate`) uses it for every operation.

// `Erased` carries the client's own `Error`, as the client returns it.
#![allow(clippy::result_large_err)]

use pandadoc_api::{ByteStream, Error, ResponseValue};
use serde_json::{Map, Value};

/// A result with its typed bodies erased to JSON.
pub type Erased = Result<ResponseValue<Value>, Error<Value>>;

/// Argument `name` of `args`, converted to the operation's parameter type.
pub(crate) fn arg<T: serde::de::DeserializeOwned>(
    args: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, String> {
    match args.get(name) {
        None => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| format!("argument `{name}`: {e}")),
    }
}

/// A raw body: the argument's text (a JSON string) or its JSON.
pub(crate) fn raw_body(value: &Value) -> reqwest::Body {
    match value {
        Value::String(s) => reqwest::Body::from(s.clone()),
        other => reqwest::Body::from(other.to_string()),
    }
}

pub(crate) fn json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub(crate) fn stream(_: ByteStream) -> Value {
    Value::String("<byte stream>".into())
}

/// Raw bytes as the JSON they hold, else as text (nothing is decoded by the client).
pub(crate) fn bytes_value(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// `erase` for a raw success body: the stream is read to its end.
pub(crate) async fn erase_stream<E>(
    result: Result<ResponseValue<ByteStream>, Error<E>>,
    err: fn(E) -> Value,
) -> Erased {
    match result {
        Ok(v) => {
            let (status, headers) = (v.status(), v.headers().clone());
            let mut stream = v.into_inner().into_inner();
            let mut body = Vec::new();
            while let Some(chunk) =
                std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx))
                    .await
            {
                match chunk {
                    Ok(bytes) => body.extend_from_slice(&bytes),
                    Err(e) => return Err(Error::ResponseBodyError(e)),
                }
            }
            Ok(ResponseValue::new(bytes_value(&body), status, headers))
        }
        Err(e) => erase::<(), E>(Err(e), |()| Value::Null, err),
    }
}

/// The result with its success and error bodies turned into JSON by `ok` and `err`.
pub(crate) fn erase<T, E>(
    result: Result<ResponseValue<T>, Error<E>>,
    ok: fn(T) -> Value,
    err: fn(E) -> Value,
) -> Erased {
    match result {
        Ok(v) => {
            let (status, headers) = (v.status(), v.headers().clone());
            Ok(ResponseValue::new(ok(v.into_inner()), status, headers))
        }
        Err(e) => Err(match e {
            Error::ErrorResponse(v) => {
                let (status, headers) = (v.status(), v.headers().clone());
                Error::ErrorResponse(ResponseValue::new(err(v.into_inner()), status, headers))
            }
            Error::InvalidRequest(m) => Error::InvalidRequest(m),
            Error::CommunicationError(e) => Error::CommunicationError(e),
            Error::InvalidUpgrade(e) => Error::InvalidUpgrade(e),
            Error::ResponseBodyError(e) => Error::ResponseBodyError(e),
            Error::InvalidResponsePayload(b, e) => Error::InvalidResponsePayload(b, e),
            Error::UnexpectedResponse(r) => Error::UnexpectedResponse(r),
            Error::Custom(m) => Error::Custom(m),
        }),
    }
}

/// Decodes `body` as `T` and serializes it back. Strict: a union value that names a branch but
/// does not fit it, which the client keeps as `Other`, fails here (`fallbacks` counts them).
pub(crate) fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(
    body: &[u8],
    fallbacks: fn() -> u64,
) -> Result<Value, String> {
    let before = fallbacks();
    let typed: T = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if fallbacks() != before {
        return Err(
            "a union value names a branch it does not fit (the client keeps it as `Other`)".into(),
        );
    }
    serde_json::to_value(typed).map_err(|e| e.to_string())
}
