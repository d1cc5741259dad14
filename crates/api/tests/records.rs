//! The service writes its pages straight from the core's values
//! (`PersonRecordView`, `ChangeRecordView`); recipients read them as
//! DVV's records. Every page of a simulated population's initial data
//! and changes, under permits that disclose differently (censoring or
//! not, a narrow product, a narrow area), must be byte for byte the JSON
//! of the records `person_record` and `change_record` build.

use time::{Date, Month};
use vtj_api::admin::{self, PermitSpec};
use vtj_core::{Disclosure, Scope};
use vtj_disclose::pages::{area_page, changes};
use vtj_disclose::{Limits, LogCache};
use vtj_sim::{GenerateConfig, SimulateConfig};
use vtj_store::{SqliteStore, Store};
use vtj_wire::{
    change_record, person_record, ChangeRecordView, MuutoksetResponse, PersonRecordView, PerustiedotVkoResponse,
};

fn permits(start: Date) -> Vec<PermitSpec> {
    let whole = |tunnus: &str| PermitSpec::whole_country(tunnus, "R", "test", start);
    let cities = vtj_core::kunta::kunnat().iter().filter(|k| k.residents >= 20_000).map(|k| k.code.to_string());
    vec![
        whole("KOKO"),
        PermitSpec { turvakielto_oikeus: true, ..whole("KOKO-TK") },
        PermitSpec {
            ryhmat: Some(
                ["HENKILON_NIMI", "KOTIKUNTA", "VAKINAINEN_KOTIMAINEN_OSOITE", "TURVAKIELTO"]
                    .map(String::from)
                    .to_vec(),
            ),
            ..whole("SUPPEA")
        },
        PermitSpec { kunnat: cities.collect(), ..whole("KAUPUNGIT") },
    ]
}

#[test]
fn pages_written_from_the_values_are_the_records_json() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let start = Date::from_calendar_date(2026, Month::January, 1).unwrap();
    vtj_sim::generate(&mut store, &GenerateConfig { persons: 1_500, seed: 11, date: start }, &mut |_| {}).unwrap();
    vtj_sim::simulate(&mut store, &SimulateConfig { days: 20, intensity: 60.0 }, &mut |_| {}).unwrap();
    admin::add_recipient(&mut store, "R", "test").unwrap();
    let specs = permits(start);
    for spec in &specs {
        admin::add_permit(&mut store, spec).unwrap();
    }
    let limits = Limits { page: 300, vko_page: 400, ..Limits::default() };
    let today = Date::from_calendar_date(2026, Month::June, 1).unwrap();
    let log = LogCache::disabled();
    let (mut persons, mut records, mut kinds) = (0, 0, [0usize; 3]);
    for spec in &specs {
        let permit = store.permit(&spec.tunnus).unwrap().unwrap();
        let Scope::Kuntarajaus { kunnat } = &permit.rajaus else { panic!("an area permit") };
        let mut next = None;
        loop {
            let (page, _) = area_page(&store, &permit, kunnat, next.as_deref(), &limits, today).unwrap();
            let built = PerustiedotVkoResponse {
                perustiedot: page.persons.iter().map(|p| person_record(p.hetu.as_str(), &p.groups)).collect::<Vec<_>>(),
                ajan_tasalla: page.next.is_none(),
                viimeisin_kirjausavain: Some(page.snapshot),
                jatkoavain: page.next.clone(),
            };
            let views: Vec<_> = page
                .persons
                .iter()
                .map(|p| PersonRecordView { henkilotunnus: p.hetu.as_str(), groups: &p.groups })
                .collect();
            let viewed = PerustiedotVkoResponse {
                perustiedot: views,
                ajan_tasalla: built.ajan_tasalla,
                viimeisin_kirjausavain: built.viimeisin_kirjausavain,
                jatkoavain: built.jatkoavain.clone(),
            };
            assert_eq!(
                serde_json::to_string(&viewed).unwrap(),
                serde_json::to_string(&built).unwrap(),
                "{}",
                spec.tunnus
            );
            persons += page.persons.len();
            match page.next {
                Some(n) => next = Some(n),
                None => break,
            }
        }
        let mut after = 0;
        loop {
            let (page, _) = changes(&store, &log, &permit, after, None, None, &limits, today).unwrap();
            let built = MuutoksetResponse {
                viimeisin_kirjausavain: page.last,
                muutokset: page
                    .changes
                    .iter()
                    .filter_map(|c| change_record(c.hetu.as_str(), c.registered, &c.disclosure))
                    .collect::<Vec<_>>(),
                ajan_tasalla: page.up_to_date,
            };
            let viewed = MuutoksetResponse {
                viimeisin_kirjausavain: page.last,
                muutokset: page
                    .changes
                    .iter()
                    .filter_map(|c| ChangeRecordView::new(c.hetu.as_str(), c.registered, &c.disclosure))
                    .collect::<Vec<_>>(),
                ajan_tasalla: page.up_to_date,
            };
            assert_eq!(
                serde_json::to_string(&viewed).unwrap(),
                serde_json::to_string(&built).unwrap(),
                "{}",
                spec.tunnus
            );
            records += built.muutokset.len();
            for c in &page.changes {
                match c.disclosure {
                    Disclosure::Enter(_) => kinds[0] += 1,
                    Disclosure::Change(_) => kinds[1] += 1,
                    Disclosure::Leave(_) => kinds[2] += 1,
                    Disclosure::Nothing => {}
                }
            }
            if page.up_to_date {
                break;
            }
            after = page.last;
        }
    }
    // The comparison saw every kind of record, not a few empty pages.
    assert!(persons > 2_000 && records > 5_000, "{persons} persons, {records} change records");
    assert!(kinds.iter().all(|&k| k > 0), "entering, changing, leaving: {kinds:?}");
}
