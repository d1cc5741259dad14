//! The pages a permit receives, as the core renders them. Nothing here
//! scopes or censors by itself: that is `render` / `render_full`.
//!
//! Scope on the wire: a hetu-scoped permit names its persons in every call
//! (the recipient keeps its list); a municipality-scoped permit gets its
//! area, and may narrow a call to listed persons within it. Unknown hetus,
//! and persons outside the permit, are simply absent from an answer.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use time::Date;
use vtj_core::{
    label, render, render_change, render_full, render_full_owned, Disclosure, GroupChange, Hetu, KuntaCode, Permit,
    Person, PersonId, Scope, Subject,
};
use vtj_store::{Cursor, PersonFilter, Store};

use crate::audit::Touched;
use crate::log_cache::LogCache;
use crate::page_cache::{AreaKey, ChangesKey, PageCache, PageKey, SharedPage, Validity};
use crate::refusal::{Refusal, Refused};

/// Limits that keep one request bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Changes in one `/muutokset` answer.
    pub page: usize,
    /// Persons in one `/perustiedot-vko` page.
    pub vko_page: usize,
    /// Hetus in one `/muutokset` list.
    pub max_list: usize,
    /// Log entries one change request may read while looking for changes
    /// the permit receives; the answer says where it stopped.
    pub max_scan: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { page: 1_000, vko_page: 1_000, max_list: 100_000, max_scan: 200_000 }
    }
}

/// A person's current data, under the hetu the recipient knows them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonOut {
    pub hetu: Hetu,
    pub groups: Vec<GroupChange>,
}

/// One change a permit receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOut {
    pub cursor: i64,
    /// The hetu the recipient knows the person by: the one it listed, or
    /// (an area) the active one before the change, so that a correction
    /// arrives under the hetu the recipient holds.
    pub hetu: Hetu,
    pub registered: Date,
    /// The event's name for the file channel (`label`: neutral where
    /// the real one would reveal what censoring hides).
    pub event: &'static str,
    pub disclosure: Disclosure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesPage {
    pub changes: Vec<ChangeOut>,
    /// Continue from here: the last cursor this page covered (changes the
    /// permit does not receive are skipped, so it may exceed the last change's).
    pub last: i64,
    /// Whether the log held nothing after `last` when read (or `until` was reached).
    pub up_to_date: bool,
}

/// A page of a municipality-scoped permit's residents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaPage {
    pub persons: Vec<PersonOut>,
    /// The cursor the load started at: follow changes from it.
    pub snapshot: i64,
    /// Present while there are more pages.
    pub next: Option<String>,
}

/// The permit, if it exists and is in force today (every channel asks here).
pub fn authorize<S: Store + ?Sized>(s: &S, tunnus: &str, today: Date) -> Result<Permit, Refused> {
    let permit = s
        .permit(tunnus)?
        .ok_or_else(|| Refused::new(Refusal::Forbidden, "TIETOLUPA_EI_VOIMASSA", format!("no permit {tunnus}")))?;
    if !permit.is_active(today) {
        return Err(Refused::new(
            Refusal::Forbidden,
            "TIETOLUPA_EI_VOIMASSA",
            format!("permit {tunnus} is revoked or not valid today; no data is disclosed on it"),
        ));
    }
    if let Some(up) = &permit.ylalupa {
        upstream_allows(s, &permit, up, today)?;
    }
    Ok(permit)
}

/// A county hub's sub-permit is in force only while its upstream permit
/// is, and only while it still fits within it (an upstream permit renewed
/// narrower, say): otherwise the hub says why and discloses nothing.
fn upstream_allows<S: Store + ?Sized>(s: &S, permit: &Permit, up: &str, today: Date) -> Result<(), Refused> {
    let refused = |why: String| Refused::new(Refusal::Forbidden, "TIETOLUPA_EI_VOIMASSA", why);
    let Some(upstream) = s.permit(up)? else {
        return Err(refused(format!("the upstream permit {up} of permit {} is not known here", permit.tunnus)));
    };
    if !upstream.is_active(today) {
        return Err(refused(format!(
            "the upstream permit {up} of permit {} is revoked or not valid today: this hub discloses nothing under it",
            permit.tunnus
        )));
    }
    permit.check_narrows(&upstream).map_err(|reasons| {
        let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        refused(format!("permit {} no longer fits its upstream permit {up}: {}", permit.tunnus, reasons.join("; ")))
    })
}

