//! `generate`: a seeded synthetic population loaded as the store's baseline.

use std::convert::Infallible;

use time::Date;
use vtj_core::groups::*;
use vtj_core::kunta::kunnat;
use vtj_core::{GroupValue, KuntaCode, Person, PersonId, Sex, VtjDate};
use vtj_store::{Store, StoreError};

use crate::hetus::HetuAllocator;
use crate::make;
use crate::rng::Rng;

pub const META_SEED: &str = "sim.seed";
pub const META_DATE: &str = "sim.date";

#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub persons: u64,
    pub seed: u64,
    /// The day the population is as of; simulation continues from the next day.
    pub date: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateReport {
    pub persons: u64,
    pub turvakielto: u64,
    pub abroad: u64,
    pub guardianship: u64,
}

const BATCH: u64 = 5_000;

/// Municipalities with cumulative resident weights, for weighted choice.
pub struct Municipalities {
    pub codes: Vec<KuntaCode>,
    pub cumulative: Vec<u64>,
}

impl Municipalities {
    pub fn new() -> Municipalities {
        let mut acc = 0;
        let (codes, cumulative) = kunnat()
            .iter()
            .map(|k| {
                acc += u64::from(k.residents);
                (k.code, acc)
            })
            .unzip();
        Municipalities { codes, cumulative }
    }

    pub fn pick(&self, rng: &mut Rng) -> KuntaCode {
        self.codes[rng.weighted(&self.cumulative)]
    }
}

