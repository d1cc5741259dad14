//! Request and answer envelopes. Requests refuse unknown fields (a typo
//! must not silently widen or narrow a call); answers tolerate them, since
//! DVV may add fields to its answers.

use serde::{Deserialize, Deserializer, Serialize};

use crate::group::{ChangeRecord, PersonRecord};

/// At most this many hetus in one `POST /perustiedot` (DVV's limit).
pub const PERUSTIEDOT_MAX: usize = 1000;

/// `GET /kirjausavain/{paiva}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KirjausavainResponse {
    #[serde(deserialize_with = "cursor")]
    pub viimeisin_kirjausavain: i64,
}

/// `GET /lokitodiste/{vanha}/{uusi}` (ours): the RFC 6962 consistency
/// proof from the audit log's tree of `vanhaKoko` entries to that of
/// `uusiKoko`, hashes in base64, in the RFC's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LokitodisteResponse {
    pub vanha_koko: u64,
    pub uusi_koko: u64,
    pub todiste: Vec<String>,
}

/// `POST /muutokset`. Without `hetulista`, a municipality-scoped permit
/// gets its area's changes; a hetu-scoped permit must send its list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MuutoksetRequest {
    #[serde(deserialize_with = "cursor")]
    pub viimeisin_kirjausavain: i64,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub hetulista: Option<Vec<String>>,
    /// Sent by older clients; accepted and not used (the user's permit
    /// decides the product).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub tuotekoodi: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MuutoksetResponse<M = Vec<ChangeRecord>> {
    /// Where to continue: the last cursor this answer covered.
    #[serde(deserialize_with = "cursor")]
    pub viimeisin_kirjausavain: i64,
    /// The service writes `ChangeRecordView`s here (the same JSON).
    pub muutokset: M,
    /// True when nothing was left after `viimeisinKirjausavain` when read.
    pub ajan_tasalla: bool,
}

/// `POST /perustiedot`. `tietoryhmat` left out: every group of the permit;
/// given, it must be a list (`null` is refused, as DVV's schema does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerustiedotRequest {
    pub hetulista: Vec<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub tietoryhmat: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerustiedotResponse<P = Vec<PersonRecord>> {
    /// The service writes `PersonRecordView`s here (the same JSON).
    pub perustiedot: P,
    pub ajan_tasalla: bool,
}

/// `POST /perustiedot-vko`: the residents of municipalities of the
/// permit's area. `jatkoavain` is this project's extension for paging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerustiedotVkoRequest {
    pub kuntakoodit: Vec<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub jatkoavain: Option<String>,
}

/// A page of residents. The two optional fields are this project's
/// extension: `viimeisinKirjausavain` is the snapshot cursor the load was
/// started at (follow `/muutokset` from it once the last page is in), and
/// `jatkoavain`, present while `ajanTasalla` is false, asks for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerustiedotVkoResponse<P = Vec<PersonRecord>> {
    /// The service writes `PersonRecordView`s here (the same JSON).
    pub perustiedot: P,
    pub ajan_tasalla: bool,
    #[serde(default, deserialize_with = "opt_cursor", skip_serializing_if = "Option::is_none")]
    pub viimeisin_kirjausavain: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jatkoavain: Option<String>,
}

/// RFC 9457 problem details: this project's error answer, with a stable
/// `code` (DVV's material shows no error body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable.
    pub code: String,
    pub detail: String,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// A cursor as a number, or as a string of digits (one of DVV's clients
/// reads it as a string; be as lenient with what comes back).
fn cursor<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::Number(n) => Ok(n),
        Either::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(serde::de::Error::custom)
        }
        Either::Text(s) => Err(serde::de::Error::custom(format!("{s:?} is not a kirjausavain"))),
    }
}

fn opt_cursor<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    cursor(d).map(Some)
}

/// A field that may be left out but, when given, may not be `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)?.map(Some).ok_or_else(|| serde::de::Error::custom("null is not allowed here"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_strict_and_answers_lenient() {
        let r: MuutoksetRequest =
            serde_json::from_str(r#"{"viimeisinKirjausavain": 100000021, "hetulista": ["010181-900C"]}"#).unwrap();
        assert_eq!(r.viimeisin_kirjausavain, 100000021);
        assert!(serde_json::from_str::<MuutoksetRequest>(r#"{"viimeisinKirjausavain": 1, "x": 1}"#).is_err());
        assert!(serde_json::from_str::<MuutoksetRequest>(r#"{"viimeisinKirjausavain": "1a"}"#).is_err());
        let older: MuutoksetRequest =
            serde_json::from_str(r#"{"viimeisinKirjausavain": "5", "tuotekoodi": "ASREK"}"#).unwrap();
        assert_eq!(older.viimeisin_kirjausavain, 5);
        for null in [
            r#"{"viimeisinKirjausavain": 1, "tuotekoodi": null}"#,
            r#"{"viimeisinKirjausavain": 1, "hetulista": null}"#,
        ] {
            assert!(serde_json::from_str::<MuutoksetRequest>(null).is_err(), "{null}");
        }

        let p: PerustiedotRequest = serde_json::from_str(r#"{"hetulista": []}"#).unwrap();
        assert_eq!(p.tietoryhmat, None);
        assert!(serde_json::from_str::<PerustiedotRequest>(r#"{"hetulista": [], "tietoryhmat": null}"#).is_err());
        assert!(serde_json::from_str::<PerustiedotRequest>(r#"{"hetulista": [], "extra": 1}"#).is_err());

        let a: MuutoksetResponse = serde_json::from_str(
            r#"{"viimeisinKirjausavain": "7", "muutokset": [], "ajanTasalla": true, "uusiKentta": 1}"#,
        )
        .unwrap();
        assert_eq!(a.viimeisin_kirjausavain, 7);
    }
}
