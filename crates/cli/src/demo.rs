//! `vtj demo`, the main job end to end on loopback: a synthetic VTJ, the
//! REST service, a wellbeing services county syncing its area and a
//! municipality syncing its hetu list, life going on (turvakielto start and
//! end, moves across the county border), syncing again, and a check that
//! each local register holds exactly what its permit allows.

use std::path::PathBuf;
use std::time::Instant;

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use clap::Args;
use time::{Date, Month};
use vtj_api::admin::{self, PermitSpec};
use vtj_core::groups::{Kotikunta, KotimainenOsoite, Localized};
use vtj_core::{Event, EventKind, GroupName, Hetu, KuntaCode, Person, PersonId, VtjDate};
use vtj_store::{PersonFilter, SqliteStore, Store};
use vtj_sync::{Client, ClientConfig, Register, SyncReport};
use vtj_wire::{person_record, Held};

use crate::client::run_once;

#[derive(Args)]
pub struct DemoArgs {
    /// Where to keep the databases; a fresh temporary directory if not given.
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long, default_value_t = 20_000)]
    persons: u64,
    #[arg(long, default_value_t = 14)]
    days: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Multiplies every event rate of the simulated days.
    #[arg(long, default_value_t = 1.0)]
    intensity: f64,
    /// Through a county hub: the service, the county's hub following it,
    /// and two of the county's systems served by the hub under sub-permits.
    #[arg(long)]
    hub: bool,
}

mod hub;

const COUNTY: &str = "KS";
const COUNTY_PERMIT: &str = "KS-PSOP";
const LIST_PERMIT: &str = "JKL-ASREK";
const COUNTY_USER: &str = "kshva-psop";
const LIST_USER: &str = "jkl-asrek";

pub fn run(args: DemoArgs) -> Result<()> {
    if args.hub {
        return hub::run(args);
    }
    let started = Instant::now();
    let (dir, _tmp, db, mut store, start) = population(&args)?;

    admin::add_recipient(&mut store, "KSHVA", "Keski-Suomen hyvinvointialue")?;
    admin::add_recipient(&mut store, "JKL", "Jyväskylän kaupunki")?;
    let spec = county_permit(start, "sosiaali- ja terveydenhuollon asiakasrekisteri");
    admin::add_permit(&mut store, &spec)?;
    admin::add_permit(
        &mut store,
        &PermitSpec {
            tunnus: LIST_PERMIT.into(),
            luvansaaja: "JKL".into(),
            kayttotarkoitus: "kunnan asiakasrekisteri".into(),
            tuote: "ASREK".into(),
            hyvinvointialueet: vec![],
            hetulista: true,
            ..spec
        },
    )?;
    let county_password = admin::add_user(&mut store, COUNTY_PERMIT, COUNTY_USER)?;
    let list_password = admin::add_user(&mut store, LIST_PERMIT, LIST_USER)?;

    // The service signs its audit log's checkpoints; the clients are given its public key.
    let signer = crate::audit::write_key(&dir.join("audit.key"), "vtj-demo/audit")?;
    let audit_key = signer.verifier().text();
    let rt = tokio::runtime::Runtime::new()?;
    let base = serve(&rt, &db, signer)?;
    println!("service on {base}");
    // Each system signs in as its permit's user, as against DVV.
    let client = |user: &str, password: &str| client(&base, user, password, Some(&audit_key));
    let (county, list) = (client(COUNTY_USER, &county_password)?, client(LIST_USER, &list_password)?);
    let mut county_reg = Register::open(&dir.join("ks-register.db"))?;
    let mut list_reg = Register::open(&dir.join("jkl-register.db"))?;
    let area: std::collections::BTreeSet<String> = county_kunnat()?.iter().map(|k| k.to_string()).collect();

    // First sync: the county loads its area; the municipality lists its customers.
    let r1 = rt.block_on(run_once(&county, &mut county_reg, Some(area)))?;
    report("county, initial load", &r1);
    let customers = pick_customers(&store)?;
    let added = rt.block_on(vtj_sync::list_add(&list, &mut list_reg, &customers, vtj_sync::DEFAULT_BUCKET))?;
    println!("{:<34} {} hetus listed, {} persons loaded", "municipality, hetu list", added.listed, added.found);
    let l1 = rt.block_on(run_once(&list, &mut list_reg, None))?;
    report("municipality, first sync", &l1);

    // Life goes on: simulated days, plus the cases the demo must show.
    let sim = vtj_sim::simulate(
        &mut store,
        &vtj_sim::SimulateConfig { days: args.days, intensity: args.intensity },
        &mut |_| {},
    )?;
    let scripted = scripted_events(&mut store, &customers)?;
    println!(
        "{:<34} {} simulated events over {} days, plus: {}",
        "life goes on",
        sim.events,
        sim.days,
        scripted.join(", ")
    );

    let r2 = rt.block_on(run_once(&county, &mut county_reg, None))?;
    report("county, catch-up", &r2);
    let l2 = rt.block_on(run_once(&list, &mut list_reg, None))?;
    report("municipality, catch-up", &l2);

    // The check: each register equals what its permit allows, nothing more.
    let today = time::OffsetDateTime::now_utc().date();
    let mut ok = true;
    let listed: Vec<Hetu> = customers.iter().map(|h| Hetu::parse(h)).collect::<Result<_, _>>()?;
    for (name, reg, permit) in
        [("county", &mut county_reg, COUNTY_PERMIT), ("municipality", &mut list_reg, LIST_PERMIT)]
    {
        let permit = store.permit(permit)?.context("permit")?;
        let held = reg.snapshot()?;
        let differing = differing(&held, &expected_register(&store, &permit, &listed, today)?);
        // Neither permit has the turvakielto right: the fact itself is never held.
        let censored_held = held.values().filter(|g| !g.instances(GroupName::Turvakielto.as_str()).is_empty()).count();
        if differing == 0 && censored_held == 0 {
            println!("{:<34} OK: {} persons, equal to the permit's projection", format!("{name} register"), held.len());
        } else {
            ok = false;
            println!("{:<34} MISMATCH: {differing} persons differ", format!("{name} register"));
        }
    }
    let kept = county_reg.checkpoints()?.len() + list_reg.checkpoints()?.len();
    let verified = vtj_store::tree::verify(
        &store,
        Some(&vtj_tlog::Verifier::parse(&audit_key)?),
        &[county_reg.checkpoints()?, list_reg.checkpoints()?].concat(),
    )?;
    println!(
        "{:<34} OK: {} entries in the tree; {} checkpoints the registers kept match it",
        "audit log", verified.leaves, kept
    );
    println!("demo finished in {:.1} s (databases in {})", started.elapsed().as_secs_f64(), dir.display());
    if !ok {
        bail!("a local register differs from what its permit allows");
    }
    Ok(())
}