impl Default for Municipalities {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes `cfg.persons` persons in batches, so memory does not grow with
/// the population. `progress` is told how many are done after each batch.
pub fn generate<S: Store + ?Sized>(
    store: &mut S,
    cfg: &GenerateConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<GenerateReport, StoreError> {
    let kunnat = Municipalities::new();
    let mut hetus = HetuAllocator::default();
    let mut rng = Rng::fork(cfg.seed, 0);
    let mut report = GenerateReport { persons: 0, turvakielto: 0, abroad: 0, guardianship: 0 };
    let first_id = store.max_person_id()?.0 + 1;
    let mut batch = Vec::with_capacity(BATCH as usize);
    for i in 0..cfg.persons {
        batch.push(person(&mut rng, &kunnat, &mut hetus, PersonId(first_id + i), cfg.date));
        if batch.len() as u64 == BATCH || i + 1 == cfg.persons {
            crate::families::link(&mut Rng::fork(cfg.seed ^ FAMILY_STREAM, first_id + i), &mut batch, cfg.date);
            for p in &batch {
                report.turvakielto += u64::from(p.has_turvakielto());
                report.abroad += u64::from(p.kotikunta() == Some(KuntaCode::ABROAD));
                report.guardianship += u64::from(p.group(vtj_core::GroupName::Edunvalvonta).is_some());
            }
            store.insert_population(&batch)?;
            report.persons += batch.len() as u64;
            batch.clear();
            progress(report.persons);
        }
    }
    store.set_meta(META_SEED, &cfg.seed.to_string())?;
    store.set_meta(META_DATE, &vtj_core::date::ymd(cfg.date))?;
    Ok(report)
}

fn birth_date(rng: &mut Rng, today: Date) -> Date {
    // Ages 0-99, flat to 60 and thinning after, like a real age pyramid.
    let age = loop {
        let a = rng.below(100) as i64;
        if a < 60 || rng.chance(1.0 - (a - 60) as f64 / 42.0) {
            break a;
        }
    };
    today - time::Duration::days(age * 365 + rng.below(365) as i64 + 1)
}

fn person(rng: &mut Rng, kunnat: &Municipalities, hetus: &mut HetuAllocator, id: PersonId, today: Date) -> Person {
    let sex = if rng.chance(0.5) { Sex::Male } else { Sex::Female };
    let born = birth_date(rng, today);
    let Ok(hetu) = hetus.allocate(born, sex, |_| Ok::<_, Infallible>(false));
    let born = hetu.birth_date();
    let adult = (today - born).whole_days() >= 18 * 365;
    let kieli = make::aidinkieli(rng);
    let swedish = make::is_swedish(&kieli);
    let since = |rng: &mut Rng| born.max(today - time::Duration::days(rng.below(3650) as i64 + 1));
    let mut g: Vec<GroupValue> = vec![
        GroupValue::HenkilonNimi(make::nimi(rng, sex, swedish, VtjDate::Full(born))),
        GroupValue::Sukupuoli(Sukupuoli { sukupuoli: sex }),
        GroupValue::Asiointikieli(Asiointikieli::new(
            if swedish { AsiointikieliKoodi::Sv } else { AsiointikieliKoodi::Fi },
            None,
        )),
        GroupValue::Kansalaisuus(Kansalaisuus {
            henkilon_kansalaisuudet: vec![KansalaisuusRivi {
                kansalaisuuskoodi: if ["fi", "sv"].contains(&kieli.kielikoodi.as_str()) || rng.chance(0.4) {
                    "246".into()
                } else {
                    rng.pick(&["643", "233", "368", "706", "156", "804"]).to_string()
                },
                kansalaisuusnimi: None,
                voimassaolo: Voimassaolo::Aktiivi,
                saamispv: None,
            }],
        }),
        GroupValue::Aidinkieli(kieli),
    ];
    let moved = since(rng);
    if rng.chance(0.012) {
        g.push(GroupValue::Kotikunta(make::kotikunta(KuntaCode::ABROAD, moved)));
        g.push(GroupValue::VakinainenUlkomainenOsoite(make::ulkomainen_osoite(rng, Some(moved))));
    } else {
        let k = kunnat.pick(rng);
        g.push(GroupValue::Kotikunta(make::kotikunta(k, moved)));
        g.push(GroupValue::VakinainenKotimainenOsoite(make::kotimainen_osoite(rng, k, moved)));
        if rng.chance(0.01) {
            g.push(GroupValue::TilapainenKotimainenOsoite({
                let k = kunnat.pick(rng);
                make::kotimainen_osoite(rng, k, today)
            }));
        }
        if rng.chance(0.04) {
            g.push(GroupValue::KotimainenPostiosoite(make::postiosoite(rng, k)));
        }
        if rng.chance(0.003) {
            g.push(GroupValue::UlkomainenPostiosoite(make::ulkomainen_postiosoite(rng)));
        }
    }
    if rng.chance(0.0035) {
        g.push(GroupValue::Turvakielto(Turvakielto::until({
            let d = since(rng);
            make::turvakielto_end(rng, d)
        })));
        if rng.chance(0.5) {
            let k = kunnat.pick(rng);
            g.push(GroupValue::KotimainenYhteysosoite(make::postiosoite(rng, k)));
        }
    }
    if adult && rng.chance(0.008) {
        g.push(GroupValue::Edunvalvonta({
            let d = since(rng);
            guardianship(rng, d)
        }));
    }
    if adult && (today - born).whole_days() > 65 * 365 && rng.chance(0.01) {
        g.push(GroupValue::Edunvalvontavaltuutus(Edunvalvontavaltuutus {
            vahvistamispv: {
                let d = since(rng);
                VtjDate::Full(d)
            },
            valtuutetut: vec![guardian(rng)],
        }));
    }
    // The groups of the wider model draw from a stream of their own, so
    // the rest of the population is what it was before they existed.
    wider_groups(&mut Rng::fork(id.0, WIDER_STREAM), kunnat, &mut g, born, adult, today);
    let mut p = Person::new(id, hetu);
    for v in g {
        p.tietoryhmat.set(v);
    }
    p
}

const WIDER_STREAM: u64 = 0x7769_6465;
const FAMILY_STREAM: u64 = 0x6661_6d69_6c79;

/// Birth particulars, civil status, the dwelling identifier and the
/// registration municipality of a domestic resident, e-mail, care-home
/// residence for the very old, and the bans some people ask for.
fn wider_groups(rng: &mut Rng, kunnat: &Municipalities, g: &mut Vec<GroupValue>, born: Date, adult: bool, today: Date) {
    g.push(GroupValue::Syntymapaiva(Syntymapaiva { syntymapv: VtjDate::Full(born) }));
    let finnish = g.iter().any(|v| match v {
        GroupValue::Kansalaisuus(k) => k.henkilon_kansalaisuudet.iter().any(|r| r.kansalaisuuskoodi == "246"),
        _ => false,
    });
    if finnish {
        let kuntakoodi =
            if born.year() < 2009 && rng.chance(0.12) { make::former_kunta(rng) } else { kunnat.pick(rng).into() };
        g.push(GroupValue::Syntymakotikunta(Syntymakotikunta { kuntakoodi }));
    } else {
        g.push(GroupValue::UlkomainenSyntymapaikka(UlkomainenSyntymapaikka {
            valtiokoodi: rng.pick(&["643", "233", "368", "706", "156", "804"]).to_string(),
            ulkomainen_syntymapaikka: None,
        }));
    }
    let age = (today - born).whole_days() / 365;
    let status = match (adult, rng.below(100)) {
        (false, _) | (true, 0..=39) => code::NAIMATON,
        (true, 40..=79) => code::AVIOLIITOSSA,
        (true, 80..=91) => code::ERONNUT,
        _ => code::LESKI,
    };
    g.push(GroupValue::Siviilisaaty(Siviilisaaty { siviilisaaty: status.into() }));
    let home = g.iter().find_map(|v| match v {
        GroupValue::VakinainenKotimainenOsoite(o) => Some(o.clone()),
        _ => None,
    });
    let kotikunta = g.iter().find_map(|v| match v {
        GroupValue::Kotikunta(k) if k.kuntakoodi.is_municipality() => Some(k.clone()),
        _ => None,
    });
    if let (Some(home), Some(kotikunta)) = (home, kotikunta) {
        if let Some(a) = Asuinpaikkatunnus::of(&home) {
            g.push(GroupValue::VakinainenKotimainenAsuinpaikkatunnus(a));
        }
        if age >= 80 && rng.chance(0.05) {
            g.push(GroupValue::VakinainenOlinpaikassaAsuminen(make::hoitolaitos(rng, kotikunta.kuntakoodi)));
        }
        g.push(GroupValue::Vaestokirjanpitokunta(kotikunta));
    }
    if adult && rng.chance(0.3) {
        let (etunimi, sukunimi) = g
            .iter()
            .find_map(|v| match v {
                GroupValue::HenkilonNimi(n) => Some((n.etunimi.clone(), n.sukunimi.clone())),
                _ => None,
            })
            .unwrap_or_default();
        g.push(GroupValue::Sahkopostiosoite(make::sahkoposti(rng, &etunimi, &sukunimi)));
    }
    if adult && rng.chance(0.06) {
        g.push(GroupValue::Suoramarkkinointikielto(Kielto { alkupv: None }));
    }
    if adult && rng.chance(0.01) {
        g.push(GroupValue::YhteystietojenLuovutuskielto(Kielto { alkupv: None }));
    }
}

pub fn guardian(rng: &mut Rng) -> Edunvalvoja {
    // Guardians are named but not linked to synthetic persons' hetus, so a
    // guardian never needs to exist in the population.
    let sex = if rng.chance(0.5) { Sex::Male } else { Sex::Female };
    let first = make::given_names(rng, sex, false);
    Edunvalvoja { henkilotunnus: None, nimi: format!("{} {}", make::surname(rng, false), first) }
}

pub fn guardianship(rng: &mut Rng, since: Date) -> Edunvalvonta {
    let public = rng.chance(0.6);
    Edunvalvonta {
        alkupv: VtjDate::Full(since),
        toimintakelpoisuus_rajoitettu: rng.chance(0.1),
        edunvalvojat: vec![if public {
            Edunvalvoja { henkilotunnus: None, nimi: "Yleinen edunvalvonta".into() }
        } else {
            guardian(rng)
        }],
    }
}
