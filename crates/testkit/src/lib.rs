//! A real server on loopback over a generated population, and a model of a
//! recipient's register built only from what the server answers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::{Date, Month, OffsetDateTime};
use vtj_api::admin::{self, PermitSpec};
use vtj_api::{App, Config};
use vtj_core::{Hetu, Permit, Person, Subject};
use vtj_sim::{GenerateConfig, SimulateConfig};
use vtj_store::{SqliteStore, Store};
use vtj_wire::{person_record, ChangeRecord, Held, MuutoksetResponse, PerustiedotVkoResponse};

pub mod dvv;

pub const KS: &str = "KS";
pub const KS_TK: &str = "KS_TK";
pub const LIST: &str = "LISTA";
pub const HEL: &str = "HEL";

/// Every permit of the harness, each with a user named after it in lower case.
pub const PERMITS: [&str; 4] = [KS, KS_TK, LIST, HEL];

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    /// `http://127.0.0.1:port`; the calls are under [`Harness::api`].
    pub base: String,
    pub http: reqwest::Client,
    /// (user, password) by permit.
    pub users: BTreeMap<&'static str, (String, String)>,
    /// Days added to the real clock, to let permits expire.
    pub clock_days: Arc<AtomicI64>,
    pub app: Arc<App>,
    config: Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

pub fn day(y: i32, m: Month, d: u8) -> Date {
    Date::from_calendar_date(y, m, d).unwrap()
}

pub struct Options {
    pub persons: u64,
    pub days: u32,
    pub seed: u64,
    pub config: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Options {
        Options { persons: 4_000, days: 3, seed: 11, config: |_| {} }
    }
}

/// The user name of a permit's user in the harness.
pub fn user_of(permit: &str) -> String {
    permit.to_lowercase()
}

pub async fn start(opts: Options) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtj.db");
    let mut users = BTreeMap::new();
    {
        let mut s = SqliteStore::open(&db).unwrap();
        vtj_sim::generate(
            &mut s,
            &GenerateConfig { persons: opts.persons, seed: opts.seed, date: day(2026, Month::January, 1) },
            &mut |_| {},
        )
        .unwrap();
        simulate(&mut s, opts.days);
        for (r, nimi) in [("KSHVA", "Keski-Suomen hyvinvointialue"), ("KUNTA", "Testikunta"), ("HELSINKI", "Helsinki")]
        {
            admin::add_recipient(&mut s, r, nimi).unwrap();
        }
        let base = PermitSpec {
            tunnus: String::new(),
            luvansaaja: "KSHVA".into(),
            kayttotarkoitus: "asiakasrekisteri".into(),
            tuote: "LAAJAT".into(),
            ryhmat: None,
            kunnat: vec![],
            hyvinvointialueet: vec!["KS".into()],
            hetulista: false,
            turvakielto_oikeus: false,
            alkaen: day(2026, Month::January, 1),
            asti: Some(day(2030, Month::December, 31)),
            ylalupa: None,
        };
        admin::add_permit(&mut s, &PermitSpec { tunnus: KS.into(), ..base.clone() }).unwrap();
        admin::add_permit(&mut s, &PermitSpec { tunnus: KS_TK.into(), turvakielto_oikeus: true, ..base.clone() })
            .unwrap();
        admin::add_permit(
            &mut s,
            &PermitSpec {
                tunnus: LIST.into(),
                luvansaaja: "KUNTA".into(),
                tuote: "ASREK".into(),
                hyvinvointialueet: vec![],
                hetulista: true,
                ..base.clone()
            },
        )
        .unwrap();
        admin::add_permit(
            &mut s,
            &PermitSpec {
                tunnus: HEL.into(),
                luvansaaja: "HELSINKI".into(),
                hyvinvointialueet: vec!["HE".into()],
                ..base
            },
        )
        .unwrap();
        for p in PERMITS {
            let password = admin::add_user(&mut s, p, &user_of(p)).unwrap();
            users.insert(p, (user_of(p), password));
        }
    }
    let mut config = Config::new(db.to_string_lossy().into_owned());
    config.signer = Some(Arc::new(vtj_store::testsuite::test_signer()));
    (opts.config)(&mut config);
    let config_kept = config.clone();
    let clock_days = Arc::new(AtomicI64::new(0));
    let offset = clock_days.clone();
    let app = App::with_clock(
        &config,
        Arc::new(move || OffsetDateTime::now_utc() + time::Duration::days(offset.load(Ordering::Relaxed))),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = Some(spawn_server(listener, app.clone()));
    Harness { dir, db, base, http: reqwest::Client::new(), users, clock_days, app, config: config_kept, shutdown }
}

