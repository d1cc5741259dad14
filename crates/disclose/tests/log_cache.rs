//! The shared log cache changes no answer: for random permits of every
//! kind reading random ranges in random order through one small cache,
//! every page and every audit record is what the same request gets
//! without the cache. The cache holds the log's own entries only, so a
//! block one permit's request decoded is rendered anew for the next.
//!
//! Nor do the change summaries: every page is also the page rendered
//! from the two whole persons of each log entry, as pages were before.
//!
//! Nor do pages kept for a kind of permit (`page_cache`): a page given
//! from it is the page made for that very permit, never one of another
//! kind, and a page at the log's end is not given once the log grows.
//! The same holds for pages of an area's residents, which are given only
//! while the log is as it was when they were made.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use time::{Date, Month};
use vtj_core::kunta::kunnat;
use vtj_core::{
    event_label, render, ChangeKind, Disclosure, Event, EventKind, GroupName, Hetu, KuntaCode, Permit, PersonId,
    Product, Scope, Subject, TurvakieltoRule, VtjDate,
};
use vtj_disclose::log_cache::BLOCK;
use vtj_disclose::page_cache::PageCache;
use vtj_disclose::pages::{area_page, changes, shared_area, shared_changes, AreaPage, ChangeOut, ChangesPage};
use vtj_disclose::{Limits, LogCache, Refused, Touched};
use vtj_sim::{GenerateConfig, SimulateConfig};
use vtj_store::{Cursor, PersonFilter, SqliteStore, Store};

struct Log {
    _dir: tempfile::TempDir,
    path: PathBuf,
    newest: i64,
    hetus: Vec<Hetu>,
}

/// A population and some weeks of its life: a dozen blocks and more.
fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("vtj.db");
        let mut s = SqliteStore::open(&path).expect("store");
        vtj_sim::generate(&mut s, &GenerateConfig { persons: 2_000, seed: 11, date: start() }, &mut |_| {})
            .expect("generate");
        vtj_sim::simulate(&mut s, &SimulateConfig { days: 30, intensity: 60.0 }, &mut |_| {}).expect("simulate");
        let newest = s.last_cursor().expect("cursor").0;
        assert!(newest > 12 * BLOCK, "the log is too short to span many blocks: {newest}");
        let hetus =
            s.persons(PersonFilter::All, PersonId(0), 2_000).expect("persons").iter().map(|p| p.hetu()).collect();
        Log { _dir: dir, path, newest, hetus }
    })
}

fn start() -> Date {
    Date::from_calendar_date(2026, Month::January, 1).expect("date")
}

fn today() -> Date {
    Date::from_calendar_date(2026, Month::June, 1).expect("date")
}

fn permit(groups: BTreeSet<GroupName>, rajaus: Scope, right: bool) -> Permit {
    Permit {
        tunnus: "P".into(),
        luvansaaja: "R".into(),
        kayttotarkoitus: "testi".into(),
        tuote: Product { tunnus: "T".into(), kuvaus: String::new(), tietoryhmat: groups },
        rajaus,
        turvakielto: if right { TurvakieltoRule::TiedotLuovutetaan } else { TurvakieltoRule::TiedotSensuroidaan },
        voimassa_alkaen: start(),
        voimassa_asti: None,
        peruttu: false,
        ylalupa: None,
    }
}

#[derive(Debug, Clone)]
struct Ask {
    permit: Permit,
    list: Option<Vec<Hetu>>,
    /// Where in the log the read starts, as a share of it.
    at: f64,
    page: usize,
    max_scan: usize,
}