/// The cursor to follow changes from `day` on: the last one registered
/// before it, so the day's own changes come too.
pub fn cursor_at<S: Store + ?Sized>(s: &S, day: Date, today: Date) -> Result<i64, Refused> {
    if day > today {
        return Err(Refused::bad_request("PAIVA_TULEVAISUUDESSA", format!("{day} is in the future")));
    }
    let at = match day.previous_day() {
        Some(before) => s.cursor_at(before)?.0,
        None => 0,
    };
    // Changes of an earlier epoch cannot be followed from this one.
    Ok(at.max(epoch_base(s)?))
}

/// The base of the log's current epoch (0: it has only ever had one).
fn epoch_base<S: Store + ?Sized>(s: &S) -> Result<i64, Refused> {
    match s.meta(vtj_store::EPOCH_BASE)? {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| vtj_store::StoreError::Corrupt(format!("meta {} = {v:?}", vtj_store::EPOCH_BASE)).into()),
    }
}

pub fn parse_hetu(s: &str, at: &str) -> Result<Hetu, Refused> {
    Hetu::parse(s).map_err(|e| Refused::bad_request("VIRHEELLINEN_HENKILOTUNNUS", format!("{at}: {s:?}: {e}")))
}

/// Every hetu of a list, valid, or the first bad one named with its position.
pub fn parse_hetus(field: &str, list: &[String], max: usize) -> Result<Vec<Hetu>, Refused> {
    if list.len() > max {
        return Err(Refused::bad_request(
            "LISTA_LIIAN_PITKA",
            format!("{} hetus in {field}; at most {max} are accepted in one request", list.len()),
        ));
    }
    list.iter().enumerate().map(|(i, h)| parse_hetu(h, &format!("{field}[{i}]"))).collect()
}

/// Names of groups asked for, each a DVV group name (`known`); `None`: all.
pub fn group_filter(
    asked: Option<&[String]>,
    known: impl Fn(&str) -> bool,
) -> Result<Option<BTreeSet<String>>, Refused> {
    let Some(asked) = asked else { return Ok(None) };
    for (i, g) in asked.iter().enumerate() {
        if !known(g) {
            return Err(Refused::bad_request(
                "TUNTEMATON_TIETORYHMA",
                format!("tietoryhmat[{i}]: {g:?} is not a data group of VTJ"),
            ));
        }
    }
    Ok(Some(asked.iter().cloned().collect()))
}

fn wrong_scope(needed: &str) -> Refused {
    Refused::new(
        Refusal::Conflict,
        "VAARA_RAJAUSTYYPPI",
        format!("this call is for {needed} permits; the permit has the other kind of scope"),
    )
}

fn full(permit: &Permit, person: &Person, today: Date) -> Option<Vec<GroupChange>> {
    let on_list = matches!(permit.rajaus, Scope::Hetulista);
    render_full(permit, Subject::new(person, on_list), today)
}

/// The listed persons (`/perustiedot`, and a hetu list's file deliveries):
/// each under the hetu it was listed by, once, in list order. A hetu-scoped
/// permit covers whoever is listed; a municipality-scoped one those listed
/// who live in its area.
pub fn listed<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    hetus: &[Hetu],
    groups: Option<&BTreeSet<String>>,
    today: Date,
) -> Result<(Vec<PersonOut>, Touched), Refused> {
    let ids = s.person_ids(hetus)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut touched = Touched::default();
    for h in hetus {
        let Some(&id) = ids.get(h) else { continue };
        if !seen.insert(id) {
            continue;
        }
        let Some(person) = s.person(id)? else { continue };
        if let Some(mut g) = full(permit, &person, today) {
            if let Some(keep) = groups {
                g.retain(|c| keep.contains(c.tietoryhma.as_str()));
            }
            touched.record(*h, person.hetu(), &g);
            out.push(PersonOut { hetu: *h, groups: g });
        }
    }
    Ok((out, touched))
}

