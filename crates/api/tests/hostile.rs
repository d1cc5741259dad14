//! Hostile clients against the running server. Each case asserts the exact
//! status, that nothing out of scope appears in any byte of any answer, and
//! that every attempt is in the audit log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use vtj_core::groups::Nimi;
use vtj_core::{GroupName, GroupValue, Hetu, KuntaCode, Person, PersonId};
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
    let c0 = h.store().last_cursor().unwrap().0;
    let mut s = h.store();
    let fix = hetu_correction(&s, &outsider, new.parse().unwrap(), day(2026, time::Month::March, 2));
    s.append(&fix).unwrap();
    let mut asked = vec![old.to_string(), new.clone()];
    asked.extend(unused_hetus(&h, 40));
    let before = audit_len(&h);
    let mut bodies = Vec::new();
    for hetu in &asked {
        let (st, body) = h.post(KS, "/perustiedot", &json!({ "hetulista": [hetu] })).await;
        assert_eq!(st, StatusCode::OK, "{hetu}");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every miss is the same bytes");
    assert_eq!(String::from_utf8_lossy(&bodies[0]), r#"{"perustiedot":[],"ajanTasalla":true}"#);
    // Following changes with the outsider's hetus listed shows nothing of them either.
    let (st, body) = h.post(KS, "/muutokset", &json!({ "viimeisinKirjausavain": c0, "hetulista": asked[..2] })).await;
    assert_eq!(st, StatusCode::OK);
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains(&surname(&outsider)) && !text.contains(old.as_str()) && !text.contains(&new), "{text}");
    // Nor does the municipality call for a municipality outside the area.
    let (st, body) = h.post(KS, "/perustiedot-vko", &json!({ "kuntakoodit": ["091"] })).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&body).contains(&surname(&outsider)));

    let log = audit_since(&h, before);
    assert_eq!(log.len(), asked.len() + 2, "every attempt is logged");
    for (entry, hetu) in log.iter().zip(&asked) {
        assert_eq!(
            (entry.status, entry.recipient.as_deref(), entry.asked.as_slice(), entry.hetus.len()),
            (200, Some("KSHVA"), [hetu.clone()].as_slice(), 0)
        );
        assert_eq!(entry.records, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_and_continuation_manipulation() {
    let h = start(Options::default()).await;
    let last = h.store().last_cursor().unwrap().0;
    let changes = |c: &str| ("/muutokset", format!("{{\"viimeisinKirjausavain\": {c}}}"));
    let vko = |j: &str| ("/perustiedot-vko", format!("{{\"kuntakoodit\": [\"179\"], \"jatkoavain\": {j}}}"));
    let cases: Vec<((&str, String), StatusCode, &str)> = vec![
        (changes("-1"), StatusCode::BAD_REQUEST, "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        (changes(&(last + 1).to_string()), StatusCode::BAD_REQUEST, "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        (changes(&i64::MAX.to_string()), StatusCode::BAD_REQUEST, "KIRJAUSAVAIN_TULEVAISUUDESSA"),
        (changes("99999999999999999999999"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (changes("\"abc\""), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (changes("1e3"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (changes("null"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (("/muutokset", "{}".into()), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (
            ("/muutokset", r#"{"viimeisinKirjausavain": 0, "viimeisinKirjausavain": 5}"#.into()),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_JSON",
        ),
        (
            ("/muutokset", r#"{"viimeisinKirjausavain": 0, "tietolupa": "HEL"}"#.into()),
            StatusCode::BAD_REQUEST,
            "VIRHEELLINEN_JSON",
        ),
        (vko(&format!("\"{}.0\"", last + 5)), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (vko("\"-1.0\""), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (vko("\"0.-5\""), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (vko("\"x.y\""), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (vko("\"\\r\\nX-Injected: 1\""), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JATKOAVAIN"),
        (vko("7"), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
    ];
    let before = audit_len(&h);
    let (u, p) = h.user(KS);
    for ((call, body), status, code) in &cases {
        let r = h
            .http
            .post(format!("{}{call}", h.api_base()))
            .basic_auth(u, Some(p))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("x-injected").is_none(), "{body}: a header was injected");
        let st = r.status();
        let answer = r.bytes().await.unwrap();
        assert_eq!(
            (st, problem_code(&answer).as_str()),
            (*status, *code),
            "{body}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    // A forged continuation that parses stays inside the permit's scope:
    // skipping ahead only skips; it never yields someone outside the area.
    let outsider = helsinki_person(&h);
    let forged = json!({ "kuntakoodit": ["091", "179"], "jatkoavain": format!("{last}.{}", outsider.id.0 - 1) });
    let (st, body) = h.post(KS, "/perustiedot-vko", &forged).await;
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
    let (u, p) = h.user(LIST);
    let huge = format!("{{\"hetulista\": [\"{}\"]}}", "1".repeat(3 << 20));
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested_obj = format!("{{\"hetulista\": {}{}}}", "[".repeat(5_000), "]".repeat(5_000));
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (huge.into_bytes(), StatusCode::PAYLOAD_TOO_LARGE, "PYYNTO_LIIAN_SUURI"),
        (nested.into_bytes(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (nested_obj.into_bytes(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"{\"hetulista\": [], \"hetulista\": []}".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"{\"hetulista\": \"010101-999X\"}".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"{\"hetulista\": [1, 2]}".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"\xff\xfe{}".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
        (b"".to_vec(), StatusCode::BAD_REQUEST, "VIRHEELLINEN_JSON"),
    ];
    let before = audit_len(&h);
    for (body, status, code) in &cases {
        let (st, answer) = h.post_as(u, p, "/perustiedot", body.clone()).await;
        assert_eq!(
            (st, problem_code(&answer).as_str()),
            (*status, *code),
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }
    // Still serving.
    let (st, _) = h.post(LIST, "/muutokset", &json!({"viimeisinKirjausavain": 0, "hetulista": []})).await;
    assert_eq!(st, StatusCode::OK);
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
            let head = b"GET /api/v1/kirjausavain/2026-01-01 HTTP/1.1\r\nHost: x\r\n";
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
    for _ in 0..20 {
        let started = Instant::now();
        let (st, _) = h.post(KS, "/muutokset", &json!({"viimeisinKirjausavain": 0})).await;
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
    let body = r#"{"viimeisinKirjausavain":0}"#;
    let (u, p) = h.user(KS);
    let basic = format!("Basic {}", base64_of(&format!("{u}:{p}")));
    let before = audit_len(&h);

    // Control characters in a header: refused by the HTTP layer itself.
    let mut c = TcpStream::connect(&addr).unwrap();
    write!(
        c,
        "POST /api/v1/muutokset HTTP/1.1\r\nHost: x\r\nAuthorization: {basic}\r\nContent-Length: {}\r\nX-Road-Client: FI\x01GOV\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    assert!(raw_status(&mut c).starts_with("HTTP/1.1 400"), "a control character in a header is refused");

    // Bytes beyond ASCII in X-Road-Client: served, recorded as text, never trusted.
    let mut c = TcpStream::connect(&addr).unwrap();
    let mut request = format!(
        "POST /api/v1/muutokset HTTP/1.1\r\nHost: x\r\nAuthorization: {basic}\r\nConnection: close\r\nContent-Length: {}\r\nX-Road-Client: FI/GOV/",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(b"\xe4\xff\r\n\r\n");
    request.extend_from_slice(body.as_bytes());
    c.write_all(&request).unwrap();
    assert!(raw_status(&mut c).starts_with("HTTP/1.1 200"));

    // An X-Road header naming another organisation changes nothing: the
    // user decides the permit.
    let r = h
        .http
        .post(format!("{}/perustiedot-vko", h.api_base()))
        .basic_auth(u, Some(p))
        .header("X-Road-Client", "FI/MUN/0201256-6/helsinki")
        .json(&json!({"kuntakoodit": ["091"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let answer: vtj_wire::PerustiedotVkoResponse = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert!(answer.perustiedot.is_empty(), "Helsinki is not the county's");

    let log = audit_since(&h, before);
    let statuses: Vec<(u16, Option<&str>)> = log.iter().map(|e| (e.status, e.recipient.as_deref())).collect();
    assert_eq!(statuses, [(200, Some("KSHVA")), (200, Some("KSHVA"))]);
    assert!(log[0].xroad_client.as_deref().is_some_and(|x| x.starts_with("FI/GOV/")), "{:?}", log[0].xroad_client);
    assert_eq!(log[1].xroad_client.as_deref(), Some("FI/MUN/0201256-6/helsinki"), "recorded as sent");
    assert_eq!(log[1].records, 0, "nothing of Helsinki went to the county");
    assert_eq!(h.store().audit_verify().unwrap().entries as i64, audit_len(&h));
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_stop_at_revocation_and_every_attempt_is_logged() {
    let h = start(Options::default()).await;
    let body = json!({"viimeisinKirjausavain": 0});
    assert_eq!(h.post(KS, "/muutokset", &body).await.0, StatusCode::OK);
    let before = audit_len(&h);
    vtj_api::admin::revoke_user(&mut h.store(), &user_of(KS)).unwrap();
    for _ in 0..5 {
        let (st, answer) = h.post(KS, "/muutokset", &body).await;
        assert_eq!((st, problem_code(&answer).as_str()), (StatusCode::UNAUTHORIZED, "TUNNISTAUTUMINEN_PUUTTUU"));
        assert!(!String::from_utf8_lossy(&answer).contains("henkilotunnus"));
    }
    // A new user of the same permit works; the old stays dead, its name taken for good.
    let fresh = vtj_api::admin::add_user(&mut h.store(), KS, "ks-2").unwrap();
    let raw = serde_json::to_vec(&body).unwrap();
    assert_eq!(h.post_as("ks-2", &fresh, "/muutokset", raw).await.0, StatusCode::OK);
    assert!(vtj_api::admin::add_user(&mut h.store(), KS, &user_of(KS)).is_err());
    assert_eq!(h.post(KS, "/muutokset", &body).await.0, StatusCode::UNAUTHORIZED);
    let log = audit_since(&h, before);
    let statuses: Vec<u16> = log.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 200, 401]);
    assert!(log.iter().filter(|e| e.status == 401).all(|e| e.recipient.is_none() && e.hetus.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_slowed_per_user() {
    let h = start(Options::default()).await;
    let raw = br#"{"viimeisinKirjausavain":0}"#.to_vec();
    let (u, p) = h.user(KS);
    assert_eq!(h.post_as(u, p, "/muutokset", raw.clone()).await.0, StatusCode::OK);
    let started = Instant::now();
    for _ in 0..40 {
        let (st, _) = h.post_as(u, "guess", "/muutokset", raw.clone()).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    // Past the burst of failures, guesses are refused before a password is
    // hashed at all, so 40 of them stay fast.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // The user's own system, signed in before, is not locked out by them,
    // and other users never were.
    assert_eq!(h.post_as(u, p, "/muutokset", raw.clone()).await.0, StatusCode::OK);
    assert_eq!(h.post(HEL, "/muutokset", &json!({"viimeisinKirjausavain": 0})).await.0, StatusCode::OK);
}