fn spawn_server(listener: tokio::net::TcpListener, app: Arc<App>) -> tokio::sync::oneshot::Sender<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(vtj_api::serve(listener, app, async {
        let _ = rx.await;
    }));
    tx
}

pub fn simulate(s: &mut SqliteStore, days: u32) {
    vtj_sim::simulate(s, &SimulateConfig { days, intensity: 40.0 }, &mut |_| {}).unwrap();
}

/// The municipalities of a wellbeing services county, as codes.
/// Every person `p`'s relations name, as the store holds them.
pub fn relatives(s: &SqliteStore, p: &Person) -> Vec<Person> {
    let mut out: Vec<Person> = Vec::new();
    for l in vtj_core::relations::links(p) {
        if let Some(r) = s.person_by_hetu(l.other).unwrap() {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
    }
    out
}

/// A hetu correction as the register makes it: the person's and each
/// relative's reference to them (a lone correction of a person with
/// relatives is refused: it would leave the relatives naming the old hetu).
pub fn hetu_correction(s: &SqliteStore, p: &Person, new: Hetu, date: Date) -> Vec<vtj_core::Event> {
    vtj_core::family::hetu_correction(p, &relatives(s, p), new, date)
}

/// A hetu the store has not given to anyone, for a correction of `old`:
/// the same birth date and century, another test-range individual number.
pub fn unused_hetu_for(s: &SqliteStore, old: Hetu) -> Hetu {
    let sign = old.as_str().as_bytes()[6] as char;
    (900..1000)
        .rev()
        .map(|n| Hetu::from_parts(old.birth_date(), sign, n).unwrap())
        .find(|x| !s.hetu_exists(*x).unwrap())
        .expect("a free test-range hetu for the date")
}

/// A death with what it ends for the spouse and the children in custody.
pub fn death(s: &SqliteStore, p: &Person, date: Date) -> Vec<vtj_core::Event> {
    vtj_core::family::death(p, &relatives(s, p), vtj_core::VtjDate::Full(date), date)
}

pub fn county(region: &str) -> BTreeSet<String> {
    vtj_core::kunta::region_kunnat(region).unwrap().iter().map(|k| k.to_string()).collect()
}

/// The municipalities of a harness permit's area (KS and KS_TK: Central
/// Finland; HEL: Helsinki).
pub fn area_of(permit: &str) -> BTreeSet<String> {
    county(if permit == HEL { "HE" } else { "KS" })
}

impl Harness {
    /// Stops the service, stays down for `pause`, and starts a fresh
    /// instance on the same address and database.
    pub async fn restart(&mut self, pause: std::time::Duration) {
        drop(self.shutdown.take());
        tokio::time::sleep(pause).await;
        let addr = self.base.trim_start_matches("http://").to_string();
        let listener = loop {
            match tokio::net::TcpListener::bind(&addr).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        self.app = App::new(&self.config).unwrap();
        self.shutdown = Some(spawn_server(listener, self.app.clone()));
    }

    /// Changes the configuration the next [`Harness::restart`] starts with.
    pub fn reconfigure(&mut self, f: impl FnOnce(&mut Config)) {
        f(&mut self.config);
    }

    /// The public key of the service's audit log, as a client is given it.
    pub fn audit_key(&self) -> String {
        vtj_store::testsuite::test_signer().verifier().text()
    }

    pub fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db).unwrap()
    }

    /// The base address a client is given: `.../api/v1`.
    pub fn api_base(&self) -> String {
        format!("{}/api/v1", self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// (user, password) of a permit's user.
    pub fn user(&self, permit: &str) -> (&str, &str) {
        let (u, p) = &self.users[permit];
        (u, p)
    }

    /// A call under `/api/v1` as the permit's user.
    pub async fn post(&self, permit: &str, call: &str, body: &Value) -> (StatusCode, Vec<u8>) {
        let (u, p) = self.user(permit);
        self.post_as(u, p, call, serde_json::to_vec(body).unwrap()).await
    }

    pub async fn post_as(&self, user: &str, password: &str, call: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let r = self
            .http
            .post(format!("{}{call}", self.api_base()))
            .basic_auth(user, Some(password))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    }

    pub async fn get(&self, permit: &str, call: &str) -> (StatusCode, Vec<u8>) {
        let (u, p) = self.user(permit);
        let r = self.http.get(format!("{}{call}", self.api_base())).basic_auth(u, Some(p)).send().await.unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    }

    /// Every page of an area's initial load; `between` runs after each page,
    /// so that tests can change the population while the load is under way.
    pub async fn initial_load(&self, permit: &str, mut between: impl FnMut()) -> (Register, i64) {
        let mut reg = Register::area(area_of(permit));
        let kunnat: Vec<String> = area_of(permit).into_iter().collect();
        let mut jatkoavain: Option<String> = None;
        loop {
            let mut body = json!({ "kuntakoodit": kunnat });
            if let Some(j) = &jatkoavain {
                body["jatkoavain"] = json!(j);
            }
            let (status, bytes) = self.post(permit, "/perustiedot-vko", &body).await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
            let p: PerustiedotVkoResponse = serde_json::from_slice(&bytes).unwrap();
            for r in &p.perustiedot {
                reg.persons.insert(r.henkilotunnus.clone(), Held::from_record(r));
            }
            between();
            assert_eq!(p.ajan_tasalla, p.jatkoavain.is_none());
            match p.jatkoavain {
                Some(t) => jatkoavain = Some(t),
                None => return (reg, p.viimeisin_kirjausavain.expect("the snapshot cursor")),
            }
        }
    }

    /// Pages `/muutokset` from `cursor` until up to date (for a hetu list,
    /// sending it); returns the changes seen.
    pub async fn catch_up(
        &self,
        permit: &str,
        reg: &mut Register,
        cursor: &mut i64,
        list: Option<&[String]>,
    ) -> Vec<ChangeRecord> {
        let mut seen = Vec::new();
        loop {
            let mut body = json!({ "viimeisinKirjausavain": *cursor });
            if let Some(l) = list {
                body["hetulista"] = json!(l);
            }
            let (status, bytes) = self.post(permit, "/muutokset", &body).await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
            let p: MuutoksetResponse = serde_json::from_slice(&bytes).unwrap();
            assert!(p.viimeisin_kirjausavain >= *cursor, "the cursor never goes back");
            for c in &p.muutokset {
                reg.apply(c);
            }
            *cursor = p.viimeisin_kirjausavain;
            seen.extend(p.muutokset);
            if p.ajan_tasalla {
                return seen;
            }
        }
    }
}

/// A recipient's register, kept by the rules of DVV's records (an
/// implementation of its own, apart from the sync client's): per hetu, the
/// groups held.
#[derive(Debug, Default, PartialEq)]
pub struct Register {
    pub persons: BTreeMap<String, Held>,
    /// An area's municipalities: a person whose home municipality is
    /// given as one outside it has left.
    pub area: Option<BTreeSet<String>>,
    /// Earlier hetus of corrected persons: records come under the hetu a
    /// list names, which may be an earlier one.
    pub aliases: BTreeMap<String, String>,
}

impl Register {
    pub fn area(kunnat: BTreeSet<String>) -> Register {
        Register { area: Some(kunnat), ..Register::default() }
    }

    pub fn apply(&mut self, c: &ChangeRecord) {
        let mut hetu = self.aliases.get(&c.henkilotunnus).cloned().unwrap_or_else(|| c.henkilotunnus.clone());
        if let Some((active, earlier)) = c.hetu_correction() {
            assert!(earlier.contains(&hetu) || hetu == active, "a correction of someone else: {c:?}");
            if let Some(held) = self.persons.remove(&hetu) {
                self.persons.insert(active.clone(), held);
            }
            if active != hetu {
                self.aliases.insert(hetu, active.clone());
            }
            hetu = active;
        }
        let left =
            c.poistuu_rajauksesta || self.area.as_ref().is_some_and(|a| c.kotikunta().is_some_and(|k| !a.contains(k)));
        if left {
            self.persons.remove(&hetu);
            return;
        }
        self.persons.entry(hetu).or_default().apply(c);
    }
}

/// What the permit allows its recipient to hold now (a hetu list's: of
/// `list`), from the store directly, as DVV's group objects.
pub fn projection(s: &SqliteStore, permit: &Permit, list: &[Hetu], today: Date) -> Register {
    let mut reg = Register::default();
    for p in vtj_disclose::pages::projection(s, permit, list, today).unwrap() {
        reg.persons.insert(p.hetu.to_string(), Held::from_record(&person_record(p.hetu.as_str(), &p.groups)));
    }
    reg
}

/// What a municipality-scoped permit receives after `after`, change by
/// change, computed from the log with the core's `render` (an
/// implementation of its own, apart from the service's paging).
pub fn served_records(s: &SqliteStore, permit: &Permit, after: i64) -> Vec<ChangeRecord> {
    let mut out = Vec::new();
    let mut at = vtj_store::Cursor(after);
    loop {
        let entries = s.changes_since(at, 10_000).unwrap();
        let Some(last) = entries.last() else { break };
        at = last.cursor;
        for e in &entries {
            let before = e.before.as_ref().map(|person| Subject { person, on_list: false });
            let d = vtj_core::render(permit, before, Subject { person: &e.after, on_list: false }, today());
            let shown = e.before.as_ref().unwrap_or(&e.after).hetu();
            out.extend(vtj_wire::change_record(shown.as_str(), e.event.rekisterointipaiva, &d));
        }
    }
    out
}

pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

pub fn problem_code(body: &[u8]) -> String {
    let v: Value =
        serde_json::from_slice(body).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(body)));
    v["code"].as_str().unwrap_or_default().to_string()
}

