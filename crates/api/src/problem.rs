//! Errors a caller sees: a status, a stable code and a detail a developer
//! can act on, sent as `application/problem+json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use vtj_disclose::{Refusal, Refused};
use vtj_wire::{Problem, PROBLEM_CONTENT_TYPE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub retry_after: Option<u64>,
    /// Ask for HTTP Basic (`WWW-Authenticate`): a sign-in that failed.
    pub challenge: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), retry_after: None, challenge: false }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// One answer for an unknown user, a wrong password and a revoked user.
    pub fn unauthenticated() -> ApiError {
        ApiError {
            challenge: true,
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "TUNNISTAUTUMINEN_PUUTTUU",
                "sign in as a user of your permit: HTTP Basic, or MUTP-Tunnus and MUTP-Salasana",
            )
        }
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

impl From<Refused> for ApiError {
    fn from(r: Refused) -> ApiError {
        let status = match r.kind {
            Refusal::BadRequest => StatusCode::BAD_REQUEST,
            Refusal::Forbidden => StatusCode::FORBIDDEN,
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::Conflict => StatusCode::CONFLICT,
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, r.code, r.detail)
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
        if self.challenge {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"VTJ-muutosrajapinta\""));
        }
        r
    }
}
