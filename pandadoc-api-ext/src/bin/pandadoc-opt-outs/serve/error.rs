//! The one error shape of every answer: `{"error": {"kind": ..., "message": ...}}` with its
//! status.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pandadoc_api_ext::sync::StoreError;
use serde::Serialize;

/// An error answer.
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the token: Authorization: Bearer TOKEN",
        )
    }

    pub fn store(e: &StoreError) -> Self {
        match e {
            StoreError::InvalidInput { message } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_number", message.clone())
            }
            e => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger_unavailable",
                e.to_string().replace('\n', " "),
            ),
        }
    }

    pub fn body(self) -> ErrorBody {
        ErrorBody {
            kind: self.kind,
            message: self.message,
        }
    }
}

/// The inside of an error answer (a batch entry carries it too).
#[derive(Serialize)]
pub struct ErrorBody {
    kind: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Wrapped {
            error: ErrorBody,
        }
        let status = self.status;
        (status, Json(Wrapped { error: self.body() })).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        // A body too large, not JSON, or JSON of the wrong shape (axum says 422): 400.
        let (status, kind) = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            _ => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        Self::new(status, kind, rejection.body_text())
    }
}
