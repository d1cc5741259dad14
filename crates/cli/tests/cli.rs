//! The binary as a user runs it: exit codes and what it prints.

use std::process::{Command, Output};

fn vtj(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vtj")).args(args).output().expect("run vtj")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn generate_simulate_summary_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let db = db.to_str().unwrap();

    let o = vtj(&["generate", "--db", db, "--persons", "3000", "--seed", "7"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("generated 3000 persons"), "{:?}", text(&o));

    let o = vtj(&["simulate", "--db", db, "--days", "5", "--intensity", "20"]);
    assert!(o.status.success(), "{:?}", text(&o));

    let o = vtj(&["summary", "--db", db, "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(summary["persons"].as_u64().unwrap() >= 3000);
    let changes = summary["changes"].as_u64().unwrap();
    assert!(changes > 0);
    let by_kind: u64 = summary["by_kind"].as_array().unwrap().iter().map(|p| p[1].as_u64().unwrap()).sum();
    assert_eq!(by_kind, changes);

    // A second generate must not pile a population onto the first.
    let o = vtj(&["generate", "--db", db, "--persons", "10"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("already holds"), "{:?}", text(&o));
}

#[test]
fn demo_runs_end_to_end_and_verifies_both_registers() {
    let o = vtj(&["demo", "--persons", "4000", "--days", "5", "--intensity", "5"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let out = text(&o).0;
    assert!(out.contains("generated 4000 persons"), "{out}");
    assert!(out.contains("county register                    OK"), "{out}");
    assert!(out.contains("municipality register              OK"), "{out}");
    assert!(out.contains("a turvakielto starts") && out.contains("a move into the county"), "{out}");
}

#[test]
fn demo_through_a_county_hub_verifies_every_link() {
    let o = vtj(&["demo", "--hub", "--persons", "4000", "--days", "5", "--intensity", "5"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let out = text(&o).0;
    for line in [
        "a wider sub-permit                 refused",
        "hub register                       OK",
        "hub store                          OK",
        "voucher system register            OK",
        "client register                    OK",
    ] {
        assert!(out.contains(line), "{line:?} missing: {out}");
    }
    assert!(out.contains("a turvakielto starts") && out.contains("a move out of the county"), "{out}");
}

#[test]
fn missing_database_and_bad_arguments_are_clear_errors() {
    let o = vtj(&["summary", "--db", "/nonexistent/nowhere.db"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("does not exist"), "{:?}", text(&o));

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let o = vtj(&["generate", "--db", db.to_str().unwrap(), "--date", "20260230"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("--date"), "{:?}", text(&o));

    let o = vtj(&["simulate", "--db", db.to_str().unwrap(), "--days", "1"]);
    assert!(!o.status.success(), "simulate on a database that was never generated");
}

#[test]
fn audit_verify_exits_non_zero_on_a_tampered_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    {
        use vtj_store::AuditLog;
        let mut s = vtj_store::SqliteStore::open(&db).unwrap();
        for n in 0..3 {
            s.audit_append(&vtj_store::testsuite::audit_record(&format!("2026-05-0{}T00:00:00.000Z", n + 1), n), None)
                .unwrap();
        }
    }
    let db = db.to_str().unwrap();
    let o = vtj(&["audit", "verify", "--db", db]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("3 entries"), "{:?}", text(&o));

    let raw = rusqlite::Connection::open(db).unwrap();
    raw.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET data = replace(data, 'HENKILON_NIMI', 'KOTIKUNTA') WHERE seq = 2;",
    )
    .unwrap();
    let o = vtj(&["audit", "verify", "--db", db]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("entry #2 was modified"), "{:?}", text(&o));
}

/// The signing key, checkpoints and proofs a third party checks with the
/// public key alone.
#[test]
fn audit_keys_checkpoints_and_proofs_from_the_command_line() {
    use std::os::unix::fs::PermissionsExt;
    use vtj_store::AuditLog;
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (db, key) = (p("a.db"), p("audit.key"));
    assert!(vtj(&["generate", "--db", &db, "--persons", "10"]).status.success());

    let o = vtj(&["serve", "--db", &db, "--listen", "127.0.0.1:0"]);
    assert!(!o.status.success() && text(&o).1.contains("vtj admin keygen"), "{:?}", text(&o));
    let o = vtj(&["admin", "keygen", "--out", &key, "--name", "vtj.test/log"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let public = text(&o).0.trim().to_string();
    assert!(public.starts_with("vtj.test/log+"), "{public}");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!vtj(&["admin", "keygen", "--out", &key]).status.success(), "a key is never overwritten");

    let hetu = vtj_store::testsuite::audit_record("x", 1).hetus[0].clone();
    {
        let mut s = vtj_store::SqliteStore::open(std::path::Path::new(&db)).unwrap();
        for n in 0..4 {
            s.audit_append(&vtj_store::testsuite::audit_record(&format!("2026-05-0{}T00:00:00.000Z", n + 1), n), None)
                .unwrap();
        }
    }
    let o = vtj(&["audit", "prove", "--db", &db, "--entry", "2"]);
    assert!(!o.status.success() && text(&o).1.contains("no checkpoint"), "{:?}", text(&o));
    let o = vtj(&["audit", "checkpoint", "--db", &db, "--key-file", &key]);
    assert!(o.status.success(), "{:?}", text(&o));
    let note = text(&o).0;
    assert!(note.starts_with("vtj.test/log\n4\n"), "{note}");
    std::fs::write(p("held.json"), serde_json::to_string(&[&note]).unwrap()).unwrap();

    let o = vtj(&["audit", "person", "--db", &db, &hetu]);
    assert!(o.status.success() && text(&o).0.lines().count() == 1 && text(&o).0.starts_with("#2 "), "{:?}", text(&o));
    let o = vtj(&["audit", "prove", "--db", &db, "--hetu", &hetu]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(o.stdout, vtj(&["audit", "person", "--db", &db, &hetu, "--proofs"]).stdout);
    std::fs::write(p("proof.jsonl"), &o.stdout).unwrap();
    let o = vtj(&["audit", "check-proof", "--key", &public, &p("proof.jsonl")]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.starts_with("entry #2 is in vtj.test/log's log of 4 entries"), "{:?}", text(&o));
    let forged =
        String::from_utf8(std::fs::read(p("proof.jsonl")).unwrap()).unwrap().replace("GET /test/1", "GET /test/9");
    std::fs::write(p("forged.jsonl"), forged).unwrap();
    let o = vtj(&["audit", "check-proof", "--key", &public, &p("forged.jsonl")]);
    assert!(!o.status.success() && text(&o).1.contains("not in that tree"), "{:?}", text(&o));

    let o = vtj(&["audit", "verify", "--db", &db, "--key", &public, "--checkpoints", &p("held.json")]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o).0.contains("1 kept checkpoints and 1 held by recipients match, signatures checked"),
        "{:?}",
        text(&o)
    );
    let other = vtj_store::testsuite::test_signer().sign(3, &[1; 32]);
    std::fs::write(p("other.json"), serde_json::to_string(&[&other]).unwrap()).unwrap();
    let o = vtj(&["audit", "verify", "--db", &db, "--key", &public, "--checkpoints", &p("other.json")]);
    assert!(!o.status.success() && text(&o).1.contains("checkpoint 1 held by a recipient"), "{:?}", text(&o));

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = vtj(&["serve", "--db", &db, "--listen", "127.0.0.1:0", "--audit-key", &key]);
    assert!(!o.status.success() && text(&o).1.contains("can be read by others"), "{:?}", text(&o));
}

#[test]
fn deliver_and_import_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (db, out, reg) = (p("v.db"), p("out"), p("r.db"));
    for args in [
        vec!["generate", "--db", &db, "--persons", "3000", "--seed", "3"],
        vec!["admin", "recipient-add", "--db", &db, "--tunnus", "KSHVA", "--nimi", "Keski-Suomen hyvinvointialue"],
        vec![
            "admin",
            "permit-add",
            "--db",
            &db,
            "--tunnus",
            "KS",
            "--luvansaaja",
            "KSHVA",
            "--kayttotarkoitus",
            "asiakasrekisteri",
            "--tuote",
            "LAAJAT",
            "--hyvinvointialueet",
            "KS",
        ],
    ] {
        let o = vtj(&args);
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
    }
    let o = vtj(&["deliver", "--db", &db, "--permit", "KS", "--dir", &out]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("KS: PTT #1"), "{:?}", text(&o));
    let o = vtj(&["deliver", "--db", &db, "--all", "--dir", &out, "--due", "--rhythm-days", "14"]);
    assert!(text(&o).0.contains("KS: nothing due"), "{:?}", text(&o));
    let o = vtj(&["simulate", "--db", &db, "--days", "3", "--intensity", "20"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = vtj(&["deliver", "--db", &db, "--permit", "KS", "--dir", &out]);
    assert!(text(&o).0.contains("KS: MTT #2"), "{:?}", text(&o));

    let o = vtj(&["import", "--register", &reg, "--dir", &format!("{out}/KS"), "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["applied"], serde_json::json!([1, 2]));
    // The population, the deliveries and the register are personal data:
    // nobody but their owner may read what vtj writes.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut written: Vec<std::path::PathBuf> =
            vec![db.clone().into(), reg.clone().into(), format!("{out}/KS").into()];
        written.extend(std::fs::read_dir(format!("{out}/KS")).unwrap().map(|e| e.unwrap().path()));
        assert!(written.len() > 4, "{written:?}");
        for path in written {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is {:o}", path.display(), mode & 0o777);
        }
    }

    // The imported register holds the whole person, families included, and
    // a look-up of a child shows its guardians, each by name and hetu.
    let o = vtj(&["export", "--register", &reg, "--who", "testi", "--why", "testi"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let persons: Vec<serde_json::Value> = text(&o).0.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let groups_of = |p: &serde_json::Value, name: &str| -> Vec<serde_json::Value> {
        p["tietoryhmat"].as_array().unwrap().iter().filter(|g| g["tietoryhma"] == name).cloned().collect()
    };
    for name in [
        "SYNTYMAPAIVA",
        "SIVIILISAATY",
        "AVIOLIITTO",
        "HUOLTAJA",
        "HUOLLETTAVA",
        "LAPSI",
        "VANHEMPI",
        "PERHESUHDE",
        "VAKINAINEN_KOTIMAINEN_ASUINPAIKKATUNNUS",
        "SAHKOPOSTIOSOITE",
    ] {
        assert!(persons.iter().any(|p| !groups_of(p, name).is_empty()), "no {name} in the imported register");
    }
    let child = persons
        .iter()
        .find(|p| groups_of(p, "HUOLTAJA").iter().any(|g| g["huoltaja"]["henkilotunnus"].is_string()))
        .expect("a child with a guardian");
    let hetu = child["henkilotunnus"].as_str().unwrap();
    let o = vtj(&["lookup", hetu, "--register", &reg, "--who", "neuvola", "--why", "asiakkuus"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let guardians = groups_of(&shown, "HUOLTAJA");
    assert!(!guardians.is_empty());
    for g in &guardians {
        let Some(gh) = g["huoltaja"]["henkilotunnus"].as_str() else { continue };
        assert!(g["huoltaja"]["sukunimi"].is_string(), "the guardian is named: {g}");
        // The guardian's own record names the child back, where the register holds it.
        if let Some(guardian) = persons.iter().find(|p| p["henkilotunnus"] == gh) {
            assert!(
                groups_of(guardian, "HUOLLETTAVA").iter().any(|w| w["huollettava"]["henkilotunnus"] == hetu),
                "{gh} does not name {hetu}"
            );
        }
    }

    // Bad input: an unknown permit, a wrong rhythm, a directory with no deliveries.
    let o = vtj(&["deliver", "--db", &db, "--permit", "NOPE", "--dir", &out]);
    assert!(!o.status.success() && text(&o).1.contains("no permit NOPE"), "{:?}", text(&o));
    let o = vtj(&["deliver", "--db", &db, "--permit", "KS", "--due", "--rhythm-days", "10"]);
    assert!(!o.status.success() && text(&o).1.contains("every 7 or 14 days"), "{:?}", text(&o));
    let o = vtj(&["import", "--register", &reg, "--dir", &p("empty")]);
    assert!(!o.status.success() && text(&o).1.contains("no manifest"), "{:?}", text(&o));
}

#[test]
fn bench_measures_every_figure_on_a_small_population() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = vtj(&[
        "bench",
        "--dir",
        d,
        "--persons",
        "3000",
        "--days",
        "3",
        "--intensity",
        "20",
        "--clients",
        "1,4",
        "--feed-pages",
        "6",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for measure in [
        "generate population",
        "initial data end to end",
        "sync client peak RSS",
        "event append",
        "changes applied (sync client)",
        "change feed served, 1 client(s)",
        "change feed served, 4 client(s)",
        "service peak RSS",
        "audit cost: initial data",
        "audit cost: feed, 4 client(s)",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with("| sqlite 3,000 | ") && l.contains(measure)),
            "{measure} missing:\n{out}"
        );
    }
    // The whole population arrived (less those abroad or outside any
    // municipality, whom a kuntarajaus does not cover), and changes flowed.
    let loaded: u64 = number_before(&out, " persons in ");
    assert!((2_900..=3_000).contains(&loaded), "{loaded} persons loaded:\n{out}");
    let applied: u64 = number_before(&out, " changes)");
    assert!(applied > 0, "{out}");
    // Each audit cost is of two services side by side taking turns.
    for what in ["initial data", "feed, 1 client(s)", "feed, 4 client(s)"] {
        let row = out
            .lines()
            .find(|l| l.starts_with("| sqlite 3,000 | ") && l.contains(&format!("audit cost: {what}")))
            .unwrap_or_else(|| panic!("no audit cost row for {what}:\n{out}"));
        assert!(row.contains("(two services side by side, ") && row.contains(" more CPU per "), "{row}");
    }
}

#[test]
fn soak_runs_and_reports_its_requests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = vtj(&["soak", "--dir", d, "--minutes", "0.1", "--recipients", "2", "--persons", "500"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let requests: u64 = number_before(&out, " requests, ");
    assert!(requests > 0 && out.contains(" requests, 0 errors;"), "{out}");
}

#[test]
fn serving_without_audit_is_refused_outside_a_bench_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let db = db.to_str().unwrap();
    assert!(vtj(&["generate", "--db", db, "--persons", "10"]).status.success());
    let o = vtj(&["serve", "--db", db, "--listen", "127.0.0.1:0", "--unaudited-benchmark", "--unsigned"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("only on a database made by `vtj bench`"), "{:?}", text(&o));
}

/// The number just before the first `marker` in `text`.
fn number_before(text: &str, marker: &str) -> u64 {
    let at = text.find(marker).unwrap_or_else(|| panic!("{marker:?} not in:\n{text}"));
    let digits: String = text[..at].chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}
