//! VTJ-muutosrajapinta as DVV publishes it: the REST service through which
//! a recipient keeps its register current under its permit. Calls, bodies
//! and group shapes are `vtj-wire`'s; what is disclosed is the engine's
//! (`vtj-disclose`); this crate is HTTP.
//!
//! A request goes: sign in as a user (deny by default) -> the user's
//! permit, in force today -> rate limit of the permit's recipient -> the
//! engine (store + core `render`) -> the answer's bytes -> **the audit
//! entry committed**, with the signed checkpoint of the audit tree that
//! holds it -> the answer sent, carrying that checkpoint. If the entry
//! cannot be written, the answer is withheld (503).
//!
//! - [`auth`], [`rate`], [`metrics`], [`problem`], [`db`], [`tls`]: the plumbing.
//! - [`group_commit`]: the audit entries of answers that finish together, in one commit.
//! - [`admin`], [`admin_api`]: operator actions (the CLI's and HTTP's).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use vtj_core::{KuntaCode, Permit, VtjDate};
use vtj_disclose::pages::AreaPage;
use vtj_disclose::{pages, ChangesPage, Context, Limits, LogCache, PageCache, PersonOut, Touched};
use vtj_store::ListDigest;
use vtj_wire::paths::{self, route, HEADER_XROAD_CLIENT};
use vtj_wire::*;

pub mod admin;
pub mod admin_api;
pub mod auth;
pub mod db;
pub mod group_commit;
pub mod metrics;
pub mod problem;
pub mod rate;
pub mod tls;

use db::Db;
use problem::ApiError;
use tls::ClientCert;

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
    /// The key that signs the audit log's checkpoints. Required unless
    /// `unsigned` says this is a test.
    pub signer: Option<Arc<vtj_tlog::Signer>>,
    pub unsigned: bool,
    /// Decoded change-log entries kept for all requests to share.
    pub log_cache: usize,
    /// Bytes of rendered pages (changes, area pages) kept for permits of the same kind.
    pub page_cache: usize,
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
            // A /muutokset list of 50,000 hetus is about 700 kB.
            body_limit: 2 << 20,
            audited: true,
            signer: None,
            unsigned: false,
            log_cache: vtj_disclose::log_cache::DEFAULT_ENTRIES,
            page_cache: vtj_disclose::page_cache::DEFAULT_BYTES,
        }
    }
}

pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

