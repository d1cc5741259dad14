//! What each endpoint does, over a store, without HTTP: authorise the
//! permit, read, and render through the core. Disclosure decisions are the
//! core's `render`, `render_full` and `event_label`; nothing here censors or
//! scopes by itself.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use time::Date;
use vtj_core::date::ymd;
use vtj_core::{event_label, render, render_full, Disclosure, Hetu, Permit, Person, PersonId, Scope, Subject};
use vtj_store::{Cursor, PersonFilter, Store};

use crate::problem::ApiError;
use crate::wire::{Change, ChangeLaji, ChangePage, InitialPage, ListAdded, ListRemoved, ListedPersons, PersonRecord};

/// What an answer disclosed, for the audit log.
#[derive(Debug, Default, Clone)]
pub struct Touched {
    pub hetus: Vec<String>,
    pub groups: BTreeSet<String>,
    pub records: u64,
}

impl Touched {
    fn person(&mut self, r: &PersonRecord) {
        self.records += 1;
        self.hetus.push(r.henkilotunnus.clone());
        self.groups.extend(r.tietoryhmat.iter().map(|g| g.tietoryhma.to_string()));
    }
}

/// Limits that keep one request bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_page: usize,
    pub default_page: usize,
    pub max_list: usize,
    /// Log entries one change request may read while looking for changes
    /// the permit receives; the answer says where it stopped.
    pub max_scan: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_page: 5_000, default_page: 1_000, max_list: 10_000, max_scan: 200_000 }
    }
}

/// The caller's permit, or the same refusal whether it does not exist or
/// belongs to someone else.
pub fn authorize<S: Store + ?Sized>(s: &S, recipient: &str, tunnus: &str, today: Date) -> Result<Permit, ApiError> {
    let permit = s.permit(tunnus)?.filter(|p| p.luvansaaja == recipient).ok_or_else(ApiError::unknown_permit)?;
    if !permit.is_active(today) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "TIETOLUPA_EI_VOIMASSA",
            "the permit is revoked or not valid today; no data is disclosed on it",
        ));
    }
    Ok(permit)
}

pub fn parse_hetu(s: &str, at: &str) -> Result<Hetu, ApiError> {
    Hetu::parse(s).map_err(|e| ApiError::bad_request("VIRHEELLINEN_HENKILOTUNNUS", format!("{at}: {s:?}: {e}")))
}

pub fn parse_hetus(list: &[String], limits: &Limits) -> Result<Vec<Hetu>, ApiError> {
    if list.len() > limits.max_list {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "LISTA_LIIAN_PITKA",
            format!(
                "{} hetus in one request; at most {} are accepted, send the rest in further requests",
                list.len(),
                limits.max_list
            ),
        ));
    }
    list.iter().enumerate().map(|(i, h)| parse_hetu(h, &format!("henkilotunnukset[{i}]"))).collect()
}

fn page_size(asked: Option<usize>, limits: &Limits) -> Result<usize, ApiError> {
    match asked {
        None => Ok(limits.default_page),
        Some(n) if (1..=limits.max_page).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "VIRHEELLINEN_SIVUN_KOKO",
            format!("sivunKoko {n} is outside 1..={}", limits.max_page),
        )),
    }
}

fn record(permit: &Permit, person: &Person, on_list: bool, today: Date) -> Option<PersonRecord> {
    render_full(permit, Subject { person, on_list }, today)
        .map(|tietoryhmat| PersonRecord { henkilotunnus: person.hetu().to_string(), tietoryhmat })
}

fn wrong_scope(needed: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "VAARA_RAJAUSTYYPPI",
        format!("this operation is for {needed} permits; the permit has the other kind of scope"),
    )
}

/// Continuation of an initial load: the snapshot cursor and the last person id sent.
fn parse_continuation(token: &str) -> Option<(Cursor, PersonId)> {
    let (c, id) = token.split_once('.')?;
    Some((Cursor(c.parse().ok()?), PersonId(id.parse().ok()?)))
}