/// Continuation of an area load: the snapshot cursor and the last person id sent.
fn parse_continuation(token: &str) -> Option<(Cursor, PersonId)> {
    let (c, id) = token.split_once('.')?;
    Some((Cursor(c.parse().ok()?), PersonId(id.parse().ok()?)))
}

/// A page of the residents of `kunnat` within a municipality-scoped
/// permit's area (`/perustiedot-vko`; municipalities outside the area are
/// not answered). Pages read the current state, at or after the snapshot
/// cursor; since every change carries whole group values, replaying the
/// changes after the snapshot over these pages converges on the current
/// state, so no change is lost between the load and the first `/muutokset`.
pub fn area_page<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    kunnat: &BTreeSet<KuntaCode>,
    jatkoavain: Option<&str>,
    limits: &Limits,
    today: Date,
) -> Result<(AreaPage, Touched), Refused> {
    let ask = area_ask(s, permit, kunnat, jatkoavain)?;
    make_area_page(s, permit, &ask, limits, today)
}

/// [`area_page`] through the pages kept for kinds of permit: a page made
/// for a permit of the same kind (or ahead, for this load) is given while
/// the log's newest cursor is the one it was made at. `show` makes what is
/// sent; it runs only when no kept page holds. The continuation is checked
/// as `area_page` checks it, kept page or not.
// As `shared_changes`: each argument is one input of the request.
#[allow(clippy::too_many_arguments)]
pub fn shared_area<S: Store + ?Sized, V: AsRef<[u8]>, E: From<Refused>>(
    s: &S,
    pages: &PageCache<V>,
    permit: &Permit,
    kunnat: &BTreeSet<KuntaCode>,
    jatkoavain: Option<&str>,
    limits: &Limits,
    today: Date,
    show: impl FnOnce(&AreaPage) -> Result<V, E>,
) -> Result<(Arc<SharedPage<V>>, bool), E> {
    let ask = area_ask(s, permit, kunnat, jatkoavain)?;
    let key = PageKey::Area(AreaKey {
        kind: permit.kind(today),
        kunnat: ask.kunnat.clone(),
        from: jatkoavain.map(|_| (ask.snapshot.0, ask.after.0)),
        today,
        page: limits.vko_page,
    });
    pages.get_or_make(key, ask.newest, || {
        let (page, touched) = make_area_page(s, permit, &ask, limits, today)?;
        let records = page.persons.len();
        let value = show(&page)?;
        Ok((SharedPage { value, touched, records, next: page.next }, Validity::AtNewest(ask.newest)))
    })
}

/// An area request, checked: the log's newest cursor when it was asked,
/// the load's snapshot, the last person of the page before, and the
/// municipalities asked for within the area.
struct AreaAsk {
    newest: Cursor,
    snapshot: Cursor,
    after: PersonId,
    kunnat: BTreeSet<KuntaCode>,
}

fn area_ask<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    kunnat: &BTreeSet<KuntaCode>,
    jatkoavain: Option<&str>,
) -> Result<AreaAsk, Refused> {
    let Scope::Kuntarajaus { kunnat: area } = &permit.rajaus else { return Err(wrong_scope("municipality-scoped")) };
    let newest = s.last_cursor()?;
    let (snapshot, after) = match jatkoavain {
        None => (newest, PersonId(0)),
        Some(t) => match parse_continuation(t) {
            Some((c, id)) if c <= newest && c.0 >= 0 => (c, id),
            _ => {
                return Err(Refused::bad_request(
                    "VIRHEELLINEN_JATKOAVAIN",
                    "jatkoavain is not one this service gave out; start the load again without it",
                ))
            }
        },
    };
    Ok(AreaAsk { newest, snapshot, after, kunnat: kunnat.intersection(area).copied().collect() })
}

