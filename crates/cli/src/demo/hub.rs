//! `vtj demo --hub`: the main job through a county hub. The service plays
//! DVV; the wellbeing services county's hub follows it once under the
//! county's permit and serves two of the county's systems under sub-permits
//! (the service-voucher system for one municipality, a client register
//! with its own hetu list); life goes on (turvakielto, moves across the
//! county border); and every link is checked: the hub's register against
//! the county permit's projection, the hub's store against its register,
//! each internal register against its sub-permit's projection of the hub.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use time::Date;
use vtj_api::admin::{self, PermitSpec};
use vtj_core::hub::{held, mirror};
use vtj_core::{Hetu, PersonId};
use vtj_store::{AuditLog, PersonFilter, SqliteStore, Store};
use vtj_sync::Register;

use super::{
    client, county_permit, differing, expected_register, pick_customers, report, scripted_events, serve, COUNTY,
    COUNTY_PERMIT,
};
use crate::client::run_once;

const HUB_USER: &str = "kshva-keskitin";
const VOUCHERS: &str = "KS-PSOP-JKL";
const CLIENTS: &str = "KS-ASIAKAS";

pub(super) fn run(args: super::DemoArgs) -> Result<()> {
    let started = Instant::now();
    let (dir, _tmp, db, mut store, start) = super::population(&args)?;

    // Upstream ("DVV"): the county's permit and its one connection.
    let county = county_permit(start, "hyvinvointialueen asiakas- ja potilasrekisterit");
    admin::add_recipient(&mut store, "KSHVA", "Keski-Suomen hyvinvointialue")?;
    admin::add_permit(&mut store, &county)?;
    let hub_password = admin::add_user(&mut store, COUNTY_PERMIT, HUB_USER)?;
    let rt = tokio::runtime::Runtime::new()?;
    let upstream_key = crate::audit::write_key(&dir.join("audit.key"), "vtj-demo/audit")?;
    let upstream = serve(&rt, &db, upstream_key)?;
    println!("service (upstream) on {upstream}");

    // The hub's store: the county's permit as decided, and sub-permits under it.
    let hub_db = dir.join("hub.db");
    let mut hub_store = SqliteStore::open(&hub_db)?;
    hub_store.begin_epoch(vtj_hub::epoch_base(time::OffsetDateTime::now_utc()))?;
    admin::add_recipient(&mut hub_store, "KSHVA", "Keski-Suomen hyvinvointialue")?;
    admin::add_permit(&mut hub_store, &county)?;
    admin::add_recipient(&mut hub_store, "PSOP", "Palvelusetelijärjestelmä")?;
    admin::add_recipient(&mut hub_store, "SOSIAALI", "Sosiaalihuollon asiakasrekisteri")?;
    let sub = |tunnus: &str, luvansaaja: &str, kayttotarkoitus: &str, ryhmat: &[&str]| PermitSpec {
        tunnus: tunnus.into(),
        luvansaaja: luvansaaja.into(),
        kayttotarkoitus: kayttotarkoitus.into(),
        tuote: tunnus.into(),
        ryhmat: Some(ryhmat.iter().map(|g| g.to_string()).collect()),
        hyvinvointialueet: vec![],
        ylalupa: Some(COUNTY_PERMIT.into()),
        ..county.clone()
    };
    let vouchers = PermitSpec {
        kunnat: vec!["179".into()],
        ..sub(
            VOUCHERS,
            "PSOP",
            "palvelusetelit Jyväskylässä",
            &[
                "HENKILON_NIMI",
                "HENKILOTUNNUS_KORJAUS",
                "AIDINKIELI",
                "ASIOINTIKIELI",
                "KUOLINPAIVA",
                "KOTIKUNTA",
                "VAKINAINEN_KOTIMAINEN_OSOITE",
            ],
        )
    };
    let clients = PermitSpec {
        hetulista: true,
        ..sub(
            CLIENTS,
            "SOSIAALI",
            "sosiaalihuollon asiakkuudet",
            &[
                "HENKILON_NIMI",
                "HENKILOTUNNUS_KORJAUS",
                "HUOLTAJA",
                "HUOLLETTAVA",
                "KOTIKUNTA",
                "VAKINAINEN_KOTIMAINEN_OSOITE",
            ],
        )
    };
    admin::add_permit(&mut hub_store, &vouchers)?;
    admin::add_permit(&mut hub_store, &clients)?;
    let wider = PermitSpec {
        tunnus: "KS-LAAJA".into(),
        kunnat: vec!["091".into()],
        turvakielto_oikeus: true,
        ..sub("KS-LAAJA", "SOSIAALI", "kaikki", &["HENKILON_NIMI", "USKONTOKUNTA"])
    };
    match admin::add_permit(&mut hub_store, &wider) {
        Ok(_) => bail!("a sub-permit wider than the county's permit was accepted"),
        Err(e) => println!("{:<34} refused, as it must be: {}", "a wider sub-permit", e.to_string().replace('\n', " ")),
    }
    let vouchers_password = admin::add_user(&mut hub_store, VOUCHERS, "psop-jkl")?;
    let clients_password = admin::add_user(&mut hub_store, CLIENTS, "sosiaali")?;

    // The hub follows upstream and mirrors into its store.
    let upstream_permit = hub_store.permit(COUNTY_PERMIT)?.context("the recorded permit")?;
    let mut hub_reg = Register::open(&dir.join("hub-register.db"))?;
    hub_reg.enable_outbox()?;
    let hub_client = client(&upstream, HUB_USER, &hub_password, None)?;
    let area: BTreeSet<String> = vtj_core::kunta::region_kunnat(COUNTY)?.iter().map(|k| k.to_string()).collect();
    let follow = |reg: &mut Register, hub: &mut SqliteStore, area| -> Result<()> {
        let r = rt.block_on(run_once(&hub_client, reg, area))?;
        report("hub follows upstream", &r);
        let p = vtj_hub::publish(reg, hub, &upstream_permit, today(), 5_000)?;
        println!(
            "{:<34} {} persons noted, {} changes in the hub's log (cursor {})",
            "hub mirrors",
            p.noted,
            p.events,
            hub.last_cursor()?
        );
        Ok(())
    };
    follow(&mut hub_reg, &mut hub_store, Some(area))?;
    let hub_key = crate::audit::write_key(&dir.join("hub-audit.key"), "vtj-demo/hub-audit")?;
    let hub = serve(&rt, &hub_db, hub_key)?;
    println!("hub serving the county's systems on {hub}");

    // The county's systems, with clients written for DVV, pointed at the hub.
    let (vouchers_client, clients_client) =
        (client(&hub, "psop-jkl", &vouchers_password, None)?, client(&hub, "sosiaali", &clients_password, None)?);
    let mut vouchers_reg = Register::open(&dir.join("psop-register.db"))?;
    let mut clients_reg = Register::open(&dir.join("sosiaali-register.db"))?;
    let jkl: BTreeSet<String> = ["179".to_string()].into();
    report("voucher system, initial load", &rt.block_on(run_once(&vouchers_client, &mut vouchers_reg, Some(jkl)))?);
    let customers = pick_customers(&store)?;
    let added =
        rt.block_on(vtj_sync::list_add(&clients_client, &mut clients_reg, &customers, vtj_sync::DEFAULT_BUCKET))?;
    println!("{:<34} {} hetus listed, {} persons loaded", "client register, hetu list", added.listed, added.found);

    // Life goes on upstream.
    let sim = vtj_sim::simulate(
        &mut store,
        &vtj_sim::SimulateConfig { days: args.days, intensity: args.intensity },
        &mut |_| {},
    )?;
    let scripted = scripted_events(&mut store, &customers)?;
    println!("{:<34} {} simulated events, plus: {}", "life goes on upstream", sim.events, scripted.join(", "));
    follow(&mut hub_reg, &mut hub_store, None)?;
    report("voucher system, catch-up", &rt.block_on(run_once(&vouchers_client, &mut vouchers_reg, None))?);
    report("client register, catch-up", &rt.block_on(run_once(&clients_client, &mut clients_reg, None))?);

    // Every link of the chain.
    let today = today();
    let listed: Vec<Hetu> = customers.iter().map(|h| Hetu::parse(h)).collect::<Result<_, _>>()?;
    let mut ok = true;
    let county_permit = store.permit(COUNTY_PERMIT)?.context("permit")?;
    let hub_held = hub_reg.snapshot()?;
    let n = differing(&hub_held, &expected_register(&store, &county_permit, &[], today)?);
    ok &= check("hub register", n, hub_held.len(), "the county permit's projection upstream");
    let mirrored = hub_held
        .iter()
        .filter(|(h, kept)| {
            let Ok(hetu) = Hetu::parse(h) else { return false };
            matches!(hub_store.person_by_hetu(hetu), Ok(Some(p))
                if mirror(p.id, hetu, vtj_hub::seen(kept, &mut 0)).is_ok_and(|m| m == p))
        })
        .count();
    let holding = hub_store.persons(PersonFilter::All, PersonId(0), usize::MAX)?.into_iter().filter(held).count();
    let n = hub_held.len() - mirrored + holding.abs_diff(hub_held.len());
    ok &= check("hub store", n, holding, "the mirror of the hub's register");
    for (name, reg, tunnus) in
        [("voucher system register", &mut vouchers_reg, VOUCHERS), ("client register", &mut clients_reg, CLIENTS)]
    {
        let permit = hub_store.permit(tunnus)?.context("sub-permit")?;
        let kept = reg.snapshot()?;
        let n = differing(&kept, &expected_register(&hub_store, &permit, &listed, today)?);
        ok &= check(name, n, kept.len(), "its sub-permit's projection of the hub");
    }
    let entries = hub_store.audit_entries(0, usize::MAX)?;
    let mut internal = 0;
    for e in &entries {
        let r: vtj_store::AuditRecord = serde_json::from_str(&e.data)?;
        let system = matches!(r.user.as_deref(), Some("psop-jkl" | "sosiaali"));
        if system && r.permit.is_some() && r.purpose.is_some() && r.recipient.is_some() {
            internal += 1;
        }
    }
    ok &= internal > 0;
    println!(
        "{:<34} {} entries, {internal} of them the systems' requests with system, sub-permit and purpose",
        "hub audit log",
        entries.len()
    );
    println!("demo finished in {:.1} s (databases in {})", started.elapsed().as_secs_f64(), dir.display());
    if !ok {
        bail!("a register differs from what its permit allows");
    }
    Ok(())
}

fn check(name: &str, differing: usize, persons: usize, against: &str) -> bool {
    if differing == 0 {
        println!("{name:<34} OK: {persons} persons, equal to {against}");
    } else {
        println!("{name:<34} MISMATCH: {differing} persons differ from {against}");
    }
    differing == 0
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}
