//! The REST service end to end on loopback: what each permit receives,
//! and what every kind of bad request gets.

use reqwest::StatusCode;
use serde_json::json;
use time::Month;
use vtj_api::wire::{ChangeLaji, ChangePage, ListAdded, ListRemoved, ListedPersons, PersonRecord};
use vtj_core::groups::Nimi;
use vtj_core::{ChangeKind, Event, EventKind, GroupName, KuntaCode, Person, PersonId, Scope, VtjDate};
use vtj_store::{AuditLog, AuditRecord, PersonFilter, Store};
use vtj_testkit::*;

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

fn other_address(p: &Person, street: &str) -> vtj_core::groups::KotimainenOsoite {
    let Some(vtj_core::GroupValue::VakinainenKotimainenOsoite(a)) = p.group(GroupName::VakinainenKotimainenOsoite)
    else {
        unreachable!()
    };
    vtj_core::groups::KotimainenOsoite { katunimi_fi: street.into(), katunumero: "7".into(), ..a.clone() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kuntarajaus_initial_load_and_changes_reproduce_the_scope() {
    let h = start(Options { persons: 6_000, days: 4, ..Options::default() }).await;
    let mut writer = h.store();
    let permit = h.store().permit(KS).unwrap().unwrap();
    // Life goes on while the recipient loads page by page.
    let (mut reg, snapshot) = h.initial_load(KS, 50, || simulate(&mut writer, 1)).await;
    let mut cursor = snapshot;
    simulate(&mut writer, 3);
    let changes = h.catch_up(KS, &mut reg, &mut cursor, 37).await;
    assert!(!changes.is_empty());
    assert!(changes.iter().any(|c| c.laji == ChangeLaji::Enter), "someone moved in or was born");
    assert!(changes.iter().any(|c| c.laji == ChangeLaji::Leave), "someone moved out");
    let expected = projection(&h.store(), &permit, today());
    assert!(expected.persons.len() > 100);
    assert_eq!(reg, expected);

    // The entitled permit over the same area holds the same persons.
    let (mut reg_tk, snap) = h.initial_load(KS_TK, 500, || {}).await;
    let mut c = snap;
    h.catch_up(KS_TK, &mut reg_tk, &mut c, 1000).await;
    let permit_tk = h.store().permit(KS_TK).unwrap().unwrap();
    assert_eq!(reg_tk, projection(&h.store(), &permit_tk, today()));
    assert_eq!(reg_tk.persons.keys().collect::<Vec<_>>(), reg.persons.keys().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turvakielto_start_and_end_for_entitled_and_non_entitled() {
    let h = start(Options::default()).await;
    let p = ks_person(&h);
    let hetu = p.hetu().to_string();
    let mut s = h.store();
    let mut cursors = std::collections::BTreeMap::new();
    for permit in [KS, KS_TK] {
        cursors.insert(permit, s.last_cursor().unwrap().0);
    }
    let p1 = {
        s.append(&[ev(&p, EventKind::TurvakieltoStart { paattymispaiva: VtjDate::Indefinite })]).unwrap();
        s.person(p.id).unwrap().unwrap()
    };
    s.append(&[ev(&p1, EventKind::MoveWithin { osoite: other_address(&p, "Salainenkatu") })]).unwrap();
    let p2 = s.person(p.id).unwrap().unwrap();

    // Non-entitled: a censor marker for every censorable group, a neutral
    // event name, and nothing of the move.
    let (st, body) = h.get(KS, &format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain={}", cursors[KS])).await;
    assert_eq!(st, StatusCode::OK);
    let text = String::from_utf8_lossy(&body).to_string();
    assert!(!text.contains("Salainenkatu"), "censored address leaked");
    assert!(!text.contains("TURVAKIELTO"), "the fact of the turvakielto leaked: {text}");
    let page: ChangePage = serde_json::from_slice(&body).unwrap();
    let mine: Vec<_> = page.muutokset.iter().filter(|c| c.henkilotunnus == hetu).collect();
    assert_eq!(mine.len(), 1, "the move under turvakielto is invisible: {mine:?}");
    assert_eq!(mine[0].tapahtuma, "TIETOJEN_MUUTOS");
    for g in GroupName::CENSORED_UNDER_TURVAKIELTO {
        let c = mine[0].tietoryhmat.iter().find(|c| c.tietoryhma == g).unwrap_or_else(|| panic!("{g} not censored"));
        assert_eq!((c.muutos, &c.arvo), (ChangeKind::Censored, &None));
    }

    // Entitled: the turvakielto itself and the new address.
    let (_, body) =
        h.get(KS_TK, &format!("/api/v1/tietoluvat/{KS_TK}/muutokset?kirjausavain={}", cursors[KS_TK])).await;
    let page: ChangePage = serde_json::from_slice(&body).unwrap();
    let mine: Vec<_> = page.muutokset.iter().filter(|c| c.henkilotunnus == hetu).collect();
    assert_eq!(
        mine.iter().map(|c| c.tapahtuma.as_str()).collect::<Vec<_>>(),
        ["TURVAKIELTO_ALKAA", "MUUTTO_KUNNAN_SISALLA"]
    );
    assert!(mine[0].tietoryhmat.iter().any(|c| c.tietoryhma == GroupName::Turvakielto && c.arvo.is_some()));
    assert!(String::from_utf8_lossy(&body).contains("Salainenkatu"));

    // The single query shows the same censoring.
    let (st, body) = h.post(KS, &format!("/api/v1/tietoluvat/{KS}/henkilo"), &json!({"henkilotunnus": hetu})).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&body).contains("Salainenkatu"));

    // The end re-sends the current values to the non-entitled permit.
    let c = s.last_cursor().unwrap().0;
    s.append(&[ev(&p2, EventKind::TurvakieltoEnd)]).unwrap();
    let (_, body) = h.get(KS, &format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain={c}")).await;
    let page: ChangePage = serde_json::from_slice(&body).unwrap();
    let end = page.muutokset.iter().find(|c| c.henkilotunnus == hetu).expect("the end is sent");
    let addr = end.tietoryhmat.iter().find(|c| c.tietoryhma == GroupName::VakinainenKotimainenOsoite).unwrap();
    assert_eq!(addr.muutos, ChangeKind::Added);
    assert!(serde_json::to_string(&addr.arvo).unwrap().contains("Salainenkatu"));
    assert!(end.tietoryhmat.iter().any(|c| c.tietoryhma == GroupName::Kotikunta && c.muutos == ChangeKind::Added));
    assert!(!end.tietoryhmat.iter().any(|c| c.tietoryhma == GroupName::Turvakielto));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_into_and_out_of_the_area() {
    let h = start(Options::default()).await;
    let mut s = h.store();
    let outsider = s
        .persons(PersonFilter::All, PersonId(0), 4_000)
        .unwrap()
        .into_iter()
        .find(|p| p.kotikunta() == Some(KuntaCode::parse("091").unwrap()) && !p.has_turvakielto() && !p.is_dead())
        .unwrap();
    let hetu = outsider.hetu().to_string();
    let path = format!("/api/v1/tietoluvat/{KS}/henkilo");
    let (st, _) = h.post(KS, &path, &json!({"henkilotunnus": hetu})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a Helsinki resident is outside KS");

    let c0 = s.last_cursor().unwrap().0;
    let jkl = vtj_core::groups::Kotikunta {
        kuntakoodi: KuntaCode::parse("179").unwrap(),
        alkupaiva: VtjDate::Full(day(2026, Month::March, 1)),
    };
    s.append(&[ev(
        &outsider,
        EventKind::MoveToMunicipality { osoite: other_address(&outsider, "Kauppakatu"), kotikunta: jkl },
    )])
    .unwrap();
    let moved = s.person(outsider.id).unwrap().unwrap();
    let hel = vtj_core::groups::Kotikunta {
        kuntakoodi: KuntaCode::parse("091").unwrap(),
        alkupaiva: VtjDate::Full(day(2026, Month::March, 1)),
    };
    s.append(&[ev(
        &moved,
        EventKind::MoveToMunicipality { osoite: other_address(&outsider, "Mannerheimintie"), kotikunta: hel },
    )])
    .unwrap();
    let back = s.person(outsider.id).unwrap().unwrap();
    s.append(&[ev(
        &back,
        EventKind::NameChange {
            nimi: Nimi {
                sukunimi: "Uusinimi".into(),
                etunimet: "Testi".into(),
                kutsumanimi: None,
                alkupaiva: VtjDate::Full(day(2026, Month::March, 1)),
            },
        },
    )])
    .unwrap();

    let (_, body) = h.get(KS, &format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain={c0}")).await;
    let page: ChangePage = serde_json::from_slice(&body).unwrap();
    let mine: Vec<_> = page.muutokset.iter().filter(|c| c.henkilotunnus == hetu).collect();
    assert_eq!(mine.iter().map(|c| c.laji).collect::<Vec<_>>(), [ChangeLaji::Enter, ChangeLaji::Leave]);
    assert!(
        mine[0].tietoryhmat.iter().any(|g| g.tietoryhma == GroupName::HenkilonNimi),
        "entering brings the full record"
    );
    assert!(!String::from_utf8_lossy(&body).contains("Uusinimi"), "nothing after leaving");
    // Helsinki saw them leave and come back.
    let (_, body) = h.get(HEL, &format!("/api/v1/tietoluvat/{HEL}/muutokset?kirjausavain={c0}")).await;
    let page: ChangePage = serde_json::from_slice(&body).unwrap();
    let mine: Vec<_> = page.muutokset.iter().filter(|c| c.henkilotunnus == hetu).map(|c| c.laji).collect();
    assert_eq!(mine, [ChangeLaji::Leave, ChangeLaji::Enter, ChangeLaji::Change]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hetu_correction_rekeys_and_both_hetus_find_the_person() {
    let h = start(Options::default()).await;
    let p = ks_person(&h);
    let mut s = h.store();
    let c0 = s.last_cursor().unwrap().0;
    let new = vtj_core::Hetu::from_parts(p.hetu().birth_date(), p.hetu().as_str().as_bytes()[6] as char, 999).unwrap();
    let new = if s.hetu_exists(new).unwrap() {
        vtj_core::Hetu::from_parts(p.hetu().birth_date(), p.hetu().as_str().as_bytes()[6] as char, 998).unwrap()
    } else {
        new
    };
    s.append(&[ev(&p, EventKind::HetuCorrection { uusi_henkilotunnus: new })]).unwrap();
    let mut reg = Register::default();
    let permit = s.permit(KS).unwrap().unwrap();
    reg.put(&PersonRecord {
        henkilotunnus: p.hetu().to_string(),
        tietoryhmat: vtj_core::render_full(&permit, vtj_core::Subject { person: &p, on_list: false }, today()).unwrap(),
    });
    let mut c = c0;
    let changes = h.catch_up(KS, &mut reg, &mut c, 100).await;
    let fix = changes.iter().find(|c| c.henkilotunnus == new.to_string()).expect("correction sent under the new hetu");
    assert_eq!(fix.tapahtuma, "HENKILOTUNNUS_KORJAUS");
    assert!(reg.persons.contains_key(new.as_str()) && !reg.persons.contains_key(p.hetu().as_str()));
    for asked in [p.hetu(), new] {
        let (st, body) =
            h.post(KS, &format!("/api/v1/tietoluvat/{KS}/henkilo"), &json!({"henkilotunnus": asked.to_string()})).await;
        assert_eq!(st, StatusCode::OK);
        let r: PersonRecord = serde_json::from_slice(&body).unwrap();
        assert_eq!(r.henkilotunnus, new.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hetu_list_add_initial_and_remove() {
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
    assert!(
        vtj_core::Hetu::parse(&unknown).is_ok() && !s.hetu_exists(vtj_core::Hetu::parse(&unknown).unwrap()).unwrap()
    );
    let add = format!("/api/v1/tietoluvat/{LIST}/hetulista/lisays");
    let mut body_hetus = hetus.clone();
    body_hetus.push(unknown.clone());
    let (st, body) = h.post(LIST, &add, &json!({ "henkilotunnukset": body_hetus })).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let added: ListAdded = serde_json::from_slice(&body).unwrap();
    assert_eq!(added.lisatty, 21);
    assert_eq!(added.henkilot.len(), 20, "the full record of every existing listed person");

    let (st, body) = h
        .post(
            LIST,
            &format!("/api/v1/tietoluvat/{LIST}/perustiedot"),
            &json!({ "henkilotunnukset": [hetus[0], unknown, "020202-998L"] }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let listed: ListedPersons = serde_json::from_slice(&body).unwrap();
    assert_eq!(listed.henkilot.len(), 1);
    assert_eq!(listed.ei_loydy.len(), 2);

    // Changes come for listed persons only, and stop at removal.
    let mut reg = Register::default();
    added.henkilot.iter().for_each(|r| reg.put(r));
    let mut cursor = added.kirjausavain;
    let mut w = h.store();
    simulate(&mut w, 20);
    h.catch_up(LIST, &mut reg, &mut cursor, 500).await;
    let permit = s.permit(LIST).unwrap().unwrap();
    assert_eq!(reg, projection(&h.store(), &permit, today()));

    let (st, body) = h
        .post(LIST, &format!("/api/v1/tietoluvat/{LIST}/hetulista/poisto"), &json!({ "henkilotunnukset": hetus[..10] }))
        .await;
    assert_eq!(st, StatusCode::OK);
    let removed: ListRemoved = serde_json::from_slice(&body).unwrap();
    assert_eq!(removed.poistettu, 10);
    let before = w.last_cursor().unwrap().0;
    for p in &persons[..10] {
        let now = w.person(p.id).unwrap().unwrap();
        if !now.is_dead() {
            w.append(&[ev(
                &now,
                EventKind::NameChange {
                    nimi: Nimi {
                        sukunimi: "Poistettu".into(),
                        etunimet: "X".into(),
                        kutsumanimi: None,
                        alkupaiva: VtjDate::Unknown,
                    },
                },
            )])
            .unwrap();
        }
    }
    let (_, body) = h.get(LIST, &format!("/api/v1/tietoluvat/{LIST}/muutokset?kirjausavain={before}")).await;
    assert!(!String::from_utf8_lossy(&body).contains("Poistettu"), "removed persons receive nothing");
    let (st, _) =
        h.post(LIST, &format!("/api/v1/tietoluvat/{LIST}/henkilo"), &json!({"henkilotunnus": hetus[0]})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_scope_is_indistinguishable_from_unknown() {
    let h = start(Options::default()).await;
    let s = h.store();
    let helsinki = s
        .persons(PersonFilter::All, PersonId(0), 4_000)
        .unwrap()
        .into_iter()
        .find(|p| p.kotikunta() == Some(KuntaCode::parse("091").unwrap()))
        .unwrap();
    let path = format!("/api/v1/tietoluvat/{KS}/henkilo");
    let (st1, b1) = h.post(KS, &path, &json!({"henkilotunnus": helsinki.hetu().to_string()})).await;
    let (st2, b2) = h.post(KS, &path, &json!({"henkilotunnus": "010101-999X"})).await;
    assert_eq!((st1, st2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(b1, b2, "the same bytes for out of scope and unknown");
    // A permit that is not the caller's looks like one that does not exist.
    let (st3, b3) = h.get(KS, &format!("/api/v1/tietoluvat/{HEL}/muutokset?kirjausavain=0")).await;
    let (st4, b4) = h.get(KS, "/api/v1/tietoluvat/NOPE/muutokset?kirjausavain=0").await;
    assert_eq!((st3, st4), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(b3, b4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_expired_and_wrong_credentials() {
    let h = start(Options::default()).await;
    let path = format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain=0");
    assert_eq!(h.get(KS, &path).await.0, StatusCode::OK);
    let (st, body) = h.get_as("vtj_wrong", &path).await;
    assert_eq!((st, problem_code(&body).as_str()), (StatusCode::UNAUTHORIZED, "TUNNISTAUTUMINEN_PUUTTUU"));
    let r = h.http.get(h.url(&path)).header("x-road-client", "FI/GOV/0201256-6/kshva").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the X-Road header alone is not trusted");

    // Expiry: the permit ends 2030-12-31.
    h.clock_days.store(365 * 6, std::sync::atomic::Ordering::Relaxed);
    let (st, body) = h.get(KS, &path).await;
    assert_eq!((st, problem_code(&body).as_str()), (StatusCode::FORBIDDEN, "TIETOLUPA_EI_VOIMASSA"));
    h.clock_days.store(0, std::sync::atomic::Ordering::Relaxed);

    vtj_api::admin::revoke_permit(&mut h.store(), KS).unwrap();
    let (st, _) = h.get(KS, &path).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "revocation takes effect at once");
    assert_eq!(h.get(KS_TK, &format!("/api/v1/tietoluvat/{KS_TK}/muutokset?kirjausavain=0")).await.0, StatusCode::OK);

    use vtj_store::Access;
    h.store().revoke_credentials("KSHVA").unwrap();
    assert_eq!(
        h.get(KS_TK, &format!("/api/v1/tietoluvat/{KS_TK}/muutokset?kirjausavain=0")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let h = start(Options { config: |c| c.limits.max_list = 100, ..Options::default() }).await;
    let token = h.tokens["KUNTA"].clone();
    let person = format!("/api/v1/tietoluvat/{LIST}/henkilo");
    let add = format!("/api/v1/tietoluvat/{LIST}/hetulista/lisays");
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (&person, b"{\"henkilotunnus\": ".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (&person, b"[[[[".repeat(200), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (
            &person,
            br#"{"henkilotunnus":"010181-900C","extra":1}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_JSON",
        ),
        (
            &person,
            br#"{"henkilotunnus":"300281-900C"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_HENKILOTUNNUS",
        ),
        (
            &person,
            br#"{"henkilotunnus":"010181-900D"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_HENKILOTUNNUS",
        ),
        (
            &add,
            br#"{"henkilotunnukset":["010181-900C","bad"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_HENKILOTUNNUS",
        ),
        (
            &add,
            serde_json::to_vec(&json!({"henkilotunnukset": vec!["010181-900C"; 101]})).unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "LISTA_LIIAN_PITKA",
        ),
        (&add, vec![b' '; 2 << 20], StatusCode::PAYLOAD_TOO_LARGE, "PYYNTO_LIIAN_SUURI"),
    ];
    for (path, body, status, code) in cases {
        let (st, answer) = h.post_raw(&token, path, body).await;
        assert_eq!((st, problem_code(&answer).as_str()), (status, code), "{}", String::from_utf8_lossy(&answer));
    }
    assert!(h.store().hetu_list(LIST).unwrap().is_empty(), "a rejected list changes nothing");

    let last = h.store().last_cursor().unwrap().0;
    for (q, code) in [
        (format!("kirjausavain={}", last + 1), "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        ("kirjausavain=-1".into(), "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        ("kirjausavain=abc".into(), "VIRHEELLINEN_KYSELY"),
        ("kirjausavain=0&sivunKoko=0".into(), "VIRHEELLINEN_SIVUN_KOKO"),
        ("kirjausavain=0&tuntematon=1".into(), "VIRHEELLINEN_KYSELY"),
        (String::new(), "VIRHEELLINEN_KYSELY"),
    ] {
        let (st, body) = h.get(KS, &format!("/api/v1/tietoluvat/{KS}/muutokset?{q}")).await;
        assert_eq!((st, problem_code(&body).as_str()), (StatusCode::BAD_REQUEST, code), "{q}");
    }
    let (st, body) = h.get(LIST, &format!("/api/v1/tietoluvat/{LIST}/perustiedot")).await;
    assert_eq!((st, problem_code(&body).as_str()), (StatusCode::CONFLICT, "VAARA_RAJAUSTYYPPI"));
    let (st, body) = h.get(KS, &format!("/api/v1/tietoluvat/{KS}/perustiedot?jatkoavain=999999999.1")).await;
    assert_eq!((st, problem_code(&body).as_str()), (StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"));
    let (st, body) = h.get(KS, "/api/v1/kirjausavain?paiva=20990101").await;
    assert_eq!((st, problem_code(&body).as_str()), (StatusCode::BAD_REQUEST, "PAIVA_TULEVAISUUDESSA"));
    let (st, body) = h.get(KS, "/api/v1/kirjausavain?paiva=20260102").await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
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
    let path = format!("{}/api/v1/tietoluvat/{KS}/muutokset?kirjausavain=0&sivunKoko=1", h.base);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = h.http.get(&path).bearer_auth(&h.tokens["KSHVA"]).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&wait));
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // Another recipient has its own bucket.
    assert_eq!(h.get(HEL, &format!("/api/v1/tietoluvat/{HEL}/muutokset?kirjausavain=0")).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_audited_with_whose_data_and_which_groups() {
    let h = start(Options::default()).await;
    let p = ks_person(&h);
    let person = format!("/api/v1/tietoluvat/{KS}/henkilo");
    h.post(KS, &person, &json!({"henkilotunnus": p.hetu().to_string()})).await;
    h.post(KS, &person, &json!({"henkilotunnus": "010101-999X"})).await;
    h.get_as("wrong", "/api/v1/tietoluvat/KS/muutokset?kirjausavain=0").await;
    let r = h
        .http
        .get(h.url(&format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain=0")))
        .bearer_auth(&h.tokens["KSHVA"])
        .header("X-Road-Client", "FI/GOV/0000000-0/test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let _ = h.http.get(h.url("/metrics")).send().await.unwrap();

    let s = h.store();
    let entries: Vec<AuditRecord> =
        s.audit_entries(0, 100).unwrap().iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    assert_eq!(entries.len(), 4, "one entry per API request, none for /metrics");
    let found = &entries[0];
    assert_eq!(
        (found.recipient.as_deref(), found.permit.as_deref(), found.purpose.as_deref()),
        (Some("KSHVA"), Some(KS), Some("asiakasrekisteri"))
    );
    assert_eq!(found.hetus, [p.hetu().to_string()]);
    assert!(found.groups.contains(&"HENKILON_NIMI".to_string()));
    assert_eq!((found.status, found.records), (200, 1));
    assert_eq!(
        (entries[1].status, entries[1].hetus.clone()),
        (404, vec!["010101-999X".to_string()]),
        "misses are logged too"
    );
    assert_eq!((entries[2].status, entries[2].recipient.clone()), (401, None));
    assert_eq!(entries[3].xroad_client.as_deref(), Some("FI/GOV/0000000-0/test"));
    assert!(entries[3].records > 0);
    assert_eq!(s.audit_verify().unwrap().entries, 4);
}
