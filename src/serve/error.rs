//! The API's error answer: a status and `{"error": …}`, from the catalog's `AnalysisError` or the
//! server's own refusals; failures inside are logged and answered without their details.

use crate::analysis::AnalysisError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error: its status and a message naming what is wrong.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, [(header::CACHE_CONTROL, "no-store")], axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<AnalysisError> for ApiError {
    fn from(e: AnalysisError) -> ApiError {
        if matches!(e, AnalysisError::Failed(_) | AnalysisError::Internal(_)) {
            // the details (which may name files) go to the log; the client gets a message without them
            tracing::error!(error = %e, "a request failed");
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError(status, e.public_message())
    }
}

/// A failure inside the server, logged; the client gets a message without its details.
pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    AnalysisError::Internal(e.to_string()).into()
}