/// DVV's sandbox answer from the shared conformance folder (not in this
/// repository): `VTJ_MUTP_DIR`, or `shared/conformance/muutosrajapinta`
/// beside the checkout or under `/work`. `None` (the test skips) unless
/// `VTJ_CONFORMANCE_REQUIRED` is set.
pub fn dvv_capture() -> Option<Vec<u8>> {
    let dirs = [
        std::env::var("VTJ_MUTP_DIR").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/muutosrajapinta")),
        Some(PathBuf::from("/work/shared/conformance/muutosrajapinta")),
    ];
    let found = dirs.into_iter().flatten().map(|d| d.join("perustiedot-response-ok.json")).find(|f| f.is_file());
    if found.is_none() {
        assert!(std::env::var_os("VTJ_CONFORMANCE_REQUIRED").is_none(), "VTJ_CONFORMANCE_REQUIRED but no capture");
        eprintln!("SKIPPED: DVV's captured answer not found (set VTJ_MUTP_DIR)");
    }
    found.map(|f| std::fs::read(f).unwrap())
}

/// A test PKI: a CA and leaf certificates it signs (PEM), for TLS tests.
pub mod pki {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType};

    pub struct Ca {
        pub cert: rcgen::Certificate,
        key: KeyPair,
    }

    impl Ca {
        pub fn new() -> Ca {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().unwrap();
            Ca { cert: p.self_signed(&key).unwrap(), key }
        }

        pub fn pem(&self) -> String {
            self.cert.pem()
        }

        /// (certificate PEM, key PEM) for localhost / 127.0.0.1.
        pub fn leaf(&self, server: bool) -> (String, String) {
            let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            p.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
            p.extended_key_usages =
                vec![if server { ExtendedKeyUsagePurpose::ServerAuth } else { ExtendedKeyUsagePurpose::ClientAuth }];
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
            (cert.pem(), key.serialize_pem())
        }
    }

    impl Default for Ca {
        fn default() -> Ca {
            Ca::new()
        }
    }
}
