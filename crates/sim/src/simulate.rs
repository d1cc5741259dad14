//! `simulate`: daily life events appended to the change log.
//!
//! Each day draws a Poisson number of events of each kind from annual
//! per-person rates, picks the persons through store queries (the
//! population is never held in memory), and appends the day's events as one
//! atomic batch. Each day's randomness comes from (seed, date), so two
//! stores built from the same seed and the same days hold the same log.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use thiserror::Error;
use time::Date;
use vtj_core::groups::*;
use vtj_core::{Event, EventKind, GroupName, GroupValue, Hetu, KuntaCode, Person, PersonId, VtjDate};
use vtj_store::{PersonFilter, Store, StoreError};

use crate::generate::{guardian, guardianship, Municipalities, META_DATE, META_SEED};
use crate::hetus::HetuAllocator;
use crate::make;
use crate::rng::Rng;

#[derive(Debug, Error)]
pub enum SimError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store has no generated population: run `vtj generate` first")]
    NotGenerated,
    #[error("stored simulation metadata {0:?} is not valid: {1:?}")]
    BadMeta(&'static str, String),
}

#[derive(Debug, Clone)]
pub struct SimulateConfig {
    pub days: u32,
    /// Multiplies every event rate; 1.0 is Finland's real rhythm.
    pub intensity: f64,
}

#[derive(Debug, Clone, Default)]
pub struct SimulateReport {
    pub days: u32,
    pub events: u64,
    pub first_day: Option<Date>,
    pub last_day: Option<Date>,
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Time spent in the store's append, apart from making the events.
    pub append_time: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Birth,
    Death,
    MoveWithin,
    MoveBetween,
    MoveAbroad,
    Return,
    NameChange,
    Language,
    TurvakieltoStart,
    TurvakieltoExtension,
    TurvakieltoEnd,
    Contact,
    Temporary,
    Postal,
    GuardianshipStart,
    GuardianshipEnd,
    PowerOfAttorney,
    HetuCorrection,
    Email,
    CareHome,
    Ban,
    Marriage,
    Divorce,
    BoardCustody,
    Adoption,
}

/// Events per person per year, roughly Finland's.
const RATES: [(Kind, f64); 25] = [
    (Kind::Birth, 0.008),
    (Kind::Death, 0.011),
    (Kind::MoveWithin, 0.085),
    (Kind::MoveBetween, 0.050),
    (Kind::MoveAbroad, 0.003),
    (Kind::Return, 0.0025),
    (Kind::NameChange, 0.006),
    (Kind::Language, 0.0008),
    (Kind::TurvakieltoStart, 0.0008),
    (Kind::TurvakieltoExtension, 0.0003),
    (Kind::TurvakieltoEnd, 0.0007),
    (Kind::Contact, 0.0003),
    (Kind::Temporary, 0.010),
    (Kind::Postal, 0.010),
    (Kind::GuardianshipStart, 0.0009),
    (Kind::GuardianshipEnd, 0.0005),
    (Kind::PowerOfAttorney, 0.0004),
    (Kind::HetuCorrection, 0.00005),
    (Kind::Email, 0.02),
    (Kind::CareHome, 0.0005),
    (Kind::Ban, 0.0015),
    // Finland: about 20,000 marriages and 9,000 divorces a year.
    (Kind::Marriage, 0.0036),
    (Kind::Divorce, 0.0016),
    (Kind::BoardCustody, 0.0001),
    (Kind::Adoption, 0.00005),
];

fn is_married(p: &Person) -> bool {
    vtj_core::family::spouse(p).is_some()
}

fn has_guardian_with_hetu(p: &Person) -> bool {
    p.instances(GroupName::Huoltaja)
        .iter()
        .any(|v| vtj_core::relations::relative(v).is_some_and(|r| r.henkilotunnus.is_some()))
}

