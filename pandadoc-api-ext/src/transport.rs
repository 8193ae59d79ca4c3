//! The generated client's [`Transport`](pandadoc_api::Transport): adds credentials, records what
//! came back for error classification, and traces.

use std::cell::RefCell;
use std::time::Instant;

use pandadoc_api::{After, BoxFuture, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderMap};
use reqwest::{ResponseBuilderExt, StatusCode};

use crate::auth::Auth;

/// How many bytes of an error body are kept (and handed on to the generated client): a
/// longer body is cut here, so it is classified by its status with a snippet.
pub(crate) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// What the last exchange of a request returned, for errors that lose it on the way up
/// (progenitor's `InvalidResponsePayload` keeps neither status nor headers, and its typed
/// error bodies keep only the fields the release declares). Small, as the task-local moves it
/// on every poll; an error answer's parts are boxed.
#[derive(Debug, Default)]
pub(crate) struct Exchange {
    pub status: Option<StatusCode>,
    /// The token generation the request was sent with.
    pub auth_generation: u64,
    /// When the request was sent, when its span is enabled (for the span's `latency_ms`).
    sent: Option<Instant>,
    /// Kept for error statuses only.
    error: Option<Box<ErrorAnswer>>,
}

/// The parts of an error answer classification reads.
#[derive(Debug, Default)]
struct ErrorAnswer {
    /// For `Retry-After`.
    headers: HeaderMap,
    /// The body as received (at most [`ERROR_BODY_LIMIT`] bytes), once read.
    body: Option<Vec<u8>>,
}

impl Exchange {
    /// An error answer's headers (none for a success or no answer).
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.error.as_ref().map(|error| &error.headers)
    }

    /// An error answer's body as received, when it was read.
    pub fn body(&self) -> Option<&[u8]> {
        self.error.as_ref()?.body.as_deref()
    }
}

tokio::task_local! {
    /// Set by the ext client around each attempt; absent for direct use of the raw client.
    pub(crate) static EXCHANGE: RefCell<Exchange>;
}

/// Whether the current attempt's answer had a success status (`false` outside an attempt of
/// the ext client, or before an answer).
#[cfg(feature = "sms-opt-outs")]
pub(crate) fn answered_success() -> bool {
    EXCHANGE
        .try_with(|slot| slot.borrow().status.is_some_and(|s| s.is_success()))
        .unwrap_or(false)
}

/// Sends each request with the current credentials.
#[derive(Debug)]
pub(crate) struct AuthTransport {
    pub auth: Auth,
}

impl pandadoc_api::Transport for AuthTransport {
    fn ready<'a>(&'a self, _info: &'a OperationInfo) -> Option<BoxFuture<'a, ()>> {
        match &self.auth {
            // Raw-client callers get fresh tokens too; the ext client already refreshed (and
            // reported any failure), so here a failure just sends the old token.
            Auth::OAuth(session) if session.needs_refresh() => Some(Box::pin(async move {
                let _ = session.ensure_fresh().await;
            })),
            _ => None,
        }
    }

    fn before(&self, request: &mut reqwest::Request, _info: &OperationInfo) {
        let (header, generation) = self.auth.current();
        request.headers_mut().insert(AUTHORIZATION, header);
        let _ = EXCHANGE.try_with(|slot| {
            let mut exchange = slot.borrow_mut();
            exchange.auth_generation = generation;
            // The span's latency: from here to the answer's head, as the span is there.
            exchange.sent = (!tracing::Span::current().is_disabled()).then(Instant::now);
        });
    }

    fn after<'a>(
        &'a self,
        result: reqwest::Result<reqwest::Response>,
        info: &'a OperationInfo,
    ) -> After<'a> {
        let status = result.as_ref().ok().map(reqwest::Response::status);
        let recording = EXCHANGE
            .try_with(|slot| {
                let mut exchange = slot.borrow_mut();
                exchange.status = status;
                if let Some(sent) = exchange.sent {
                    let span = tracing::Span::current();
                    span.record("latency_ms", sent.elapsed().as_millis() as u64);
                    if let Some(status) = status {
                        span.record("status", status.as_u16());
                    }
                }
                if let (Some(s), Ok(response)) = (status, &result)
                    && !s.is_success()
                {
                    exchange.error = Some(Box::new(ErrorAnswer {
                        headers: response.headers().clone(),
                        body: None,
                    }));
                }
            })
            .is_ok();
        // The spec's `operationId`, as the request's span has it (progenitor's `OperationInfo`
        // holds the method name); looked up only when the event is enabled.
        tracing::debug!(
            operation = pandadoc_api::operations::by_fn_name(info.operation_id)
                .map_or(info.operation_id, |op| op.id),
            ?status,
            "response"
        );
        match result {
            Ok(response) if recording && !response.status().is_success() => {
                After::Later(Box::pin(keep_error_body(response)))
            }
            result => After::Ready(result),
        }
    }
}

/// Reads an error answer's body (up to [`ERROR_BODY_LIMIT`] bytes) into the exchange and hands
/// the generated client the same answer rebuilt around those bytes, so that the error is
/// classified from what the server sent, not from the typed body re-serialized (which drops
/// the fields a release does not declare). A failure to read the body is returned as is;
/// the status is already recorded.
async fn keep_error_body(mut response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    let mut body = Vec::new();
    read_error_body(&mut response, &mut body).await?;
    let _ = EXCHANGE.try_with(|slot| {
        if let Some(error) = &mut slot.borrow_mut().error {
            error.body = Some(body.clone());
        }
    });
    let mut rebuilt = http::Response::builder()
        .status(response.status())
        .version(response.version())
        .url(response.url().clone())
        .body(body)
        .expect("a status, version and URL taken from a response are valid");
    *rebuilt.headers_mut() = std::mem::take(response.headers_mut());
    Ok(reqwest::Response::from(rebuilt))
}

/// Appends `response`'s body to `body`, up to [`ERROR_BODY_LIMIT`] bytes in all; on a read
/// error what arrived before it stays in `body`.
pub(crate) async fn read_error_body(
    response: &mut reqwest::Response,
    body: &mut Vec<u8>,
) -> reqwest::Result<()> {
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    Ok(())
}
