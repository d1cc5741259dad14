//! Errors a caller sees: a status, a stable code and a detail a developer
//! can act on, sent as `application/problem+json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::wire::{Problem, PROBLEM_CONTENT_TYPE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), retry_after: None }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "TUNNISTAUTUMINEN_PUUTTUU",
            "send a valid credential: `Authorization: Bearer <token>`",
        )
    }

    /// The same answer for a permit that does not exist and one that is not the caller's.
    pub fn unknown_permit() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "TIETOLUPA_TUNTEMATON", "no such permit for this recipient")
    }

    /// The same answer for a person who does not exist and one outside the permit's scope.
    pub fn person_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "HENKILOA_EI_LOYDY", "no person with this hetu in the permit's scope")
    }

    pub fn internal() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "PALVELU_EI_KAYTETTAVISSA", "try again later")
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:vtj:problem:{}", self.code.to_ascii_lowercase()),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            code: self.code.to_string(),
            detail: self.detail.clone(),
        }
    }
}

impl From<vtj_store::StoreError> for ApiError {
    fn from(e: vtj_store::StoreError) -> ApiError {
        // Details of storage failures stay in the server's log, not the answer.
        eprintln!("vtj-api: store error: {e}");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut r = (self.status, body).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}
