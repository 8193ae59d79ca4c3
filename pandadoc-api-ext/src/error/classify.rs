//! Classification, in one place: what kind of [`Error`] an HTTP exchange or a failure of the
//! generated client is, with its status, the server's `type`/`detail`, `Retry-After` and a
//! bounded snippet of a body that was not the documented one.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde_json::Value;

use super::{Detail, Error, ErrorKind, SNIPPET_LIMIT};
use crate::transport::{Exchange, read_error_body};

/// Whether an error keeps a snippet of the body: yes for a body that is not the documented
/// one (a reader needs to see it), no for a documented error body (its fields are kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Snippet {
    /// Keep a bounded snippet (undecodable or undocumented bodies).
    Keep,
    /// Keep none (a documented error body, or no body).
    Omit,
}

impl Error {
    /// Classifies an HTTP answer from its status, headers and body. Error statuses are
    /// classified by status whatever the body; a success status gets here only when its body
    /// did not decode, and is [`ErrorKind::InvalidResponse`].
    pub(crate) fn from_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        snippet: Snippet,
    ) -> Self {
        let kind = if status.is_success() {
            ErrorKind::InvalidResponse
        } else {
            ErrorKind::from_status(status)
        };
        let json: Option<Value> = serde_json::from_slice(body).ok().filter(Value::is_object);
        let mut e = Self::new(kind, String::new());
        e.0.status = Some(status);
        if let Some(json) = &json {
            e.absorb_body(json);
        }
        if snippet == Snippet::Keep && (json.is_none() || status.is_success()) {
            e.0.body_snippet = Some(body_snippet(body));
        }
        e.0.retry_after = retry_after_header(headers).or_else(|| match &e.0.detail {
            Some(Detail::Text(text)) => retry_after_text(text),
            _ => None,
        });
        e.0.message = match (
            &e.0.detail,
            json.as_ref()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str),
        ) {
            (Some(detail), _) => detail.to_string(),
            (None, Some(oauth_error)) => oauth_error.to_string(),
            (None, None) if status.is_success() => {
                "the response body does not match the spec".into()
            }
            (None, None) if body.is_empty() => "empty body".into(),
            (None, None) => "the body is not the documented JSON".into(),
        };
        e
    }

    /// Takes `type`, `detail`, `info_message` and `links` (and OAuth's `error`) from a JSON body.
    fn absorb_body(&mut self, json: &Value) {
        self.0.error_type = json
            .get("type")
            .or_else(|| json.get("error"))
            .and_then(Value::as_str)
            .map(String::from);
        self.0.detail = json
            .get("detail")
            .or_else(|| json.get("error_description"))
            .and_then(Detail::from_json);
        self.0.info_message = json
            .get("info_message")
            .and_then(Value::as_str)
            .map(String::from);
        self.0.links = json
            .get("links")
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default();
    }
}

/// Turns what the generated client returned into an [`Error`].
pub(crate) async fn classify<E: Serialize>(
    error: pandadoc_api::Error<E>,
    exchange: &Exchange,
) -> Error {
    use pandadoc_api::Error as Raw;
    let no_headers = HeaderMap::new();
    let headers = exchange.headers().unwrap_or(&no_headers);
    match error {
        Raw::InvalidRequest(message) => Error::invalid_input(message),
        Raw::InvalidUpgrade(e) => Error::from_reqwest(e),
        // A body that failed to arrive, read by the generated client or by the transport
        // (error bodies): the status, when there was one, classifies it.
        Raw::ResponseBodyError(e) | Raw::CommunicationError(e) => {
            let err = Error::from_reqwest(e);
            match exchange.status {
                Some(status) if !status.is_success() => {
                    Error::from_response(status, headers, b"", Snippet::Omit)
                        .with_message(err.message().to_string())
                        .caused_as(&err)
                }
                _ => err,
            }
        }
        Raw::ErrorResponse(value) => {
            let (status, headers) = (value.status(), value.headers().clone());
            // The body as received keeps what the release does not declare; the typed value
            // re-serialized is the fallback (the transport did not record this exchange).
            let body = match exchange.body() {
                Some(body) => body.to_vec(),
                None => serde_json::to_vec(&value.into_inner()).unwrap_or_default(),
            };
            Error::from_response(status, &headers, &body, Snippet::Omit)
        }
        Raw::InvalidResponsePayload(body, decode_error) => {
            let at = crate::json_path::at(&body, decode_error.line(), decode_error.column())
                .map(|path| format!(" at {path}"))
                .unwrap_or_default();
            let message = format!("the response body does not match the spec{at}: {decode_error}");
            match exchange.status {
                Some(status) if status.is_success() => {
                    Error::from_response(status, headers, &body, Snippet::Keep)
                        .with_message(message)
                }
                Some(status) => Error::from_response(status, headers, &body, Snippet::Keep),
                None => Error::new(ErrorKind::InvalidResponse, message),
            }
        }
        Raw::UnexpectedResponse(mut response) => {
            let (status, headers) = (response.status(), response.headers().clone());
            // Error bodies were read by the transport; any other (an undocumented success
            // status) is read here, as far as it arrives.
            let body = match exchange.body() {
                Some(body) => body.to_vec(),
                None => {
                    let mut body = Vec::new();
                    let _ = read_error_body(&mut response, &mut body).await;
                    body
                }
            };
            Error::from_response(status, &headers, &body, Snippet::Keep)
        }
        Raw::Custom(message) => Error::new(ErrorKind::Network, message),
    }
}

/// The first [`SNIPPET_LIMIT`] bytes of `body`, cut at a character boundary.
fn body_snippet(body: &[u8]) -> String {
    cut(body, SNIPPET_LIMIT)
}

/// The first `limit` bytes of `text` (lossy UTF-8), cut at a character boundary, with `…`
/// when something was cut.
pub(crate) fn cut(text: &[u8], limit: usize) -> String {
    let kept = String::from_utf8_lossy(&text[..text.len().min(limit)]).into_owned();
    let kept = kept.trim_end_matches('\u{FFFD}').to_string();
    if text.len() > limit {
        format!("{kept}…")
    } else {
        kept
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// PandaDoc's "Request was throttled. Expected available in 13 seconds."
pub(crate) fn retry_after_text(detail: &str) -> Option<Duration> {
    let rest = &detail[detail.find("available in ")? + "available in ".len()..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let seconds: f64 = digits.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_reads_seconds_dates_and_detail_text() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after_header(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after_header(&h),
            Some(Duration::ZERO),
            "a past date means now"
        );
        let future =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&future).unwrap());
        let d = retry_after_header(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after_header(&h), None);
        assert_eq!(
            retry_after_text("Request was throttled. Expected available in 13 seconds."),
            Some(Duration::from_secs(13))
        );
        assert_eq!(retry_after_text("Request was throttled."), None);
    }

    #[test]
    fn snippets_are_bounded_at_a_char_boundary() {
        let body = "é".repeat(SNIPPET_LIMIT);
        let s = body_snippet(body.as_bytes());
        assert!(s.len() <= SNIPPET_LIMIT + '…'.len_utf8());
        assert!(s.ends_with('…') && s.starts_with("éé"));
    }
}
