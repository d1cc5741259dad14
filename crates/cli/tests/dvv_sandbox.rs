//! `vtj register add` and `vtj sync` as a user points them at DVV's
//! sandbox: here a stub HTTP server that answers `/perustiedot` with the
//! answer captured from the sandbox (`perustiedot-response-ok.json`, read
//! from the shared conformance folder: it is not in this repository). The
//! register must hold all 15 persons with every group as DVV sent it, the
//! two protected persons without any address value, and every request
//! must have signed in as DVV's clients do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// One request as the stub saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Value,
}

/// A stand-in of DVV's sandbox on loopback, HTTP/1.1 with keep-alive.
fn stub(capture: Vec<u8>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (capture, log) = (capture.clone(), log.clone());
            std::thread::spawn(move || serve(conn, &capture, &log));
        }
    });
    (base, seen)
}

fn serve(conn: TcpStream, capture: &[u8], log: &Mutex<Vec<Seen>>) {
    let mut out = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        log.lock().unwrap().push(Seen { method: method.clone(), path: path.clone(), headers, body: body.clone() });
        let answer: Vec<u8> = match (method.as_str(), path.as_str()) {
            ("GET", p) if p.starts_with("/api/v1/kirjausavain/") => br#"{"viimeisinKirjausavain":100000021}"#.to_vec(),
            ("POST", "/api/v1/perustiedot") => capture.to_vec(),
            ("POST", "/api/v1/muutokset") => {
                let c = body["viimeisinKirjausavain"].as_i64().unwrap_or(0);
                serde_json::to_vec(&json!({"viimeisinKirjausavain": c, "muutokset": [], "ajanTasalla": true})).unwrap()
            }
            _ => b"{}".to_vec(),
        };
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", answer.len());
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(&answer)).is_err() {
            return;
        }
    }
}

fn vtj(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vtj")).args(args).env("VTJ_PASSWORD", "pwd").output().expect("run vtj")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Per group name, the instances in order: a person's data, whatever the
/// order of its groups.
fn by_group(groups: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for g in groups.as_array().unwrap() {
        out.entry(g["tietoryhma"].as_str().unwrap().to_string()).or_default().push(g.clone());
    }
    out
}

#[test]
fn the_captured_sandbox_answer_loads_whole_into_a_register() {
    let Some(capture) = vtj_testkit::dvv_capture() else { return };
    let captured: Value = serde_json::from_slice(&capture).unwrap();
    let persons = captured["perustiedot"].as_array().unwrap();
    let hetus: Vec<&str> = persons.iter().map(|p| p["henkilotunnus"].as_str().unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("asiakkaat.txt");
    std::fs::write(&list, hetus.join("\n")).unwrap();
    let register = dir.path().join("r.db");
    let (base, seen) = stub(capture);
    let common = |cmd: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        a.extend(
            ["--service", &base, "--user", "mutpT1x", "--xroad-client", "FI/GOV/0000000-0/vtj-test"].map(String::from),
        );
        a.extend(["--register".to_string(), register.to_str().unwrap().to_string()]);
        a
    };
    let run = |a: Vec<String>| vtj(&a.iter().map(String::as_str).collect::<Vec<_>>());

    let mut add = common(&["register", "add"]);
    add.extend(["--file".to_string(), list.to_str().unwrap().to_string()]);
    let out = ok(&run(add));
    assert!(out.contains("15 hetus newly listed; the service gave the data of 15"), "{out}");
    ok(&run(common(&["sync"])));
    let exported =
        ok(&vtj(&["export", "--register", register.to_str().unwrap(), "--who", "testi", "--why", "tarkistus"]));
    let held: BTreeMap<String, Value> = exported
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["henkilotunnus"].as_str().unwrap().to_string(), v["tietoryhmat"].clone())
        })
        .collect();

    // All 15 persons, every group of theirs as DVV sent it.
    assert_eq!(held.len(), 15);
    for p in persons {
        let hetu = p["henkilotunnus"].as_str().unwrap();
        assert_eq!(by_group(&held[hetu]), by_group(&p["tietoryhmat"]), "{hetu} changed in the register");
    }
    // The two protected persons: the location groups there, no value in them.
    for hetu in ["020275-9862", "240582-9477"] {
        let groups = by_group(&held[hetu]);
        assert!(groups.contains_key("TURVAKIELTO"));
        for (name, instances) in &groups {
            let location = name.contains("OSOITE")
                || name == "KOTIKUNTA"
                || name.starts_with("VAKINAINEN_")
                || name.starts_with("TILAPAINEN_");
            if location {
                for g in instances {
                    let fields: Vec<&String> = g.as_object().unwrap().keys().collect();
                    assert_eq!(fields, ["tietoryhma", "turvakiellonAlaisetKentat"], "{hetu} {name}");
                }
            }
        }
    }

    // Every call signed in as DVV's clients do, and asked what they ask.
    let seen = seen.lock().unwrap().clone();
    let calls: Vec<(&str, &str)> = seen.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect();
    let today = vtj_core::VtjDate::iso(time::OffsetDateTime::now_utc().date());
    assert_eq!(
        calls,
        [
            ("GET", format!("/api/v1/kirjausavain/{today}").as_str()),
            ("POST", "/api/v1/perustiedot"),
            ("POST", "/api/v1/muutokset")
        ]
    );
    for s in &seen {
        assert_eq!(s.headers["authorization"], "Basic bXV0cFQxeDpwd2Q=", "mutpT1x:pwd");
        assert_eq!(s.headers["x-road-client"], "FI/GOV/0000000-0/vtj-test");
    }
    let mut asked: Vec<&str> =
        seen[1].body["hetulista"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    asked.sort_unstable();
    let mut all = hetus.clone();
    all.sort_unstable();
    assert_eq!(asked, all);
    assert_eq!(seen[1].body.as_object().unwrap().len(), 1, "no tietoryhmat: every group of the permit");
    assert_eq!(seen[2].body["viimeisinKirjausavain"], 100000021, "following from the day's cursor");
    assert_eq!(seen[2].body["hetulista"].as_array().unwrap().len(), 15);
}
