//! The admin API: the operator's actions over HTTP, on a listener of its
//! own (keep it on loopback or an operations network), behind one admin
//! token whose hash is set with `vtj admin admin-token-issue`. Every call is
//! audited like a recipient's.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use vtj_core::VtjDate;
use vtj_disclose::Touched;
use vtj_store::Store;

use crate::admin::{self, AdminError, PermitSpec};
use crate::problem::ApiError;
use crate::{auth, finish, json, read_json, App, Ctx};

pub const PATH_ADMIN_RECIPIENTS: &str = "/admin/v1/luvansaajat";
pub const PATH_ADMIN_USERS: &str = "/admin/v1/kayttajat";
pub const PATH_ADMIN_REVOKE_USER: &str = "/admin/v1/kayttajat/{kayttaja}/peruutus";
pub const PATH_ADMIN_PERMITS: &str = "/admin/v1/tietoluvat";
pub const PATH_ADMIN_REVOKE_PERMIT: &str = "/admin/v1/tietoluvat/{tunnus}/peruutus";
pub const PATH_ADMIN_FEES: &str = "/admin/v1/maksut";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecipientRequest {
    pub tunnus: String,
    pub nimi: String,
}

/// A new user of a permit.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserRequest {
    pub kayttaja: String,
    pub tietolupa: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserCreated {
    pub kayttaja: String,
    pub tietolupa: String,
    /// Shown once; only its argon2id hash is kept.
    pub salasana: String,
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
    /// A county hub's sub-permit: the upstream permit it is carved from (ours).
    #[serde(default)]
    pub ylalupa: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Done {
    pub muutettu: usize,
}

/// Where the admin token's hash is kept.
pub const ADMIN_TOKEN_META: &str = "admin.token_sha256";

/// Sets a new admin token (replacing any earlier one) and returns it.
pub fn issue_admin_token<S: Store + ?Sized>(s: &mut S) -> Result<String, AdminError> {
    let token = auth::new_secret().map_err(|_| AdminError::Random)?;
    s.set_meta(ADMIN_TOKEN_META, &auth::credential_hash(&token))?;
    Ok(token)
}

pub fn admin_router(app: Arc<App>) -> Router {
    Router::new()
        .route(PATH_ADMIN_RECIPIENTS, post(add_recipient))
        .route(PATH_ADMIN_USERS, post(add_user))
        .route(PATH_ADMIN_REVOKE_USER, post(revoke_user))
        .route(PATH_ADMIN_PERMITS, get(list_permits).post(add_permit))
        .route(PATH_ADMIN_REVOKE_PERMIT, post(revoke_permit))
        .route(PATH_ADMIN_FEES, get(fees))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "POLKU_TUNTEMATON", "no such admin endpoint") })
        .with_state(app)
}

/// Serves the admin API until the process ends.
pub async fn serve_admin(listener: tokio::net::TcpListener, app: Arc<App>) -> std::io::Result<()> {
    axum::serve(listener, admin_router(app)).await
}

fn admin_error(e: AdminError) -> ApiError {
    match e {
        AdminError::Store(e) => e.into(),
        AdminError::Random => ApiError::internal(),
        AdminError::UnknownRecipient(_) | AdminError::UnknownPermit(_) | AdminError::UnknownUser(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "TUNTEMATON", e.to_string())
        }
        AdminError::PermitExists(_) | AdminError::UserExists(_) => {
            ApiError::new(StatusCode::CONFLICT, "ON_JO_OLEMASSA", e.to_string())
        }
        AdminError::Product(_) | AdminError::Invalid(_) => ApiError::bad_request("VIRHEELLINEN_PYYNTO", e.to_string()),
        AdminError::Widens { .. } => ApiError::new(StatusCode::CONFLICT, "LAAJEMPI_KUIN_YLALUPA", e.to_string()),
    }
}

