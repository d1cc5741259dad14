//! The leak audit: a long random run in which
//! - protected persons are given canary addresses (unique texts found
//!   nowhere else: permanent, temporary and postal address) while their
//!   turvakielto is in force, and moved off them before it ends (contact
//!   addresses are not censored by design, DESIGN.md rule 1, so they carry
//!   no canary);
//! - residents of the county move out of it to an address carrying a
//!   mover's canary, and change their name after the move: the county's
//!   permits may learn that they left (at most the new municipality's
//!   code), never where to (DESIGN.md rule 2).
//!
//! Every byte of every answer to a permit without the right (area loads,
//! changes, `/perustiedot` by list) and of every delivery file is scanned
//! for the canaries; every record of a person protected at its change is
//! checked for a censored group carrying a value field. The entitled
//! permit must see the protected canaries, and Helsinki the movers': the
//! scan can fail.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::json;
use time::Month;
use vtj_core::groups::{Kotikunta, KotimainenOsoite, Localized, Nimi, Postiosoite};
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, KuntaCode, Person, PersonId, Scope, Subject, VtjDate};
use vtj_disclose::deliver::{deliver, When};
use vtj_store::{Cursor, PersonFilter, SqliteStore, Store};
use vtj_testkit::*;
use vtj_wire::{Group, MuutoksetResponse, PerustiedotResponse, PerustiedotVkoResponse};

const CANARY: &str = "Kanaria";
const MOVER: &str = "Poismuuttaja";
const AFTER: &str = "Jalkeenmuuton";
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
    KotimainenOsoite { katunimi: Localized::fi(name), ..a.clone() }
}

