//! A real server on loopback over a generated population, and a model of a
//! recipient's register built only from what the server answers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use time::{Date, Month, OffsetDateTime};
use vtj_api::admin::{self, PermitSpec};
use vtj_api::wire::{Change, ChangeLaji, ChangePage, InitialPage, PersonRecord};
use vtj_api::{App, Config};
use vtj_core::{ChangeKind, GroupChange, GroupName, GroupValue, Permit, Subject};
use vtj_sim::{GenerateConfig, SimulateConfig};
use vtj_store::{PersonFilter, SqliteStore, Store};

pub const KS: &str = "KS";
pub const KS_TK: &str = "KS_TK";
pub const LIST: &str = "LISTA";
pub const HEL: &str = "HEL";

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub base: String,
    pub http: reqwest::Client,
    /// Tokens by recipient: KSHVA (KS, KS_TK), KUNTA (LISTA), HELSINKI (HEL).
    pub tokens: BTreeMap<&'static str, String>,
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

pub async fn start(opts: Options) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtj.db");
    let mut tokens = BTreeMap::new();
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
            tokens.insert(r, admin::issue_token(&mut s, r, "test").unwrap());
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
    }
    let mut config = Config::new(db.to_string_lossy().into_owned());
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
    Harness { dir, db, base, http: reqwest::Client::new(), tokens, clock_days, app, config: config_kept, shutdown }
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