async fn operator(app: &App, ctx: &mut Ctx, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = auth::bearer(headers).map(auth::credential_hash).ok_or_else(ApiError::unauthenticated)?;
    let stored = app.db.read(|s| Ok(s.meta(ADMIN_TOKEN_META)?)).await?;
    // Both sides are SHA-256 hex of secrets, so comparing them leaks nothing useful.
    if stored.as_deref() != Some(given.as_str()) {
        return Err(ApiError::unauthenticated());
    }
    ctx.audit.recipient = Some("ADMIN".into());
    Ok(())
}

fn date(s: &str, field: &str) -> Result<time::Date, ApiError> {
    match VtjDate::parse(s) {
        Ok(VtjDate::Full(d)) => Ok(d),
        _ => Err(ApiError::bad_request("VIRHEELLINEN_PAIVA", format!("{field} must be a full date YYYYMMDD"))),
    }
}

async fn add_recipient(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/luvansaajat", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        let r: RecipientRequest = read_json(body, app.body_limit).await?;
        let done = app.db.write(move |s| admin::add_recipient(s, &r.tunnus, &r.nimi).map_err(admin_error)).await;
        done?;
        json(&Done { muutettu: 1 }, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

async fn add_user(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/kayttajat", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        let r: UserRequest = read_json(body, app.body_limit).await?;
        ctx.audit.permit = Some(r.tietolupa.clone());
        ctx.audit.user = Some(r.kayttaja.clone());
        let (permit, name) = (r.tietolupa.clone(), r.kayttaja.clone());
        let salasana = app.db.write(move |s| admin::add_user(s, &permit, &name).map_err(admin_error)).await?;
        json(&UserCreated { kayttaja: r.kayttaja, tietolupa: r.tietolupa, salasana }, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

async fn revoke_user(State(app): State<Arc<App>>, headers: HeaderMap, Path(kayttaja): Path<String>) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/kayttajat/{kayttaja}/peruutus", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        ctx.audit.user = Some(kayttaja.chars().take(100).collect());
        app.db.write(move |s| admin::revoke_user(s, &kayttaja).map_err(admin_error)).await?;
        json(&Done { muutettu: 1 }, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

async fn add_permit(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/tietoluvat", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        let r: PermitRequest = read_json(body, app.body_limit).await?;
        let spec = PermitSpec {
            alkaen: date(&r.voimassa_alkaen, "voimassaAlkaen")?,
            asti: r.voimassa_asti.as_deref().map(|d| date(d, "voimassaAsti")).transpose()?,
            tunnus: r.tunnus,
            luvansaaja: r.luvansaaja,
            kayttotarkoitus: r.kayttotarkoitus,
            tuote: r.tuote,
            ryhmat: r.ryhmat,
            kunnat: r.kunnat,
            hyvinvointialueet: r.hyvinvointialueet,
            hetulista: r.hetulista,
            turvakielto_oikeus: r.turvakielto_oikeus,
            ylalupa: r.ylalupa,
        };
        ctx.audit.permit = Some(spec.tunnus.clone());
        json(&app.db.write(move |s| admin::add_permit(s, &spec).map_err(admin_error)).await?, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

async fn list_permits(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let mut ctx = Ctx::new("GET /admin/v1/tietoluvat", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        json(&app.db.read(|s| Ok(s.permits()?)).await?, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

async fn revoke_permit(State(app): State<Arc<App>>, headers: HeaderMap, Path(tunnus): Path<String>) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/tietoluvat/{tunnus}/peruutus", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        ctx.audit.permit = Some(tunnus.clone());
        app.db.write(move |s| admin::revoke_permit(s, &tunnus).map_err(admin_error)).await?;
        json(&Done { muutettu: 1 }, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}

async fn fees(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let mut ctx = Ctx::new("GET /admin/v1/maksut", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        let lines = app.db.read(|s| admin::fee_report(s, &BTreeSet::new()).map_err(admin_error)).await?;
        json(&lines, Touched::default())
    }
    .await;
    finish(app, ctx, served).await
}