fn make_area_page<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    ask: &AreaAsk,
    limits: &Limits,
    today: Date,
) -> Result<(AreaPage, Touched), Refused> {
    let mut touched = Touched::default();
    if ask.kunnat.is_empty() {
        return Ok((AreaPage { persons: Vec::new(), snapshot: ask.snapshot.0, next: None }, touched));
    }
    let found = s.persons(PersonFilter::Kunnat(&ask.kunnat), ask.after, limits.vko_page)?;
    let next = match found.last() {
        Some(p) if found.len() == limits.vko_page => Some(format!("{}.{}", ask.snapshot.0, p.id.0)),
        _ => None,
    };
    let on_list = matches!(permit.rajaus, Scope::Hetulista);
    let mut persons = Vec::with_capacity(found.len());
    // Each person is rendered from its own values, moved rather than copied.
    for p in found {
        let hetu = p.hetu();
        if let Some(g) = render_full_owned(permit, p, on_list, today) {
            touched.record(hetu, hetu, &g);
            persons.push(PersonOut { hetu, groups: g });
        }
    }
    Ok((AreaPage { persons, snapshot: ask.snapshot.0, next }, touched))
}

/// The log as a change request finds it: its newest cursor and its
/// epoch's base.
struct Span {
    newest: Cursor,
    base: i64,
}

/// The log's span, once the cursor asked after is known to be one of it.
fn span<S: Store + ?Sized>(s: &S, after: i64) -> Result<Span, Refused> {
    let newest = s.last_cursor()?;
    if after < 0 || Cursor(after) > newest {
        return Err(Refused::bad_request(
            "KIRJAUSAVAIN_TULEVAISUUDESSA",
            format!(
                "kirjausavain {after} is not a cursor this service has given out (the newest is {newest}); \
                 if it was, the service was restored from a backup: load the data again"
            ),
        ));
    }
    let base = epoch_base(s)?;
    if after < base {
        return Err(Refused::new(
            Refusal::Conflict,
            "KIRJAUSAVAIN_VANHENTUNUT",
            format!(
                "kirjausavain {after} is from an earlier change log than this one, which begins at {base} \
                 (a county hub made anew or restored from a backup): load the data again \
                 (/perustiedot, /perustiedot-vko) and follow changes from the kirjausavain it gives"
            ),
        ));
    }
    Ok(Span { newest, base })
}

fn list_missing() -> Refused {
    Refused::bad_request("HETULISTA_PUUTTUU", "the permit is hetu-scoped: send the persons to follow in hetulista")
}

/// Changes after `after` (and at most `until`) that the permit receives,
/// at most a page of them. `list`: the persons the call is about (a
/// hetu-scoped permit must give them). `log`: decoded entries shared with
/// other requests (only the log's own, never an answer).
// Each argument is one independent input of the request; bundling them
// would only move the list elsewhere.
#[allow(clippy::too_many_arguments)]
pub fn changes<S: Store + ?Sized>(
    s: &S,
    log: &LogCache,
    permit: &Permit,
    after: i64,
    list: Option<&[Hetu]>,
    until: Option<i64>,
    limits: &Limits,
    today: Date,
) -> Result<(ChangesPage, Touched), Refused> {
    let span = span(s, after)?;
    // Who the call is about, and by which hetu the recipient knows them.
    let known: Option<HashMap<PersonId, Hetu>> = match list {
        Some(hetus) => {
            let ids = s.person_ids(hetus)?;
            let mut m = HashMap::with_capacity(hetus.len());
            for h in hetus {
                if let Some(&id) = ids.get(h) {
                    m.entry(id).or_insert(*h);
                }
            }
            Some(m)
        }
        None if matches!(permit.rajaus, Scope::Hetulista) => return Err(list_missing()),
        None => None,
    };
    let (page, touched, _) = scan(s, log, permit, &span, after, known.as_ref(), until, limits, today)?;
    Ok((page, touched))
}

