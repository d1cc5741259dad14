//! The turvakielto leak audit: a long random run in which protected persons
//! are given canary addresses (unique texts found nowhere else: permanent,
//! temporary and postal address) while their turvakielto is in force, and
//! moved off them before it ends. (Contact addresses are not censored by
//! design, DESIGN.md rule 1, so they carry no canary.) Every byte of
//! every answer to a permit without the right (initial data, changes, single
//! queries, hetu-list calls) and of every delivery file is scanned for the
//! canaries; every record of a person protected at its cursor is checked
//! for a censored group carrying a value (the home municipality is a code,
//! not a unique text). The entitled permit must see the canaries: the scan
//! can fail.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::json;
use time::Month;
use vtj_api::deliver::{deliver, When};
use vtj_api::wire::{ChangePage, InitialPage, ListAdded, ListedPersons, PersonRecord};
use vtj_core::groups::{KotimainenOsoite, Postiosoite};
use vtj_core::{Event, EventKind, GroupChange, GroupName, GroupValue, Person, PersonId, Scope, VtjDate};
use vtj_store::{Cursor, PersonFilter, SqliteStore, Store};
use vtj_testkit::*;

const CANARY: &str = "Kanaria";
const ROUNDS: u64 = 24;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

fn ev(p: &Person, tapahtuma: EventKind) -> Event {
    Event { person: p.id, rekisterointipaiva: day(2026, Month::March, 1), tapahtuma }
}

fn home(p: &Person) -> Option<KotimainenOsoite> {
    match p.group(GroupName::VakinainenKotimainenOsoite) {
        Some(GroupValue::VakinainenKotimainenOsoite(a)) => Some(a.clone()),
        _ => None,
    }
}

fn street(a: &KotimainenOsoite, name: String) -> KotimainenOsoite {
    KotimainenOsoite { katunimi_fi: name, katunimi_sv: None, ..a.clone() }
}

fn postal(a: &KotimainenOsoite, text: String) -> Postiosoite {
    Postiosoite {
        postiosoite_fi: text,
        postiosoite_sv: None,
        postinumero: a.postinumero.clone(),
        postitoimipaikka_fi: a.postitoimipaikka_fi.clone(),
        postitoimipaikka_sv: None,
        alkupaiva: a.alkupaiva,
        loppupaiva: None,
    }
}

/// What was scanned, for the SECURITY.md table.
#[derive(Default)]
struct Tally {
    answers: u64,
    bytes: u64,
    files: u64,
    records: u64,
    entitled_canaries: u64,
}

impl Tally {
    /// Fails on any canary but those `burned`: canaries whose person's
    /// turvakielto the simulation itself ended while they held them, which
    /// the end rightly discloses.
    fn scan(&mut self, what: &str, bytes: &[u8], burned: &BTreeSet<u64>) {
        self.answers += 1;
        self.bytes += bytes.len() as u64;
        let text = String::from_utf8_lossy(bytes);
        for (at, _) in text.match_indices(CANARY) {
            let digits: String = text[at + CANARY.len()..].chars().take_while(char::is_ascii_digit).collect();
            let n: u64 = digits.parse().expect("a canary carries its number");
            assert!(burned.contains(&n), "{what}: censored canary {n} leaked:\n{}", excerpt(&text, at));
        }
    }
}

fn excerpt(text: &str, at: usize) -> String {
    text[at.saturating_sub(300)..].chars().take(600).collect()
}

/// No censored group of a protected person carries a value.
fn check_record(what: &str, protected: bool, hetu: &str, groups: &[GroupChange], tally: &mut Tally) {
    tally.records += 1;
    if protected {
        for g in groups {
            assert!(
                !(g.tietoryhma.is_censored_under_turvakielto() && g.arvo.is_some()),
                "{what}: {hetu} is under turvakielto but {} came with a value",
                g.tietoryhma
            );
        }
    }
}

/// Whether each person was protected just after each cursor, from the log.
fn protected_after(s: &SqliteStore, cursor: i64, hetu: &str) -> bool {
    s.changes_since(Cursor(cursor - 1), 1)
        .unwrap()
        .first()
        .filter(|e| e.cursor.0 == cursor)
        .map(|e| {
            assert_eq!(e.after.hetu().to_string(), hetu, "cursor {cursor}");
            e.after.has_turvakielto()
        })
        .expect("a served cursor is in the log")
}