/// A fresh directory (or the one given, which must not hold a database
/// yet) and its upstream database with the population generated.
#[allow(clippy::type_complexity)]
fn population(args: &DemoArgs) -> Result<(PathBuf, Option<tempfile::TempDir>, PathBuf, SqliteStore, Date)> {
    let (dir, tmp) = crate::work_dir(args.dir.clone())?;
    let db = dir.join("vtj.db");
    if db.exists() {
        bail!("{} already exists; give an empty --dir", db.display());
    }
    let mut store = SqliteStore::open(&db)?;
    let start = Date::from_calendar_date(2026, Month::January, 1)?;
    crate::generate(&mut store, args.persons, args.seed, start)?;
    Ok((dir, tmp, db, store, start))
}

/// The wellbeing services county's permit: PSOP over its area, without
/// the turvakielto right.
fn county_permit(start: Date, kayttotarkoitus: &str) -> PermitSpec {
    PermitSpec {
        tunnus: COUNTY_PERMIT.into(),
        luvansaaja: "KSHVA".into(),
        kayttotarkoitus: kayttotarkoitus.into(),
        tuote: "PSOP".into(),
        ryhmat: None,
        kunnat: vec![],
        hyvinvointialueet: vec![COUNTY.into()],
        hetulista: false,
        turvakielto_oikeus: false,
        alkaen: start,
        asti: None,
        ylalupa: None,
    }
}

/// A REST service over `db` on loopback, signing its audit checkpoints;
/// its address.
fn serve(rt: &tokio::runtime::Runtime, db: &std::path::Path, key: vtj_tlog::Signer) -> Result<String> {
    let mut config = vtj_api::Config::new(db.to_string_lossy().into_owned());
    config.signer = Some(std::sync::Arc::new(key));
    rt.block_on(async {
        let app = vtj_api::App::new(&config)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(vtj_api::serve(listener, app, std::future::pending()));
        anyhow::Ok(base)
    })
}

/// A system's client of the service at `base`, signed in as its permit's user.
fn client(base: &str, user: &str, password: &str, audit_key: Option<&str>) -> Result<Client> {
    Ok(Client::new(ClientConfig {
        base_url: format!("{base}/api/v1"),
        user: Some(user.into()),
        password: Some(password.into()),
        xroad_client: Some("FI/GOV/0000000-0/demo".into()),
        audit_key: audit_key.map(str::to_string),
        ..ClientConfig::default()
    })?)
}

/// What a register under `permit` must hold now: the permit's projection
/// of the store, as DVV's group objects.
fn expected_register(
    store: &SqliteStore,
    permit: &vtj_core::Permit,
    listed: &[Hetu],
    today: Date,
) -> Result<BTreeMap<String, Held>> {
    Ok(vtj_disclose::pages::projection(store, permit, listed, today)?
        .iter()
        .map(|p| (p.hetu.to_string(), Held::from_record(&person_record(p.hetu.as_str(), &p.groups))))
        .collect())
}

/// How many persons two registers disagree on.
fn differing(held: &BTreeMap<String, Held>, expected: &BTreeMap<String, Held>) -> usize {
    expected
        .keys()
        .chain(held.keys().filter(|h| !expected.contains_key(*h)))
        .filter(|h| expected.get(*h) != held.get(*h))
        .count()
}

