//! A client written only from DVV's public material, with generic HTTP and
//! JSON (none of this project's crates), against `vtj serve`: Basic and
//! `X-Road-Client`, `/kirjausavain/{date}`, `/perustiedot` in batches of
//! 1000, `/muutokset` until `ajanTasalla`. Over a simulated month with
//! turvakielto starting and ending, a hetu correction, a death and moves,
//! its register must equal what the permit allows. (The harness and the
//! reference use the project's crates; the client does not.)

use std::collections::BTreeMap;

use serde_json::{json, Value};
use time::Month;
use vtj_core::groups::{Kotikunta, KotimainenOsoite, Localized};
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, KuntaCode, Person, PersonId, VtjDate};
use vtj_store::{AuditLog, AuditRecord, PersonFilter, Store};
use vtj_testkit::*;

/// The client, as a municipality's system would have it.
mod dvv {
    use std::collections::BTreeMap;

    use serde_json::{json, Value};

    pub struct Client {
        pub http: reqwest::Client,
        pub base: String,
        pub user: String,
        pub password: String,
        pub xroad: String,
    }

    impl Client {
        async fn call(&self, req: reqwest::RequestBuilder) -> Value {
            let r = req
                .basic_auth(&self.user, Some(&self.password))
                .header("X-Road-Client", &self.xroad)
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json().await.unwrap()
        }

        pub async fn cursor_of(&self, day: &str) -> i64 {
            let v = self.call(self.http.get(format!("{}/kirjausavain/{day}", self.base))).await;
            v["viimeisinKirjausavain"].as_i64().unwrap()
        }

        /// The listed persons' data, at most 1000 hetus a call.
        pub async fn perustiedot(&self, hetus: &[String]) -> Vec<Value> {
            let mut out = Vec::new();
            for batch in hetus.chunks(1000) {
                let v = self
                    .call(self.http.post(format!("{}/perustiedot", self.base)).json(&json!({ "hetulista": batch })))
                    .await;
                out.extend(v["perustiedot"].as_array().unwrap().iter().cloned());
            }
            out
        }

        /// Changes after `cursor` until up to date; the new cursor.
        pub async fn muutokset(&self, mut cursor: i64, hetus: &[String], reg: &mut Register) -> i64 {
            loop {
                let body = json!({ "viimeisinKirjausavain": cursor, "hetulista": hetus });
                let v = self.call(self.http.post(format!("{}/muutokset", self.base)).json(&body)).await;
                for m in v["muutokset"].as_array().unwrap() {
                    reg.apply(m);
                }
                cursor = v["viimeisinKirjausavain"].as_i64().unwrap();
                if v["ajanTasalla"].as_bool().unwrap() {
                    return cursor;
                }
            }
        }
    }

    /// Per hetu, per group name, the group objects held; a corrected
    /// hetu is remembered, since records come under the hetu listed.
    #[derive(Default)]
    pub struct Register {
        pub persons: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
        pub list: Vec<String>,
        pub aliases: BTreeMap<String, String>,
    }

    fn stripped(g: &Value) -> Value {
        let mut g = g.clone();
        let o = g.as_object_mut().unwrap();
        o.remove("muutosattribuutti");
        o.remove("voimassaolevatTiedot");
        g
    }

    fn groups(record: &Value) -> BTreeMap<String, Vec<Value>> {
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for g in record["tietoryhmat"].as_array().unwrap() {
            out.entry(g["tietoryhma"].as_str().unwrap().to_string()).or_default().push(g.clone());
        }
        out
    }

    impl Register {
        pub fn put(&mut self, record: &Value) {
            let held = groups(record).into_iter().map(|(k, v)| (k, v.iter().map(stripped).collect())).collect();
            self.persons.insert(record["henkilotunnus"].as_str().unwrap().to_string(), held);
        }

        pub fn apply(&mut self, record: &Value) {
            let mut hetu = record["henkilotunnus"].as_str().unwrap().to_string();
            if let Some(now) = self.aliases.get(&hetu) {
                hetu = now.clone();
            }
            let changed = groups(record);
            // A corrected hetu: keep the person, and list, under the new one.
            for g in changed.get("HENKILOTUNNUS_KORJAUS").into_iter().flatten() {
                let active = g["aktiivinenHenkilotunnus"].as_str().unwrap().to_string();
                if g["voimassaolo"] == "AKTIIVI" && active != hetu {
                    if let Some(p) = self.persons.remove(&hetu) {
                        self.persons.insert(active.clone(), p);
                    }
                    for h in self.list.iter_mut().filter(|h| **h == hetu) {
                        *h = active.clone();
                    }
                    self.aliases.insert(hetu, active.clone());
                    hetu = active;
                }
            }
            let person = self.persons.entry(hetu).or_default();
            for (name, instances) in changed {
                let removed = instances.iter().any(|g| g["muutosattribuutti"] == "POISTETTU");
                let ended = name == "TURVAKIELTO" && instances.iter().any(|g| g["turvakieltoAktiivinen"] == false);
                if removed || ended {
                    person.remove(&name);
                } else {
                    person.insert(name, instances.iter().map(stripped).collect());
                }
            }
        }
    }
}

fn ev(p: &Person, tapahtuma: EventKind) -> Event {
    Event { person: p.id, rekisterointipaiva: day(2026, Month::February, 1), tapahtuma }
}

