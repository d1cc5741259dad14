//! VTJ-muutosrajapinta: the JSON/REST service through which a recipient
//! keeps its register current under its permit.
//!
//! A request goes: authenticate (deny by default) -> rate limit -> the
//! caller's own, active permit -> `service` (store + core `render`) ->
//! audit entry committed -> answer. The answer is built before the audit
//! entry and sent only after it is committed, so no data leaves unlogged.
//!
//! - [`wire`]: paths and JSON names, in one place.
//! - [`service`]: what each endpoint does, without HTTP.
//! - [`auth`], [`rate`], [`metrics`], [`problem`], [`db`]: the plumbing.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use vtj_core::{Permit, VtjDate};
use vtj_store::AuditRecord;

pub mod admin;
pub mod admin_api;
pub mod auth;
pub mod db;
pub mod deliver;
pub mod metrics;
pub mod problem;
pub mod rate;
pub mod service;
pub mod tls;
pub mod wire;

use db::Db;
use problem::ApiError;
use service::{Limits, Touched};
use tls::ClientCert;
use wire::*;

pub const OPENAPI: &str = include_str!("../openapi.json");

/// How the service runs. Every field has a working default.
#[derive(Debug, Clone)]
pub struct Config {
    /// A SQLite file path or a `postgres://` URL.
    pub db: String,
    pub limits: Limits,
    pub rate_per_second: f64,
    pub rate_burst: u32,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Always on in service. Off only to measure what the audit log costs,
    /// and only on a database marked with [`BENCHMARK_META`].
    pub audited: bool,
}

/// Set in a database that `vtj bench` made: the only kind that may be served
/// without audit logging.
pub const BENCHMARK_META: &str = "benchmark_database";

impl Config {
    pub fn new(db: impl Into<String>) -> Config {
        Config {
            db: db.into(),
            limits: Limits::default(),
            rate_per_second: 50.0,
            rate_burst: 200,
            body_limit: 1 << 20,
            audited: true,
        }
    }
}

pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

pub struct App {
    db: Db,
    limits: Limits,
    body_limit: usize,
    audited: bool,
    limiter: rate::RateLimiter,
    pub metrics: metrics::Metrics,
    clock: Clock,
}

impl App {
    pub fn new(config: &Config) -> Result<Arc<App>, vtj_store::StoreError> {
        Self::with_clock(config, Arc::new(OffsetDateTime::now_utc))
    }

    /// With a clock of the caller's: tests move time to expire permits.
    pub fn with_clock(config: &Config, clock: Clock) -> Result<Arc<App>, vtj_store::StoreError> {
        let db = Db::open(&config.db)?;
        if !config.audited && db.meta_blocking(BENCHMARK_META)?.is_none() {
            return Err(vtj_store::StoreError::Refused(
                "audit logging can be turned off only on a database made by `vtj bench`".into(),
            ));
        }
        Ok(Arc::new(App {
            db,
            audited: config.audited,
            limits: config.limits,
            body_limit: config.body_limit,
            limiter: rate::RateLimiter::new(config.rate_per_second, config.rate_burst),
            metrics: metrics::Metrics::default(),
            clock,
        }))
    }

    fn today(&self) -> Date {
        (self.clock)().date()
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(PATH_CURSOR_AT, get(cursor_at))
        .route(PATH_INITIAL, get(initial_kuntarajaus).post(initial_hetulista))
        .route(PATH_CHANGES, get(changes))
        .route(PATH_PERSON, post(person))
        .route(PATH_LIST_ADD, post(list_add))
        .route(PATH_LIST_REMOVE, post(list_remove))
        .route(PATH_HEALTH, get(|| async { "ok" }))
        .route(PATH_READY, get(ready))
        .route(PATH_METRICS, get(metrics_text))
        .route(PATH_OPENAPI, get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "POLKU_TUNTEMATON", "no such endpoint; see /openapi.json")
        })
        .with_state(app)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await
}

/// What one request is, for its audit entry.
struct Ctx {
    action: &'static str,
    recipient: Option<String>,
    permit: Option<String>,
    purpose: Option<String>,
    xroad_client: Option<String>,
    asked: Vec<String>,
    /// SHA-256 of the connection's verified client certificate.
    cert: Option<String>,
}

impl Ctx {
    fn new(action: &'static str, headers: &HeaderMap, cert: Option<Extension<ClientCert>>) -> Ctx {
        let xroad_client =
            headers.get(HEADER_XROAD_CLIENT).map(|v| String::from_utf8_lossy(v.as_bytes()).chars().take(200).collect());
        let cert = cert.and_then(|Extension(ClientCert(c))| c);
        Ctx { action, recipient: None, permit: None, purpose: None, xroad_client, asked: Vec::new(), cert }
    }