/// `changes` of a permit's whole scope (an area's: a hetu-scoped permit
/// names its persons in every call, and such a call is answered alone),
/// shared through `pages` with every permit of the same kind asking for
/// the same page. `show` makes what is sent of a page; it runs only when
/// no kept page holds. The cursor is checked as `changes` checks it,
/// kept page or not. Returns the page and whether it was kept before.
// As `changes`: each argument is one input of the request.
#[allow(clippy::too_many_arguments)]
pub fn shared_changes<S: Store + ?Sized, V: AsRef<[u8]>, E: From<Refused>>(
    s: &S,
    log: &LogCache,
    pages: &PageCache<V>,
    permit: &Permit,
    after: i64,
    limits: &Limits,
    today: Date,
    show: impl FnOnce(&ChangesPage) -> Result<V, E>,
) -> Result<(Arc<SharedPage<V>>, bool), E> {
    let span = span(s, after)?;
    if matches!(permit.rajaus, Scope::Hetulista) {
        return Err(list_missing().into());
    }
    let key = PageKey::Changes(ChangesKey {
        kind: permit.kind(today),
        epoch: span.base,
        after,
        today,
        page: limits.page,
        max_scan: limits.max_scan,
    });
    pages.get_or_make(key, span.newest, || {
        let (page, touched, at_limit) = scan(s, log, permit, &span, after, None, None, limits, today)?;
        let validity = if at_limit && !page.up_to_date { Validity::Fixed } else { Validity::AtNewest(span.newest) };
        let records = page.changes.len();
        Ok((SharedPage { value: show(&page)?, touched, records, next: None }, validity))
    })
}

/// The changes after `after` the permit receives, from the log as `span`
/// found it: for a call about persons, those `known` (by the hetu the
/// recipient knows them by). Also says whether the page stopped at its
/// limits (a full page, or the scan's) rather than at the log's end or
/// `until`: then the log holds what the page covers, and nothing later
/// changes it.
#[allow(clippy::too_many_arguments)]
fn scan<S: Store + ?Sized>(
    s: &S,
    log: &LogCache,
    permit: &Permit,
    span: &Span,
    after: i64,
    known: Option<&HashMap<PersonId, Hetu>>,
    until: Option<i64>,
    limits: &Limits,
    today: Date,
) -> Result<(ChangesPage, Touched, bool), Refused> {
    let hetu_scoped = matches!(permit.rajaus, Scope::Hetulista);
    let mut page = Vec::new();
    let mut touched = Touched::default();
    let mut last = Cursor(after);
    let mut scanned = 0;
    let mut at_limit = false;
    'scan: loop {
        if scanned >= limits.max_scan {
            at_limit = true;
            break;
        }
        let run = log.read(s, span.base, span.newest, last)?;
        for e in run.entries() {
            if until.is_some_and(|u| e.cursor.0 > u) {
                break 'scan;
            }
            if scanned == limits.max_scan {
                at_limit = true;
                break 'scan;
            }
            scanned += 1;
            last = e.cursor;
            let d = &e.delta;
            let shown = match known {
                Some(m) => match m.get(&d.person) {
                    Some(h) => *h,
                    None => continue,
                },
                None => d.hetu_before.unwrap_or(d.hetu_after),
            };
            let disclosure = match render_change(permit, d, hetu_scoped, today) {
                Some(rendered) => rendered,
                None => from_persons(s, permit, e.cursor, hetu_scoped, today)?,
            };
            if disclosure == Disclosure::Nothing {
                continue;
            }
            let c = ChangeOut {
                cursor: e.cursor.0,
                hetu: shown,
                registered: e.registered,
                event: label(permit, d.protected(), d.event),
                disclosure,
            };
            touched.record(c.hetu, d.hetu_after, c.disclosure.changes());
            page.push(c);
            if page.len() == limits.page {
                at_limit = true;
                break 'scan;
            }
        }
        if run.at_end {
            break;
        }
    }
    touched.hetus.sort();
    touched.hetus.dedup();
    let up_to_date = match until {
        Some(u) => last.0 >= u,
        None => last >= s.last_cursor()?,
    };
    Ok((ChangesPage { changes: page, last: last.0, up_to_date }, touched, at_limit))
}

