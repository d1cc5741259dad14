//! Hostile clients against the running server. Each case asserts the exact
//! status, that nothing out of scope appears in any byte of any answer, and
//! that every attempt is in the audit log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use vtj_core::groups::Nimi;
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, KuntaCode, Person, PersonId};
use vtj_store::{AuditLog, AuditRecord, PersonFilter, Store};
use vtj_testkit::*;

/// The audit log from entry `after` on.
fn audit_since(h: &Harness, after: i64) -> Vec<AuditRecord> {
    h.store().audit_entries(after, 100_000).unwrap().iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect()
}

fn audit_len(h: &Harness) -> i64 {
    h.store().audit_entries(0, 1_000_000).unwrap().last().map_or(0, |e| e.seq)
}

/// Someone living in Helsinki: out of the KS permits' scope.
fn helsinki_person(h: &Harness) -> Person {
    h.store()
        .persons(PersonFilter::All, PersonId(0), 4_000)
        .unwrap()
        .into_iter()
        .find(|p| p.kotikunta() == Some(KuntaCode::parse("091").unwrap()) && !p.is_dead())
        .expect("a Helsinki person")
}

fn surname(p: &Person) -> String {
    match p.group(GroupName::HenkilonNimi) {
        Some(GroupValue::HenkilonNimi(Nimi { sukunimi, .. })) => sukunimi.clone(),
        _ => unreachable!("everyone has a name"),
    }
}

