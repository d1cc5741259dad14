//! The calls, relative to the base address (`.../api/v1`), and the headers.

/// Where the calls live on this service: DVV's sandbox base address ends
/// in it too (`https://api.hiekkalaatikko.muutostietopalvelu.dvv.fi/api/v1`).
pub const API_PREFIX: &str = "/api/v1";

/// `GET`: the cursor to follow changes from a day on (`{paiva}` is `YYYY-MM-DD`).
pub const KIRJAUSAVAIN: &str = "/kirjausavain/{paiva}";
/// `POST`: changes after a cursor.
pub const MUUTOKSET: &str = "/muutokset";
/// `POST`: the current data of listed persons.
pub const PERUSTIEDOT: &str = "/perustiedot";
/// `POST`: the current data of the residents of municipalities.
pub const PERUSTIEDOT_VKO: &str = "/perustiedot-vko";

/// `GET` (ours, not DVV's): a consistency proof between two sizes of the
/// service's audit log, to check a new checkpoint against a kept one.
pub const LOKITODISTE: &str = "/lokitodiste/{vanha}/{uusi}";

/// The call's path under [`API_PREFIX`], as the service routes it.
pub fn route(call: &str) -> String {
    format!("{API_PREFIX}{call}")
}

/// The path of `GET /kirjausavain/{paiva}` for a day.
pub fn kirjausavain(paiva: time::Date) -> String {
    KIRJAUSAVAIN.replace("{paiva}", &vtj_core::VtjDate::iso(paiva))
}

/// The path of `GET /lokitodiste/{vanha}/{uusi}`.
pub fn lokitodiste(vanha: u64, uusi: u64) -> String {
    LOKITODISTE.replace("{vanha}", &vanha.to_string()).replace("{uusi}", &uusi.to_string())
}

/// Ours, on every answer whose request was logged: the audit log's
/// checkpoint covering that entry (a C2SP signed note, base64 as one
/// header line) and the entry's number.
pub const HEADER_AUDIT_CHECKPOINT: &str = "vtj-audit-checkpoint";
pub const HEADER_AUDIT_ENTRY: &str = "vtj-audit-entry";

/// Suomi.fi-palveluväylä (X-Road): `INSTANCE/CLASS/MEMBER/SUBSYSTEM` of
/// the caller. Recorded, never trusted alone.
pub const HEADER_XROAD_CLIENT: &str = "x-road-client";
pub const HEADER_XROAD_ID: &str = "x-road-id";
pub const HEADER_XROAD_USER: &str = "x-road-userid";
/// The user and password as older clients send them, instead of Basic.
pub const HEADER_MUTP_TUNNUS: &str = "mutp-tunnus";
pub const HEADER_MUTP_SALASANA: &str = "mutp-salasana";
/// Where some gateways move the `Authorization` header.
pub const HEADER_X_AUTHORIZATION: &str = "x-authorization";

// Operators', not DVV's.
pub const PATH_HEALTH: &str = "/health";
pub const PATH_READY: &str = "/ready";
pub const PATH_METRICS: &str = "/metrics";
pub const PATH_OPENAPI: &str = "/openapi.json";
