//! The routes: they parse, call the library's look-up ([`Ledger::textability`]) and format.
//! Every error is `{"error": {"kind": ..., "message": ...}}` with its status.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use pandadoc_api_ext::ledger::{AnyLedger, Ledger, Textability, canonical_phone};
use pandadoc_api_ext::sync::StoreError;
use serde::{Deserialize, Serialize};

use super::auth::{self, Token};
use super::error::{ApiError, ErrorBody};
use super::metrics::Metrics;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub ledger: AnyLedger,
    pub max_staleness: TimeDelta,
    pub max_batch: usize,
    pub request_timeout: Duration,
    /// Whether this process also keeps the ledger (`--sync`).
    pub syncs: bool,
    pub token: Option<Arc<Token>>,
    pub metrics: Metrics,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// How long a request waits on the ledger: 1 s less than the request timeout (at least
    /// half of it), so that a ledger that does not answer (a network partition) is reported as
    /// such, before the request's own timeout would hide the cause.
    pub fn ledger_bound(&self) -> Duration {
        self.request_timeout
            .saturating_sub(Duration::from_secs(1))
            .max(self.request_timeout / 2)
    }

    /// Asks the ledger within [`ledger_bound`](Self::ledger_bound): its error, or its
    /// silence, is 503 `ledger_unavailable` (an unreadable number 400).
    pub async fn ask<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, ApiError> {
        let bound = self.ledger_bound();
        match tokio::time::timeout(bound, call).await {
            Ok(answer) => answer.map_err(|e| ApiError::store(&e)),
            Err(_) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger_unavailable",
                format!("the ledger did not answer within {} s", bound.as_secs_f32()),
            )),
        }
    }

    /// Whether this replica polls PandaDoc now.
    pub fn leads(&self) -> bool {
        match &self.ledger {
            AnyLedger::Postgres(pg) => self.syncs && pg.is_leading(),
            _ => self.syncs,
        }
    }
}

/// The routes, their limits and their error shape.
pub fn router(state: AppState) -> Router {
    // Room for `max_batch` numbers written generously, and never less than 64 KiB.
    let body_limit = (state.max_batch * 64).max(64 * 1024);
    let mut guarded = Router::new()
        .route("/v1/numbers/{number}", get(number))
        .route("/v1/numbers:check", post(check))
        .route("/metrics", get(metrics));
    if let Some(token) = &state.token {
        guarded = guarded.route_layer(middleware::from_fn_with_state(token.clone(), auth::require));
    }
    Router::new()
        .merge(guarded)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(async || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route"))
        .method_not_allowed_fallback(async || {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), bounded))
        .with_state(state)
}

/// Every request is answered within the timeout (503 after it), and counted while under way.
async fn bounded(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.metrics.in_flight.increment(1.0);
    let answer = tokio::time::timeout(state.request_timeout, next.run(request)).await;
    state.metrics.in_flight.decrement(1.0);
    answer.unwrap_or_else(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request was not answered within {} s",
                state.request_timeout.as_secs_f32()
            ),
        )
        .into_response()
    })
}

/// One number's answer.
#[derive(Serialize)]
struct Answer {
    /// The number, canonical E.164.
    number: String,
    verdict: &'static str,
    /// Opted in, or never seen, on a ledger that is not stale.
    textable: bool,
    status: Option<String>,
    opt_out_changed: Option<DateTime<Utc>>,
    stale: bool,
}

/// Looks `input` up: `Ok(Err)` is this number's own error (it cannot be read), `Err` the
/// ledger's.
async fn look_up(state: &AppState, input: &str) -> Result<Result<Answer, ApiError>, ApiError> {
    let number = match canonical_phone(input) {
        Ok(number) => number,
        Err(e) => return Ok(Err(ApiError::store(&e))),
    };
    let started = Instant::now();
    let answer = state
        .ask(state.ledger.textability(&number, state.max_staleness))
        .await?;
    state.metrics.looked_up(started.elapsed());
    state.metrics.answered(&answer);
    Ok(Ok(Answer::of(number, &answer)))
}

