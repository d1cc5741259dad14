//! The REST service end to end on loopback, as DVV's interface: what each
//! permit receives, and what every kind of bad request gets.

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Month;
use vtj_core::groups::{Kotikunta, KotimainenOsoite, Localized, Nimi};
use vtj_core::{Event, EventKind, GroupName, Hetu, KuntaCode, Person, PersonId, Scope, VtjDate};
use vtj_store::{AuditLog, AuditRecord, PersonFilter, Store};
use vtj_testkit::*;
use vtj_wire::{ChangeRecord, MuutoksetResponse, PerustiedotResponse};

fn ev(p: &Person, tapahtuma: EventKind) -> Event {
    Event { person: p.id, rekisterointipaiva: day(2026, Month::March, 1), tapahtuma }
}

/// A living person of the KS county without turvakielto.
fn ks_person(h: &Harness) -> Person {
    let s = h.store();
    let Scope::Kuntarajaus { kunnat } = s.permit(KS).unwrap().unwrap().rajaus else { unreachable!() };
    s.persons(PersonFilter::Kunnat(&kunnat), PersonId(0), 500)
        .unwrap()
        .into_iter()
        .find(|p| !p.has_turvakielto() && !p.is_dead() && p.group(GroupName::VakinainenKotimainenOsoite).is_some())
        .expect("a KS person")
}

fn resident_of(h: &Harness, kunta: &str) -> Person {
    h.store()
        .persons(PersonFilter::All, PersonId(0), 4_000)
        .unwrap()
        .into_iter()
        .find(|p| p.kotikunta() == Some(KuntaCode::parse(kunta).unwrap()) && !p.has_turvakielto() && !p.is_dead())
        .expect("a resident")
}

fn other_address(p: &Person, street: &str) -> KotimainenOsoite {
    let Some(vtj_core::GroupValue::VakinainenKotimainenOsoite(a)) = p.group(GroupName::VakinainenKotimainenOsoite)
    else {
        unreachable!()
    };
    KotimainenOsoite { katunimi: Localized::fi(street), katunumero: "7".into(), ..a.clone() }
}

fn kotikunta(code: &str) -> Kotikunta {
    Kotikunta {
        kuntakoodi: KuntaCode::parse(code).unwrap(),
        kuntaan_muuttopv: Some(VtjDate::Full(day(2026, Month::March, 1))),
    }
}

async fn changes(h: &Harness, permit: &str, after: i64, list: Option<&[String]>) -> (MuutoksetResponse, String) {
    let mut body = json!({ "viimeisinKirjausavain": after });
    if let Some(l) = list {
        body["hetulista"] = json!(l);
    }
    let (st, bytes) = h.post(permit, "/muutokset", &body).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    (serde_json::from_slice(&bytes).unwrap(), String::from_utf8_lossy(&bytes).into_owned())
}

fn of<'a>(page: &'a MuutoksetResponse, hetu: &str) -> Vec<&'a ChangeRecord> {
    page.muutokset.iter().filter(|c| c.henkilotunnus == hetu).collect()
}

