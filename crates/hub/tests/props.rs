//! The hub's property, end to end: for random histories and random
//! sub-permits, an internal system's register equals its sub-permit's
//! projection of the hub after every sync, with the hub following
//! upstream while the system syncs; the hub's register is upstream's
//! projection and its store the register's mirror. With the core's
//! property (`render_props`: the sub-permit's projection of the mirror is
//! what it should hold of the true person), the internal register is the
//! projection of the upstream-visible data through the sub-permit.

use std::collections::BTreeSet;

use common::{assert_store_mirrors_register, client_of, follow, hub_at, serve_hub};
use proptest::prelude::*;
use time::Month;
use vtj_api::admin::{self, PermitSpec};
use vtj_core::{Event, EventKind, GroupName, Hetu, VtjDate};
use vtj_store::{SqliteStore, Store};
use vtj_sync::Register;
use vtj_testkit::*;

mod common;

/// The internal system's sub-permit: some of upstream's groups, part of its
/// area or a hetu list, the right only where upstream has it.
fn sub_permit(upstream_right: bool, group_bits: u128, kunta_bits: u64, hetu_list: bool, right: bool) -> PermitSpec {
    let mut groups: Vec<String> = GroupName::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| group_bits & (1 << i) != 0)
        .map(|(_, g)| g.as_str().to_string())
        .collect();
    // A sub-permit always carries the name and, as its upstream does, the corrections.
    groups.extend(["HENKILON_NIMI".into(), "HENKILOTUNNUS_KORJAUS".into()]);
    let area: Vec<String> =
        area_of(KS).into_iter().enumerate().filter(|(i, _)| kunta_bits & (1 << i) != 0).map(|(_, k)| k).collect();
    let area = if area.is_empty() { area_of(KS).into_iter().take(3).collect() } else { area };
    PermitSpec {
        tunnus: "SISAINEN".into(),
        luvansaaja: "SISAINEN".into(),
        kayttotarkoitus: "sisäinen järjestelmä".into(),
        tuote: "SISAINEN".into(),
        ryhmat: Some(groups),
        kunnat: if hetu_list { vec![] } else { area },
        hyvinvointialueet: vec![],
        hetulista: hetu_list,
        turvakielto_oikeus: right && upstream_right,
        alkaen: day(2026, Month::January, 1),
        asti: None,
        ylalupa: Some(if upstream_right { KS_TK } else { KS }.into()),
    }
}

fn toggle_turvakielto(s: &mut SqliteStore, hub_reg: &mut Register, seed: u64) {
    let day = match VtjDate::parse(&s.meta(vtj_sim::generate::META_DATE).unwrap().unwrap()).unwrap() {
        VtjDate::Full(d) => d,
        other => panic!("{other}"),
    };
    for hetu in hub_reg.snapshot().unwrap().keys().step_by(5 + (seed % 7) as usize) {
        let p = s.person_by_hetu(Hetu::parse(hetu).unwrap()).unwrap().unwrap();
        if p.is_dead() {
            continue;
        }
        let tapahtuma = if p.has_turvakielto() {
            EventKind::TurvakieltoEnd
        } else {
            EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite }
        };
        s.append(&[Event { person: p.id, rekisterointipaiva: day, tapahtuma }]).unwrap();
    }
}

fn assert_chain(
    h: &Harness,
    upstream: &str,
    hub_reg: &mut Register,
    hub: &SqliteStore,
    reg: &mut Register,
    list: &[Hetu],
) {
    let s = h.store();
    let expected = projection(&s, &s.permit(upstream).unwrap().unwrap(), &[], today()).persons;
    assert!(hub_reg.snapshot().unwrap() == expected, "the hub's register is upstream's projection");
    assert_store_mirrors_register(hub_reg, hub);
    let permit = hub.permit("SISAINEN").unwrap().unwrap();
    let expected = projection(hub, &permit, list, today()).persons;
    let held = reg.snapshot().unwrap();
    let differing: Vec<_> = expected.keys().chain(held.keys()).filter(|k| expected.get(*k) != held.get(*k)).collect();
    assert!(differing.is_empty(), "{} persons differ, e.g. {:?}", differing.len(), differing.first());
}

