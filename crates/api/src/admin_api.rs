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
use vtj_core::VtjDate;
use vtj_store::Store;

use crate::admin::{self, AdminError, PermitSpec};
use crate::problem::ApiError;
use crate::service::Touched;
use crate::wire::*;
use crate::{auth, finish, json, read_json, App, Ctx};

/// Where the admin token's hash is kept.
pub const ADMIN_TOKEN_META: &str = "admin.token_sha256";

/// Sets a new admin token (replacing any earlier one) and returns it.
pub fn issue_admin_token<S: Store + ?Sized>(s: &mut S) -> Result<String, AdminError> {
    let token = auth::new_token().map_err(|_| AdminError::Random)?;
    s.set_meta(ADMIN_TOKEN_META, &auth::credential_hash(&token))?;
    Ok(token)
}

pub fn admin_router(app: Arc<App>) -> Router {
    Router::new()
        .route(PATH_ADMIN_RECIPIENTS, post(add_recipient))
        .route(PATH_ADMIN_TOKENS, post(issue_token))
        .route(PATH_ADMIN_REVOKE_CREDENTIALS, post(revoke_credentials))
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
        AdminError::UnknownRecipient(_) | AdminError::UnknownPermit(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "TUNTEMATON", e.to_string())
        }
        AdminError::PermitExists(_) => ApiError::new(StatusCode::CONFLICT, "ON_JO_OLEMASSA", e.to_string()),
        AdminError::Product(_) | AdminError::Invalid(_) => ApiError::bad_request("VIRHEELLINEN_PYYNTO", e.to_string()),
    }
}

async fn operator(app: &App, ctx: &mut Ctx, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = auth::bearer(headers).map(auth::credential_hash).ok_or_else(ApiError::unauthenticated)?;
    let stored = app.db.read(|s| Ok(s.meta(ADMIN_TOKEN_META)?)).await?;
    // Both sides are SHA-256 hex of secrets, so comparing them leaks nothing useful.
    if stored.as_deref() != Some(given.as_str()) {
        return Err(ApiError::unauthenticated());
    }
    ctx.recipient = Some("ADMIN".into());
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
        json((done.map(|()| Done { muutettu: 1 })?, Touched::default()))
    }
    .await;
    finish(app, ctx, served).await
}

async fn issue_token(State(app): State<Arc<App>>, headers: HeaderMap, Path(tunnus): Path<String>) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/luvansaajat/{tunnus}/tunnukset", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        let token = app.db.write(move |s| admin::issue_token(s, &tunnus, "admin API").map_err(admin_error)).await?;
        json((TokenIssued { token }, Touched::default()))
    }
    .await;
    finish(app, ctx, served).await
}

async fn revoke_credentials(State(app): State<Arc<App>>, headers: HeaderMap, Path(tunnus): Path<String>) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/luvansaajat/{tunnus}/tunnusten-peruutus", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        let n = app
            .db
            .write(move |s| match s.revoke_credentials(&tunnus) {
                Err(vtj_store::StoreError::UnknownRecipient(r)) => Err(admin_error(AdminError::UnknownRecipient(r))),
                other => other.map_err(|e| admin_error(e.into())),
            })
            .await?;
        json((Done { muutettu: n }, Touched::default()))
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
        };
        ctx.permit = Some(spec.tunnus.clone());
        json((app.db.write(move |s| admin::add_permit(s, &spec).map_err(admin_error)).await?, Touched::default()))
    }
    .await;
    finish(app, ctx, served).await
}

async fn list_permits(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let mut ctx = Ctx::new("GET /admin/v1/tietoluvat", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        json((app.db.read(|s| Ok(s.permits()?)).await?, Touched::default()))
    }
    .await;
    finish(app, ctx, served).await
}

async fn revoke_permit(State(app): State<Arc<App>>, headers: HeaderMap, Path(tunnus): Path<String>) -> Response {
    let mut ctx = Ctx::new("POST /admin/v1/tietoluvat/{tunnus}/peruutus", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        ctx.permit = Some(tunnus.clone());
        app.db.write(move |s| admin::revoke_permit(s, &tunnus).map_err(admin_error)).await?;
        json((Done { muutettu: 1 }, Touched::default()))
    }
    .await;
    finish(app, ctx, served).await
}

async fn fees(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let mut ctx = Ctx::new("GET /admin/v1/maksut", &headers, None);
    let served = async {
        operator(&app, &mut ctx, &headers).await?;
        let lines = app.db.read(|s| admin::fee_report(s, &BTreeSet::new()).map_err(admin_error)).await?;
        json((lines, Touched::default()))
    }
    .await;
    finish(app, ctx, served).await
}
