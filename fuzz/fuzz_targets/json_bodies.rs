//! Every endpoint that takes a body or a path parameter, through the real
//! router with valid credentials (so parsing is reached, not just sign-in):
//! hostile input may be refused, never answered with a 5xx, never panics.
//! The first byte picks the endpoint; the rest is the body or the path.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use time::{Date, Month};
use tower::ServiceExt;
use vtj_api::admin::{self, PermitSpec};
use vtj_api::{admin_api, App, Config};
use vtj_store::{SqliteStore, Store};
use vtj_wire::paths::{route, MUUTOKSET, PERUSTIEDOT, PERUSTIEDOT_VKO};

struct World {
    rt: tokio::runtime::Runtime,
    app: Arc<App>,
    /// Basic credentials of the area permit's user and of the list permit's.
    area: String,
    list: String,
    admin_token: String,
    _dir: std::path::PathBuf,
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
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
            ylalupa: None,
        };
        admin::add_permit(&mut s, &spec).expect("permit");
        admin::add_permit(&mut s, &PermitSpec { tunnus: "L".into(), kunnat: vec![], hetulista: true, ..spec })
            .expect("permit");
        let area = basic("k", &admin::add_user(&mut s, "K", "k").expect("user"));
        let list = basic("l", &admin::add_user(&mut s, "L", "l").expect("user"));
        let admin_token = admin_api::issue_admin_token(&mut s).expect("admin token");
        assert!(s.permit("K").expect("read").is_some());
        drop(s);
        let mut config = Config::new(db.to_string_lossy().into_owned());
        config.signer = Some(std::sync::Arc::new(vtj_store::testsuite::test_signer()));
        // Every input reaches parsing: no rate limit in the way.
        (config.rate_per_second, config.rate_burst) = (1e9, u32::MAX);
        let app = App::new(&config).expect("app");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        World { rt, app, area, list, admin_token, _dir: dir }
    })
}

/// Who signs in to an endpoint.
enum As {
    Area,
    List,
    Admin,
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let w = world();
    let segment = String::from_utf8_lossy(rest).replace(['#', '?', '/', ' '], "");
    let (method, uri, who) = match pick % 12 {
        0 => ("POST", route(PERUSTIEDOT), As::List),
        1 => ("POST", route(PERUSTIEDOT), As::Area),
        2 => ("POST", route(MUUTOKSET), As::List),
        3 => ("POST", route(MUUTOKSET), As::Area),
        4 => ("POST", route(PERUSTIEDOT_VKO), As::Area),
        5 => ("POST", admin_api::PATH_ADMIN_RECIPIENTS.to_string(), As::Admin),
        6 => ("POST", admin_api::PATH_ADMIN_USERS.to_string(), As::Admin),
        7 => ("POST", admin_api::PATH_ADMIN_PERMITS.to_string(), As::Admin),
        8 => ("GET", format!("/api/v1/kirjausavain/{segment}"), As::Area),
        9 => ("POST", route(PERUSTIEDOT_VKO), As::List),
        10 => {
            let mid = segment.chars().count() / 2;
            let (a, b): (String, String) = (segment.chars().take(mid).collect(), segment.chars().skip(mid).collect());
            ("GET", format!("/api/v1/lokitodiste/{a}/{b}"), As::List)
        }
        _ => ("GET", admin_api::PATH_ADMIN_FEES.to_string(), As::Admin),
    };
    let credential = match who {
        As::Area => w.area.clone(),
        As::List => w.list.clone(),
        As::Admin => format!("Bearer {}", w.admin_token),
    };
    let admin = matches!(who, As::Admin);
    let Ok(request) = Request::builder()
        .method(method)
        .uri(&uri)
        .header("authorization", credential)
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