fn address(p: &Person, street: &str, kunta: &str) -> KotimainenOsoite {
    let Some(GroupValue::VakinainenKotimainenOsoite(a)) = p.group(GroupName::VakinainenKotimainenOsoite) else {
        unreachable!("chosen with an address")
    };
    KotimainenOsoite {
        katunimi: Localized::fi(street),
        kuntakoodi: Some(KuntaCode::parse(kunta).unwrap()),
        ..a.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_written_from_dvvs_material_works_unchanged() {
    let h = start(Options { persons: 8_000, days: 1, seed: 17, config: |c| c.rate_per_second = 1e6 }).await;
    let mut s = h.store();
    let living: Vec<Person> = s
        .persons(PersonFilter::All, PersonId(0), 100_000)
        .unwrap()
        .into_iter()
        .filter(|p| !p.is_dead() && p.group(GroupName::VakinainenKotimainenOsoite).is_some())
        .collect();
    // More than one batch of 1000.
    let listed: Vec<Person> = living.iter().step_by(5).take(1_400).cloned().collect();
    assert!(listed.len() > 1_000);
    let (user, password) = h.user(LIST);
    let client = dvv::Client {
        http: reqwest::Client::new(),
        base: h.api_base(),
        user: user.into(),
        password: password.into(),
        xroad: "FI/MUN/0000000-0/asiakasrekisteri".into(),
    };

    // The first day: the cursor of today, then everyone's data.
    let mut reg = dvv::Register { list: listed.iter().map(|p| p.hetu().to_string()).collect(), ..Default::default() };
    let today_iso = VtjDate::iso(today());
    let mut cursor = client.cursor_of(&today_iso).await;
    for p in client.perustiedot(&reg.list).await {
        reg.put(&p);
    }
    assert_eq!(reg.persons.len(), listed.len());

    // A month of life, and what the client must follow through.
    let unprotected: Vec<&Person> = listed.iter().filter(|p| !p.has_turvakielto()).collect();
    let [starts, ends_later, corrected, dies, moves, moves_away] =
        [0, 1, 2, 3, 4, 5].map(|i| unprotected[i * 7].clone());
    let at = |p: &Person, s: &vtj_store::SqliteStore| s.person(p.id).unwrap().unwrap();
    s.append(&[ev(&starts, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    s.append(&[ev(&ends_later, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
    simulate(&mut s, 10);
    cursor = client.muutokset(cursor, &reg.list.clone(), &mut reg).await;
    s.append(&[ev(&at(&ends_later, &s), EventKind::TurvakieltoEnd)]).unwrap();
    let sign = corrected.hetu().as_str().as_bytes()[6] as char;
    let new = (900..1000)
        .rev()
        .map(|n| Hetu::from_parts(corrected.hetu().birth_date(), sign, n).unwrap())
        .find(|x| !s.hetu_exists(*x).unwrap())
        .unwrap();
    let fix = hetu_correction(&s, &at(&corrected, &s), new, day(2026, Month::February, 1));
    s.append(&fix).unwrap();
    if !at(&dies, &s).is_dead() {
        let death = death(&s, &at(&dies, &s), day(2026, Month::February, 1));
        s.append(&death).unwrap();
    }
    let p = at(&moves, &s);
    if !p.is_dead() && p.kotikunta().is_some_and(|k| k.is_municipality()) {
        s.append(&[ev(
            &p,
            EventKind::MoveWithin { osoite: address(&p, "Uusikatu", &p.kotikunta().unwrap().to_string()) },
        )])
        .unwrap();
    }
    let p = at(&moves_away, &s);
    if !p.is_dead()
        && p.kotikunta() != Some(KuntaCode::parse("091").unwrap())
        && p.kotikunta().is_some_and(|k| k.is_municipality())
    {
        let kotikunta = Kotikunta { kuntakoodi: KuntaCode::parse("091").unwrap(), kuntaan_muuttopv: None };
        s.append(&[ev(&p, EventKind::MoveToMunicipality { osoite: address(&p, "Helsingintie", "091"), kotikunta })])
            .unwrap();
    }
    simulate(&mut s, 20);
    client.muutokset(cursor, &reg.list.clone(), &mut reg).await;

    // The client's register is what the permit allows, group for group.
    let permit = s.permit(LIST).unwrap().unwrap();
    let list: Vec<Hetu> = listed.iter().map(Person::hetu).collect();
    let expected: BTreeMap<String, BTreeMap<String, Vec<Value>>> = projection(&s, &permit, &list, today())
        .persons
        .into_iter()
        .map(|(hetu, held)| {
            (hetu, held.groups().iter().map(|(k, v)| (k.clone(), v.iter().map(|g| json!(g)).collect())).collect())
        })
        .collect();
    let differing: Vec<&String> =
        expected.keys().chain(reg.persons.keys()).filter(|k| expected.get(*k) != reg.persons.get(*k)).collect();
    assert!(differing.is_empty(), "{} persons differ, e.g. {:?}", differing.len(), differing.first());
    assert!(reg.persons.contains_key(new.as_str()) && !reg.persons.contains_key(corrected.hetu().as_str()));
    assert!(reg.list.contains(&new.to_string()), "the client follows the corrected hetu");
    let protected = &reg.persons[starts.hetu().as_str()];
    assert!(protected["VAKINAINEN_KOTIMAINEN_OSOITE"][0].get("turvakiellonAlaisetKentat").is_some());
    assert!(reg.persons[ends_later.hetu().as_str()]["VAKINAINEN_KOTIMAINEN_OSOITE"][0].get("katunimi").is_some());
    assert!(reg.persons[at(&dies, &s).hetu().as_str()].contains_key("KUOLINPAIVA"));

    // The service recorded the client's X-Road identity with every call.
    let audit: Vec<AuditRecord> =
        s.audit_entries(0, 100_000).unwrap().iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    let mine: Vec<&AuditRecord> = audit.iter().filter(|e| e.user.as_deref() == Some(user)).collect();
    assert!(mine.len() >= 4);
    assert!(mine
        .iter()
        .all(|e| e.xroad_client.as_deref() == Some("FI/MUN/0000000-0/asiakasrekisteri") && e.status == 200));
}
