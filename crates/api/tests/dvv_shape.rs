//! This service's answers have the shape of DVV's, as the answer captured
//! from DVV's sandbox shows it (`perustiedot-response-ok.json`, read from
//! the shared conformance folder; not in this repository):
//! - persons of the capture, recreated here, come back group for group and
//!   field for field as DVV wrote them, and censored as DVV censors;
//! - over a month of answers of every kind, no group uses a field, nested
//!   or not, that the capture does not have for that group, nor a value of
//!   another JSON type (groups the capture lacks are this project's own).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use time::Month;
use vtj_api::admin::{self, PermitSpec};
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, PersonId, VtjDate};
use vtj_store::{PersonFilter, Store};
use vtj_testkit::*;
use vtj_wire::Group;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every path below a group object, with the JSON type at it.
fn paths(prefix: &str, v: &Value, out: &mut BTreeSet<(String, &'static str)>) {
    out.insert((prefix.to_string(), kind(v)));
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| paths(&format!("{prefix}.{k}"), v, out)),
        Value::Array(a) => a.iter().for_each(|v| paths(&format!("{prefix}[]"), v, out)),
        _ => {}
    }
}

/// What DVV's capture allows per group: the paths it shows, the fields it
/// names as censored (anything may be below those), and the fields DVV's
/// material shows on changes and censoring.
struct Shapes {
    paths: BTreeMap<String, BTreeSet<(String, &'static str)>>,
    censored_only: BTreeMap<String, BTreeSet<String>>,
}

impl Shapes {
    fn from_capture(capture: &Value) -> Shapes {
        let mut s = Shapes { paths: BTreeMap::new(), censored_only: BTreeMap::new() };
        for p in capture["perustiedot"].as_array().unwrap() {
            for g in p["tietoryhmat"].as_array().unwrap() {
                let name = g["tietoryhma"].as_str().unwrap().to_string();
                let set = s.paths.entry(name.clone()).or_default();
                for (k, v) in g.as_object().unwrap() {
                    paths(k, v, set);
                }
                for f in g.get("turvakiellonAlaisetKentat").and_then(Value::as_array).into_iter().flatten() {
                    s.censored_only.entry(name.clone()).or_default().insert(f.as_str().unwrap().to_string());
                }
            }
        }
        // The capture's lists of earlier hetus are all empty; DVV's material
        // shows them holding hetus (strings).
        if let Some(set) = s.paths.get_mut("HENKILOTUNNUS_KORJAUS") {
            set.insert(("edellisetHenkilotunnukset[]".to_string(), "string"));
        }
        // This project's own fields (README, "this project's choices"): when
        // and how a marriage or partnership ended; DVV's answer shows no
        // ended one.
        for group in ["AVIOLIITTO", "REKISTEROITY_PARISUHDE"] {
            s.paths.entry(group.to_string()).or_default().extend([
                ("purkautumispv".to_string(), "object"),
                ("purkautumispv.arvo".to_string(), "string"),
                ("purkautumispv.tarkkuus".to_string(), "string"),
                ("purkautumistapa".to_string(), "string"),
            ]);
        }
        for set in s.paths.values_mut() {
            set.extend([
                ("muutosattribuutti".to_string(), "string"),
                ("voimassaolevatTiedot".to_string(), "array"),
                ("turvakiellonAlaisetKentat".to_string(), "array"),
                ("turvakiellonAlaisetKentat[]".to_string(), "string"),
            ]);
        }
        s
    }

    /// The fields of `g` the capture does not allow for its group; `None`
    /// for a group the capture does not have.
    fn strangers(&self, g: &Value) -> Option<Vec<(String, &'static str)>> {
        let name = g["tietoryhma"].as_str().unwrap();
        let allowed = self.paths.get(name)?;
        let free = self.censored_only.get(name);
        let mut found = BTreeSet::new();
        for (k, v) in g.as_object().unwrap() {
            paths(k, v, &mut found);
        }
        Some(
            found
                .into_iter()
                .filter(|p| !allowed.contains(p))
                .filter(|(p, _)| !free.is_some_and(|f| f.iter().any(|c| p == c || p.starts_with(&format!("{c}.")))))
                .collect(),
        )
    }
}

/// Per group name, the instances in order.
fn by_group<'a>(groups: impl Iterator<Item = &'a Value>) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for g in groups {
        out.entry(g["tietoryhma"].as_str().unwrap().to_string()).or_default().push(g.clone());
    }
    out
}

