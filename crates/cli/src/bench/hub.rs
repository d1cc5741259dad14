//! `vtj bench --hub`: a county hub's figures. The service (upstream) and
//! the hub's `vtj serve` are pinned to CPU 0 (upstream idle while the hub serves); `vtj hub follow` and
//! the internal systems' `vtj sync` run on CPU 1. The hub follows the
//! whole country's permit; sixteen internal systems each follow one
//! wellbeing services county under a sub-permit, all at once.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;
use serde::Deserialize;
use time::{Date, Month};
use vtj_api::admin::{self, PermitSpec};
use vtj_store::Store;

use super::measure::pin_child;
use super::{run_child, server_config, thousands, whole_country, Bench, Server, SyncOut, Table, PERMIT, RECIPIENT};

/// Internal systems served at once.
const SYSTEMS: usize = 16;

#[derive(Deserialize)]
struct FollowOut {
    upstream: SyncOut,
    mirrored: Mirrored,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mirrored {
    changes: u64,
}

pub(super) fn run(bench: &Bench<'_>, table: &mut Table) -> Result<()> {
    let label = format!("hub {}", thousands(bench.persons));
    let (upstream_db, users, _) = bench.prepare()?;
    let token = &users[0].1;
    let upstream = Server::start(bench.exe, &upstream_db, true, bench.pinned, Some(&server_config(bench.dir)?))?;

    // The hub's store: the country permit as recorded, sixteen sub-permits.
    let hub_db = bench.dir.join(format!("hub-bench-{}.db", bench.persons));
    super::measure::remove_sqlite_files(&hub_db);
    let hub_register = bench.dir.join(format!("hub-bench-register-{}.db", bench.persons));
    super::measure::remove_sqlite_files(&hub_register);
    let counties: Vec<String> = {
        let mut regions: Vec<String> = vtj_core::kunta::kunnat().iter().map(|k| k.region.to_string()).collect();
        regions.sort();
        regions.dedup();
        regions.into_iter().take(SYSTEMS).collect()
    };
    anyhow::ensure!(counties.len() == SYSTEMS, "fewer than {SYSTEMS} wellbeing services counties");
    let mut passwords = Vec::new();
    {
        let mut hub = vtj_store::SqliteStore::open(&hub_db)?;
        let start = Date::from_calendar_date(2026, Month::January, 1)?;
        admin::add_recipient(&mut hub, RECIPIENT, "benchmark recipient")?;
        admin::add_permit(&mut hub, &PermitSpec::whole_country(PERMIT, RECIPIENT, "benchmark", start))?;
        for (i, county) in counties.iter().enumerate() {
            let tunnus = format!("SISAINEN-{i}");
            admin::add_recipient(&mut hub, &tunnus, "internal system")?;
            admin::add_permit(
                &mut hub,
                &PermitSpec {
                    tunnus: tunnus.clone(),
                    luvansaaja: tunnus.clone(),
                    kunnat: vec![],
                    hyvinvointialueet: vec![county.clone()],
                    ylalupa: Some(PERMIT.into()),
                    ..PermitSpec::whole_country(&tunnus, &tunnus, "benchmark", start)
                },
            )?;
            passwords.push(admin::add_user(&mut hub, &tunnus, &tunnus.to_lowercase())?);
        }
        hub.set_meta(vtj_api::BENCHMARK_META, "1")?;
    }
    let hub_db = hub_db.display().to_string();
    let follow = |base: &str| {
        let mut cmd = Command::new(bench.exe);
        cmd.args(["hub", "follow", "--db", &hub_db, "--ylalupa", PERMIT, "--json", "--user", super::USER])
            .args(["--service", &format!("{base}/api/v1"), "--kunnat", &whole_country()])
            .arg("--register")
            .arg(&hub_register)
            .env("VTJ_PASSWORD", token);
        if bench.pinned {
            pin_child(&mut cmd, 1);
        }
        run_child::<FollowOut>(cmd, "vtj hub follow")
    };
    let loaded = follow(&upstream.base)?;
    table.row(
        &label,
        "hub follows: initial load",
        &format!(
            "{:.0} persons/s ({} persons, {} mirrored, {:.1} s)",
            loaded.out.upstream.persons_loaded as f64 / loaded.seconds,
            loaded.out.upstream.persons_loaded,
            loaded.out.mirrored.changes,
            loaded.seconds
        ),
        "",
    );
    let (events, _) = bench.simulate(&upstream_db)?;
    let caught = follow(&upstream.base)?;
    table.row(
        &label,
        "hub follows: changes",
        &format!(
            "{:.0} changes/s ({} upstream changes of {events} events, {} mirrored, {:.1} s)",
            caught.out.upstream.changes_applied as f64 / caught.seconds,
            caught.out.upstream.changes_applied,
            caught.out.mirrored.changes,
            caught.seconds
        ),
        "",
    );
    table.row(&label, "  vtj hub follow peak RSS", &format!("{} MiB", loaded.rss_kib.max(caught.rss_kib) >> 10), "");
    // Upstream stays up (idle while the hub serves): the hub's register is
    // bound to its address.

    // Sixteen systems load and catch up from the hub at once.
    let hub = Server::start(bench.exe, &hub_db, true, bench.pinned, Some(&server_config(bench.dir)?))?;
    let systems = |round: &str| -> Result<(u64, u64, f64, u64)> {
        let started = Instant::now();
        let mut children = Vec::new();
        for (i, county) in counties.iter().enumerate() {
            let register = bench.dir.join(format!("hub-bench-system-{i}.db"));
            if round == "load" {
                super::measure::remove_sqlite_files(&register);
            }
            let kunnat: Vec<String> = vtj_core::kunta::region_kunnat(county)?.iter().map(|k| k.to_string()).collect();
            let mut cmd = Command::new(bench.exe);
            cmd.args(["sync", "--json", "--user", &format!("sisainen-{i}"), "--kunnat", &kunnat.join(",")])
                .args(["--service", &format!("{}/api/v1", hub.base)])
                .arg("--register")
                .arg(&register)
                .env("VTJ_PASSWORD", &passwords[i]);
            if bench.pinned {
                pin_child(&mut cmd, 1);
            }
            children.push(std::thread::spawn(move || run_child::<SyncOut>(cmd, "vtj sync")));
        }
        let (mut persons, mut changes, mut rss) = (0, 0, 0);
        for c in children {
            let run = c.join().map_err(|_| anyhow::anyhow!("a system's thread panicked"))??;
            persons += run.out.persons_loaded;
            changes += run.out.changes_applied;
            rss = rss.max(run.rss_kib);
        }
        Ok((persons, changes, started.elapsed().as_secs_f64(), rss))
    };
    let (persons, _, seconds, _) = systems("load")?;
    table.row(
        &label,
        &format!("hub serves {SYSTEMS} systems: initial data"),
        &format!("{:.0} persons/s ({persons} persons in {seconds:.1} s)", persons as f64 / seconds),
        "",
    );
    // More life upstream, followed and then served to every system.
    bench.simulate(&upstream_db)?;
    let again = follow(&upstream.base)?;
    upstream.stop()?;
    let (_, changes, seconds, rss) = systems("changes")?;
    table.row(
        &label,
        &format!("hub serves {SYSTEMS} systems: changes"),
        &format!(
            "{:.0} changes/s ({changes} changes of {} mirrored, in {seconds:.1} s)",
            changes as f64 / seconds,
            again.out.mirrored.changes
        ),
        "",
    );
    table.row(&label, "  one system's vtj sync peak RSS", &format!("{} MiB", rss >> 10), "");
    let served_rss = hub.stop()?;
    table.row(&label, "  hub's vtj serve peak RSS", &format!("{} MiB", served_rss >> 10), "");
    Ok(())
}
