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

/// The call's path under [`API_PREFIX`], as the service routes it.
pub fn route(call: &str) -> String {
    format!("{API_PREFIX}{call}")
}

/// The path of `GET /kirjausavain/{paiva}` for a day.
pub fn kirjausavain(paiva: time::Date) -> String {
    KIRJAUSAVAIN.replace("{paiva}", &vtj_core::VtjDate::iso(paiva))
}

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