fn modelled(name: &str) -> bool {
    GroupName::parse(name).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_persons_come_back_as_dvv_wrote_them() {
    let Some(bytes) = dvv_capture() else { return };
    let capture: Value = serde_json::from_slice(&bytes).unwrap();
    // No simulated days: the capture's persons join the generated
    // population as a population, the way a register is first loaded (their
    // relatives outside the capture are not here to hold the other sides).
    let h = start(Options { persons: 1_000, days: 0, ..Options::default() }).await;
    let mut s = h.store();
    let mut p = PermitSpec::whole_country("KAIKKI", "KSHVA", "vertailu", day(2026, Month::January, 1));
    (p.tuote, p.kunnat, p.hetulista, p.turvakielto_oikeus) = ("LAAJAT".into(), vec![], true, true);
    admin::add_permit(&mut s, &p).unwrap();
    let password = admin::add_user(&mut s, "KAIKKI", "kaikki").unwrap();

    // Each person of the capture who can be born here (a name, a sex and a
    // home municipality in clear) is born with their groups as DVV gave them.
    let mut recreated = Vec::new();
    let mut population = Vec::new();
    let mut next = s.max_person_id().unwrap().0;
    for person in capture["perustiedot"].as_array().unwrap() {
        let hetu = Hetu::parse(person["henkilotunnus"].as_str().unwrap()).unwrap();
        let groups: Vec<GroupValue> = person["tietoryhmat"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| serde_json::from_value::<Group>(g.clone()).unwrap().typed())
            .collect();
        let has = |n: GroupName| groups.iter().any(|g| g.name() == n);
        if !(has(GroupName::HenkilonNimi) && has(GroupName::Sukupuoli) && has(GroupName::Kotikunta))
            || s.hetu_exists(hetu).unwrap()
        {
            continue;
        }
        next += 1;
        let birth = EventKind::Birth { henkilotunnus: hetu, ryhmat: groups };
        let born = vtj_core::apply(
            None,
            &Event { person: PersonId(next), rekisterointipaiva: day(2026, Month::January, 2), tapahtuma: birth },
        )
        .unwrap();
        population.push(born);
        recreated.push(person.clone());
    }
    s.insert_population(&population).unwrap();
    assert!(recreated.len() >= 5, "{} persons of the capture recreated", recreated.len());

    let hetus: Vec<&str> = recreated.iter().map(|p| p["henkilotunnus"].as_str().unwrap()).collect();
    let (st, body) =
        h.post_as("kaikki", &password, "/perustiedot", serde_json::to_vec(&json!({"hetulista": hetus})).unwrap()).await;
    assert_eq!(st, reqwest::StatusCode::OK);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    let answered = answer["perustiedot"].as_array().unwrap();
    assert_eq!(answered.len(), recreated.len());
    for (ours, dvv) in answered.iter().zip(&recreated) {
        let dvv_modelled = by_group(
            dvv["tietoryhmat"].as_array().unwrap().iter().filter(|g| modelled(g["tietoryhma"].as_str().unwrap())),
        );
        let ours = by_group(ours["tietoryhmat"].as_array().unwrap().iter());
        assert_eq!(ours, dvv_modelled, "{}", dvv["henkilotunnus"]);
    }

    // Censored as DVV censors: a recreated person under turvakielto, asked
    // by a permit without the right, gets each location group in the very
    // form of the capture's protected persons.
    let dvv_censored: BTreeMap<String, Value> = capture["perustiedot"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["tietoryhmat"].as_array().unwrap())
        .filter(|g| g.get("turvakiellonAlaisetKentat").is_some())
        .map(|g| (g["tietoryhma"].as_str().unwrap().to_string(), g.clone()))
        .collect();
    let someone = s.person_by_hetu(Hetu::parse(hetus[0]).unwrap()).unwrap().unwrap();
    s.append(&[Event {
        person: someone.id,
        rekisterointipaiva: day(2026, Month::January, 3),
        tapahtuma: EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite },
    }])
    .unwrap();
    let (_, body) = h.post(LIST, "/perustiedot", &json!({"hetulista": [hetus[0]]})).await;
    let answer: Value = serde_json::from_slice(&body).unwrap();
    let mut censored = 0;
    for g in answer["perustiedot"][0]["tietoryhmat"].as_array().unwrap() {
        let name = g["tietoryhma"].as_str().unwrap();
        if GroupName::parse(name).unwrap().is_censored_under_turvakielto() {
            assert_eq!(g, &dvv_censored[name], "{name}");
            censored += 1;
        }
    }
    // Every location group of the list permit's product (ASREK), whether
    // or not the person has it.
    let asrek = vtj_core::Product::builtin("ASREK").unwrap();
    let expected = GroupName::CENSORED_UNDER_TURVAKIELTO.iter().filter(|g| asrek.tietoryhmat.contains(g)).count();
    assert_eq!(censored, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_uses_a_field_dvv_does_not_have() {
    let Some(bytes) = dvv_capture() else { return };
    let shapes = Shapes::from_capture(&serde_json::from_slice(&bytes).unwrap());
    let h = start(Options { persons: 4_000, days: 2, seed: 5, config: |c| c.rate_per_second = 1e6 }).await;
    let mut s = h.store();
    let mut records: Vec<Value> = Vec::new();
    let start_cursor = s.last_cursor().unwrap().0;

    // Current data of every kind of permit, protected persons included.
    for permit in [KS, KS_TK] {
        let (reg, _) = h.initial_load(permit, || {}).await;
        assert!(!reg.persons.is_empty());
        records.extend(reg.persons.iter().map(|(hetu, held)| json!({"henkilotunnus": hetu, "tietoryhmat": held})));
    }
    let everyone: Vec<String> = s
        .persons(PersonFilter::All, PersonId(0), 100_000)
        .unwrap()
        .iter()
        .filter(|p| p.has_turvakielto() || p.id.0 % 4 == 0)
        .take(1_000)
        .map(|p| p.hetu().to_string())
        .collect();
    let (_, body) = h.post(LIST, "/perustiedot", &json!({"hetulista": everyone})).await;
    records.extend(serde_json::from_slice::<Value>(&body).unwrap()["perustiedot"].as_array().unwrap().iter().cloned());

    // A month of changes of every kind to every kind of permit.
    simulate(&mut s, 30);
    for permit in [KS, KS_TK, HEL, LIST] {
        let mut cursor = start_cursor;
        loop {
            let mut ask = json!({"viimeisinKirjausavain": cursor});
            if permit == LIST {
                ask["hetulista"] = json!(everyone);
            }
            let (_, body) = h.post(permit, "/muutokset", &ask).await;
            let page: Value = serde_json::from_slice(&body).unwrap();
            records.extend(page["muutokset"].as_array().unwrap().iter().cloned());
            cursor = page["viimeisinKirjausavain"].as_i64().unwrap();
            if page["ajanTasalla"] == true {
                break;
            }
        }
    }

    let record_fields: BTreeSet<&str> = ["henkilotunnus", "tietoryhmat", "muutospv", "poistuuRajauksesta"].into();
    let mut checked: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        for k in r.as_object().unwrap().keys() {
            assert!(record_fields.contains(k.as_str()), "a record field {k:?}");
        }
        for g in r["tietoryhmat"].as_array().unwrap() {
            let name = g["tietoryhma"].as_str().unwrap().to_string();
            match shapes.strangers(g) {
                Some(strangers) => {
                    assert!(strangers.is_empty(), "{name}: {strangers:?} are not DVV's, in {g}");
                    *checked.entry(name).or_default() += 1;
                }
                None => assert!(
                    ["EDUNVALVONTA", "EDUNVALVONTAVALTUUTUS", "KOTIMAINEN_YHTEYSOSOITE", "ULKOMAINEN_YHTEYSOSOITE"]
                        .contains(&name.as_str()),
                    "{name} is neither in the capture nor one of this project's own"
                ),
            }
        }
    }
    // The simulator makes 36 of the capture's groups (families included).
    assert!(checked.len() >= 30, "only {} groups checked: {checked:?}", checked.len());
    assert!(records.len() > 2_000, "{} records", records.len());
}