fn arb_ask() -> impl Strategy<Value = Ask> {
    let regions: Vec<&'static str> = kunnat().iter().map(|k| k.region).collect::<BTreeSet<_>>().into_iter().collect();
    (
        proptest::sample::subsequence(GroupName::ALL.to_vec(), 1..GroupName::ALL.len()),
        prop_oneof![Just(None), proptest::sample::select(regions).prop_map(Some)],
        any::<bool>(),
        proptest::option::of(proptest::collection::vec(0usize..2_000, 1..200)),
        (0.0..1.0f64, 1usize..400, 1usize..2_000),
    )
        .prop_map(|(groups, region, right, list, (at, page, max_scan))| {
            let area = kunnat().iter().filter(|k| region.is_none_or(|r| k.region == r)).map(|k| k.code).collect();
            let rajaus = if list.is_some() { Scope::Hetulista } else { Scope::Kuntarajaus { kunnat: area } };
            let hetus = &log().hetus;
            Ask {
                permit: permit(groups.into_iter().collect(), rajaus, right),
                list: list.map(|l| l.into_iter().map(|i| hetus[i % hetus.len()]).collect()),
                at,
                page,
                max_scan,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn pages_through_the_shared_cache_are_the_pages_without_it(
        asks in proptest::collection::vec(arb_ask(), 1..12),
        blocks in 1usize..6,
    ) {
        let log = log();
        let s = SqliteStore::open(&log.path).expect("store");
        let shared = LogCache::new(blocks * BLOCK as usize);
        let none = LogCache::disabled();
        for ask in &asks {
            let limits = Limits { page: ask.page, max_scan: ask.max_scan, ..Limits::default() };
            let mut after = (ask.at * log.newest as f64) as i64;
            // Each ask follows the feed for a few pages, as a client does.
            for _ in 0..3 {
                let read = |cache: &LogCache| {
                    changes(&s, cache, &ask.permit, after, ask.list.as_deref(), None, &limits, today())
                        .map_err(|e| e.to_string())
                };
                let (cached, plain) = (read(&shared), read(&none));
                prop_assert_eq!(&cached, &plain);
                let Ok((page, _)) = plain else { break };
                prop_assert_eq!(&page, &from_persons(&s, ask, after, &limits));
                if page.up_to_date {
                    break;
                }
                after = page.last;
            }
            prop_assert!(shared.kept() <= blocks, "{} blocks kept, {} allowed", shared.kept(), blocks);
        }
    }
}

/// The page as it was built before change summaries: every entry's two
/// persons decoded and rendered whole.
fn from_persons(s: &SqliteStore, ask: &Ask, after: i64, limits: &Limits) -> ChangesPage {
    let on_list = matches!(ask.permit.rajaus, Scope::Hetulista);
    let known: Option<HashMap<PersonId, Hetu>> = ask.list.as_ref().map(|list| {
        let ids = s.person_ids(list).expect("ids");
        let mut m = HashMap::new();
        for h in list {
            if let Some(&id) = ids.get(h) {
                m.entry(id).or_insert(*h);
            }
        }
        m
    });
    let (mut out, mut last, mut scanned) = (Vec::new(), after, 0);
    'scan: loop {
        let entries = s.changes_since(Cursor(last), 500).expect("log");
        if entries.is_empty() {
            break;
        }
        for e in entries {
            if scanned == limits.max_scan {
                break 'scan;
            }
            scanned += 1;
            last = e.cursor.0;
            let hetu = match &known {
                Some(m) => match m.get(&e.after.id) {
                    Some(h) => *h,
                    None => continue,
                },
                None => e.before.as_ref().unwrap_or(&e.after).hetu(),
            };
            let before = e.before.as_ref().map(|p| Subject::new(p, on_list));
            let disclosure = render(&ask.permit, before, Subject::new(&e.after, on_list), today());
            if disclosure == Disclosure::Nothing {
                continue;
            }
            out.push(ChangeOut {
                cursor: e.cursor.0,
                hetu,
                registered: e.event.rekisterointipaiva,
                event: event_label(&ask.permit, e.before.as_ref(), &e.after, &e.event.tapahtuma),
                disclosure,
            });
            if out.len() == limits.page {
                break 'scan;
            }
        }
    }
    ChangesPage { changes: out, last, up_to_date: last >= s.last_cursor().expect("cursor").0 }
}

#[test]
fn a_block_is_decoded_once_for_every_recipient_and_the_tail_never_kept() {
    let log = log();
    let s = SqliteStore::open(&log.path).expect("store");
    let cache = LogCache::new(4 * BLOCK as usize);
    let area = Scope::Kuntarajaus { kunnat: kunnat().iter().map(|k| k.code).collect::<BTreeSet<KuntaCode>>() };
    let whole = permit(GroupName::ALL.into_iter().collect(), area, false);
    let limits = Limits { page: 50, ..Limits::default() };
    let read = |after| changes(&s, &cache, &whole, after, None, None, &limits, today()).expect("page").0;
    let first = read(0);
    assert_eq!(first.changes.len(), 50);
    assert_eq!(cache.kept(), 1, "the first block, decoded for the first request");
    assert_eq!(read(0), first, "the same answer from the kept block");
    assert_eq!(cache.kept(), 1);

    // The newest block is still growing: read from the store every time.
    let end = read(log.newest - 3);
    assert!(end.up_to_date);
    assert_eq!(cache.kept(), 1, "the newest, incomplete block is not kept");

    // Reading through the whole log keeps four blocks, no more.
    let mut after = 0;
    loop {
        let page = read(after);
        if page.up_to_date {
            break;
        }
        after = page.last;
    }
    assert_eq!(cache.kept(), 4);
}

/// What a channel would send of a page: here its every field, written out.
fn shown(page: &ChangesPage) -> Result<Vec<u8>, Refused> {
    Ok(format!("{page:?}").into_bytes())
}

type Shared = PageCache<Vec<u8>>;
/// A page's bytes and what it disclosed.
type Sent = (Vec<u8>, Touched);

/// A page through the kept pages, as (what is sent, what is logged), and
/// whether it was kept before.
fn through(s: &SqliteStore, kept: &Shared, p: &Permit, after: i64, limits: &Limits) -> Result<(Sent, bool), String> {
    let log = LogCache::disabled();
    let (page, hit) = shared_changes(s, &log, kept, p, after, limits, today(), shown).map_err(|e| e.to_string())?;
    Ok(((page.value.clone(), page.touched.clone()), hit))
}

/// The same page made for this request alone.
fn alone(s: &SqliteStore, p: &Permit, after: i64, limits: &Limits) -> Result<Sent, String> {
    made(s, p, after, limits).map(|(sent, _)| sent)
}

/// `alone`, and where the next page starts (none at the log's end).
fn made(s: &SqliteStore, p: &Permit, after: i64, limits: &Limits) -> Result<(Sent, Option<i64>), String> {
    let (page, touched) =
        changes(s, &LogCache::disabled(), p, after, None, None, limits, today()).map_err(|e| e.to_string())?;
    Ok(((shown(&page).map_err(|e| e.to_string())?, touched), (!page.up_to_date).then_some(page.last)))
}

/// Three kinds of area permit, each held by two recipients: the second
/// holder's permit differs in everything but its kind.
fn holders() -> Vec<Permit> {
    let all: BTreeSet<KuntaCode> = kunnat().iter().map(|k| k.code).collect();
    let south: BTreeSet<KuntaCode> =
        kunnat().iter().filter(|k| k.code.to_string().as_str() < "300").map(|k| k.code).collect();
    let kinds = [
        permit(GroupName::ALL.into_iter().collect(), Scope::Kuntarajaus { kunnat: all.clone() }, false),
        permit(GroupName::ALL.into_iter().collect(), Scope::Kuntarajaus { kunnat: all }, true),
        permit(
            GroupName::CENSORED_UNDER_TURVAKIELTO.into_iter().collect(),
            Scope::Kuntarajaus { kunnat: south },
            false,
        ),
    ];
    kinds
        .into_iter()
        .flat_map(|p| {
            let other = Permit {
                tunnus: "Q".into(),
                luvansaaja: "S".into(),
                kayttotarkoitus: "another".into(),
                voimassa_alkaen: start().next_day().expect("day"),
                ..p.clone()
            };
            [p, other]
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn a_kept_page_is_the_page_made_for_the_permit_that_asks(
        asks in proptest::collection::vec((0usize..6, 0usize..4, 0usize..3), 1..24),
        capacity_kib in 1usize..512,
    ) {
        let log = log();
        let s = SqliteStore::open(&log.path).expect("store");
        let permits = holders();
        let kept: Shared = PageCache::new(capacity_kib << 10);
        // A few starting points and page sizes, so that asks meet.
        let starts = [0, log.newest / 3, log.newest / 2, log.newest - 5];
        let sizes = [Limits { page: 40, ..Limits::default() }, Limits { page: 200, max_scan: 300, ..Limits::default() },
            Limits { page: 1_000, ..Limits::default() }];
        for (who, at, size) in asks {
            let (p, limits) = (&permits[who], &sizes[size]);
            let mut after = starts[at];
            for _ in 0..3 {
                let given = through(&s, &kept, p, after, limits);
                let made = made(&s, p, after, limits);
                prop_assert_eq!(given.as_ref().map(|(page, _)| page), made.as_ref().map(|(page, _)| page));
                prop_assert!(kept.kept_bytes() <= capacity_kib << 10);
                let Ok((_, Some(next))) = made else { break };
                after = next;
            }
        }
    }
}

#[test]
fn a_page_is_kept_for_the_same_kind_only_and_not_past_the_end_of_the_log() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("copy.db");
    std::fs::copy(&log().path, &path).expect("copy the log");
    let mut s = SqliteStore::open(&path).expect("store");
    let kept: Shared = PageCache::new(64 << 20);
    let permits = holders();
    let limits = Limits { page: 100, ..Limits::default() };

    let (first, hit) = through(&s, &kept, &permits[0], 0, &limits).expect("page");
    assert!(!hit, "nothing was kept yet");
    let (second, hit) = through(&s, &kept, &permits[1], 0, &limits).expect("page");
    assert!(hit, "the other holder of the same kind is given the page made");
    assert_eq!(second, first);
    assert!(kept.kept_bytes() > 0);
    // Of another kind (the turvakielto right): its own page, which differs.
    let (right, hit) = through(&s, &kept, &permits[2], 0, &limits).expect("page");
    assert!(!hit, "a page of another kind was given");
    assert_ne!(right, first);
    assert_eq!(right, alone(&s, &permits[2], 0, &limits).expect("page"));

    // The last page reaches the log's end: kept only until the log grows.
    let newest = s.last_cursor().expect("cursor").0;
    let end = |s: &SqliteStore| through(s, &kept, &permits[0], newest - 3, &limits).expect("page");
    assert!(!end(&s).1);
    assert!(end(&s).1, "the end page is kept while the log is as it was");
    vtj_sim::simulate(&mut s, &SimulateConfig { days: 1, intensity: 60.0 }, &mut |_| {}).expect("simulate");
    assert!(s.last_cursor().expect("cursor").0 > newest);
    let (grown, hit) = end(&s);
    assert!(!hit, "an end page was given after the log grew");
    assert_eq!(grown, alone(&s, &permits[0], newest - 3, &limits).expect("page"));
    // A page the log has grown past is fixed: still given.
    assert!(through(&s, &kept, &permits[1], 0, &limits).expect("page").1);
    // A cursor from the future is refused, kept pages or not.
    let future = s.last_cursor().expect("cursor").0 + 1;
    assert!(through(&s, &kept, &permits[0], future, &limits).unwrap_err().contains("KIRJAUSAVAIN_TULEVAISUUDESSA"));
}

/// What a channel would send of an area page: here its every field.
fn shown_area(page: &AreaPage) -> Result<Vec<u8>, Refused> {
    Ok(format!("{page:?}").into_bytes())
}

/// An area page through the kept pages, as (what is sent, what is logged),
/// whether it was kept before, and where the next one starts.
fn area_through(
    s: &SqliteStore,
    kept: &Shared,
    p: &Permit,
    kunnat: &BTreeSet<KuntaCode>,
    from: Option<&str>,
    limits: &Limits,
) -> Result<(Sent, bool, Option<String>), String> {
    let (page, hit) = shared_area(s, kept, p, kunnat, from, limits, today(), shown_area).map_err(|e| e.to_string())?;
    Ok(((page.value.clone(), page.touched.clone()), hit, page.next.clone()))
}

/// The same area page made for this request alone.
fn area_alone(
    s: &SqliteStore,
    p: &Permit,
    kunnat: &BTreeSet<KuntaCode>,
    from: Option<&str>,
    limits: &Limits,
) -> Result<(Sent, AreaPage), String> {
    let (page, touched) = area_page(s, p, kunnat, from, limits, today()).map_err(|e| e.to_string())?;
    Ok(((shown_area(&page).map_err(|e| e.to_string())?, touched), page))
}

/// Municipalities a load may ask for: the whole country, the south, and
/// a few on both sides of the south's border.
fn asked_areas() -> [BTreeSet<KuntaCode>; 3] {
    let code = |c: &str| KuntaCode::parse(c).expect("code");
    [
        kunnat().iter().map(|k| k.code).collect(),
        kunnat().iter().filter(|k| k.code.to_string().as_str() < "300").map(|k| k.code).collect(),
        ["091", "049", "837", "564"].into_iter().map(code).collect(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn a_kept_area_page_is_the_page_made_for_the_permit_that_asks(
        asks in proptest::collection::vec((0usize..6, 0usize..3, 0usize..3), 1..16),
        capacity_kib in 1usize..2_048,
    ) {
        let s = SqliteStore::open(&log().path).expect("store");
        let (permits, areas) = (holders(), asked_areas());
        let kept: Shared = PageCache::new(capacity_kib << 10);
        let sizes = [7, 60, 400].map(|vko_page| Limits { vko_page, ..Limits::default() });
        for (who, area, size) in asks {
            let (p, kunnat, limits) = (&permits[who], &areas[area], &sizes[size]);
            let mut from: Option<String> = None;
            for _ in 0..3 {
                let given = area_through(&s, &kept, p, kunnat, from.as_deref(), limits);
                let made = area_alone(&s, p, kunnat, from.as_deref(), limits);
                prop_assert_eq!(
                    given.as_ref().map(|(page, _, next)| (page, next)),
                    made.as_ref().map(|(page, m)| (page, &m.next))
                );
                prop_assert!(kept.kept_bytes() <= capacity_kib << 10);
                let Ok((_, AreaPage { next: Some(next), .. })) = made else { break };
                from = Some(next);
            }
        }
    }
}

#[test]
fn an_area_page_is_kept_for_the_same_kind_only_and_only_while_the_log_is_as_it_was() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("copy.db");
    std::fs::copy(&log().path, &path).expect("copy the log");
    let mut s = SqliteStore::open(&path).expect("store");
    let kept: Shared = PageCache::new(64 << 20);
    let (permits, all) = (holders(), &asked_areas()[0]);
    let limits = Limits { vko_page: 100, ..Limits::default() };

    let (first, hit, next) = area_through(&s, &kept, &permits[0], all, None, &limits).expect("page");
    assert!(!hit, "nothing was kept yet");
    let (second, hit, _) = area_through(&s, &kept, &permits[1], all, None, &limits).expect("page");
    assert!(hit, "the other holder of the same kind is given the page made");
    assert_eq!(second, first);
    // Of other kinds (the turvakielto right; other groups and area): each
    // its own page, made for it.
    for other in [2, 4] {
        let (theirs, hit, _) = area_through(&s, &kept, &permits[other], all, None, &limits).expect("page");
        assert!(!hit, "a page of another kind was given");
        assert_eq!(theirs, area_alone(&s, &permits[other], all, None, &limits).expect("page").0);
    }
    assert_ne!(area_through(&s, &kept, &permits[4], all, None, &limits).expect("page").0, first);

    // The next page, made (as the service makes it ahead) and kept.
    let next = next.expect("more pages");
    let page = |s: &SqliteStore| area_through(s, &kept, &permits[0], all, Some(&next), &limits).expect("page");
    let (ahead, hit, _) = page(&s);
    assert!(!hit);
    let (again, hit, _) = page(&s);
    assert!(hit, "kept while the log is as it was");
    assert_eq!(again, ahead);

    // A turvakielto starts for one of its persons: the kept page showed
    // their address, and is not given again.
    let (_, made) = area_alone(&s, &permits[0], all, Some(&next), &limits).expect("page");
    let address = |page: &AreaPage, hetu: Hetu| {
        let person = page.persons.iter().find(|p| p.hetu == hetu).expect("on the page");
        person.groups.iter().find(|g| g.tietoryhma == GroupName::VakinainenKotimainenOsoite).map(|g| g.muutos)
    };
    let protected = made
        .persons
        .iter()
        .find(|p| address(&made, p.hetu) == Some(ChangeKind::Added))
        .map(|p| p.hetu)
        .expect("someone on the page with an address shown");
    let id = *s.person_ids(&[protected]).expect("ids").get(&protected).expect("the person");
    let starts = EventKind::TurvakieltoStart { turva_loppu_pv: VtjDate::Indefinite };
    let day = Date::from_calendar_date(2026, Month::March, 1).expect("date");
    s.append(&[Event { person: id, rekisterointipaiva: day, tapahtuma: starts }]).expect("append");
    let (now, hit, _) = page(&s);
    assert!(!hit, "a page made before the turvakielto was given after it started");
    assert_ne!(now, ahead);
    let (fresh, made) = area_alone(&s, &permits[0], all, Some(&next), &limits).expect("page");
    assert_eq!(now, fresh);
    assert_eq!(address(&made, protected), Some(ChangeKind::Censored));

    // A continuation this service did not give is refused, kept pages or not.
    let future = format!("{}.1", s.last_cursor().expect("cursor").0 + 1);
    let refused = area_through(&s, &kept, &permits[0], all, Some(&future), &limits).unwrap_err();
    assert!(refused.contains("VIRHEELLINEN_JATKOAVAIN"), "{refused}");
}