fn postal(a: &KotimainenOsoite, text: String) -> Postiosoite {
    Postiosoite {
        postiosoite: Localized::fi(text),
        postinumero: a.postinumero.clone(),
        postitoimipaikka: a.postitoimipaikka.clone(),
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
    movers_seen_by_helsinki: u64,
}

impl Tally {
    /// Fails on any canary but those `burned` (protected persons whose
    /// turvakielto the simulation itself ended while they held them, which
    /// the end rightly discloses), and on any mover's canary if `movers`.
    fn scan(&mut self, what: &str, bytes: &[u8], burned: &BTreeSet<u64>, movers: bool) {
        self.answers += 1;
        self.bytes += bytes.len() as u64;
        let text = String::from_utf8_lossy(bytes);
        for (at, _) in text.match_indices(CANARY) {
            let digits: String = text[at + CANARY.len()..].chars().take_while(char::is_ascii_digit).collect();
            let n: u64 = digits.parse().expect("a canary carries its number");
            assert!(burned.contains(&n), "{what}: censored canary {n} leaked:\n{}", excerpt(&text, at));
        }
        if movers {
            // A mover may be an in-area person's relative: the child's
            // HUOLTAJA names its guardian wherever the guardian lives (the
            // child's data, as at DVV: hetu, names, birth date, sex, never a
            // location). Anything else of a mover is following them.
            let own = without_relatives(&text);
            for marker in [MOVER, AFTER] {
                if let Some(at) = own.find(marker) {
                    panic!("{what}: a person who left the area was followed:\n{}", excerpt(&own, at));
                }
            }
            assert!(!text.contains(MOVER), "{what}: a mover's address in a relative's record");
        }
    }
}

/// The text without the related-person objects of relation groups
/// (`"huoltaja":{...}` and the like), in JSON answers and in the JSON
/// fields of delivery files alike.
fn without_relatives(text: &str) -> String {
    const KEYS: [&str; 7] = ["huoltaja", "huollettava", "vanhempi", "lapsi", "henkilo", "puoliso", "osapuoli"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'next: while !rest.is_empty() {
        for k in KEYS {
            let opening = format!("\"{k}\":{{");
            if rest.starts_with(&opening) {
                let mut depth = 0usize;
                for (i, c) in rest.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                rest = &rest[i + 1..];
                                continue 'next;
                            }
                        }
                        _ => {}
                    }
                }
                return out;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn excerpt(text: &str, at: usize) -> String {
    text[at.saturating_sub(300)..].chars().take(600).collect()
}

/// No censorable group of a protected person carries a value field.
fn check_record(what: &str, protected: bool, hetu: &str, groups: &[Group], tally: &mut Tally) {
    tally.records += 1;
    if !protected {
        return;
    }
    let bare = ["tietoryhma", "muutosattribuutti", "turvakiellonAlaisetKentat", "voimassaolevatTiedot"];
    for g in groups {
        let censorable = GroupName::parse(g.name()).is_ok_and(GroupName::is_censored_under_turvakielto);
        if censorable {
            let values: Vec<&String> = g.fields().keys().filter(|k| !bare.contains(&k.as_str())).collect();
            assert!(values.is_empty(), "{what}: {hetu} is under turvakielto but {} came with {values:?}", g.name());
        }
    }
}

/// Whether the person of each change the permit receives in `(from, to]`
/// is protected after it, in the order the changes come (the records
/// themselves carry no cursor).
fn owed(s: &SqliteStore, permit: &str, from: i64, to: i64) -> Vec<bool> {
    let permit = s.permit(permit).unwrap().unwrap();
    let mut out = Vec::new();
    let mut at = Cursor(from);
    while at.0 < to {
        let entries = s.changes_since(at, 1_000).unwrap();
        let Some(last) = entries.last() else { break };
        at = last.cursor;
        for e in entries.iter().filter(|e| e.cursor.0 <= to) {
            let before = e.before.as_ref().map(|person| Subject { person, on_list: false });
            let d = vtj_core::render(&permit, before, Subject { person: &e.after, on_list: false }, today());
            if d != vtj_core::Disclosure::Nothing {
                out.push(e.after.has_turvakielto());
            }
        }
    }
    out
}

fn area_persons(s: &SqliteStore, permit: &str) -> Vec<Person> {
    let Scope::Kuntarajaus { kunnat } = s.permit(permit).unwrap().unwrap().rajaus else { unreachable!() };
    s.persons(PersonFilter::Kunnat(&kunnat), PersonId(0), 100_000).unwrap()
}

fn pick(s: &SqliteStore, permit: &str, rng: &mut Rng) -> Person {
    let candidates: Vec<Person> = area_persons(s, permit)
        .into_iter()
        .filter(|p| !p.has_turvakielto() && !p.is_dead() && home(p).is_some())
        .collect();
    candidates[rng.below(candidates.len())].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_censored_value_nor_a_movers_new_address_reaches_a_permit_without_the_right() {
    let h = start(Options {
        persons: 5_000,
        days: 2,
        seed: 29,
        config: |c| {
            c.rate_per_second = 1e6;
            c.limits.page = 97;
        },
    })
    .await;
    let mut s = h.store();
    let mut rng = Rng(0x5eed);
    let mut tally = Tally::default();
    let files = h.dir.path().join("deliveries");
    let unentitled = [KS, HEL];
    let mut cursors: BTreeMap<&str, i64> =
        [KS, HEL, KS_TK].into_iter().map(|p| (p, s.last_cursor().unwrap().0)).collect();
    // Persons given a turvakielto and canaries: (release in round, person,
    // canary number); `None`: never released (dead or gone abroad).
    let mut protected: Vec<(Option<u64>, PersonId, u64)> = Vec::new();
    let mut burned = BTreeSet::new();
    let (mut planted, mut planted_ks, mut movers) = (0u64, 0u64, 0u64);

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
            let p = pick(&s, permit, &mut rng);
            let a = home(&p).unwrap();
            let n = planted;
            s.append(&[ev(&p, EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite })]).unwrap();
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

        // A county resident moves to Helsinki, and renames after the move.
        let p = pick(&s, KS, &mut rng);
        let to = KotimainenOsoite {
            kuntakoodi: Some(KuntaCode::parse("091").unwrap()),
            ..street(&home(&p).unwrap(), format!("{MOVER}{movers}katu"))
        };
        let kotikunta = Kotikunta { kuntakoodi: KuntaCode::parse("091").unwrap(), kuntaan_muuttopv: None };
        s.append(&[ev(&p, EventKind::MoveToMunicipality { osoite: to, kotikunta })]).unwrap();
        let p = s.person(p.id).unwrap().unwrap();
        let nimi = Nimi::new("Testi", &format!("{AFTER}{movers}"), None);
        s.append(&[ev(&p, EventKind::NameChange { nimi })]).unwrap();
        movers += 1;

        // Three rounds later: off the canaries, then the turvakielto ends.
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

        // Every area permit reads its changes.
        for (&permit, cursor) in cursors.iter_mut() {
            loop {
                let (st, body) = h.post(permit, "/muutokset", &json!({ "viimeisinKirjausavain": *cursor })).await;
                assert_eq!(st, StatusCode::OK);
                let page: MuutoksetResponse = serde_json::from_slice(&body).unwrap();
                let text = String::from_utf8_lossy(&body);
                match permit {
                    KS_TK => tally.entitled_canaries += text.matches(CANARY).count() as u64,
                    HEL => tally.movers_seen_by_helsinki += text.matches(MOVER).count() as u64,
                    _ => {}
                }
                if permit != KS_TK {
                    tally.scan(&format!("{permit} changes after {cursor}"), &body, &burned, permit == KS);
                    let owed = owed(&s, permit, *cursor, page.viimeisin_kirjausavain);
                    assert_eq!(owed.len(), page.muutokset.len(), "one record per owed change");
                    for (c, prot) in page.muutokset.iter().zip(owed) {
                        check_record(permit, prot, &c.henkilotunnus, &c.tietoryhmat, &mut tally);
                    }
                }
                *cursor = page.viimeisin_kirjausavain;
                if page.ajan_tasalla {
                    break;
                }
            }
        }

        // The current data of everyone protected now, by list, to every
        // permit without the right; the hetu list follows their changes too.
        let now_protected: Vec<Person> = s
            .persons(PersonFilter::All, PersonId(0), 100_000)
            .unwrap()
            .into_iter()
            .filter(|p| p.has_turvakielto() && !p.is_dead())
            .collect();
        let hetus: Vec<String> = now_protected.iter().take(20).map(|p| p.hetu().to_string()).collect();
        for permit in [KS, HEL, LIST] {
            let (st, body) = h.post(permit, "/perustiedot", &json!({ "hetulista": hetus })).await;
            assert_eq!(st, StatusCode::OK);
            tally.scan(&format!("{permit} perustiedot"), &body, &burned, permit == KS);
            for r in serde_json::from_slice::<PerustiedotResponse>(&body).unwrap().perustiedot {
                check_record(permit, true, &r.henkilotunnus, &r.tietoryhmat, &mut tally);
            }
        }
        let (st, body) = h.post(LIST, "/muutokset", &json!({ "viimeisinKirjausavain": 0, "hetulista": hetus })).await;
        assert_eq!(st, StatusCode::OK);
        tally.scan("LIST changes", &body, &burned, false);
        // The file channel's list is the server's (a .HTT upload).
        let listed: Vec<Hetu> = hetus.iter().map(|h| Hetu::parse(h).unwrap()).collect();
        s.hetu_list_add(LIST, &listed).unwrap();

        // The area's initial data now and then, read whole.
        if round % 8 == 7 {
            for permit in unentitled {
                let kunnat: Vec<String> = area_of(permit).into_iter().collect();
                let mut body = json!({ "kuntakoodit": kunnat });
                loop {
                    let (st, answer) = h.post(permit, "/perustiedot-vko", &body).await;
                    assert_eq!(st, StatusCode::OK);
                    tally.scan(&format!("{permit} initial data"), &answer, &burned, permit == KS);
                    let page: PerustiedotVkoResponse = serde_json::from_slice(&answer).unwrap();
                    for r in &page.perustiedot {
                        let prot =
                            s.person_by_hetu(r.henkilotunnus.parse().unwrap()).unwrap().unwrap().has_turvakielto();
                        check_record(permit, prot, &r.henkilotunnus, &r.tietoryhmat, &mut tally);
                    }
                    match page.jatkoavain {
                        Some(t) => body["jatkoavain"] = json!(t),
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
                tally.scan(&format!("delivery {}", d.path.display()), &bytes, &burned, permit == KS);
            }
        }
    }

    assert!(
        planted_ks > 0 && tally.entitled_canaries >= 3 * planted_ks,
        "the entitled permit over the KS area must see every KS canary: the scan can fail"
    );
    assert!(tally.movers_seen_by_helsinki >= movers, "Helsinki must see its newcomers' addresses: the scan can fail");
    assert!(burned.len() * 4 < planted as usize, "most canaries stayed censored: {} of {planted} burned", burned.len());
    assert!(tally.records > 1_000 && tally.files >= ROUNDS * 3, "too little was scanned");
    println!(
        "leak audit: {ROUNDS} rounds, {planted} protected persons with 3 canaries each ({} disclosed by a \
         simulated end) and {movers} movers out of the county; {} answers and {} delivery files ({} bytes), \
         {} records checked; the entitled permit saw canaries {} times, Helsinki its newcomers {} times",
        burned.len(),
        tally.answers - tally.files,
        tally.files,
        tally.bytes,
        tally.records,
        tally.entitled_canaries,
        tally.movers_seen_by_helsinki
    );
}