pub fn simulate<S: Store + ?Sized>(
    store: &mut S,
    cfg: &SimulateConfig,
    progress: &mut dyn FnMut(u32),
) -> Result<SimulateReport, SimError> {
    let seed_text = store.meta(META_SEED)?.ok_or(SimError::NotGenerated)?;
    let seed: u64 = seed_text.parse().map_err(|_| SimError::BadMeta(META_SEED, seed_text.clone()))?;
    let date_text = store.meta(META_DATE)?.ok_or(SimError::NotGenerated)?;
    let mut today = VtjDate::parse(&date_text)
        .ok()
        .and_then(|d| d.as_full())
        .ok_or_else(|| SimError::BadMeta(META_DATE, date_text.clone()))?;
    let kunnat = Municipalities::new();
    let mut report = SimulateReport::default();
    for d in 0..cfg.days {
        today = today.next_day().ok_or_else(|| SimError::BadMeta(META_DATE, date_text.clone()))?;
        let events = {
            let mut day = Day::new(&*store, &kunnat, seed, today)?;
            day.run(cfg.intensity)?;
            day.events
        };
        let appending = std::time::Instant::now();
        store.append_with_meta(&events, &[(META_DATE, &vtj_core::date::ymd(today))])?;
        report.append_time += appending.elapsed();
        for e in &events {
            *report.by_kind.entry(e.tapahtuma.wire_name()).or_default() += 1;
        }
        report.events += events.len() as u64;
        report.days += 1;
        report.first_day.get_or_insert(today);
        report.last_day = Some(today);
        progress(d + 1);
    }
    Ok(report)
}

struct Day<'a, S: Store + ?Sized> {
    store: &'a S,
    kunnat: &'a Municipalities,
    rng: Rng,
    today: Date,
    max_id: u64,
    next_id: u64,
    /// Persons changed earlier today, as they are after those changes.
    touched: HashMap<PersonId, Person>,
    new_hetus: HashSet<Hetu>,
    hetus: HetuAllocator,
    events: Vec<Event>,
}

impl<'a, S: Store + ?Sized> Day<'a, S> {
    fn new(store: &'a S, kunnat: &'a Municipalities, seed: u64, today: Date) -> Result<Self, StoreError> {
        let max_id = store.max_person_id()?.0;
        Ok(Day {
            store,
            kunnat,
            rng: Rng::fork(seed, today.to_julian_day() as u64),
            today,
            max_id,
            next_id: max_id + 1,
            touched: HashMap::new(),
            new_hetus: HashSet::new(),
            hetus: HetuAllocator::default(),
            events: Vec::new(),
        })
    }

    fn run(&mut self, intensity: f64) -> Result<(), StoreError> {
        let population = self.store.person_count()? as f64;
        let mut kinds = Vec::new();
        for (kind, rate) in RATES {
            let n = self.rng.poisson(rate * population / 365.0 * intensity);
            kinds.extend(std::iter::repeat_n(kind, n as usize));
        }
        // Interleave the kinds as a real day's registrations would be.
        for i in (1..kinds.len()).rev() {
            kinds.swap(i, self.rng.below(i as u64 + 1) as usize);
        }
        for kind in kinds {
            self.one(kind)?;
        }
        self.coming_of_age()
    }

    /// Custody ends on the 18th birthday. Synthetic hetus of one birth date
    /// are the test range's 100 individual numbers under each century sign,
    /// so those turning 18 today are found by hetu, not sampled.
    fn coming_of_age(&mut self) -> Result<(), StoreError> {
        let today = self.today;
        let Ok(born) = today.replace_year(today.year() - 18) else { return Ok(()) };
        for &sign in vtj_core::hetu::century_signs(born.year()) {
            for n in 900..=999 {
                let Ok(h) = Hetu::from_parts(born, sign, n) else { continue };
                let Some(p) = self.by_hetu(h)? else { continue };
                let in_custody = [GroupName::Huoltaja, GroupName::HuoltajaSuppea, GroupName::HuoltajaRajoitettu]
                    .iter()
                    .any(|g| !p.instances(*g).is_empty());
                if p.is_dead() || p.hetu() != h || !in_custody {
                    continue;
                }
                let guardians = self.guardians(&p)?;
                let batch = vtj_core::family::comes_of_age(&p, &guardians, today);
                self.push_family(batch)?;
            }
        }
        Ok(())
    }

    /// A random living person passing `pred`, or `None` if a few probes find none.
    fn pick(
        &mut self,
        filter: PersonFilter<'_>,
        mut pred: impl FnMut(&Person, &mut Rng) -> bool,
    ) -> Result<Option<Person>, StoreError> {
        for _ in 0..6 {
            let start = self.rng.below(self.max_id.max(1));
            for p in self.store.persons(filter, PersonId(start), 64)? {
                let p = self.touched.get(&p.id).cloned().unwrap_or(p);
                if !p.is_dead() && pred(&p, &mut self.rng) {
                    return Ok(Some(p));
                }
            }
        }
        Ok(None)
    }