pub struct App {
    db: Db,
    log: Arc<LogCache>,
    /// `/muutokset` answers of a whole scope and `/perustiedot-vko` pages,
    /// made once for a kind of permit (or ahead, for a load's next request).
    shared: Arc<PageCache<Bytes>>,
    /// Page answers between their read and their audit commit.
    pages: Arc<tokio::sync::Semaphore>,
    /// Answers of pages already kept, waiting for their audit commit: the
    /// page's bytes are the kept page's, so such an answer holds no page
    /// slot while it waits; its entry (a page's hetus) is what this bounds.
    kept_waiting: Arc<tokio::sync::Semaphore>,
    limits: Limits,
    body_limit: usize,
    audited: bool,
    signer: Option<Arc<vtj_tlog::Signer>>,
    /// Audit entries of answers that finish together, committed together.
    audit: Arc<group_commit::GroupCommit>,
    limiter: rate::RateLimiter,
    /// Failed sign-ins per user: guessing a password costs argon2 time.
    failures: rate::RateLimiter,
    verified: auth::Verified,
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
        let slots = db.read_slots();
        if !config.audited && db.meta_blocking(BENCHMARK_META)?.is_none() {
            return Err(vtj_store::StoreError::Refused(
                "audit logging can be turned off only on a database made by `vtj bench`".into(),
            ));
        }
        if config.signer.is_none() && !config.unsigned {
            return Err(vtj_store::StoreError::Refused(
                "the service signs its audit log's checkpoints: give it a key (make one with `vtj admin keygen`), \
                 or run it unsigned, for tests only"
                    .into(),
            ));
        }
        let verified = auth::Verified::new()
            .map_err(|_| vtj_store::StoreError::Refused("no randomness for a process key".into()))?;
        Ok(Arc::new(App {
            db,
            audited: config.audited,
            signer: config.signer.clone(),
            audit: Arc::default(),
            log: Arc::new(LogCache::new(config.log_cache)),
            shared: Arc::new(PageCache::new(config.page_cache)),
            pages: Arc::new(tokio::sync::Semaphore::new(2 * slots)),
            kept_waiting: Arc::new(tokio::sync::Semaphore::new(group_commit::MAX_BATCH)),
            limits: config.limits,
            body_limit: config.body_limit,
            limiter: rate::RateLimiter::new(config.rate_per_second, config.rate_burst),
            failures: rate::RateLimiter::new(1.0, 10),
            verified,
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
        .route(&route(paths::KIRJAUSAVAIN), get(kirjausavain))
        .route(&route(paths::MUUTOKSET), post(muutokset))
        .route(&route(paths::PERUSTIEDOT), post(perustiedot))
        .route(&route(paths::PERUSTIEDOT_VKO), post(perustiedot_vko))
        .route(&route(paths::LOKITODISTE), get(lokitodiste))
        .route(paths::PATH_HEALTH, get(|| async { "ok" }))
        .route(paths::PATH_READY, get(ready))
        .route(paths::PATH_METRICS, get(metrics_text))
        .route(paths::PATH_OPENAPI, get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
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

/// One request: its audit context, and the connection's verified client
/// certificate (SHA-256), if any.
struct Ctx {
    audit: Context,
    cert: Option<String>,
    /// A page slot, held from the read until the audit entry is committed
    /// (released when the context is dropped at the end of `finish`); for
    /// a page already kept, a slot among the answers waiting for a commit.
    page: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Ctx {
    fn new(action: &str, headers: &HeaderMap, cert: Option<Extension<ClientCert>>) -> Ctx {
        let mut audit = Context::new(action);
        audit.xroad_client =
            headers.get(HEADER_XROAD_CLIENT).map(|v| String::from_utf8_lossy(v.as_bytes()).chars().take(200).collect());
        Ctx { audit, cert: cert.and_then(|Extension(ClientCert(c))| c), page: None }
    }

    /// Waits for a page slot: a page answer is megabytes of rendered
    /// records and JSON, and pages read faster than their audit entries
    /// commit would otherwise pile up in memory without bound.
    async fn page_slot(&mut self, app: &App) -> Result<(), ApiError> {
        self.page = Some(app.pages.clone().acquire_owned().await.map_err(|_| ApiError::internal())?);
        Ok(())
    }

    /// The answer's page was already kept: it gives up its page slot for
    /// one of the answers waiting for their commit. With only page slots,
    /// a commit took the few entries that came in while the one before
    /// ran, and each commit's sync, signed checkpoint and rewritten pages
    /// were shared by one or two answers (BENCHMARKS.md, "taking turns").
    async fn kept_page(&mut self, app: &App) -> Result<(), ApiError> {
        let waiting = app.kept_waiting.clone().acquire_owned().await.map_err(|_| ApiError::internal())?;
        self.page = Some(waiting);
        Ok(())
    }

    /// The signed-in user's permit, in force today, within its recipient's
    /// rate. A certificate and a password must name the same user.
    async fn sign_in(&mut self, app: &Arc<App>, headers: &HeaderMap) -> Result<Permit, ApiError> {
        let basic = auth::basic(headers);
        let cert = self.cert.clone();
        if basic.is_none() && cert.is_none() {
            return Err(ApiError::unauthenticated());
        }
        let user = app
            .db
            .read(move |s| {
                let by_cert = cert.map(|h| s.cert_user(&h)).transpose()?.flatten();
                let name = match (&basic, by_cert) {
                    (Some((u, _)), Some(c)) if *u != c => return Ok(None),
                    (Some((u, _)), _) => u.clone(),
                    (None, Some(c)) => c,
                    (None, None) => return Ok(None),
                };
                Ok(s.user(&name)?.filter(|u| !u.revoked).map(|u| (u, basic)))
            })
            .await?;
        let Some((user, basic)) = user else { return Err(ApiError::unauthenticated()) };
        if let Some((name, password)) = basic.filter(|(n, p)| !app.verified.remembered(n, p, &user.password_hash)) {
            // Guessing a real user's password costs argon2 time: bounded per
            // user. A password verified before is not held up by guesses.
            if app.failures.peek(&name, Instant::now()).is_err() {
                return Err(ApiError::unauthenticated());
            }
            let (a, phc) = (app.clone(), user.password_hash.clone());
            // argon2 is CPU-bound: off the async workers.
            let ok = tokio::task::spawn_blocking(move || a.verified.check(&name, &password, &phc))
                .await
                .map_err(|_| ApiError::internal())?;
            if !ok {
                let _ = app.failures.check(&user.name, Instant::now());
                return Err(ApiError::unauthenticated());
            }
        }
        self.audit.user = Some(user.name.clone());
        self.audit.permit = Some(user.permit.clone());
        let today = app.today();
        let tunnus = user.permit.clone();
        let permit = app.db.read(move |s| Ok(pages::authorize(s, &tunnus, today)?)).await?;
        self.audit.permit(&permit);
        app.limiter.check(&permit.luvansaaja, Instant::now()).map_err(|secs| ApiError {
            retry_after: Some(secs),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "LIIKAA_PYYNTOJA", format!("rate limit; retry in {secs} s"))
        })?;
        Ok(permit)
    }
}

type Served = Result<(Bytes, Touched), ApiError>;

fn to_json<T: Serialize>(body: &T) -> Result<Bytes, ApiError> {
    Ok(serde_json::to_vec(body).map_err(|_| ApiError::internal())?.into())
}

fn json<T: Serialize>(body: &T, touched: Touched) -> Served {
    Ok((to_json(body)?, touched))
}

/// The length of the last page of one kind written: the next is most
/// likely about as long, and a buffer grown by doubling to a page's
/// megabytes is copied a dozen times over, into pages the kernel must
/// first clear.
struct LastLen(AtomicUsize);

static CHANGES_LEN: LastLen = LastLen(AtomicUsize::new(0));
static AREA_LEN: LastLen = LastLen(AtomicUsize::new(0));

impl LastLen {
    /// `body` as JSON, in a buffer sized from the last one.
    fn to_json<T: Serialize>(&self, body: &T) -> Result<Bytes, ApiError> {
        let hint = self.0.load(Ordering::Relaxed);
        let mut out = Vec::with_capacity(hint + hint / 8);
        serde_json::to_writer(&mut out, body).map_err(|_| ApiError::internal())?;
        self.0.store(out.len(), Ordering::Relaxed);
        // A short page after a long one: what the page cache keeps is its length.
        if out.capacity() > out.len() + out.len() / 4 {
            out.shrink_to_fit();
        }
        Ok(out.into())
    }
}

/// A page of changes as DVV's `/muutokset` answer.
pub fn changes_json(page: &ChangesPage) -> Result<Bytes, ApiError> {
    let muutokset: Vec<_> = page
        .changes
        .iter()
        .filter_map(|c| ChangeRecordView::new(c.hetu.as_str(), c.registered, &c.disclosure))
        .collect();
    CHANGES_LEN.to_json(&MuutoksetResponse {
        viimeisin_kirjausavain: page.last,
        muutokset,
        ajan_tasalla: page.up_to_date,
    })
}

/// A disclosed person as DVV's record, serialised straight from the values.
fn person_view(p: &PersonOut) -> PersonRecordView<'_> {
    PersonRecordView { henkilotunnus: p.hetu.as_str(), groups: &p.groups }
}

/// Logs the request and only then answers it; if the log cannot be
/// written, the answer is withheld.
async fn finish(app: Arc<App>, ctx: Ctx, served: Served) -> Response {
    let at = (app.clock)();
    // What the answer disclosed goes into its entry, not copied.
    let (served, entry) = match served {
        Ok((body, t)) => (Ok(body), ctx.audit.entry(at, Ok(t))),
        Err(e) => {
            let entry = ctx.audit.entry(at, Err((e.status.as_u16(), e.code)));
            (Err(e), entry)
        }
    };
    let mut appended = None;
    if app.audited {
        match app.audit.commit(&app.db, app.signer.clone(), entry).await {
            Ok(a) => appended = Some(a),
            Err(e) => {
                app.metrics.count_status(e.status.as_u16());
                return e.into_response();
            }
        }
        app.metrics.audit_entries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let status = served.as_ref().map_or_else(|e| e.status, |_| StatusCode::OK);
    app.metrics.count_status(status.as_u16());
    let mut r = match served {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => e.into_response(),
    };
    if let Some(a) = appended {
        r.headers_mut().insert(paths::HEADER_AUDIT_ENTRY, HeaderValue::from(a.seq));
        if let Some(note) = a.checkpoint {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(note);
            if let Ok(v) = HeaderValue::from_str(&b64) {
                r.headers_mut().insert(paths::HEADER_AUDIT_CHECKPOINT, v);
            }
        }
    }
    r
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

async fn kirjausavain(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path(paiva): Path<String>,
) -> Response {
    let mut ctx = Ctx::new("GET /api/v1/kirjausavain/{paiva}", &headers, cert);
    let served = async {
        ctx.sign_in(&app, &headers).await?;
        let day = VtjDate::parse_iso(&paiva).map_err(|e| {
            ApiError::bad_request("VIRHEELLINEN_PAIVA", format!("{paiva:?}: the day is YYYY-MM-DD ({e})"))
        })?;
        let today = app.today();
        let c = app.db.read(move |s| Ok(pages::cursor_at(s, day, today)?)).await?;
        json(&KirjausavainResponse { viimeisin_kirjausavain: c }, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

async fn muutokset(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new("POST /api/v1/muutokset", &headers, cert);
    let served = async {
        let permit = ctx.sign_in(&app, &headers).await?;
        let req: MuutoksetRequest = read_json(body, app.body_limit).await?;
        let list = match &req.hetulista {
            Some(l) => {
                ctx.audit.asked_list = Some(ListDigest::of(l));
                Some(pages::parse_hetus("hetulista", l, app.limits.max_list)?)
            }
            None => None,
        };
        let (limits, today) = (app.limits, app.today());
        let after = req.viimeisin_kirjausavain;
        let (log, shared) = (app.log.clone(), app.shared.clone());
        ctx.page_slot(&app).await?;
        // Rendered to JSON on the blocking pool, inside the read's slot:
        // it is CPU-bound work like the read itself.
        let (body, n, kept) = app
            .db
            .read(move |s| match list {
                // A call about persons is answered for itself alone.
                Some(list) => {
                    let (page, touched) = pages::changes(s, &log, &permit, after, Some(&list), None, &limits, today)?;
                    Ok(((changes_json(&page)?, touched), page.changes.len(), false))
                }
                None => {
                    let (page, kept) =
                        pages::shared_changes(s, &log, &shared, &permit, after, &limits, today, changes_json)?;
                    Ok(((page.value.clone(), page.touched.clone()), page.records, kept))
                }
            })
            .await?;
        count(&app.metrics.changes_served, n);
        if kept {
            count(&app.metrics.shared_pages, 1);
            ctx.kept_page(&app).await?;
        }
        Ok(body)
    }
    .await;
    finish(app, ctx, served).await
}

async fn perustiedot(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new("POST /api/v1/perustiedot", &headers, cert);
    let served = async {
        let permit = ctx.sign_in(&app, &headers).await?;
        let req: PerustiedotRequest = read_json(body, app.body_limit).await?;
        let hetus = pages::parse_hetus("hetulista", &req.hetulista, PERUSTIEDOT_MAX)?;
        ctx.audit.asked = req.hetulista;
        let groups = pages::group_filter(req.tietoryhmat.as_deref(), known::is_known_group)?;
        let today = app.today();
        ctx.page_slot(&app).await?;
        let (body, n) = app
            .db
            .read(move |s| {
                let (persons, touched) = pages::listed(s, &permit, &hetus, groups.as_ref(), today)?;
                let perustiedot: Vec<_> = persons.iter().map(person_view).collect();
                Ok((json(&PerustiedotResponse { perustiedot, ajan_tasalla: true }, touched)?, persons.len()))
            })
            .await?;
        count(&app.metrics.persons_served, n);
        Ok(body)
    }
    .await;
    finish(app, ctx, served).await
}

async fn perustiedot_vko(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    body: Body,
) -> Response {
    let mut ctx = Ctx::new("POST /api/v1/perustiedot-vko", &headers, cert);
    let served = async {
        let permit = ctx.sign_in(&app, &headers).await?;
        let req: PerustiedotVkoRequest = read_json(body, app.body_limit).await?;
        let kunnat = kuntakoodit(&req.kuntakoodit)?;
        let (limits, today) = (app.limits, app.today());
        let jatkoavain = req.jatkoavain;
        ctx.page_slot(&app).await?;
        let (shared, ahead) = (app.shared.clone(), (permit.clone(), kunnat.clone()));
        let (body, n, next, kept) = app
            .db
            .read(move |s| {
                let (page, kept) =
                    pages::shared_area(s, &shared, &permit, &kunnat, jatkoavain.as_deref(), &limits, today, area_json)?;
                Ok(((page.value.clone(), page.touched.clone()), page.records, page.next.clone(), kept))
            })
            .await?;
        count(&app.metrics.persons_served, n);
        if kept {
            count(&app.metrics.area_pages_kept, 1);
            ctx.kept_page(&app).await?;
        }
        if let Some(next) = next {
            let (permit, kunnat) = ahead;
            make_ahead(&app, permit, kunnat, next);
        }
        Ok(body)
    }
    .await;
    finish(app, ctx, served).await
}

/// An area page as DVV's `/perustiedot-vko` answer.
pub fn area_json(page: &AreaPage) -> Result<Bytes, ApiError> {
    let answer = PerustiedotVkoResponse {
        perustiedot: page.persons.iter().map(person_view).collect::<Vec<_>>(),
        ajan_tasalla: page.next.is_none(),
        viimeisin_kirjausavain: Some(page.snapshot),
        jatkoavain: page.next.clone(),
    };
    AREA_LEN.to_json(&answer)
}

/// Ours: the next page of a load is made while this one is on its way to
/// the recipient and parsed there, and kept for the request that follows
/// (`PageCache`: given only while the log is as it was when made, so it is
/// the page that request would make). A load then costs the service's
/// time or the recipient's, whichever is more, not both in turn. Only when
/// a read slot is free: a busy service gains nothing from work done early.
/// Nothing is disclosed or logged here; a page that fails is made again,
/// and its error answered, when asked for.
fn make_ahead(app: &Arc<App>, permit: Permit, kunnat: BTreeSet<KuntaCode>, next: String) {
    if !app.shared.keeps() {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        let (shared, limits, today) = (app.shared.clone(), app.limits, app.today());
        let made = app
            .db
            .read_if_free(move |s| {
                pages::shared_area(s, &shared, &permit, &kunnat, Some(&next), &limits, today, area_json)?;
                Ok(())
            })
            .await;
        if let Some(Ok(())) = made {
            count(&app.metrics.area_pages_ahead, 1);
        }
    });
}

/// Ours: the proof that the audit log of `uusi` entries extends that of
/// `vanha`, so a recipient can check a new checkpoint against the one it
/// kept. Hashes only: no one's data.
async fn lokitodiste(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    cert: Option<Extension<ClientCert>>,
    Path((vanha, uusi)): Path<(String, String)>,
) -> Response {
    let mut ctx = Ctx::new("GET /api/v1/lokitodiste/{vanha}/{uusi}", &headers, cert);
    let served = async {
        ctx.sign_in(&app, &headers).await?;
        let size = |name: &str, v: &str| {
            v.parse::<u64>().ok().filter(|_| v.bytes().all(|b| b.is_ascii_digit())).ok_or_else(|| {
                ApiError::bad_request("VIRHEELLINEN_KOKO", format!("{name} {v:?}: a tree size is a whole number"))
            })
        };
        let (first, second) = (size("vanha", &vanha)?, size("uusi", &uusi)?);
        if first > second {
            return Err(ApiError::bad_request("VIRHEELLINEN_KOKO", "vanha is larger than uusi: a log never shrinks"));
        }
        let proof = app
            .db
            .read(move |s| match s.audit_consistency(first, second) {
                Err(vtj_store::StoreError::Proof(why)) => Ok(Err(why)),
                other => Ok(Ok(other?)),
            })
            .await?
            .map_err(|why| ApiError::bad_request("VIRHEELLINEN_KOKO", why))?;
        let todiste = vtj_tlog::tree::encode_hashes(&proof);
        json(&LokitodisteResponse { vanha_koko: first, uusi_koko: second, todiste }, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

/// Municipality codes, each a real municipality's, or the first bad one named.
fn kuntakoodit(list: &[String]) -> Result<BTreeSet<KuntaCode>, ApiError> {
    if list.is_empty() {
        return Err(ApiError::bad_request("KUNTAKOODIT_PUUTTUVAT", "name at least one municipality in kuntakoodit"));
    }
    list.iter()
        .enumerate()
        .map(|(i, k)| {
            KuntaCode::parse(k)
                .ok()
                .filter(|c| c.is_municipality())
                .ok_or_else(|| ApiError::bad_request("VIRHEELLINEN_KUNTAKOODI", format!("kuntakoodit[{i}]: {k:?}")))
        })
        .collect()
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