/// The token that owns a permit.
pub fn owner(permit: &str) -> &'static str {
    match permit {
        KS | KS_TK => "KSHVA",
        LIST => "KUNTA",
        _ => "HELSINKI",
    }
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

    pub fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, permit: &str, path: &str) -> (StatusCode, Vec<u8>) {
        self.get_as(self.tokens[owner(permit)].as_str(), path).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Vec<u8>) {
        let r = self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    }

    pub async fn post(&self, permit: &str, path: &str, body: &Value) -> (StatusCode, Vec<u8>) {
        self.post_raw(self.tokens[owner(permit)].as_str(), path, serde_json::to_vec(body).unwrap()).await
    }

    pub async fn post_raw(&self, token: &str, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    }

    /// Every page of the initial load; `between` runs after each page, so
    /// that tests can change the population while the load is under way.
    pub async fn initial_load(&self, permit: &str, page: usize, mut between: impl FnMut()) -> (Register, i64) {
        let mut reg = Register::default();
        let mut path = format!("/api/v1/tietoluvat/{permit}/perustiedot?sivunKoko={page}");
        loop {
            let (status, body) = self.get(permit, &path).await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            let p: InitialPage = serde_json::from_slice(&body).unwrap();
            for r in &p.henkilot {
                reg.put(r);
            }
            between();
            match p.jatkoavain {
                Some(t) => path = format!("/api/v1/tietoluvat/{permit}/perustiedot?sivunKoko={page}&jatkoavain={t}"),
                None => return (reg, p.kirjausavain),
            }
        }
    }

    /// Pages changes from `cursor` until up to date; returns the changes seen.
    pub async fn catch_up(&self, permit: &str, reg: &mut Register, cursor: &mut i64, page: usize) -> Vec<Change> {
        let mut seen = Vec::new();
        loop {
            let (status, body) = self
                .get(permit, &format!("/api/v1/tietoluvat/{permit}/muutokset?kirjausavain={cursor}&sivunKoko={page}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            let p: ChangePage = serde_json::from_slice(&body).unwrap();
            assert!(p.muutokset.len() <= page);
            for c in &p.muutokset {
                assert!(c.kirjausavain > *cursor, "changes come in cursor order, once");
                *cursor = c.kirjausavain;
                reg.apply(c);
            }
            assert!(p.viimeinen_kirjausavain >= *cursor);
            *cursor = p.viimeinen_kirjausavain;
            seen.extend(p.muutokset);
            if p.ajantasalla {
                return seen;
            }
        }
    }
}

/// A recipient's register: per hetu, the values it holds (censored groups
/// are simply absent).
#[derive(Debug, Default, PartialEq)]
pub struct Register {
    pub persons: BTreeMap<String, BTreeMap<GroupName, GroupValue>>,
}

impl Register {
    pub fn put(&mut self, r: &PersonRecord) {
        let mut groups = BTreeMap::new();
        apply_groups(&mut groups, &r.tietoryhmat);
        self.persons.insert(r.henkilotunnus.clone(), groups);
    }

    pub fn apply(&mut self, c: &Change) {
        if c.laji == ChangeLaji::Enter {
            self.put(&PersonRecord { henkilotunnus: c.henkilotunnus.clone(), tietoryhmat: c.tietoryhmat.clone() });
            return;
        }
        if !self.persons.contains_key(&c.henkilotunnus) {
            // A hetu correction: find the person under an earlier hetu.
            let earlier = c.tietoryhmat.iter().find_map(|g| match &g.arvo {
                Some(GroupValue::HenkilotunnusKorjaus(k)) => Some(k.aiemmat_henkilotunnukset.clone()),
                _ => None,
            });
            let old = earlier.into_iter().flatten().map(|h| h.to_string()).find(|h| self.persons.contains_key(h));
            match old {
                Some(old) => {
                    let groups = self.persons.remove(&old).unwrap();
                    self.persons.insert(c.henkilotunnus.clone(), groups);
                }
                None => {
                    // Not held: only possible for a person who left and
                    // whose leaving change this is, or a re-delivery.
                    self.persons.insert(c.henkilotunnus.clone(), BTreeMap::new());
                }
            }
        }
        let groups = self.persons.get_mut(&c.henkilotunnus).unwrap();
        apply_groups(groups, &c.tietoryhmat);
        if c.laji == ChangeLaji::Leave {
            self.persons.remove(&c.henkilotunnus);
        }
    }
}

fn apply_groups(groups: &mut BTreeMap<GroupName, GroupValue>, changes: &[GroupChange]) {
    for g in changes {
        match (g.muutos, &g.arvo) {
            (ChangeKind::Added | ChangeKind::Changed, Some(v)) => {
                assert_eq!(v.name(), g.tietoryhma);
                groups.insert(g.tietoryhma, v.clone());
            }
            (ChangeKind::Removed | ChangeKind::Censored, None) => {
                groups.remove(&g.tietoryhma);
            }
            other => panic!("malformed group change {other:?}"),
        }
    }
}

/// What the permit allows the recipient to hold now, from the store directly.
pub fn projection(s: &SqliteStore, permit: &Permit, today: Date) -> Register {
    let mut reg = Register::default();
    let mut after = vtj_core::PersonId(0);
    loop {
        let page = s.persons(PersonFilter::All, after, 5_000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        for p in &page {
            let on_list = s.on_hetu_list(&permit.tunnus, p.id).unwrap();
            if let Some(groups) = vtj_core::render_full(permit, Subject { person: p, on_list }, today) {
                reg.put(&PersonRecord { henkilotunnus: p.hetu().to_string(), tietoryhmat: groups });
            }
        }
    }
    reg
}

/// The cursors after `after` whose change the permit receives (a
/// kuntarajaus permit), computed from the log with the core's `render`.
pub fn served_cursors(s: &SqliteStore, permit: &Permit, after: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut at = vtj_store::Cursor(after);
    loop {
        let entries = s.changes_since(at, 10_000).unwrap();
        let Some(last) = entries.last() else { break };
        at = last.cursor;
        for e in &entries {
            let before = e.before.as_ref().map(|person| Subject { person, on_list: false });
            let d = vtj_core::render(permit, before, Subject { person: &e.after, on_list: false }, today());
            if d != vtj_core::Disclosure::Nothing {
                out.push(e.cursor.0);
            }
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