    fn new_hetu(&mut self, birth: Date, sex: vtj_core::Sex) -> Result<Hetu, StoreError> {
        let (store, new) = (self.store, &self.new_hetus);
        let h = self.hetus.allocate(birth, sex, |h| Ok::<_, StoreError>(new.contains(&h) || store.hetu_exists(h)?))?;
        self.new_hetus.insert(h);
        Ok(h)
    }

    fn push(&mut self, before: Option<&Person>, id: PersonId, tapahtuma: EventKind) {
        let event = Event { person: id, rekisterointipaiva: self.today, tapahtuma };
        // The store re-applies the same events; an event the core refuses
        // here would fail the whole day's batch there, so it is dropped.
        if let Ok(after) = vtj_core::apply(before, &event) {
            self.touched.insert(id, after);
            self.events.push(event);
        }
    }

    /// A person as today's changes left them, by any hetu they have had.
    fn by_hetu(&self, h: Hetu) -> Result<Option<Person>, StoreError> {
        if let Some(p) = self.touched.values().find(|p| p.all_hetus().contains(&h)) {
            return Ok(Some(p.clone()));
        }
        Ok(self.store.person_by_hetu(h)?.map(|p| self.touched.get(&p.id).cloned().unwrap_or(p)))
    }

    fn current(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        match self.touched.get(&id) {
            Some(p) => Ok(Some(p.clone())),
            None => self.store.person(id),
        }
    }

