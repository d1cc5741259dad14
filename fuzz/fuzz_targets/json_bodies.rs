//! Every endpoint that takes a body or a query string, through the real
//! router with valid credentials (so parsing is reached, not just auth):
//! hostile input may be refused, never answered with a 5xx, never panics.
//! The first byte picks the endpoint; the rest is the body or query.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use time::{Date, Month};
use tower::ServiceExt;
use vtj_api::admin::{self, PermitSpec};
use vtj_api::{admin_api, wire, App, Config};
use vtj_store::{SqliteStore, Store};

struct World {
    rt: tokio::runtime::Runtime,
    app: Arc<App>,
    token: String,
    admin_token: String,
    _dir: std::path::PathBuf,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // On tmpfs where there is one: every request commits an audit entry.
        let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
        let dir = base.join(format!("vtj-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz directory");
        let db = dir.join("vtj.db");
        let _ = std::fs::remove_file(&db);
        let start = Date::from_calendar_date(2026, Month::January, 1).expect("date");
        let mut s = SqliteStore::open(&db).expect("store");
        admin::add_recipient(&mut s, "R", "fuzz").expect("recipient");
        let token = admin::issue_token(&mut s, "R", "fuzz").expect("token");
        let spec = PermitSpec {
            tunnus: "K".into(),
            luvansaaja: "R".into(),
            kayttotarkoitus: "fuzz".into(),
            tuote: "PSOP".into(),
            ryhmat: None,
            kunnat: vec!["179".into()],
            hyvinvointialueet: vec![],
            hetulista: false,
            turvakielto_oikeus: false,
            alkaen: start,
            asti: None,
        };
        admin::add_permit(&mut s, &spec).expect("permit");
        admin::add_permit(&mut s, &PermitSpec { tunnus: "L".into(), kunnat: vec![], hetulista: true, ..spec })
            .expect("permit");
        let admin_token = admin_api::issue_admin_token(&mut s).expect("admin token");
        assert!(s.permit("K").expect("read").is_some());
        drop(s);
        let app = App::new(&Config::new(db.to_string_lossy().into_owned())).expect("app");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        World { rt, app, token, admin_token, _dir: dir }
    })
}

fn path(template: &str, tunnus: &str) -> String {
    template.replace("{tunnus}", tunnus)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let w = world();
    let query = String::from_utf8_lossy(rest).replace(['#', ' '], "");
    let (method, uri, admin) = match pick % 11 {
        0 => ("POST", path(wire::PATH_INITIAL, "L"), false),
        1 => ("POST", path(wire::PATH_PERSON, "K"), false),
        2 => ("POST", path(wire::PATH_LIST_ADD, "L"), false),
        3 => ("POST", path(wire::PATH_LIST_REMOVE, "L"), false),
        4 => ("POST", wire::PATH_ADMIN_RECIPIENTS.to_string(), true),
        5 => ("POST", path(wire::PATH_ADMIN_TOKENS, "R"), true),
        6 => ("POST", wire::PATH_ADMIN_PERMITS.to_string(), true),
        7 => ("GET", format!("{}?{query}", path(wire::PATH_CHANGES, "K")), false),
        8 => ("GET", format!("{}?{query}", path(wire::PATH_INITIAL, "K")), false),
        9 => ("GET", format!("{}?{query}", wire::PATH_CURSOR_AT), false),
        _ => ("GET", format!("{}?{query}", wire::PATH_ADMIN_FEES), true),
    };
    let Ok(request) = Request::builder()
        .method(method)
        .uri(&uri)
        .header("authorization", format!("Bearer {}", if admin { &w.admin_token } else { &w.token }))
        .header("content-type", "application/json")
        .body(Body::from(rest.to_vec()))
    else {
        return; // not a URI at all: never reaches the service
    };
    let router = if admin { admin_api::admin_router(w.app.clone()) } else { vtj_api::router(w.app.clone()) };
    let response = w.rt.block_on(router.oneshot(request)).expect("infallible");
    let status = response.status();
    assert!(!status.is_server_error(), "{method} {uri} answered {status}");
});