/// A change its summary cannot render alone (`render_change` says when),
/// rendered from both persons.
fn from_persons<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    cursor: Cursor,
    on_list: bool,
    today: Date,
) -> Result<Disclosure, Refused> {
    let e = s
        .change(cursor)?
        .ok_or_else(|| vtj_store::StoreError::Corrupt(format!("change {cursor} has a summary but no entry")))?;
    let before = e.before.as_ref().map(|person| Subject::new(person, on_list));
    Ok(render(permit, before, Subject::new(&e.after, on_list), today))
}

/// What the permit's recipient may hold now, person by person under
/// their active hetu: the reference a synced register is checked
/// against. A hetu-scoped permit's persons are those on `list` (by any
/// hetu they have had).
pub fn projection<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    list: &[Hetu],
    today: Date,
) -> Result<Vec<PersonOut>, Refused> {
    match &permit.rajaus {
        Scope::Hetulista => {
            let ids: BTreeSet<PersonId> = s.person_ids(list)?.into_values().collect();
            let mut out = Vec::new();
            for id in ids {
                if let Some(p) = s.person(id)? {
                    if let Some(g) = full(permit, &p, today) {
                        out.push(PersonOut { hetu: p.hetu(), groups: g });
                    }
                }
            }
            Ok(out)
        }
        Scope::Kuntarajaus { kunnat } => {
            let mut out = Vec::new();
            let mut after = PersonId(0);
            loop {
                let page = s.persons(PersonFilter::Kunnat(kunnat), after, 5_000)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for p in &page {
                    if let Some(g) = full(permit, p, today) {
                        out.push(PersonOut { hetu: p.hetu(), groups: g });
                    }
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use time::macros::date;
    use vtj_core::{GroupName, Product, TurvakieltoRule};
    use vtj_store::SqliteStore;

    use super::*;

    fn permit(tunnus: &str, groups: &[GroupName], ylalupa: Option<&str>) -> Permit {
        Permit {
            tunnus: tunnus.into(),
            luvansaaja: "HVA".into(),
            kayttotarkoitus: "testi".into(),
            tuote: Product { tunnus: "P".into(), kuvaus: String::new(), tietoryhmat: groups.iter().copied().collect() },
            rajaus: Scope::Hetulista,
            turvakielto: TurvakieltoRule::TiedotSensuroidaan,
            voimassa_alkaen: date!(2026 - 01 - 01),
            voimassa_asti: None,
            peruttu: false,
            ylalupa: ylalupa.map(str::to_string),
        }
    }

    #[test]
    fn a_sub_permit_serves_only_while_its_upstream_permit_is_in_force_and_wider() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let today = date!(2026 - 06 - 01);
        let upstream = permit("DVV-1", &[GroupName::HenkilonNimi, GroupName::Kotikunta], None);
        s.put_permit(&upstream).unwrap();
        s.put_permit(&permit("SUB", &[GroupName::HenkilonNimi], Some("DVV-1"))).unwrap();
        assert_eq!(authorize(&s, "SUB", today).unwrap().ylalupa.as_deref(), Some("DVV-1"));

        let why = |s: &SqliteStore| authorize(s, "SUB", today).unwrap_err().to_string();
        s.put_permit(&Permit { voimassa_asti: Some(date!(2026 - 05 - 31)), ..upstream.clone() }).unwrap();
        assert!(why(&s).contains("upstream permit DVV-1 of permit SUB is revoked or not valid today"), "{}", why(&s));
        s.put_permit(&Permit { peruttu: true, ..upstream.clone() }).unwrap();
        assert!(why(&s).contains("discloses nothing"), "{}", why(&s));
        let mut narrowed = upstream;
        narrowed.tuote.tietoryhmat = BTreeSet::from([GroupName::Kotikunta]);
        s.put_permit(&narrowed).unwrap();
        assert!(why(&s).contains("no longer fits its upstream permit DVV-1"), "{}", why(&s));
        assert!(why(&s).contains("HENKILON_NIMI"), "{}", why(&s));
    }
}