fn area_persons(s: &SqliteStore, permit: &str) -> Vec<Person> {
    let Scope::Kuntarajaus { kunnat } = s.permit(permit).unwrap().unwrap().rajaus else { unreachable!() };
    s.persons(PersonFilter::Kunnat(&kunnat), PersonId(0), 100_000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_censored_value_reaches_a_permit_without_the_right() {
    let h = start(Options { persons: 5_000, days: 2, seed: 29, config: |c| c.rate_per_second = 1e6 }).await;
    let mut s = h.store();
    let mut rng = Rng(0x5eed);
    let mut tally = Tally::default();
    let files = h.dir.path().join("deliveries");
    let unentitled = [KS, HEL];
    let mut cursors: std::collections::BTreeMap<&str, i64> =
        [KS, HEL, KS_TK].into_iter().map(|p| (p, s.last_cursor().unwrap().0)).collect();
    // Persons given a turvakielto and canaries: (release in round, person,
    // canary number); `None`: never released (dead or gone abroad).
    let mut protected: Vec<(Option<u64>, PersonId, u64)> = Vec::new();
    let mut burned = BTreeSet::new();
    let (mut planted, mut planted_ks) = (0u64, 0u64);

    for round in 0..ROUNDS {
        // Life goes on, with its own turvakielto starts and ends. An end
        // that comes to a canary holder discloses its canaries, rightly.
        simulate(&mut s, 1);
        protected.retain(|&(_, id, n)| {
            let held = s.person(id).unwrap().unwrap().has_turvakielto();
            if !held {
                burned.insert(n);
            }
            held
        });

        // New protected persons in both areas, each with three canaries.
        for permit in unentitled {
            let candidates: Vec<Person> = area_persons(&s, permit)
                .into_iter()
                .filter(|p| !p.has_turvakielto() && !p.is_dead() && home(p).is_some())
                .collect();
            let p = &candidates[rng.below(candidates.len())];
            let a = home(p).unwrap();
            let n = planted;
            s.append(&[ev(p, EventKind::TurvakieltoStart { paattymispaiva: VtjDate::Indefinite })]).unwrap();
            let p = s.person(p.id).unwrap().unwrap();
            s.append(&[ev(&p, EventKind::MoveWithin { osoite: street(&a, format!("{CANARY}{n}katu")) })]).unwrap();
            let p = s.person(p.id).unwrap().unwrap();
            let temporary = street(&a, format!("{CANARY}{n}tie"));
            s.append(&[ev(&p, EventKind::TemporaryAddress { osoite: Some(temporary) })]).unwrap();
            let p = s.person(p.id).unwrap().unwrap();
            s.append(&[ev(&p, EventKind::PostalAddress { osoite: Some(postal(&a, format!("{CANARY}{n}polku"))) })])
                .unwrap();
            planted += 1;
            planted_ks += u64::from(permit == KS);
            protected.push((Some(round + 3), p.id, n));
        }

        // Three rounds later: off the canaries, then the turvakielto ends.
        // Everyone protected now holds a turvakielto (the end ones burned above).
        let (release, keep): (Vec<_>, Vec<_>) = protected.into_iter().partition(|(r, _, _)| *r == Some(round));
        protected = keep;
        for (_, id, n) in release {
            let p = s.person(id).unwrap().unwrap();
            let Some(a) = home(&p).filter(|_| !p.is_dead()) else {
                // Dead or moved abroad: the canaries stay censored for good.
                protected.push((None, id, n));
                continue;
            };
            let events = [
                EventKind::MoveWithin { osoite: street(&a, format!("Tavallinen{round}katu")) },
                EventKind::TemporaryAddress { osoite: None },
                EventKind::PostalAddress { osoite: None },
                EventKind::TurvakieltoEnd,
            ];
            for k in events {
                let p = s.person(id).unwrap().unwrap();
                s.append(&[ev(&p, k)]).unwrap();
            }
        }

        // Every permit reads its changes.
        for (&permit, cursor) in cursors.iter_mut() {
            loop {
                let path = format!("/api/v1/tietoluvat/{permit}/muutokset?kirjausavain={cursor}&sivunKoko=97");
                let (st, body) = h.get(permit, &path).await;
                assert_eq!(st, StatusCode::OK);
                let page: ChangePage = serde_json::from_slice(&body).unwrap();
                if permit == KS_TK {
                    tally.entitled_canaries += String::from_utf8_lossy(&body).matches(CANARY).count() as u64;
                } else {
                    tally.scan(&format!("{permit} changes after {cursor}"), &body, &burned);
                    for c in &page.muutokset {
                        let prot = protected_after(&s, c.kirjausavain, &c.henkilotunnus);
                        check_record(permit, prot, &c.henkilotunnus, &c.tietoryhmat, &mut tally);
                    }
                }
                *cursor = page.viimeinen_kirjausavain;
                if page.ajantasalla {
                    break;
                }
            }
        }

        // Single queries and the hetu-list calls for everyone protected now.
        let now_protected: Vec<Person> = s
            .persons(PersonFilter::All, PersonId(0), 100_000)
            .unwrap()
            .into_iter()
            .filter(|p| p.has_turvakielto() && !p.is_dead())
            .collect();
        for p in now_protected.iter().take(12) {
            let hetu = p.hetu().to_string();
            for permit in unentitled {
                let (st, body) = h
                    .post(permit, &format!("/api/v1/tietoluvat/{permit}/henkilo"), &json!({"henkilotunnus": hetu}))
                    .await;
                tally.scan(&format!("{permit} person {hetu}"), &body, &burned);
                if st == StatusCode::OK {
                    let r: PersonRecord = serde_json::from_slice(&body).unwrap();
                    check_record(permit, true, &r.henkilotunnus, &r.tietoryhmat, &mut tally);
                }
            }
        }
        let hetus: Vec<String> = now_protected.iter().take(20).map(|p| p.hetu().to_string()).collect();
        let (st, body) = h
            .post(LIST, &format!("/api/v1/tietoluvat/{LIST}/hetulista/lisays"), &json!({"henkilotunnukset": hetus}))
            .await;
        assert_eq!(st, StatusCode::OK);
        tally.scan("LIST add", &body, &burned);
        for r in serde_json::from_slice::<ListAdded>(&body).unwrap().henkilot {
            check_record(LIST, true, &r.henkilotunnus, &r.tietoryhmat, &mut tally);
        }
        let (st, body) =
            h.post(LIST, &format!("/api/v1/tietoluvat/{LIST}/perustiedot"), &json!({"henkilotunnukset": hetus})).await;
        assert_eq!(st, StatusCode::OK);
        tally.scan("LIST initial data", &body, &burned);
        for r in serde_json::from_slice::<ListedPersons>(&body).unwrap().henkilot {
            check_record(LIST, true, &r.henkilotunnus, &r.tietoryhmat, &mut tally);
        }

        // Initial data now and then, read whole.
        if round % 8 == 7 {
            for permit in unentitled {
                let mut path = format!("/api/v1/tietoluvat/{permit}/perustiedot?sivunKoko=1000");
                loop {
                    let (st, body) = h.get(permit, &path).await;
                    assert_eq!(st, StatusCode::OK);
                    tally.scan(&format!("{permit} initial data"), &body, &burned);
                    let page: InitialPage = serde_json::from_slice(&body).unwrap();
                    for r in &page.henkilot {
                        let prot =
                            s.person_by_hetu(r.henkilotunnus.parse().unwrap()).unwrap().unwrap().has_turvakielto();
                        check_record(permit, prot, &r.henkilotunnus, &r.tietoryhmat, &mut tally);
                    }
                    match page.jatkoavain {
                        Some(t) => {
                            path = format!("/api/v1/tietoluvat/{permit}/perustiedot?sivunKoko=1000&jatkoavain={t}")
                        }
                        None => break,
                    }
                }
            }
        }

        // The file channel: every delivery, read whole.
        for permit in [KS, HEL, LIST] {
            let now = time::OffsetDateTime::now_utc();
            if let Some(d) = deliver(&mut s, permit, &files.join(permit), When::Now, now).unwrap() {
                let bytes = std::fs::read(&d.path).unwrap();
                tally.files += 1;
                tally.scan(&format!("delivery {}", d.path.display()), &bytes, &burned);
            }
        }
    }

    assert!(
        planted_ks > 0 && tally.entitled_canaries >= 3 * planted_ks,
        "the entitled permit over the KS area must see every KS canary: the scan can fail"
    );
    assert!(burned.len() * 4 < planted as usize, "most canaries stayed censored: {} of {planted} burned", burned.len());
    assert!(tally.records > 1_000 && tally.files >= ROUNDS * 3, "too little was scanned");
    println!(
        "leak audit: {ROUNDS} rounds, {planted} protected persons with 3 canaries each ({} disclosed by a \
         simulated end); {} answers and {} delivery files ({} bytes), {} records checked; the entitled permit saw \
         canaries {} times",
        burned.len(),
        tally.answers - tally.files,
        tally.files,
        tally.bytes,
        tally.records,
        tally.entitled_canaries
    );
}