    /// The authenticated recipient, within its rate limit.
    async fn caller(&mut self, app: &App, headers: &HeaderMap) -> Result<String, ApiError> {
        let token = auth::bearer(headers).map(auth::credential_hash);
        let cert = self.cert.clone();
        if token.is_none() && cert.is_none() {
            return Err(ApiError::unauthenticated());
        }
        let owner = app
            .db
            .read(move |s| {
                let by_cert = cert.map(|h| s.credential_owner(&h)).transpose()?.flatten();
                let by_token = match token {
                    // A token that was sent must be valid, certificate or not.
                    Some(h) => match s.credential_owner(&h)? {
                        None => return Ok(None),
                        found => found,
                    },
                    None => None,
                };
                Ok(match (by_cert, by_token) {
                    (Some(a), Some(b)) if a != b => None,
                    (Some(a), _) | (None, Some(a)) => Some(a),
                    (None, None) => None,
                })
            })
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        self.recipient = Some(owner.clone());
        app.limiter.check(&owner, Instant::now()).map_err(|secs| ApiError {
            retry_after: Some(secs),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "LIIKAA_PYYNTOJA", format!("rate limit; retry in {secs} s"))
        })?;
        Ok(owner)
    }

    /// The caller's own permit and the hetus of a `HetuList` body, all
    /// valid, or nothing.
    async fn permit_and_hetus(
        &mut self,
        app: &App,
        headers: &HeaderMap,
        tunnus: String,
        body: Body,
    ) -> Result<(Permit, Vec<vtj_core::Hetu>), ApiError> {
        let permit = self.permit(app, headers, tunnus).await?;
        let list: HetuList = read_json(body, app.body_limit).await?;
        let hetus = service::parse_hetus(&list.henkilotunnukset, &app.limits)?;
        self.asked = list.henkilotunnukset;
        Ok((permit, hetus))
    }

    /// The caller's own permit, active today.
    async fn permit(&mut self, app: &App, headers: &HeaderMap, tunnus: String) -> Result<Permit, ApiError> {
        let recipient = self.caller(app, headers).await?;
        let today = app.today();
        self.permit = Some(tunnus.chars().take(100).collect());
        let permit = app.db.read(move |s| service::authorize(s, &recipient, &tunnus, today)).await?;
        self.purpose = Some(permit.kayttotarkoitus.clone());
        Ok(permit)
    }
}

type Served = Result<(Vec<u8>, Touched), ApiError>;

fn json<T: Serialize>((body, touched): (T, Touched)) -> Served {
    Ok((serde_json::to_vec(&body).map_err(|_| ApiError::internal())?, touched))
}

/// Logs the request and only then answers it; if the log cannot be
/// written, the answer is withheld.
async fn finish(app: Arc<App>, ctx: Ctx, served: Served) -> Response {
    let (status, code, touched) = match &served {
        Ok((_, t)) => (StatusCode::OK, None, t.clone()),
        Err(e) => (e.status, Some(e.code.to_string()), Touched { hetus: ctx.asked.clone(), ..Touched::default() }),
    };
    let record = AuditRecord {
        at: AuditRecord::format_time((app.clock)()),
        recipient: ctx.recipient,
        permit: ctx.permit,
        purpose: ctx.purpose,
        action: ctx.action.to_string(),
        xroad_client: ctx.xroad_client,
        hetus: touched.hetus,
        groups: touched.groups.into_iter().collect(),
        records: touched.records,
        status: status.as_u16(),
        code,
    };
    if app.audited {
        if let Err(e) = app.db.write(move |s| Ok(s.audit_append(&record)?)).await {
            app.metrics.count_status(e.status.as_u16());
            return e.into_response();
        }
        app.metrics.audit_entries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    app.metrics.count_status(status.as_u16());
    match served {
        Ok((body, _)) => {
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.into_response(),
    }
}

fn require_query<T: DeserializeOwned>(q: Option<String>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("VIRHEELLINEN_KYSELY", e.to_string()))
}

async fn read_json<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PYYNTO_LIIAN_SUURI",
            format!("the request body is over {limit} bytes"),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request("VIRHEELLINEN_JSON", e.to_string()))
}