/// One page of everyone in a kuntarajaus permit's scope. Pages read the
/// current state, which is at or after the snapshot cursor; since every
/// change carries whole group values, replaying the changes after the
/// snapshot cursor over these pages converges to the current state.
pub fn initial_page<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    jatkoavain: Option<&str>,
    sivun_koko: Option<usize>,
    limits: &Limits,
    today: Date,
) -> Result<(InitialPage, Touched), ApiError> {
    let Scope::Kuntarajaus { kunnat } = &permit.rajaus else { return Err(wrong_scope("kuntarajaus")) };
    let limit = page_size(sivun_koko, limits)?;
    let last = s.last_cursor()?;
    let (snapshot, after) = match jatkoavain {
        None => (last, PersonId(0)),
        Some(t) => match parse_continuation(t) {
            Some((c, id)) if c <= last && c.0 >= 0 => (c, id),
            _ => {
                return Err(ApiError::bad_request(
                    "VIRHEELLINEN_JATKOAVAIN",
                    "jatkoavain is not one this service gave out; start the initial load again without it",
                ))
            }
        },
    };
    let persons = s.persons(PersonFilter::Kunnat(kunnat), after, limit)?;
    let mut touched = Touched::default();
    let henkilot: Vec<PersonRecord> = persons.iter().filter_map(|p| record(permit, p, false, today)).collect();
    henkilot.iter().for_each(|r| touched.person(r));
    let jatkoavain = match persons.last() {
        Some(p) if persons.len() == limit => Some(format!("{}.{}", snapshot.0, p.id.0)),
        _ => None,
    };
    Ok((InitialPage { kirjausavain: snapshot.0, henkilot, jatkoavain }, touched))
}

/// Initial data of a hetu-list permit: the posted persons that are on the list.
pub fn listed_persons<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    hetus: &[Hetu],
    today: Date,
) -> Result<(ListedPersons, Touched), ApiError> {
    if !matches!(permit.rajaus, Scope::Hetulista) {
        return Err(wrong_scope("hetulista"));
    }
    let snapshot = s.last_cursor()?;
    let mut touched = Touched::default();
    let mut henkilot = Vec::new();
    let mut ei_loydy = Vec::new();
    for &h in hetus {
        match listed_person(s, permit, h, today)? {
            Some(r) => {
                touched.person(&r);
                henkilot.push(r);
            }
            None => {
                touched.hetus.push(h.to_string());
                ei_loydy.push(h.to_string());
            }
        }
    }
    Ok((ListedPersons { kirjausavain: snapshot.0, henkilot, ei_loydy }, touched))
}

fn listed_person<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    h: Hetu,
    today: Date,
) -> Result<Option<PersonRecord>, ApiError> {
    let Some(p) = s.person_by_hetu(h)? else { return Ok(None) };
    let on_list = s.on_hetu_list(&permit.tunnus, p.id)?;
    Ok(record(permit, &p, on_list, today))
}

/// One person by hetu, within scope. Out of scope and unknown are the same answer.
pub fn single_person<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    hetu: Hetu,
    today: Date,
) -> Result<(PersonRecord, Touched), ApiError> {
    let found = match s.person_by_hetu(hetu)? {
        Some(p) => {
            let on_list = matches!(permit.rajaus, Scope::Hetulista) && s.on_hetu_list(&permit.tunnus, p.id)?;
            record(permit, &p, on_list, today)
        }
        None => None,
    };
    let r = found.ok_or_else(ApiError::person_not_found)?;
    let mut touched = Touched::default();
    touched.person(&r);
    Ok((r, touched))
}

/// Changes after `after` (and at most `until`, if given) that the permit
/// receives, at most a page of them.
pub fn changes_page<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    after: i64,
    until: Option<i64>,
    sivun_koko: Option<usize>,
    limits: &Limits,
    today: Date,
) -> Result<(ChangePage, Touched), ApiError> {
    let limit = page_size(sivun_koko, limits)?;
    let newest = s.last_cursor()?;
    if after < 0 || Cursor(after) > newest {
        return Err(ApiError::bad_request(
            "KIRJAUSAVAIN_TULEVAISUUDESSA",
            format!("kirjausavain {after} is not a cursor this service has given out (the newest is {newest})"),
        ));
    }
    let hetulista = matches!(permit.rajaus, Scope::Hetulista);
    let mut on_list: HashMap<PersonId, bool> = HashMap::new();
    let mut muutokset = Vec::new();
    let mut touched = Touched::default();
    let mut last = Cursor(after);
    let mut scanned = 0;
    'scan: while scanned < limits.max_scan {
        let chunk = 1_000.min(limits.max_scan - scanned);
        let entries = s.changes_since(last, chunk)?;
        scanned += entries.len();
        for e in &entries {
            if until.is_some_and(|u| e.cursor.0 > u) {
                break 'scan;
            }
            let listed = if hetulista {
                match on_list.get(&e.after.id) {
                    Some(&b) => b,
                    None => {
                        let b = s.on_hetu_list(&permit.tunnus, e.after.id)?;
                        on_list.insert(e.after.id, b);
                        b
                    }
                }
            } else {
                false
            };
            let before = e.before.as_ref().map(|person| Subject { person, on_list: listed });
            let d = render(permit, before, Subject { person: &e.after, on_list: listed }, today);
            last = e.cursor;
            let (laji, tietoryhmat) = match d {
                Disclosure::Nothing => continue,
                Disclosure::Enter(g) => (ChangeLaji::Enter, g),
                Disclosure::Change(g) => (ChangeLaji::Change, g),
                Disclosure::Leave(g) => (ChangeLaji::Leave, g),
            };
            let change = Change {
                kirjausavain: e.cursor.0,
                henkilotunnus: e.after.hetu().to_string(),
                tapahtuma: event_label(permit, e.before.as_ref(), &e.after, &e.event.tapahtuma).to_string(),
                rekisterointipaiva: ymd(e.event.rekisterointipaiva),
                laji,
                tietoryhmat,
            };
            touched.hetus.push(change.henkilotunnus.clone());
            touched.groups.extend(change.tietoryhmat.iter().map(|g| g.tietoryhma.to_string()));
            touched.records += 1;
            muutokset.push(change);
            if muutokset.len() == limit {
                break 'scan;
            }
        }
        if entries.len() < chunk {
            break;
        }
    }
    touched.hetus.sort();
    touched.hetus.dedup();
    let ajantasalla = match until {
        Some(u) => last.0 >= u,
        None => last >= s.last_cursor()?,
    };
    Ok((ChangePage { muutokset, viimeinen_kirjausavain: last.0, ajantasalla }, touched))
}