/// Valid test-range hetus that nobody has.
fn unused_hetus(h: &Harness, n: usize) -> Vec<String> {
    let s = h.store();
    let mut out = Vec::new();
    let birth = day(1985, time::Month::March, 15);
    for individual in (900..1000).rev() {
        let hetu = Hetu::from_parts(birth, '-', individual).unwrap();
        if s.person_by_hetu(hetu).unwrap().is_none() {
            out.push(hetu.to_string());
        }
        if out.len() == n {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persons_out_of_scope_by_hetu_guessing_and_correction_history() {
    let h = start(Options::default()).await;
    let outsider = helsinki_person(&h);
    // The outsider's hetu is corrected: ask by the old one, and by the new.
    let old = outsider.hetu();
    let new = unused_hetus(&h, 1).pop().unwrap();
    h.store()
        .append(&[Event {
            person: outsider.id,
            rekisterointipaiva: day(2026, time::Month::March, 2),
            tapahtuma: EventKind::HetuCorrection { uusi_henkilotunnus: new.parse().unwrap() },
        }])
        .unwrap();
    let mut asked = vec![old.to_string(), new.clone()];
    asked.extend(unused_hetus(&h, 40));
    let before = audit_len(&h);
    let path = format!("/api/v1/tietoluvat/{KS}/henkilo");
    let mut bodies = Vec::new();
    for hetu in &asked {
        let (st, body) = h.post(KS, &path, &json!({ "henkilotunnus": hetu })).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{hetu}");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every miss is the same bytes");
    let text = String::from_utf8_lossy(&bodies[0]);
    assert!(!text.contains(&surname(&outsider)) && !text.contains(old.as_str()) && !text.contains(&new), "{text}");

    // The hetu-list route: the outsider cannot be pulled in as "initial data"
    // by the county's permits (wrong kind) nor read past the list.
    let (st, body) = h
        .post(KS, &format!("/api/v1/tietoluvat/{KS}/perustiedot"), &json!({ "henkilotunnukset": [old.to_string()] }))
        .await;
    assert_eq!((st, problem_code(&body).as_str()), (StatusCode::CONFLICT, "VAARA_RAJAUSTYYPPI"));
    assert!(!String::from_utf8_lossy(&body).contains(&surname(&outsider)));

    let log = audit_since(&h, before);
    assert_eq!(log.len(), asked.len() + 1, "every attempt is logged");
    for (entry, hetu) in log.iter().zip(&asked) {
        assert_eq!(
            (entry.status, entry.recipient.as_deref(), entry.hetus.as_slice()),
            (404, Some("KSHVA"), [hetu.clone()].as_slice())
        );
        assert_eq!(entry.records, 0);
    }
    assert_eq!(log.last().unwrap().status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_and_continuation_manipulation() {
    let h = start(Options::default()).await;
    let last = h.store().last_cursor().unwrap().0;
    let changes = |q: &str| format!("/api/v1/tietoluvat/{KS}/muutokset?{q}");
    let initial = |q: &str| format!("/api/v1/tietoluvat/{KS}/perustiedot?{q}");
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (changes("kirjausavain=-1"), StatusCode::BAD_REQUEST, "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        (changes(&format!("kirjausavain={}", last + 1)), StatusCode::BAD_REQUEST, "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        (changes(&format!("kirjausavain={}", i64::MAX)), StatusCode::BAD_REQUEST, "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        (changes("kirjausavain=99999999999999999999999"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_KYSELY"),
        (changes("kirjausavain=abc"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_KYSELY"),
        (changes("kirjausavain=1e3"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_KYSELY"),
        (changes(""), StatusCode::BAD_REQUEST, "VIRHEELLINEN_KYSELY"),
        (changes("kirjausavain=0&sivunKoko=0"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_SIVUN_KOKO"),
        (changes("kirjausavain=0&sivunKoko=5001"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_SIVUN_KOKO"),
        (changes("kirjausavain=0&sivunKoko=-1"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_KYSELY"),
        (changes("kirjausavain=0&kirjausavain=5"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_KYSELY"),
        (changes("kirjausavain=0&tietoluvat=HEL"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_KYSELY"),
        (initial(&format!("jatkoavain={}.0", last + 5)), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (initial("jatkoavain=-1.0"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (initial("jatkoavain=0.-5"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (initial("jatkoavain=x.y"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (initial("jatkoavain=%0d%0aX-Injected:%201"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
    ];
    let before = audit_len(&h);
    for (path, status, code) in &cases {
        let r = h.http.get(h.url(path)).bearer_auth(&h.tokens["KSHVA"]).send().await.unwrap();
        assert!(r.headers().get("x-injected").is_none(), "{path}: a header was injected");
        let st = r.status();
        let body = r.bytes().await.unwrap();
        assert_eq!((st, problem_code(&body).as_str()), (*status, *code), "{path}: {}", String::from_utf8_lossy(&body));
    }
    // A forged continuation that parses stays inside the permit's scope:
    // skipping ahead only skips; it never yields someone outside the area.
    let outsider = helsinki_person(&h);
    let (st, body) = h.get(KS, &initial(&format!("jatkoavain={last}.{}", outsider.id.0 - 1))).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&body).contains(outsider.hetu().as_str()));

    let log = audit_since(&h, before);
    assert_eq!(log.len(), cases.len() + 1);
    for (entry, (_, status, code)) in log.iter().zip(&cases) {
        assert_eq!((entry.status, entry.code.as_deref(), entry.records), (status.as_u16(), Some(*code), 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_deeply_nested_and_malformed_bodies() {
    let h = start(Options::default()).await;
    let token = h.tokens["KUNTA"].clone();
    let add = format!("/api/v1/tietoluvat/{LIST}/hetulista/lisays");
    let huge = format!("{{\"henkilotunnukset\": [\"{}\"]}}", "1".repeat(2 << 20));
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested_obj = format!("{{\"henkilotunnukset\": {}{}}}", "[".repeat(5_000), "]".repeat(5_000));
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (huge.into_bytes(), StatusCode::PAYLOAD_TOO_LARGE, "PYYNTO_LIIAN_SUURI"),
        (nested.into_bytes(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (nested_obj.into_bytes(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (
            b"{\"henkilotunnukset\": [], \"henkilotunnukset\": []}".to_vec(),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_JSON",
        ),
        (b"{\"henkilotunnukset\": \"010101-999X\"}".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"{\"henkilotunnukset\": [1, 2]}".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"\xff\xfe{}".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
    ];
    let before = audit_len(&h);
    for (body, status, code) in &cases {
        let (st, answer) = h.post_raw(&token, &add, body.clone()).await;
        assert_eq!(
            (st, problem_code(&answer).as_str()),
            (*status, *code),
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }
    // Still serving, and the list is untouched.
    assert!(h.store().hetu_list(LIST).unwrap().is_empty());
    assert_eq!(h.get(LIST, &format!("/api/v1/tietoluvat/{LIST}/muutokset?kirjausavain=0")).await.0, StatusCode::OK);
    let log = audit_since(&h, before);
    assert_eq!(log.len(), cases.len() + 1);
    for (entry, (_, status, _)) in log.iter().zip(&cases) {
        assert_eq!((entry.status, entry.recipient.as_deref()), (status.as_u16(), Some("KUNTA")));
    }
}

/// Reads one HTTP response's head from a raw connection.
fn raw_status(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_starve_the_others() {
    let h = start(Options::default()).await;
    let addr = h.base.trim_start_matches("http://").to_string();
    // 200 connections that send a request head a byte at a time and never finish.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slow = {
        let (addr, stop) = (addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut conns: Vec<TcpStream> = (0..200).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
            let head = b"GET /api/v1/kirjausavain?paiva=20260101 HTTP/1.1\r\nHost: x\r\n";
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for c in &mut conns {
                    let _ = c.write_all(&head[i % head.len()..i % head.len() + 1]);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            conns.len()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain=0&sivunKoko=100");
    for _ in 0..20 {
        let started = Instant::now();
        let (st, _) = h.get(KS, &path).await;
        assert_eq!(st, StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(2), "a normal request waited {:?}", started.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(slow.join().unwrap(), 200, "all slow connections were accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_and_foreign_headers() {
    let h = start(Options::default()).await;
    let addr = h.base.trim_start_matches("http://").to_string();
    let path = format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain=0&sivunKoko=1");
    let before = audit_len(&h);

    // Control characters in a header: refused by the HTTP layer itself.
    let mut c = TcpStream::connect(&addr).unwrap();
    let token = &h.tokens["KSHVA"];
    write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nX-Road-Client: FI\x01GOV\r\n\r\n")
        .unwrap();
    assert!(raw_status(&mut c).starts_with("HTTP/1.1 400"), "a control character in a header is refused");

    // Bytes beyond ASCII in X-Road-Client: served, recorded as text, never trusted.
    let mut c = TcpStream::connect(&addr).unwrap();
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\nX-Road-Client: FI/GOV/")
            .into_bytes();
    request.extend_from_slice(b"\xe4\xff\r\n\r\n");
    c.write_all(&request).unwrap();
    assert!(raw_status(&mut c).starts_with("HTTP/1.1 200"));

    // An X-Road header naming another recipient changes nothing.
    let r = h
        .http
        .get(h.url(&format!("/api/v1/tietoluvat/{HEL}/muutokset?kirjausavain=0")))
        .bearer_auth(token)
        .header("X-Road-Client", "FI/MUN/0201256-6/helsinki")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Another recipient's token with this permit: as if the permit did not exist.
    let (st, body) = h.get_as(&h.tokens["HELSINKI"], &path).await;
    let (st2, body2) = h.get_as(&h.tokens["HELSINKI"], "/api/v1/tietoluvat/EI-OLE/muutokset?kirjausavain=0").await;
    assert_eq!((st, &body), (st2, &body2));
    assert_eq!(st, StatusCode::NOT_FOUND);

    let log = audit_since(&h, before);
    let statuses: Vec<(u16, Option<&str>)> = log.iter().map(|e| (e.status, e.recipient.as_deref())).collect();
    assert_eq!(
        statuses,
        [(200, Some("KSHVA")), (404, Some("KSHVA")), (404, Some("HELSINKI")), (404, Some("HELSINKI"))]
    );
    assert!(log[0].xroad_client.as_deref().is_some_and(|x| x.starts_with("FI/GOV/")), "{:?}", log[0].xroad_client);
    assert_eq!(log[1].xroad_client.as_deref(), Some("FI/MUN/0201256-6/helsinki"), "recorded as sent");
    assert_eq!(h.store().audit_verify().unwrap().entries as i64, audit_len(&h));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stop_at_revocation_and_every_attempt_is_logged() {
    let h = start(Options::default()).await;
    let path = format!("/api/v1/tietoluvat/{KS}/muutokset?kirjausavain=0&sivunKoko=10");
    assert_eq!(h.get(KS, &path).await.0, StatusCode::OK);
    let before = audit_len(&h);
    use vtj_store::Access;
    assert!(h.store().revoke_credentials("KSHVA").unwrap() > 0);
    for _ in 0..5 {
        let (st, body) = h.get(KS, &path).await;
        assert_eq!((st, problem_code(&body).as_str()), (StatusCode::UNAUTHORIZED, "TUNNISTAUTUMINEN_PUUTTUU"));
        assert!(!String::from_utf8_lossy(&body).contains("henkilotunnus"));
    }
    // A new token for the same recipient works; the old stays dead.
    let fresh = vtj_api::admin::issue_token(&mut h.store(), "KSHVA", "new").unwrap();
    assert_eq!(h.get_as(&fresh, &path).await.0, StatusCode::OK);
    assert_eq!(h.get(KS, &path).await.0, StatusCode::UNAUTHORIZED);
    let log = audit_since(&h, before);
    let statuses: Vec<u16> = log.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 200, 401]);
    assert!(log.iter().filter(|e| e.status == 401).all(|e| e.recipient.is_none() && e.hetus.is_empty()));
}