    /// Every person `p`'s relations name.
    fn relatives(&self, p: &Person) -> Result<Vec<Person>, StoreError> {
        let mut out: Vec<Person> = Vec::new();
        for l in vtj_core::relations::links(p) {
            if let Some(r) = self.by_hetu(l.other)? {
                if !out.iter().any(|o| o.id == r.id) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    fn spouse(&self, p: &Person) -> Result<Option<Person>, StoreError> {
        match vtj_core::family::spouse(p) {
            Some(h) => Ok(self.by_hetu(h)?.filter(|s| !s.is_dead())),
            None => Ok(None),
        }
    }

    fn guardians(&self, child: &Person) -> Result<Vec<Person>, StoreError> {
        let mut out = Vec::new();
        for g in [GroupName::Huoltaja, GroupName::HuoltajaSuppea, GroupName::HuoltajaRajoitettu] {
            for v in child.instances(g) {
                if let Some(h) = vtj_core::relations::relative(v).and_then(|r| r.henkilotunnus) {
                    out.extend(self.by_hetu(h)?);
                }
            }
        }
        Ok(out)
    }

    /// A family event: all of its events or, if the core refuses any of
    /// them or the relations would be one-sided, none.
    fn push_family(&mut self, batch: Vec<Event>) -> Result<(), StoreError> {
        let mut states: HashMap<PersonId, Person> = HashMap::new();
        let mut changed: Vec<(Option<Person>, PersonId)> = Vec::new();
        for e in &batch {
            let before = match states.get(&e.person) {
                Some(p) => Some(p.clone()),
                None => self.current(e.person)?,
            };
            let Ok(after) = vtj_core::apply(before.as_ref(), e) else { return Ok(()) };
            if !changed.iter().any(|(_, id)| *id == e.person) {
                changed.push((before, e.person));
            }
            states.insert(e.person, after);
        }
        let pairs: Vec<(Option<&Person>, &Person)> = changed.iter().map(|(b, id)| (b.as_ref(), &states[id])).collect();
        let consistent =
            vtj_core::relations::check(&pairs, |h| match pairs.iter().find(|(_, a)| a.all_hetus().contains(&h)) {
                Some((_, a)) => Ok(Some((*a).clone())),
                None => self.by_hetu(h),
            })?;
        if consistent.is_err() {
            return Ok(());
        }
        for (id, p) in states {
            self.touched.insert(id, p);
        }
        self.events.extend(batch);
        Ok(())
    }

    /// `p` marries a single adult of the same municipality, who moves in
    /// (unless either is protected: a shared address would reveal it).
    fn marriage(&mut self, p: &Person) -> Result<(), StoreError> {
        let today = self.today;
        let Some(kunta) = p.kotikunta() else { return Ok(()) };
        let here = BTreeSet::from([kunta]);
        let age = |q: &Person| (today - q.hetu().birth_date()).whole_days() / 365;
        let (pid, page) = (p.id, age(p));
        let Some(other) = self.pick(PersonFilter::Kunnat(&here), |q, _| {
            q.id != pid && !is_married(q) && age(q) >= 20 && (age(q) - page).abs() <= 12 && q.kotikunta() == Some(kunta)
        })?
        else {
            return Ok(());
        };
        let tapa = if self.rng.chance(0.4) { code::KIRKOLLINEN_VIHKIMINEN } else { code::SIVIILIVIHKIMINEN };
        self.push_family(vtj_core::family::marriage(p, &other, tapa, today))?;
        let protected = p.has_turvakielto() || other.has_turvakielto();
        if let (false, Some(GroupValue::VakinainenKotimainenOsoite(home))) =
            (protected, p.group(GroupName::VakinainenKotimainenOsoite).cloned())
        {
            if let Some(moving) = self.current(other.id)? {
                let osoite = KotimainenOsoite { alkupv: Some(VtjDate::Full(today)), ..home };
                self.push(Some(&moving), moving.id, EventKind::MoveWithin { osoite });
            }
        }
        Ok(())
    }

    /// The spouse of the child's guardian adopts the child (a stepparent
    /// adoption), if the guardian is married to someone not yet its parent.
    fn adoption(&mut self, child: &Person) -> Result<(), StoreError> {
        let guardians = self.guardians(child)?;
        let Some(g) = guardians.first() else { return Ok(()) };
        let Some(spouse) = self.spouse(g)? else { return Ok(()) };
        let already = vtj_core::relations::links(child).iter().any(|l| spouse.all_hetus().contains(&l.other));
        if already || guardians.len() > 1 {
            return Ok(());
        }
        let batch = vtj_core::family::adoption(child, &spouse, &[], self.today);
        self.push_family(batch)
    }

    fn one(&mut self, kind: Kind) -> Result<(), StoreError> {
        let today = self.today;
        let in_finland = |p: &Person| p.kotikunta().is_some_and(|k| k.is_municipality());
        let picked = match kind {
            Kind::Birth => return self.birth(),
            Kind::Death => self.pick(PersonFilter::All, |p, r| {
                let age = (today - p.hetu().birth_date()).whole_days() / 365;
                age >= 60 || r.chance(0.05)
            })?,
            Kind::Return => {
                let abroad = BTreeSet::from([KuntaCode::ABROAD]);
                self.pick(PersonFilter::Kunnat(&abroad), |p, _| p.kotikunta() == Some(KuntaCode::ABROAD))?
            }
            Kind::TurvakieltoExtension | Kind::TurvakieltoEnd | Kind::Contact => {
                self.pick(PersonFilter::Turvakielto, |p, _| p.has_turvakielto())?
            }
            Kind::TurvakieltoStart => self.pick(PersonFilter::All, |p, _| !p.has_turvakielto())?,
            Kind::GuardianshipEnd => self.pick(PersonFilter::All, |p, _| p.group(GroupName::Edunvalvonta).is_some())?,
            Kind::GuardianshipStart | Kind::NameChange => {
                self.pick(PersonFilter::All, |p, _| (today - p.hetu().birth_date()).whole_days() >= 18 * 365)?
            }
            Kind::PowerOfAttorney => self.pick(PersonFilter::All, |p, _| {
                (today - p.hetu().birth_date()).whole_days() >= 65 * 365
                    && p.group(GroupName::Edunvalvontavaltuutus).is_none()
            })?,
            Kind::Language | Kind::HetuCorrection => self.pick(PersonFilter::All, |_, _| true)?,
            Kind::Marriage => self.pick(PersonFilter::All, |p, _| {
                (today - p.hetu().birth_date()).whole_days() >= 20 * 365 && in_finland(p) && !is_married(p)
            })?,
            Kind::Divorce => self.pick(PersonFilter::All, |p, _| is_married(p))?,
            Kind::BoardCustody | Kind::Adoption => self.pick(PersonFilter::All, |p, _| {
                (today - p.hetu().birth_date()).whole_days() < 15 * 365 && has_guardian_with_hetu(p)
            })?,
            Kind::Email | Kind::Ban => {
                self.pick(PersonFilter::All, |p, _| (today - p.hetu().birth_date()).whole_days() >= 18 * 365)?
            }
            Kind::CareHome => self.pick(PersonFilter::All, |p, _| {
                (today - p.hetu().birth_date()).whole_days() >= 75 * 365
                    && in_finland(p)
                    && p.group(GroupName::VakinainenOlinpaikassaAsuminen).is_none()
            })?,
            // A child in custody moves with its guardian, not alone.
            Kind::MoveWithin | Kind::MoveBetween | Kind::MoveAbroad => {
                self.pick(PersonFilter::All, |p, _| in_finland(p) && !has_guardian_with_hetu(p))?
            }
            Kind::Temporary | Kind::Postal => self.pick(PersonFilter::All, |p, _| in_finland(p))?,
        };
        let Some(p) = picked else { return Ok(()) };
        match kind {
            Kind::Death => {
                let relatives = self.relatives(&p)?;
                let batch = vtj_core::family::death(&p, &relatives, VtjDate::Full(today), today);
                return self.push_family(batch);
            }
            Kind::HetuCorrection => {
                let uusi = self.new_hetu(p.hetu().birth_date(), p.hetu().sex())?;
                let relatives = self.relatives(&p)?;
                let batch = vtj_core::family::hetu_correction(&p, &relatives, uusi, today);
                return self.push_family(batch);
            }
            Kind::Marriage => return self.marriage(&p),
            Kind::Divorce => {
                let Some(spouse) = self.spouse(&p)? else { return Ok(()) };
                let batch = vtj_core::family::divorce(&p, &spouse, today);
                return self.push_family(batch);
            }
            Kind::BoardCustody => {
                let guardians = self.guardians(&p)?;
                let batch = vtj_core::family::custody_ends(&p, &guardians, true, today);
                return self.push_family(batch);
            }
            Kind::Adoption => return self.adoption(&p),
            Kind::NameChange => {
                let Some(GroupValue::HenkilonNimi(old)) = p.group(GroupName::HenkilonNimi) else { return Ok(()) };
                let swedish =
                    matches!(p.group(GroupName::Aidinkieli), Some(GroupValue::Aidinkieli(k)) if make::is_swedish(k));
                let mut sukunimi = make::surname(&mut self.rng, swedish);
                if sukunimi == old.sukunimi {
                    sukunimi = make::surname(&mut self.rng, !swedish);
                }
                let nimi = Nimi::new(&old.etunimi, &sukunimi, Some(VtjDate::Full(today)));
                let relatives = self.relatives(&p)?;
                return self.push_family(vtj_core::family::renamed(&p, &relatives, nimi, today));
            }
            _ => {}
        }
        let kunta = p.kotikunta().unwrap_or(KuntaCode::UNKNOWN);
        let r = &mut self.rng;
        let tapahtuma = match kind {
            Kind::Birth | Kind::NameChange => unreachable!("handled above"),
            Kind::MoveWithin => EventKind::MoveWithin { osoite: make::kotimainen_osoite(r, kunta, today) },
            Kind::MoveBetween | Kind::Return => {
                let target = self.destination(kunta);
                let osoite = make::kotimainen_osoite(&mut self.rng, target, today);
                let kotikunta = make::kotikunta(target, today);
                if kind == Kind::Return {
                    EventKind::ReturnFromAbroad { osoite, kotikunta }
                } else {
                    EventKind::MoveToMunicipality { osoite, kotikunta }
                }
            }
            Kind::MoveAbroad => EventKind::MoveAbroad {
                osoite: make::ulkomainen_osoite(r, Some(today)),
                kuntaan_muuttopv: VtjDate::Full(today),
            },
            Kind::Language => {
                let now_sv = matches!(
                    p.group(GroupName::Asiointikieli),
                    Some(GroupValue::Asiointikieli(a)) if a.kielikoodi == AsiointikieliKoodi::Sv
                );
                let asiointikieli = Some(if now_sv { AsiointikieliKoodi::Fi } else { AsiointikieliKoodi::Sv });
                EventKind::LanguageChange { aidinkieli: None, asiointikieli }
            }
            Kind::TurvakieltoStart => EventKind::TurvakieltoStart { turva_loppu_pv: make::turvakielto_end(r, today) },
            Kind::TurvakieltoExtension => {
                EventKind::TurvakieltoExtension { turva_loppu_pv: make::turvakielto_end(r, today) }
            }
            Kind::TurvakieltoEnd => EventKind::TurvakieltoEnd,
            Kind::Contact => {
                let set = p.group(GroupName::KotimainenYhteysosoite).is_none() || r.chance(0.5);
                let k = self.kunnat.pick(r);
                EventKind::ContactAddress { osoite: set.then(|| make::postiosoite(r, k)) }
            }
            Kind::Temporary => {
                let set = p.group(GroupName::TilapainenKotimainenOsoite).is_none();
                let k = self.kunnat.pick(r);
                EventKind::TemporaryAddress { osoite: set.then(|| make::kotimainen_osoite(r, k, today)) }
            }
            Kind::Postal => {
                let set = p.group(GroupName::KotimainenPostiosoite).is_none();
                EventKind::PostalAddress { osoite: set.then(|| make::postiosoite(r, kunta)) }
            }
            Kind::GuardianshipStart => EventKind::GuardianshipStart { edunvalvonta: guardianship(r, today) },
            Kind::GuardianshipEnd => EventKind::GuardianshipEnd,
            Kind::PowerOfAttorney => EventKind::PowerOfAttorneyConfirmed {
                valtuutus: Edunvalvontavaltuutus {
                    vahvistamispv: VtjDate::Full(today),
                    valtuutetut: vec![guardian(r)],
                },
            },
            Kind::Death
            | Kind::HetuCorrection
            | Kind::Marriage
            | Kind::Divorce
            | Kind::BoardCustody
            | Kind::Adoption => unreachable!("family events are handled above"),
            Kind::Email if p.group(GroupName::Sahkopostiosoite).is_some() && r.chance(0.3) => {
                EventKind::GroupsRegistered { ryhmat: Vec::new(), poistetut: vec![GroupName::Sahkopostiosoite] }
            }
            Kind::Email => {
                let (etunimi, sukunimi) = match p.group(GroupName::HenkilonNimi) {
                    Some(GroupValue::HenkilonNimi(n)) => (n.etunimi.clone(), n.sukunimi.clone()),
                    _ => Default::default(),
                };
                let osoite = make::sahkoposti(r, &etunimi, &sukunimi);
                EventKind::GroupsRegistered {
                    ryhmat: vec![GroupValue::Sahkopostiosoite(osoite)],
                    poistetut: Vec::new(),
                }
            }
            Kind::CareHome => EventKind::GroupsRegistered {
                ryhmat: vec![GroupValue::VakinainenOlinpaikassaAsuminen(make::hoitolaitos(r, kunta))],
                poistetut: Vec::new(),
            },
            Kind::Ban if p.group(GroupName::Suoramarkkinointikielto).is_some() => {
                EventKind::GroupsRegistered { ryhmat: Vec::new(), poistetut: vec![GroupName::Suoramarkkinointikielto] }
            }
            Kind::Ban => EventKind::GroupsRegistered {
                ryhmat: vec![GroupValue::Suoramarkkinointikielto(Kielto { alkupv: Some(VtjDate::Full(today)) })],
                poistetut: Vec::new(),
            },
        };
        let household = matches!(kind, Kind::MoveWithin | Kind::MoveBetween | Kind::MoveAbroad);
        let with = if household { self.household(&p)? } else { Vec::new() };
        self.push(Some(&p), p.id, tapahtuma.clone());
        // The spouse and the children in the mover's custody who live at
        // the same address move along (each their own event, as in VTJ).
        for q in with {
            if let Some(q) = self.current(q.id)? {
                self.push(Some(&q), q.id, tapahtuma.clone());
            }
        }
        Ok(())
    }

    /// Who lives with `p` as family: the spouse and the children in `p`'s
    /// custody registered at `p`'s permanent address.
    fn household(&self, p: &Person) -> Result<Vec<Person>, StoreError> {
        let home = p.group(GroupName::VakinainenKotimainenOsoite);
        let mut out = Vec::new();
        for l in vtj_core::relations::links(p) {
            let family = matches!(l.group, GroupName::Huollettava)
                || (l.group == GroupName::Avioliitto && l.voimassaolo == Some(Voimassaolo::Aktiivi));
            if !family {
                continue;
            }
            if let Some(q) = self.by_hetu(l.other)? {
                if !q.is_dead() && home.is_some() && q.group(GroupName::VakinainenKotimainenOsoite) == home {
                    out.push(q);
                }
            }
        }
        Ok(out)
    }

    /// Where a mover goes: mostly within the same wellbeing services county,
    /// otherwise anywhere in the country weighted by size.
    fn destination(&mut self, from: KuntaCode) -> KuntaCode {
        let region = vtj_core::kunta::kunta(from).map(|k| k.region);
        for _ in 0..20 {
            let to = self.kunnat.pick(&mut self.rng);
            let same_region = vtj_core::kunta::kunta(to).map(|k| k.region) == region;
            if to != from && (same_region || self.rng.chance(0.35)) {
                return to;
            }
        }
        self.kunnat.codes.iter().copied().find(|&k| k != from).unwrap_or(from)
    }

    fn birth(&mut self) -> Result<(), StoreError> {
        let today = self.today;
        let Some(parent) = self.pick(PersonFilter::All, |p, _| {
            let age = (today - p.hetu().birth_date()).whole_days() / 365;
            (18..50).contains(&age)
                && p.kotikunta().is_some_and(|k| k.is_municipality())
                && p.hetu().sex() == vtj_core::Sex::Female
        })?
        else {
            return Ok(());
        };
        // The father: the mother's husband, or (most often) a man of her
        // municipality who acknowledges paternity; now and then none known.
        let father = match self.spouse(&parent)? {
            Some(h) if h.hetu().sex() == vtj_core::Sex::Male => Some(h),
            _ if self.rng.chance(0.8) => {
                let here = BTreeSet::from([parent.kotikunta().unwrap_or(KuntaCode::UNKNOWN)]);
                self.pick(PersonFilter::Kunnat(&here), |p, _| {
                    let age = (today - p.hetu().birth_date()).whole_days() / 365;
                    (18..60).contains(&age) && p.hetu().sex() == vtj_core::Sex::Male
                })?
            }
            _ => None,
        };
        let sex = if self.rng.chance(0.5) { vtj_core::Sex::Male } else { vtj_core::Sex::Female };
        let hetu = self.new_hetu(today, sex)?;
        let id = PersonId(self.next_id);
        self.next_id += 1;
        let kieli = match parent.group(GroupName::Aidinkieli) {
            Some(GroupValue::Aidinkieli(k)) => k.clone(),
            _ => Kieli::iso("fi"),
        };
        let swedish = make::is_swedish(&kieli);
        let etunimet = make::given_names(&mut self.rng, sex, swedish);
        let sukunimi = match parent.group(GroupName::HenkilonNimi) {
            Some(GroupValue::HenkilonNimi(n)) => n.sukunimi.clone(),
            _ => make::surname(&mut self.rng, swedish),
        };
        let kunta = parent.kotikunta().unwrap_or(KuntaCode::UNKNOWN);
        let mut ryhmat = vec![
            GroupValue::HenkilonNimi(Nimi::new(&etunimet, &sukunimi, Some(VtjDate::Full(today)))),
            GroupValue::Sukupuoli(Sukupuoli { sukupuoli: sex }),
            GroupValue::Aidinkieli(kieli),
            GroupValue::Kotikunta(make::kotikunta(kunta, today)),
        ];
        let copied = [
            GroupName::Asiointikieli,
            GroupName::Kansalaisuus,
            GroupName::VakinainenKotimainenOsoite,
            GroupName::VakinainenKotimainenAsuinpaikkatunnus,
            GroupName::Vaestokirjanpitokunta,
        ];
        ryhmat.extend(copied.iter().filter_map(|g| parent.group(*g).cloned()));
        ryhmat.push(GroupValue::Syntymapaiva(Syntymapaiva { syntymapv: VtjDate::Full(today) }));
        ryhmat.push(GroupValue::Siviilisaaty(Siviilisaaty { siviilisaaty: code::NAIMATON.into() }));
        if kunta.is_municipality() {
            ryhmat.push(GroupValue::Syntymakotikunta(Syntymakotikunta { kuntakoodi: kunta.into() }));
        }
        // Children of a protected parent are protected from birth.
        if let Some(tk) = parent.group(GroupName::Turvakielto) {
            ryhmat.push(tk.clone());
        }
        let batch = vtj_core::family::birth(id, hetu, ryhmat, &parent, father.as_ref(), today);
        self.push_family(batch)
    }
}