pub fn list_add<S: Store + ?Sized>(
    s: &mut S,
    permit: &Permit,
    hetus: &[Hetu],
    today: Date,
) -> Result<(ListAdded, Touched), ApiError> {
    if !matches!(permit.rajaus, Scope::Hetulista) {
        return Err(wrong_scope("hetulista"));
    }
    let lisatty = s.hetu_list_add(&permit.tunnus, hetus)?;
    let kirjausavain = s.last_cursor()?.0;
    let mut touched = Touched::default();
    let mut henkilot = Vec::new();
    for &h in hetus {
        match listed_person(&*s, permit, h, today)? {
            Some(r) => {
                touched.person(&r);
                henkilot.push(r);
            }
            None => touched.hetus.push(h.to_string()),
        }
    }
    Ok((ListAdded { lisatty, henkilot, kirjausavain }, touched))
}

pub fn list_remove<S: Store + ?Sized>(
    s: &mut S,
    permit: &Permit,
    hetus: &[Hetu],
) -> Result<(ListRemoved, Touched), ApiError> {
    if !matches!(permit.rajaus, Scope::Hetulista) {
        return Err(wrong_scope("hetulista"));
    }
    // A person listed under a hetu since corrected is removed by either hetu.
    let mut all: Vec<Hetu> = hetus.to_vec();
    for &h in hetus {
        if let Some(p) = s.person_by_hetu(h)? {
            all.extend(p.all_hetus());
        }
    }
    all.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    all.dedup();
    let poistettu = s.hetu_list_remove(&permit.tunnus, &all)?;
    let touched = Touched { hetus: hetus.iter().map(|h| h.to_string()).collect(), ..Touched::default() };
    Ok((ListRemoved { poistettu }, touched))
}

/// What the permit's recipient may hold now, person by person (values only:
/// a censored group is simply absent). The reference a synced register is
/// checked against.
pub fn projection<S: Store + ?Sized>(
    s: &S,
    permit: &Permit,
    today: Date,
) -> Result<
    std::collections::BTreeMap<String, std::collections::BTreeMap<vtj_core::GroupName, vtj_core::GroupValue>>,
    vtj_store::StoreError,
> {
    let mut out = std::collections::BTreeMap::new();
    let mut put = |p: &Person, on_list: bool| {
        if let Some(groups) = render_full(permit, Subject { person: p, on_list }, today) {
            let values = groups.into_iter().filter_map(|g| g.arvo.map(|v| (g.tietoryhma, v))).collect();
            out.insert(p.hetu().to_string(), values);
        }
    };
    match &permit.rajaus {
        Scope::Hetulista => {
            for h in s.hetu_list(&permit.tunnus)? {
                if let Some(p) = s.person_by_hetu(h)? {
                    put(&p, true);
                }
            }
        }
        Scope::Kuntarajaus { kunnat } => {
            let mut after = PersonId(0);
            loop {
                let page = s.persons(PersonFilter::Kunnat(kunnat), after, 5_000)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                page.iter().for_each(|p| put(p, false));
            }
        }
    }
    Ok(out)
}