fn group(c: &ChangeRecord, name: GroupName) -> Option<&vtj_wire::Group> {
    c.tietoryhmat.iter().find(|g| g.name() == name.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_loaded_by_perustiedot_vko_and_followed_reproduces_the_permit() {
    let h = start(Options {
        persons: 6_000,
        days: 4,
        config: |c| {
            c.limits.vko_page = 50;
            c.limits.page = 37;
        },
        ..Options::default()
    })
    .await;
    let mut writer = h.store();
    let permit = h.store().permit(KS).unwrap().unwrap();
    // Life goes on while the recipient loads page by page.
    let (mut reg, snapshot) = h.initial_load(KS, || simulate(&mut writer, 1)).await;
    let mut cursor = snapshot;
    simulate(&mut writer, 3);
    let seen = h.catch_up(KS, &mut reg, &mut cursor, None).await;
    assert!(seen.iter().any(|c| c.poistuu_rajauksesta), "someone moved out");
    let all_added = |c: &ChangeRecord| c.tietoryhmat.iter().all(|g| g.attribute() == Some("LISATTY"));
    assert!(seen.iter().any(|c| all_added(c) && group(c, GroupName::HenkilonNimi).is_some()), "someone came");
    let expected = projection(&h.store(), &permit, &[], today());
    assert!(expected.persons.len() > 100);
    assert_eq!(reg.persons, expected.persons);

    // The entitled permit over the same area holds the same persons.
    let (mut reg_tk, snap) = h.initial_load(KS_TK, || {}).await;
    let mut c = snap;
    h.catch_up(KS_TK, &mut reg_tk, &mut c, None).await;
    let permit_tk = h.store().permit(KS_TK).unwrap().unwrap();
    assert_eq!(reg_tk.persons, projection(&h.store(), &permit_tk, &[], today()).persons);
    assert_eq!(reg_tk.persons.keys().collect::<Vec<_>>(), reg.persons.keys().collect::<Vec<_>>());

    // Municipalities outside the area are not answered.
    let (st, body) = h.post(KS, "/perustiedot-vko", &json!({"kuntakoodit": ["091"]})).await;
    assert_eq!(st, StatusCode::OK);
    let p: PerustiedotResponse = serde_json::from_slice(&body).unwrap();
    assert!(p.perustiedot.is_empty() && p.ajan_tasalla);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turvakielto_censors_in_dvvs_shape_and_ends_with_the_values_again() {
    let h = start(Options::default()).await;
    let p = ks_person(&h);
    let hetu = p.hetu().to_string();
    let mut s = h.store();
    let c0 = s.last_cursor().unwrap().0;
    s.append(&[ev(&p, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    let p1 = s.person(p.id).unwrap().unwrap();
    s.append(&[ev(&p1, EventKind::MoveWithin { osoite: other_address(&p, "Salainenkatu") })]).unwrap();
    let p2 = s.person(p.id).unwrap().unwrap();

    // Without the right: every censorable group in censored form, the
    // fact of the turvakielto not at all, and nothing of the move.
    let (page, text) = changes(&h, KS, c0, None).await;
    assert!(!text.contains("Salainenkatu"), "censored address leaked");
    assert!(!text.contains("TURVAKIELTO"), "the fact of the turvakielto leaked: {text}");
    let mine = of(&page, &hetu);
    assert_eq!(mine.len(), 1, "the move under turvakielto is invisible: {mine:?}");
    for g in GroupName::CENSORED_UNDER_TURVAKIELTO {
        let c = group(mine[0], g).unwrap_or_else(|| panic!("{g} not censored"));
        let fields: Vec<&str> = c.fields().keys().map(String::as_str).collect();
        assert_eq!(fields, ["tietoryhma", "turvakiellonAlaisetKentat", "muutosattribuutti"], "{g}");
        assert_eq!(c.attribute(), Some("MUUTETTU"));
    }
    // The same censoring in the person's current data.
    let (_, body) = h.post(KS, "/perustiedot", &json!({"hetulista": [hetu]})).await;
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("Salainenkatu") && text.contains("turvakiellonAlaisetKentat"), "{text}");

    // With the right: the turvakielto itself, and the new address.
    let (page, text) = changes(&h, KS_TK, c0, None).await;
    let mine = of(&page, &hetu);
    assert_eq!(mine.len(), 2);
    let tk = group(mine[0], GroupName::Turvakielto).expect("the turvakielto");
    assert_eq!((tk.attribute(), tk.get("turvakieltoAktiivinen")), (Some("LISATTY"), Some(&Value::Bool(true))));
    assert!(text.contains("Salainenkatu"));

    // The end sends the values again, and says the turvakielto ended (to the entitled).
    let c = s.last_cursor().unwrap().0;
    s.append(&[ev(&p2, EventKind::TurvakieltoEnd)]).unwrap();
    let (page, text) = changes(&h, KS, c, None).await;
    let end = of(&page, &hetu);
    let addr = group(end[0], GroupName::VakinainenKotimainenOsoite).expect("the address again");
    assert_eq!(addr.attribute(), Some("LISATTY"));
    assert!(text.contains("Salainenkatu"));
    assert!(group(end[0], GroupName::Kotikunta).is_some_and(|k| k.get("kuntakoodi").is_some()));
    assert!(group(end[0], GroupName::Turvakielto).is_none());
    let (page, _) = changes(&h, KS_TK, c, None).await;
    let tk = group(of(&page, &hetu)[0], GroupName::Turvakielto).expect("the end of the turvakielto");
    assert_eq!((tk.attribute(), tk.get("turvakieltoAktiivinen")), (Some("MUUTETTU"), Some(&Value::Bool(false))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_the_area_says_only_the_new_municipality() {
    let h = start(Options::default()).await;
    let mut s = h.store();
    let outsider = resident_of(&h, "091");
    let hetu = outsider.hetu().to_string();
    let c0 = s.last_cursor().unwrap().0;
    let mv = |osoite, kotikunta| EventKind::MoveToMunicipality { osoite, kotikunta };
    s.append(&[ev(&outsider, mv(other_address(&outsider, "Kauppakatu"), kotikunta("179")))]).unwrap();
    let moved = s.person(outsider.id).unwrap().unwrap();
    s.append(&[ev(&moved, mv(other_address(&outsider, "Mannerheimintie"), kotikunta("091")))]).unwrap();
    let back = s.person(outsider.id).unwrap().unwrap();
    let rename =
        EventKind::NameChange { nimi: Nimi::new("Testi", "Uusinimi", Some(VtjDate::Full(day(2026, Month::March, 1)))) };
    s.append(&[ev(&back, rename)]).unwrap();

    let (page, text) = changes(&h, KS, c0, None).await;
    let mine = of(&page, &hetu);
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine[0].tietoryhmat.iter().all(|g| g.attribute() == Some("LISATTY")) && !mine[0].poistuu_rajauksesta);
    assert!(group(mine[0], GroupName::HenkilonNimi).is_some(), "entering brings the full record");
    let leave = mine[1];
    assert!(leave.poistuu_rajauksesta);
    assert_eq!(
        serde_json::to_value(&leave.tietoryhmat).unwrap(),
        json!([{"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091", "muutosattribuutti": "MUUTETTU"}]),
        "the new municipality's code and nothing else"
    );
    assert!(!text.contains("Mannerheimintie"), "the new address is outside the permit");
    assert!(!text.contains("Uusinimi"), "nothing after leaving");
    // Helsinki saw them leave (with Jyväskylä's code) and come back.
    let (page, _) = changes(&h, HEL, c0, None).await;
    let mine = of(&page, &hetu);
    assert_eq!(mine.iter().map(|c| c.poistuu_rajauksesta).collect::<Vec<_>>(), [true, false, false]);
    assert_eq!(mine[0].kotikunta(), Some("179"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hetu_correction_comes_under_the_old_hetu_and_both_find_the_person() {
    let h = start(Options::default()).await;
    let p = ks_person(&h);
    let mut s = h.store();
    let c0 = s.last_cursor().unwrap().0;
    let sign = p.hetu().as_str().as_bytes()[6] as char;
    let new = (990..1000)
        .map(|n| Hetu::from_parts(p.hetu().birth_date(), sign, n).unwrap())
        .find(|h| !s.hetu_exists(*h).unwrap())
        .unwrap();
    let fix = hetu_correction(&s, &p, new, day(2026, Month::March, 1));
    s.append(&fix).unwrap();
    let permit = s.permit(KS).unwrap().unwrap();
    let mut reg = projection(&s, &permit, &[], today());
    reg.area = Some(area_of(KS));
    let moved = reg.persons.remove(new.as_str()).unwrap();
    reg.persons.insert(p.hetu().to_string(), moved);
    let mut c = c0;
    let seen = h.catch_up(KS, &mut reg, &mut c, None).await;
    let fix = seen.iter().find(|c| c.henkilotunnus == p.hetu().to_string()).expect("sent under the old hetu");
    assert_eq!(fix.hetu_correction(), Some((new.to_string(), vec![p.hetu().to_string()])));
    assert!(reg.persons.contains_key(new.as_str()) && !reg.persons.contains_key(p.hetu().as_str()));
    assert_eq!(reg.persons, projection(&s, &permit, &[], today()).persons);
    // Asked by either hetu, the person comes under the hetu asked.
    for asked in [p.hetu(), new] {
        let (st, body) = h.post(KS, "/perustiedot", &json!({"hetulista": [asked.to_string()]})).await;
        assert_eq!(st, StatusCode::OK);
        let r: PerustiedotResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(r.perustiedot.len(), 1);
        assert_eq!(r.perustiedot[0].henkilotunnus, asked.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hetu_scoped_permit_gets_whoever_it_lists_every_call() {
    let h = start(Options::default()).await;
    let s = h.store();
    let persons: Vec<Person> = s
        .persons(PersonFilter::All, PersonId(0), 4_000)
        .unwrap()
        .into_iter()
        .filter(|p| !p.is_dead())
        .step_by(40)
        .take(20)
        .collect();
    let hetus: Vec<String> = persons.iter().map(|p| p.hetu().to_string()).collect();
    let unknown = "010101-999X".to_string();
    assert!(!s.hetu_exists(Hetu::parse(&unknown).unwrap()).unwrap());

    let mut asked = hetus.clone();
    asked.push(unknown.clone());
    let (st, body) = h.post(LIST, "/perustiedot", &json!({ "hetulista": asked })).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let r: PerustiedotResponse = serde_json::from_slice(&body).unwrap();
    assert!(r.ajan_tasalla);
    assert_eq!(r.perustiedot.iter().map(|p| &p.henkilotunnus).collect::<Vec<_>>(), hetus.iter().collect::<Vec<_>>());

    // A subset of groups; a group outside the product is simply not there.
    let (_, body) = h
        .post(LIST, "/perustiedot", &json!({"hetulista": [hetus[0]], "tietoryhmat": ["HENKILON_NIMI", "SUKUPUOLI"]}))
        .await;
    let r: PerustiedotResponse = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = r.perustiedot[0].tietoryhmat.iter().map(|g| g.name()).collect();
    assert_eq!(names, ["HENKILON_NIMI"], "ASREK has no SUKUPUOLI");

    // Changes come for the persons the call lists, and for no one else.
    let mut reg = Register::default();
    let list: Vec<Hetu> = hetus.iter().map(|h| Hetu::parse(h).unwrap()).collect();
    let permit = s.permit(LIST).unwrap().unwrap();
    reg.persons = projection(&s, &permit, &list, today()).persons;
    let mut cursor = s.last_cursor().unwrap().0;
    let mut w = h.store();
    simulate(&mut w, 20);
    let seen = h.catch_up(LIST, &mut reg, &mut cursor, Some(&hetus)).await;
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|c| hetus.contains(&c.henkilotunnus)), "only the listed");
    assert_eq!(reg.persons, projection(&h.store(), &permit, &list, today()).persons);
    // A person no longer listed gets nothing.
    let (page, _) = changes(&h, LIST, 0, Some(&hetus[10..])).await;
    assert!(page.muutokset.iter().all(|c| !hetus[..10].contains(&c.henkilotunnus)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_scope_is_indistinguishable_from_unknown() {
    let h = start(Options::default()).await;
    let helsinki = resident_of(&h, "091");
    let (st1, b1) = h.post(KS, "/perustiedot", &json!({"hetulista": [helsinki.hetu().to_string()]})).await;
    let (st2, b2) = h.post(KS, "/perustiedot", &json!({"hetulista": ["010101-999X"]})).await;
    assert_eq!((st1, st2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(b1, b2, "the same bytes for out of scope and unknown");
    assert_eq!(String::from_utf8_lossy(&b1), r#"{"perustiedot":[],"ajanTasalla":true}"#);
    let (_, c1) = h
        .post(KS, "/muutokset", &json!({"viimeisinKirjausavain": 0, "hetulista": [helsinki.hetu().to_string()]}))
        .await;
    let (_, c2) = h.post(KS, "/muutokset", &json!({"viimeisinKirjausavain": 0, "hetulista": ["010101-999X"]})).await;
    assert_eq!(c1, c2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_revocation_expiry_and_the_headers_older_clients_send() {
    let h = start(Options::default()).await;
    let body = json!({"viimeisinKirjausavain": 0});
    assert_eq!(h.post(KS, "/muutokset", &body).await.0, StatusCode::OK);
    let raw = serde_json::to_vec(&body).unwrap();
    let (u, p) = h.user(KS);
    let (st, wrong) = h.post_as(u, "wrong", "/muutokset", raw.clone()).await;
    assert_eq!((st, problem_code(&wrong).as_str()), (StatusCode::UNAUTHORIZED, "TUNNISTAUTUMINEN_PUUTTUU"));
    let (_, nobody) = h.post_as("nobody", "x", "/muutokset", raw.clone()).await;
    assert_eq!(wrong, nobody, "an unknown user and a wrong password look the same");
    let url = format!("{}/muutokset", h.api_base());
    let r = h.http.post(&url).header("x-road-client", "FI/GOV/0201256-6/kshva").json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the X-Road header alone is not trusted");
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"VTJ-muutosrajapinta\"");
    // The older header pair, and Basic where a gateway moved it.
    let r = h.http.post(&url).header("MUTP-Tunnus", u).header("MUTP-Salasana", p).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let basic = reqwest::Client::new().post(&url).basic_auth(u, Some(p)).build().unwrap();
    let auth = basic.headers()["authorization"].clone();
    let r = h.http.post(&url).header("x-authorization", auth).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Expiry: the permit ends 2030-12-31.
    h.clock_days.store(365 * 6, std::sync::atomic::Ordering::Relaxed);
    let (st, b) = h.post(KS, "/muutokset", &body).await;
    assert_eq!((st, problem_code(&b).as_str()), (StatusCode::FORBIDDEN, "TIETOLUPA_EI_VOIMASSA"));
    h.clock_days.store(0, std::sync::atomic::Ordering::Relaxed);

    vtj_api::admin::revoke_permit(&mut h.store(), KS).unwrap();
    assert_eq!(h.post(KS, "/muutokset", &body).await.0, StatusCode::FORBIDDEN, "revocation takes effect at once");
    assert_eq!(h.post(KS_TK, "/muutokset", &body).await.0, StatusCode::OK);
    vtj_api::admin::revoke_user(&mut h.store(), &user_of(KS_TK)).unwrap();
    assert_eq!(h.post(KS_TK, "/muutokset", &body).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.post(HEL, "/muutokset", &body).await.0, StatusCode::OK, "other users are untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors() {
    let h = start(Options { config: |c| c.limits.max_list = 100, ..Options::default() }).await;
    let (u, p) = h.user(LIST);
    let big: Vec<String> = vec!["010181-900C".into(); 1001];
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("/perustiedot", b"{\"hetulista\": ".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        ("/perustiedot", b"[[[[".repeat(200), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        ("/perustiedot", br#"{"hetulista":[],"extra":1}"#.to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (
            "/perustiedot",
            br#"{"hetulista":[],"tietoryhmat":null}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_JSON",
        ),
        (
            "/perustiedot",
            br#"{"hetulista":["010181-900C","300281-900C"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_HENKILOTUNNUS",
        ),
        (
            "/perustiedot",
            br#"{"hetulista":["010181-900C"],"tietoryhmat":["HENKILON_NIMET"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "TUNTEMATON_TIETORYHMA",
        ),
        (
            "/perustiedot",
            serde_json::to_vec(&json!({ "hetulista": big })).unwrap(),
            StatusCode::BAD_REQUEST,
            "LISTA_LIIAN_PITKA",
        ),
        (
            "/muutokset",
            serde_json::to_vec(&json!({"viimeisinKirjausavain": 0, "hetulista": vec!["010181-900C"; 101]})).unwrap(),
            StatusCode::BAD_REQUEST,
            "LISTA_LIIAN_PITKA",
        ),
        ("/muutokset", br#"{"viimeisinKirjausavain":0}"#.to_vec(), StatusCode::BAD_REQUEST, "HETULISTA_PUUTTUU"),
        ("/muutokset", br#"{"viimeisinKirjausavain":"x"}"#.to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (
            "/muutokset",
            br#"{"viimeisinKirjausavain":-1,"hetulista":[]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "KIRJAUSAVAIN_TULEVAISUUDESSA",
        ),
        ("/muutokset", vec![b' '; 3 << 20], StatusCode::PAYLOAD_TOO_LARGE, "PYYNTO_LIIAN_SUURI"),
        ("/perustiedot-vko", br#"{"kuntakoodit":["179"]}"#.to_vec(), StatusCode::CONFLICT, "VAARA_RAJAUSTYYPPI"),
    ];
    for (call, body, status, code) in cases {
        let (st, answer) = h.post_as(u, p, call, body).await;
        assert_eq!(
            (st, problem_code(&answer).as_str()),
            (status, code),
            "{call}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    let (_, answer) = h.post_as(u, p, "/perustiedot", br#"{"hetulista":["010181-900C","300281-900C"]}"#.to_vec()).await;
    assert!(String::from_utf8_lossy(&answer).contains("hetulista[1]"), "the bad hetu and its place are named");

    let last = h.store().last_cursor().unwrap().0;
    let (st, b) = h.post(KS, "/muutokset", &json!({"viimeisinKirjausavain": last + 1})).await;
    assert_eq!((st, problem_code(&b).as_str()), (StatusCode::BAD_REQUEST, "KIRJAUSAVAIN_TULEVAISUUDESSA"));
    for (body, code) in [
        (json!({"kuntakoodit": []}), "KUNTAKOODIT_PUUTTUVAT"),
        (json!({"kuntakoodit": ["12"]}), "VIRHEELLINEN_KUNTAKOODI"),
        (json!({"kuntakoodit": ["200"]}), "VIRHEELLINEN_KUNTAKOODI"),
        (json!({"kuntakoodit": ["179"], "jatkoavain": "999999999.1"}), "VIRHEELLINEN_JATKOAVAIN"),
    ] {
        let (st, b) = h.post(KS, "/perustiedot-vko", &body).await;
        assert_eq!((st, problem_code(&b).as_str()), (StatusCode::BAD_REQUEST, code), "{body}");
    }
    for (day, status, code) in [
        ("2099-01-01", StatusCode::BAD_REQUEST, "PAIVA_TULEVAISUUDESSA"),
        ("20260102", StatusCode::BAD_REQUEST, "VIRHEELLINEN_PAIVA"),
        ("2026-02-30", StatusCode::BAD_REQUEST, "VIRHEELLINEN_PAIVA"),
    ] {
        let (st, b) = h.get(KS, &format!("/kirjausavain/{day}")).await;
        assert_eq!((st, problem_code(&b).as_str()), (status, code), "{day}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursor_of_a_day_follows_that_days_changes_on() {
    let h = start(Options { days: 6, ..Options::default() }).await;
    let s = h.store();
    let (st, body) = h.get(KS, "/kirjausavain/2026-01-04").await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let c: vtj_wire::KirjausavainResponse = serde_json::from_slice(&body).unwrap();
    let expected = s.cursor_at(day(2026, Month::January, 3)).unwrap().0;
    assert_eq!(c.viimeisin_kirjausavain, expected, "the last change before the day");
    let after = s.changes_since(vtj_store::Cursor(expected), 1).unwrap();
    assert_eq!(after[0].event.rekisterointipaiva, day(2026, Month::January, 4), "the day's first change is next");
    let (_, body) = h.get(KS, "/kirjausavain/1990-01-01").await;
    assert_eq!(String::from_utf8_lossy(&body), r#"{"viimeisinKirjausavain":0}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let h = start(Options {
        config: |c| {
            c.rate_per_second = 0.5;
            c.rate_burst = 3;
        },
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    let (u, p) = h.user(KS);
    for _ in 0..5 {
        let r = h
            .http
            .post(format!("{}/muutokset", h.api_base()))
            .basic_auth(u, Some(p))
            .json(&json!({"viimeisinKirjausavain": 0}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&wait));
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // Another recipient has its own bucket.
    assert_eq!(h.post(HEL, "/muutokset", &json!({"viimeisinKirjausavain": 0})).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_audited_with_whose_data_and_which_groups() {
    let h = start(Options::default()).await;
    let p = ks_person(&h);
    h.post(KS, "/perustiedot", &json!({"hetulista": [p.hetu().to_string(), "010101-999X"]})).await;
    h.post_as("nobody", "x", "/muutokset", b"{}".to_vec()).await;
    let (u, pw) = h.user(KS);
    let r = h
        .http
        .post(format!("{}/muutokset", h.api_base()))
        .basic_auth(u, Some(pw))
        .header("X-Road-Client", "FI/GOV/0000000-0/test")
        .json(&json!({"viimeisinKirjausavain": 0, "hetulista": [p.hetu().to_string()]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let _ = h.http.get(h.url("/metrics")).send().await.unwrap();

    let s = h.store();
    let entries: Vec<AuditRecord> =
        s.audit_entries(0, 100).unwrap().iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    assert_eq!(entries.len(), 3, "one entry per API request, none for /metrics");
    let found = &entries[0];
    assert_eq!(
        (found.user.as_deref(), found.recipient.as_deref(), found.permit.as_deref(), found.purpose.as_deref()),
        (Some("ks"), Some("KSHVA"), Some(KS), Some("asiakasrekisteri"))
    );
    assert_eq!(found.asked, [p.hetu().to_string(), "010101-999X".to_string()], "what was asked");
    assert_eq!(found.hetus, [p.hetu().to_string()], "whose data went out");
    assert!(found.groups.contains(&"HENKILON_NIMI".to_string()));
    assert_eq!((found.status, found.records), (200, 1));
    assert_eq!((entries[1].status, entries[1].recipient.clone()), (401, None));
    assert_eq!(entries[2].xroad_client.as_deref(), Some("FI/GOV/0000000-0/test"));
    assert_eq!(entries[2].asked_list.as_ref().map(|d| d.count), Some(1), "a followed list by count and digest");
    assert_eq!(s.audit_verify().unwrap().entries, 3);
}

/// The service's `/metrics` text now.
async fn metrics(h: &Harness) -> String {
    h.http.get(h.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_made_for_one_permit_is_given_to_another_of_its_kind_and_logged_as_theirs() {
    let h = start(Options { config: |c| c.limits.page = 40, ..Options::default() }).await;
    // Helsinki's register of the KS county under the same product and rule
    // as KS: another recipient, another purpose, the same kind.
    let password = {
        let mut s = h.store();
        let ks = s.permit(KS).unwrap().unwrap();
        let ks2 = vtj_core::Permit {
            tunnus: "KS2".into(),
            luvansaaja: "HELSINKI".into(),
            kayttotarkoitus: "tutkimus".into(),
            voimassa_alkaen: ks.voimassa_alkaen.next_day().unwrap(),
            ..ks
        };
        s.put_permit(&ks2).unwrap();
        vtj_api::admin::add_user(&mut s, "KS2", "ks2").unwrap()
    };
    let shared = || async { metric(&metrics(&h).await, "vtj_shared_pages_total") };
    let body = serde_json::to_vec(&json!({ "viimeisinKirjausavain": 0 })).unwrap();

    let (st, first) = h.post(KS, "/muutokset", &json!({ "viimeisinKirjausavain": 0 })).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(shared().await, 0);
    let (st, second) = h.post_as("ks2", &password, "/muutokset", body.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(shared().await, 1, "the second permit of the kind is given the page made");
    assert_eq!(second, first);
    let page: MuutoksetResponse = serde_json::from_slice(&first).unwrap();
    assert_eq!(page.muutokset.len(), 40);
    // Of another kind (the turvakielto right): made for it.
    let (st, _) = h.post(KS_TK, "/muutokset", &json!({ "viimeisinKirjausavain": 0 })).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(shared().await, 1, "a page was given to a permit of another kind");
    // A call naming persons is answered for itself.
    let hetus: Vec<String> = page.muutokset.iter().map(|c| c.henkilotunnus.clone()).collect();
    h.post(KS, "/muutokset", &json!({ "viimeisinKirjausavain": 0, "hetulista": hetus })).await;
    h.post(KS, "/muutokset", &json!({ "viimeisinKirjausavain": 0, "hetulista": hetus })).await;
    assert_eq!(shared().await, 1);

    // Each request's entry names its own permit, recipient and purpose,
    // and the same persons.
    let entries: Vec<AuditRecord> =
        h.store().audit_entries(0, 10).unwrap().iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    let (a, b) = (&entries[0], &entries[1]);
    assert_eq!((a.permit.as_deref(), a.recipient.as_deref()), (Some(KS), Some("KSHVA")));
    assert_eq!(
        (b.permit.as_deref(), b.recipient.as_deref(), b.purpose.as_deref(), b.user.as_deref()),
        (Some("KS2"), Some("HELSINKI"), Some("tutkimus"), Some("ks2"))
    );
    assert_eq!((&b.hetus, &b.groups, b.records), (&a.hetus, &a.groups, 40));
    assert!(!a.hetus.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_page_of_a_load_is_made_ahead_and_given_only_while_the_log_is_as_it_was() {
    let h = &start(Options { config: |c| c.limits.vko_page = 50, ..Options::default() }).await;
    // Made in the background once the page before is answered.
    let ahead = |n: u64| async move {
        for _ in 0..200 {
            if metric(&metrics(h).await, "vtj_area_pages_ahead_total") >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("page {} was not made ahead", n + 1);
    };
    let kunnat = &area_of(KS).into_iter().collect::<Vec<String>>();
    let page = |jatkoavain: Option<String>| {
        let mut body = json!({ "kuntakoodit": kunnat });
        if let Some(j) = jatkoavain {
            body["jatkoavain"] = json!(j);
        }
        async move {
            let (st, bytes) = h.post(KS, "/perustiedot-vko", &body).await;
            assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
            serde_json::from_slice::<vtj_wire::PerustiedotVkoResponse>(&bytes).unwrap()
        }
    };

    let first = page(None).await;
    ahead(1).await;
    let second = page(first.jatkoavain.clone()).await;
    assert_eq!(metric(&metrics(h).await, "vtj_area_pages_kept_total"), 1, "the page made ahead was given");
    assert_eq!(second.perustiedot.len(), 50);
    assert_ne!(second.perustiedot, first.perustiedot);
    ahead(2).await;

    // A turvakielto starts for someone of the third page after it was made:
    // that page is not given, and the one made now censors their address.
    let Scope::Kuntarajaus { kunnat: area } = h.store().permit(KS).unwrap().unwrap().rajaus else { unreachable!() };
    let last = h.store().person_ids(&[Hetu::parse(&second.perustiedot[49].henkilotunnus).unwrap()]).unwrap();
    let after = *last.values().next().expect("the second page's last person");
    let third_persons = h.store().persons(PersonFilter::Kunnat(&area), after, 50).unwrap();
    let p = third_persons
        .iter()
        .find(|p| !p.has_turvakielto() && !p.is_dead() && p.group(GroupName::VakinainenKotimainenOsoite).is_some())
        .expect("someone with an address on the third page");
    h.store().append(&[ev(p, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    let third = page(second.jatkoavain.clone()).await;
    assert_eq!(
        metric(&metrics(h).await, "vtj_area_pages_kept_total"),
        1,
        "a page made before the turvakielto was given"
    );
    let record = third.perustiedot.iter().find(|r| r.henkilotunnus == p.hetu().to_string()).expect("on the page");
    let address = record.tietoryhmat.iter().find(|g| g.name() == "VAKINAINEN_KOTIMAINEN_OSOITE").expect("the group");
    assert!(address.is_censored(), "{address:?}");
    assert!(address.get("katunimi").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_of_a_kept_page_wait_for_their_commit_together_beyond_the_page_slots() {
    let h = start(Options { config: |c| c.limits.page = 40, ..Options::default() }).await;
    let body = json!({ "viimeisinKirjausavain": 0 });
    let (st, made) = h.post(KS, "/muutokset", &body).await;
    assert_eq!(st, StatusCode::OK);
    let kept = || async { metric(&metrics(&h).await, "vtj_shared_pages_total") };
    // The audit log's writer is held up (another writer has the database)
    // while more answers of the kept page come than there are page slots
    // (two per read slot, two read slots per core).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let answers = 4 * 2 * cores + 4;
    let blocker = rusqlite::Connection::open(&h.db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (u, p) = h.user(KS);
    let requests: Vec<_> = (0..answers)
        .map(|_| {
            let request = h.http.post(format!("{}/muutokset", h.api_base())).basic_auth(u, Some(p)).json(&body);
            tokio::spawn(async move { request.send().await })
        })
        .collect();
    // Each is counted once it has its page, before it waits for its commit.
    let started = std::time::Instant::now();
    while kept().await < answers as u64 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{} of {answers} answers got their kept page while the commit was held up: they wait for page slots",
            kept().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The last counted may still be on its way from its page to the queue.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    blocker.execute_batch("COMMIT").unwrap();
    let mut checkpoints = std::collections::BTreeSet::new();
    for r in requests {
        let r = r.await.unwrap().unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let note = r.headers()[vtj_wire::paths::HEADER_AUDIT_CHECKPOINT].to_str().unwrap().to_string();
        checkpoints.insert(note);
        assert_eq!(r.bytes().await.unwrap(), made, "the page kept");
    }
    // One commit may have begun before the others came; the rest waited together.
    assert!(checkpoints.len() <= 2, "{answers} answers in {} commits", checkpoints.len());
    assert_eq!(h.store().audit_entries(0, 100).unwrap().len(), answers + 1, "every answer logged");
}
