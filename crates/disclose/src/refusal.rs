//! Why a request gets nothing: a kind (the REST layer makes it a status),
//! a stable code and a detail a developer can act on.

use vtj_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadRequest,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    /// The service cannot answer now (storage); try again later.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub kind: Refusal,
    pub code: &'static str,
    pub detail: String,
}

impl Refused {
    pub fn new(kind: Refusal, code: &'static str, detail: impl Into<String>) -> Refused {
        Refused { kind, code, detail: detail.into() }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Refused {
        Refused::new(Refusal::BadRequest, code, detail)
    }

    pub fn unavailable() -> Refused {
        Refused::new(Refusal::Unavailable, "PALVELU_EI_KAYTETTAVISSA", "try again later")
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Refused {}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Refused {
        // Storage details stay in the server's log, not in an answer.
        eprintln!("vtj: store error: {e}");
        Refused::unavailable()
    }
}