async fn cursor_at(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    RawQuery(q): RawQuery,
) -> Response {
    let mut ctx = Ctx::new("GET /api/v1/kirjausavain", &headers, cert);
    let served = async {
        ctx.caller(&app, &headers).await?;
        let q: CursorAtQuery = require_query(q)?;
        let date = match VtjDate::parse(&q.paiva) {
            Ok(VtjDate::Full(d)) => d,
            _ => return Err(ApiError::bad_request("VIRHEELLINEN_PAIVA", "paiva must be a full date YYYYMMDD")),
        };
        if date > app.today() {
            return Err(ApiError::bad_request("PAIVA_TULEVAISUUDESSA", "paiva is in the future"));
        }
        let c = app.db.read(move |s| Ok(s.cursor_at(date)?)).await?;
        json((CursorAt { paiva: q.paiva, kirjausavain: c.0 }, Touched::default()))
    }
    .await;
    finish(app, ctx, served).await
}

async fn initial_kuntarajaus(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path(tunnus): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let mut ctx = Ctx::new("GET /api/v1/tietoluvat/{tunnus}/perustiedot", &headers, cert);
    let served = async {
        let permit = ctx.permit(&app, &headers, tunnus).await?;
        let q: InitialQuery = require_query(q)?;
        let (limits, today) = (app.limits, app.today());
        let out = app
            .db
            .read(move |s| service::initial_page(s, &permit, q.jatkoavain.as_deref(), q.sivun_koko, &limits, today))
            .await?;
        count(&app.metrics.persons_served, out.0.henkilot.len());
        json(out)
    }
    .await;
    finish(app, ctx, served).await
}

async fn initial_hetulista(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path(tunnus): Path<String>,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new("POST /api/v1/tietoluvat/{tunnus}/perustiedot", &headers, cert);
    let served = async {
        let (permit, hetus) = ctx.permit_and_hetus(&app, &headers, tunnus, body).await?;
        let today = app.today();
        let out = app.db.read(move |s| service::listed_persons(s, &permit, &hetus, today)).await?;
        count(&app.metrics.persons_served, out.0.henkilot.len());
        json(out)
    }
    .await;
    finish(app, ctx, served).await
}

async fn changes(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path(tunnus): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let mut ctx = Ctx::new("GET /api/v1/tietoluvat/{tunnus}/muutokset", &headers, cert);
    let served = async {
        let permit = ctx.permit(&app, &headers, tunnus).await?;
        let q: ChangesQuery = require_query(q)?;
        let (limits, today) = (app.limits, app.today());
        let out = app
            .db
            .read(move |s| service::changes_page(s, &permit, q.kirjausavain, None, q.sivun_koko, &limits, today))
            .await?;
        count(&app.metrics.changes_served, out.0.muutokset.len());
        json(out)
    }
    .await;
    finish(app, ctx, served).await
}

async fn person(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path(tunnus): Path<String>,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new("POST /api/v1/tietoluvat/{tunnus}/henkilo", &headers, cert);
    let served = async {
        let permit = ctx.permit(&app, &headers, tunnus).await?;
        let q: PersonQuery = read_json(body, app.body_limit).await?;
        let hetu = service::parse_hetu(&q.henkilotunnus, "henkilotunnus")?;
        ctx.asked = vec![hetu.to_string()];
        let today = app.today();
        let out = app.db.read(move |s| service::single_person(s, &permit, hetu, today)).await?;
        count(&app.metrics.persons_served, 1);
        json(out)
    }
    .await;
    finish(app, ctx, served).await
}

async fn list_add(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path(tunnus): Path<String>,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new("POST /api/v1/tietoluvat/{tunnus}/hetulista/lisays", &headers, cert);
    let served = async {
        let (permit, hetus) = ctx.permit_and_hetus(&app, &headers, tunnus, body).await?;
        let today = app.today();
        let out = app.db.write(move |s| service::list_add(s, &permit, &hetus, today)).await?;
        count(&app.metrics.persons_served, out.0.henkilot.len());
        json(out)
    }
    .await;
    finish(app, ctx, served).await
}

async fn list_remove(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path(tunnus): Path<String>,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new("POST /api/v1/tietoluvat/{tunnus}/hetulista/poisto", &headers, cert);
    let served = async {
        let (permit, hetus) = ctx.permit_and_hetus(&app, &headers, tunnus, body).await?;
        json(app.db.write(move |s| service::list_remove(s, &permit, &hetus)).await?)
    }
    .await;
    finish(app, ctx, served).await
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    match app.db.read(|s| Ok(s.last_cursor()?)).await {
        Ok(_) => "ready".into_response(),
        Err(e) => e.into_response(),
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render()).into_response()
}

fn count(c: &std::sync::atomic::AtomicU64, n: usize) {
    c.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
}