fn report(what: &str, r: &SyncReport) {
    println!(
        "{what:<34} {} persons loaded, {} changes ({} censor markers, {} removed), {} held, {:.2} s, audit log at {}",
        r.persons_loaded,
        r.changes_applied,
        r.censored,
        r.removed,
        r.persons_held,
        r.seconds,
        r.audit_checkpoint.map_or("-".into(), |n| n.to_string())
    );
}

fn county_kunnat() -> Result<std::collections::BTreeSet<KuntaCode>> {
    Ok(vtj_core::kunta::region_kunnat(COUNTY)?)
}

fn living(
    store: &SqliteStore,
    filter: PersonFilter<'_>,
    n: usize,
    pred: impl Fn(&Person) -> bool,
) -> Result<Vec<Person>> {
    let mut out = Vec::new();
    let mut after = PersonId(0);
    while out.len() < n {
        let page = store.persons(filter, after, 2_000)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        out.extend(page.into_iter().filter(|p| !p.is_dead() && pred(p)).take(n - out.len()));
    }
    Ok(out)
}

/// The municipality's customers: residents of the county and a few from elsewhere.
fn pick_customers(store: &SqliteStore) -> Result<Vec<String>> {
    let kunnat = county_kunnat()?;
    let mut hetus: Vec<String> =
        living(store, PersonFilter::Kunnat(&kunnat), 300, |_| true)?.iter().map(|p| p.hetu().to_string()).collect();
    let helsinki = [KuntaCode::parse("091")?].into_iter().collect();
    hetus.extend(living(store, PersonFilter::Kunnat(&helsinki), 50, |_| true)?.iter().map(|p| p.hetu().to_string()));
    Ok(hetus)
}

fn address(street: &str, postinumero: &str, toimipaikka: &str, kunta: KuntaCode, since: Date) -> KotimainenOsoite {
    KotimainenOsoite {
        katunimi: Localized::fi(street),
        katunumero: "5".into(),
        huoneistokirjain: None,
        huoneistonumero: None,
        jakokirjain: None,
        postinumero: postinumero.into(),
        postitoimipaikka: Localized::fi(toimipaikka),
        rakennustunnus: None,
        osoitenumero: Some(1),
        kuntakoodi: Some(kunta),
        alkupv: Some(VtjDate::Full(since)),
    }
}

/// Turvakielto starting for a county resident who is also a listed customer,
/// one ending, a move out of the county and one into it.
fn scripted_events(store: &mut SqliteStore, customers: &[String]) -> Result<Vec<String>> {
    let day = match store.meta(vtj_sim::generate::META_DATE)? {
        Some(d) => match VtjDate::parse(&d)? {
            VtjDate::Full(d) => d,
            _ => bail!("simulator date {d} is not a full date"),
        },
        None => bail!("the population has no simulator date"),
    };
    let kunnat = county_kunnat()?;
    let ev = |p: &Person, tapahtuma| Event { person: p.id, rekisterointipaiva: day, tapahtuma };
    let kotikunta = |code: &str| -> Result<Kotikunta> {
        Ok(Kotikunta { kuntakoodi: KuntaCode::parse(code)?, kuntaan_muuttopv: Some(VtjDate::Full(day)) })
    };
    let mut done = Vec::new();

    let listed = living(store, PersonFilter::Kunnat(&kunnat), 1, |p| {
        !p.has_turvakielto() && customers.contains(&p.hetu().to_string())
    })?;
    if let Some(p) = listed.first() {
        store.append(&[ev(p, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })])?;
        done.push("a turvakielto starts".to_string());
    }
    let protected = living(store, PersonFilter::Kunnat(&kunnat), 2, |p| p.has_turvakielto())?;
    if let Some(p) = protected.iter().find(|p| listed.first().map(|l| l.id) != Some(p.id)) {
        store.append(&[ev(p, EventKind::TurvakieltoEnd)])?;
        done.push("a turvakielto ends".to_string());
    }
    let leaving = living(store, PersonFilter::Kunnat(&kunnat), 3, |p| {
        !p.has_turvakielto() && p.group(GroupName::VakinainenKotimainenOsoite).is_some()
    })?;
    if let Some(p) = leaving.last() {
        let to = address("Mannerheimintie", "00100", "HELSINKI", KuntaCode::parse("091")?, day);
        store.append(&[ev(p, EventKind::MoveToMunicipality { osoite: to, kotikunta: kotikunta("091")? })])?;
        done.push("a move out of the county".to_string());
    }
    let helsinki = [KuntaCode::parse("091")?].into_iter().collect();
    let arriving = living(store, PersonFilter::Kunnat(&helsinki), 1, |p| !p.has_turvakielto())?;
    if let Some(p) = arriving.first() {
        let to = address("Kauppakatu", "40100", "JYVÄSKYLÄ", KuntaCode::parse("179")?, day);
        store.append(&[ev(p, EventKind::MoveToMunicipality { osoite: to, kotikunta: kotikunta("179")? })])?;
        done.push("a move into the county".to_string());
    }
    Ok(done)
}
