//! The wire vocabulary of the REST interface: paths, query parameters and
//! the JSON envelopes. Everything a recipient's program sees by name is here,
//! so that a profile matching DVV's published interface field for field can
//! replace this module without touching the service logic. (The data groups
//! and their values are named in `vtj_core::groups`, shared with the file
//! channel.)

use serde::{Deserialize, Serialize};
use vtj_core::GroupChange;

pub const API_PREFIX: &str = "/api/v1";
pub const PATH_CURSOR_AT: &str = "/api/v1/kirjausavain";
pub const PATH_INITIAL: &str = "/api/v1/tietoluvat/{tunnus}/perustiedot";
pub const PATH_CHANGES: &str = "/api/v1/tietoluvat/{tunnus}/muutokset";
pub const PATH_PERSON: &str = "/api/v1/tietoluvat/{tunnus}/henkilo";
pub const PATH_LIST_ADD: &str = "/api/v1/tietoluvat/{tunnus}/hetulista/lisays";
pub const PATH_LIST_REMOVE: &str = "/api/v1/tietoluvat/{tunnus}/hetulista/poisto";
pub const PATH_HEALTH: &str = "/health";
pub const PATH_READY: &str = "/ready";
pub const PATH_METRICS: &str = "/metrics";
pub const PATH_OPENAPI: &str = "/openapi.json";

/// Headers of Suomi.fi-palveluväylä (X-Road): recorded, never trusted.
pub const HEADER_XROAD_CLIENT: &str = "x-road-client";
pub const HEADER_XROAD_ID: &str = "x-road-id";
pub const HEADER_XROAD_USER: &str = "x-road-userid";

/// `GET PATH_CURSOR_AT?paiva=YYYYMMDD`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorAtQuery {
    pub paiva: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CursorAt {
    pub paiva: String,
    pub kirjausavain: i64,
}

/// `GET PATH_INITIAL?jatkoavain=..&sivunKoko=..` (kuntarajaus permits).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitialQuery {
    pub jatkoavain: Option<String>,
    pub sivun_koko: Option<usize>,
}

/// A body carrying hetus: `POST PATH_INITIAL` (hetu-list permits) and the
/// hetu list maintenance calls.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HetuList {
    pub henkilotunnukset: Vec<String>,
}

/// `POST PATH_PERSON`
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonQuery {
    pub henkilotunnus: String,
}

/// A person as a recipient holds it: every permitted group (censored ones
/// as markers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonRecord {
    pub henkilotunnus: String,
    pub tietoryhmat: Vec<GroupChange>,
}

/// A page of initial data. `kirjausavain` is the cursor the snapshot was
/// taken at: read changes after it once the last page is in.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitialPage {
    pub kirjausavain: i64,
    pub henkilot: Vec<PersonRecord>,
    /// Present while there are more pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jatkoavain: Option<String>,
}

/// Answer to `POST PATH_INITIAL`: the listed persons the permit covers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListedPersons {
    pub kirjausavain: i64,
    pub henkilot: Vec<PersonRecord>,
    /// Posted hetus with nothing to return (unknown, or not on the list).
    pub ei_loydy: Vec<String>,
}

/// `GET PATH_CHANGES?kirjausavain=N&sivunKoko=M`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangesQuery {
    pub kirjausavain: i64,
    pub sivun_koko: Option<usize>,
}

/// What happened to the person in the recipient's eyes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeLaji {
    /// Entered scope (born, moved in, listed): every permitted group follows.
    #[serde(rename = "UUSI_HENKILO")]
    Enter,
    #[serde(rename = "MUUTOS")]
    Change,
    /// Left scope with this change; nothing more will come for the person.
    #[serde(rename = "POISTUU_RAJAUKSESTA")]
    Leave,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Change {
    pub kirjausavain: i64,
    /// The person's active hetu after the change.
    pub henkilotunnus: String,
    pub tapahtuma: String,
    pub rekisterointipaiva: String,
    pub laji: ChangeLaji,
    pub tietoryhmat: Vec<GroupChange>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePage {
    pub muutokset: Vec<Change>,
    /// Continue from here: the last cursor this page covered (changes the
    /// permit does not receive are skipped, so it may exceed the last change's).
    pub viimeinen_kirjausavain: i64,
    /// Whether the log held nothing after `viimeinen_kirjausavain` when read.
    pub ajantasalla: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListAdded {
    pub lisatty: usize,
    /// The full permitted data of the added persons that exist.
    pub henkilot: Vec<PersonRecord>,
    pub kirjausavain: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListRemoved {
    pub poistettu: usize,
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, Deserialize)]
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

// The admin API, on its own listener.
pub const PATH_ADMIN_RECIPIENTS: &str = "/admin/v1/luvansaajat";
pub const PATH_ADMIN_TOKENS: &str = "/admin/v1/luvansaajat/{tunnus}/tunnukset";
pub const PATH_ADMIN_REVOKE_CREDENTIALS: &str = "/admin/v1/luvansaajat/{tunnus}/tunnusten-peruutus";
pub const PATH_ADMIN_PERMITS: &str = "/admin/v1/tietoluvat";
pub const PATH_ADMIN_REVOKE_PERMIT: &str = "/admin/v1/tietoluvat/{tunnus}/peruutus";
pub const PATH_ADMIN_FEES: &str = "/admin/v1/maksut";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecipientRequest {
    pub tunnus: String,
    pub nimi: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenIssued {
    /// Shown once; only its hash is kept.
    pub token: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermitRequest {
    pub tunnus: String,
    pub luvansaaja: String,
    pub kayttotarkoitus: String,
    pub tuote: String,
    #[serde(default)]
    pub ryhmat: Option<Vec<String>>,
    #[serde(default)]
    pub kunnat: Vec<String>,
    #[serde(default)]
    pub hyvinvointialueet: Vec<String>,
    #[serde(default)]
    pub hetulista: bool,
    #[serde(default)]
    pub turvakielto_oikeus: bool,
    /// YYYYMMDD
    pub voimassa_alkaen: String,
    #[serde(default)]
    pub voimassa_asti: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Done {
    pub muutettu: usize,
}