impl Answer {
    fn of(number: String, answer: &Textability) -> Self {
        let entry = answer.entry();
        Self {
            verdict: answer.verdict(),
            textable: answer.may_text(),
            status: entry.map(|e| e.status.to_string()),
            opt_out_changed: entry.map(|e| e.opt_out_changed),
            stale: matches!(answer, Textability::Stale { .. }),
            number,
        }
    }
}

async fn number(
    State(state): State<AppState>,
    number: Result<Path<String>, PathRejection>,
) -> Result<Json<Answer>, ApiError> {
    let Path(number) = number.map_err(|rejection| {
        ApiError::new(rejection.status(), "bad_request", rejection.body_text())
    })?;
    Ok(Json(look_up(&state, &number).await??))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    numbers: Vec<String>,
}

/// One entry of a batch's answer: the answer, or this number's error.
#[derive(Serialize)]
#[serde(untagged)]
enum Entry {
    Answer(Answer),
    Error { input: String, error: ErrorBody },
}

#[derive(Serialize)]
struct CheckAnswer {
    results: Vec<Entry>,
}

/// The numbers' answers in order; a number that cannot be read gets its own error entry, a
/// ledger that fails fails the whole request.
async fn check(
    State(state): State<AppState>,
    body: Result<Json<CheckRequest>, JsonRejection>,
) -> Result<Json<CheckAnswer>, ApiError> {
    let Json(request) = body?;
    if request.numbers.len() > state.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_numbers",
            format!(
                "{} numbers asked about; at most {} at once",
                request.numbers.len(),
                state.max_batch
            ),
        ));
    }
    // Each number read once, here; the readable ones looked up in one call (one statement on
    // PostgreSQL).
    let numbers: Vec<_> = request.numbers.iter().map(|n| canonical_phone(n)).collect();
    let readable: Vec<&str> = numbers.iter().flatten().map(String::as_str).collect();
    let started = Instant::now();
    let answers = state
        .ask(state.ledger.textabilities(&readable, state.max_staleness))
        .await?;
    state.metrics.looked_up(started.elapsed());
    let mut answers = answers.into_iter();
    let mut results = Vec::with_capacity(request.numbers.len());
    for (input, number) in request.numbers.iter().zip(numbers) {
        let answer = match number {
            Ok(number) => match answers.next() {
                Some(answer) => answer.map(|answer| (number, answer)),
                None => break, // `AnyLedger` answers every number sent, or fails
            },
            Err(e) => Err(e),
        };
        results.push(match answer {
            Ok((number, answer)) => {
                state.metrics.answered(&answer);
                Entry::Answer(Answer::of(number, &answer))
            }
            Err(e) => Entry::Error {
                input: input.clone(),
                error: ApiError::store(&e).body(),
            },
        });
    }
    Ok(Json(CheckAnswer { results }))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// 200 when the ledger answers and is not stale; 503 with the reason otherwise.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let freshness = state.ask(state.ledger.freshness()).await?;
    if freshness.is_stale(state.max_staleness) {
        let message = match freshness.caught_up {
            Some(at) => format!(
                "the sync last confirmed it was caught up at {} ({} s ago, more than {} s)",
                at.to_rfc3339(),
                (freshness.as_of - at).num_seconds(),
                state.max_staleness.num_seconds()
            ),
            None => "the sync has not caught up yet".into(),
        };
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stale",
            message,
        ));
    }
    Ok(Json(serde_json::json!({
        "status": "ready",
        "checkpoint": freshness.checkpoint,
        "caught_up": freshness.caught_up,
        "lag_seconds": freshness.lag().map(|l| l.num_milliseconds() as f64 / 1000.0),
    })))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state
        .metrics
        .render(
            &state.ledger,
            state.ledger_bound(),
            state.max_staleness,
            state.leads(),
        )
        .await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
