//! The generated client's [`Transport`](pandadoc_api::Transport): adds credentials, records what
//! came back for error classification, and traces.

use std::cell::RefCell;
use std::time::Instant;

use pandadoc_api::{BoxFuture, OperationInfo};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap};

use crate::auth::Auth;

/// What the last exchange of a request returned, for errors that lose it on the way up
/// (progenitor's `InvalidResponsePayload` keeps neither status nor headers).
#[derive(Debug, Default)]
pub(crate) struct Exchange {
    pub status: Option<StatusCode>,
    /// Kept for error statuses only (for `Retry-After`).
    pub headers: HeaderMap,
    /// The token generation the request was sent with.
    pub auth_generation: u64,
}

tokio::task_local! {
    /// Set by the ext client around each attempt; absent for direct use of the raw client.
    pub(crate) static EXCHANGE: RefCell<Exchange>;
}

/// Sends each request with the current credentials.
#[derive(Debug)]
pub(crate) struct AuthTransport {
    pub auth: Auth,
}

impl pandadoc_api::Transport for AuthTransport {
    fn exec<'a>(
        &'a self,
        client: &'a reqwest::Client,
        mut request: reqwest::Request,
        info: &'a OperationInfo,
    ) -> BoxFuture<'a, reqwest::Result<reqwest::Response>> {
        Box::pin(async move {
            if let Auth::OAuth(session) = &self.auth {
                // Raw-client callers get fresh tokens too; the ext client already refreshed
                // (and reported any failure), so here a failure just sends the old token.
                let _ = session.ensure_fresh().await;
            }
            let (header, generation) = self.auth.current();
            request.headers_mut().insert(AUTHORIZATION, header);
            let started = Instant::now();
            let result = client.execute(request).await;
            let status = result.as_ref().ok().map(reqwest::Response::status);
            let span = tracing::Span::current();
            if !span.is_disabled() {
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                if let Some(status) = status {
                    span.record("status", status.as_u16());
                }
            }
            let _ = EXCHANGE.try_with(|slot| {
                let mut exchange = slot.borrow_mut();
                exchange.status = status;
                exchange.auth_generation = generation;
                if let (Some(s), Ok(response)) = (status, &result)
                    && !s.is_success()
                {
                    exchange.headers = response.headers().clone();
                }
            });
            // The spec's `operationId`, as the request's span has it (progenitor's
            // `OperationInfo` holds the method name).
            let operation = pandadoc_api::operations::by_fn_name(info.operation_id)
                .map_or(info.operation_id, |op| op.id);
            tracing::debug!(operation, ?status, "response");
            result
        })
    }
}