/// One history: upstream with or without the right, a sub-permit from the
/// bits, rounds of days; the chain checked after every sync.
fn history(
    seed: u64,
    upstream_right: bool,
    group_bits: u128,
    kunta_bits: u64,
    hetu_list: bool,
    right: bool,
    rounds: Vec<u32>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let h = start(Options {
            persons: 2_500,
            days: 1,
            seed,
            config: |c| {
                c.rate_per_second = 1e6;
                (c.limits.page, c.limits.vko_page) = (37, 53);
            },
        })
        .await;
        let upstream = if upstream_right { KS_TK } else { KS };
        let dir = tempfile::tempdir().unwrap();
        let (mut hub_reg, mut hub) = hub_at(&h, dir.path(), upstream);
        admin::add_recipient(&mut hub, "SISAINEN", "sisäinen järjestelmä").unwrap();
        admin::add_permit(&mut hub, &sub_permit(upstream_right, group_bits, kunta_bits, hetu_list, right)).unwrap();
        let password = admin::add_user(&mut hub, "SISAINEN", "sisainen").unwrap();
        follow(&h, upstream, &mut hub_reg, &mut hub).await;
        let base = serve_hub(&dir.path().join("hub.db"), |c| (c.limits.page, c.limits.vko_page) = (29, 41)).await;
        let internal = client_of(&base, "sisainen", &password);
        let mut reg = Register::open(&dir.path().join("internal.db")).unwrap();
        let permit = hub.permit("SISAINEN").unwrap().unwrap();
        let (listed, area): (Vec<String>, Option<BTreeSet<String>>) = match &permit.rajaus {
            vtj_core::Scope::Hetulista => {
                let hetus: Vec<String> = hub_reg.snapshot().unwrap().into_keys().step_by(9).collect();
                vtj_sync::list_add(&internal, &mut reg, &hetus, 10).await.unwrap();
                (hetus, None)
            }
            vtj_core::Scope::Kuntarajaus { kunnat } => {
                (Vec::new(), Some(kunnat.iter().map(|k| k.to_string()).collect()))
            }
        };
        vtj_sync::sync(&internal, &mut reg, area, &mut |_| {}).await.unwrap();
        let list = |reg: &mut Register| -> Vec<Hetu> {
            let members: Vec<String> = reg.buckets().unwrap().into_iter().flat_map(|b| b.members).collect();
            members.iter().chain(&listed).map(|x| Hetu::parse(x).unwrap()).collect()
        };
        let l = list(&mut reg);
        assert_chain(&h, upstream, &mut hub_reg, &hub, &mut reg, &l);

        let mut writer = h.store();
        for days in rounds {
            simulate(&mut writer, days);
            toggle_turvakielto(&mut writer, &mut hub_reg, seed);
            // The hub follows while the system syncs from it.
            let mut quiet = |_| {};
            let (_, synced) = tokio::join!(
                follow(&h, upstream, &mut hub_reg, &mut hub),
                vtj_sync::sync(&internal, &mut reg, None, &mut quiet),
            );
            synced.unwrap();
            // The system's next sync takes what the hub mirrored meanwhile.
            vtj_sync::sync(&internal, &mut reg, None, &mut |_| {}).await.unwrap();
            let l = list(&mut reg);
            assert_chain(&h, upstream, &mut hub_reg, &hub, &mut reg, &l);
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn internal_registers_are_the_sub_permits_projection_while_the_hub_follows(
        seed in 0u64..10_000,
        upstream_right in any::<bool>(),
        (group_bits, kunta_bits) in any::<(u128, u64)>(),
        (hetu_list, right) in any::<(bool, bool)>(),
        rounds in prop::collection::vec(1u32..4, 1..4),
    ) {
        history(seed, upstream_right, group_bits, kunta_bits, hetu_list, right, rounds);
    }
}

/// A case the property found.
#[test]
fn a_listed_history_found_by_the_property() {
    history(7218, false, 280999285018822725661623882833199354146, 17323823792853891540, true, false, vec![1, 3]);
}
