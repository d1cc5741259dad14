//! Builders of synthetic data-group values.

use time::Date;
use vtj_core::groups::*;
use vtj_core::{KuntaCode, RecordedKuntaCode, Sex, VtjDate};

use crate::names::*;
use crate::rng::Rng;

pub fn given_names(rng: &mut Rng, sex: Sex, swedish: bool) -> String {
    let pool = match (sex, swedish) {
        (Sex::Male, false) => MALE_FI,
        (Sex::Female, false) => FEMALE_FI,
        (Sex::Male, true) => MALE_SV,
        (Sex::Female, true) => FEMALE_SV,
    };
    let count = 1 + rng.below(3) as usize;
    let mut names: Vec<&str> = Vec::with_capacity(count);
    while names.len() < count {
        let n = *rng.pick(pool);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.join(" ")
}

pub fn surname(rng: &mut Rng, swedish: bool) -> String {
    rng.pick(if swedish { SURNAMES_SV } else { SURNAMES_FI }).to_string()
}

pub fn nimi(rng: &mut Rng, sex: Sex, swedish: bool, since: VtjDate) -> Nimi {
    let etunimet = given_names(rng, sex, swedish);
    Nimi::new(&etunimet, &surname(rng, swedish), Some(since))
}

fn postal_code(rng: &mut Rng, kunta: KuntaCode) -> String {
    // Synthetic: the municipality number and a district. Not real codes.
    format!("{:03}{:02}", kunta.number() % 1000, rng.below(20) * 5)
}

fn town(kunta: KuntaCode) -> String {
    vtj_core::kunta::kunta(kunta).map_or_else(|| "TUNTEMATON".into(), |k| k.name.to_uppercase())
}

pub fn kotimainen_osoite(rng: &mut Rng, kunta: KuntaCode, since: Date) -> KotimainenOsoite {
    let (street, street_sv) = *rng.pick(STREETS);
    let flat = rng.chance(0.55);
    let katunimi = Localized { fi: street.to_string(), sv: street_sv.filter(|_| rng.chance(0.2)).map(str::to_string) };
    let katunumero = (1 + rng.below(80)).to_string();
    let huoneistokirjain = flat.then(|| ["A", "B", "C", "D"][rng.below(4) as usize].to_string());
    let huoneistonumero = flat.then(|| format!("{:03}", 1 + rng.below(60)));
    let rakennustunnus = Some(rakennustunnus(street, &katunumero, kunta));
    KotimainenOsoite {
        katunimi,
        katunumero,
        huoneistokirjain,
        huoneistonumero,
        jakokirjain: None,
        postinumero: postal_code(rng, kunta),
        postitoimipaikka: Localized::fi(town(kunta)),
        rakennustunnus,
        osoitenumero: Some(1),
        kuntakoodi: kunta.is_municipality().then_some(kunta),
        alkupv: Some(VtjDate::Full(since)),
    }
}

/// A synthetic permanent building identifier: the same street, number and
/// municipality give the same building, so the people of one address share
/// it. Derived, not drawn, so adding it moved no other random value.
fn rakennustunnus(street: &str, number: &str, kunta: KuntaCode) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in street.bytes().chain(number.bytes()).chain(kunta.number().to_be_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let digits = h % 100_000_000;
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(digits % 31) as usize] as char;
    format!("9{digits:08}{check}")
}

/// An e-mail address at a reserved domain (RFC 2606), never a real one.
pub fn sahkoposti(rng: &mut Rng, etunimi: &str, sukunimi: &str) -> Sahkopostiosoite {
    let clean = |s: &str| -> String {
        s.split_whitespace()
            .next()
            .unwrap_or("x")
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                'ä' | 'Ä' | 'å' | 'Å' => 'a',
                'ö' | 'Ö' => 'o',
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => 'x',
            })
            .collect()
    };
    Sahkopostiosoite {
        sahkopostiosoite: format!("{}.{}{}@example.invalid", clean(etunimi), clean(sukunimi), rng.below(100)),
        lajikoodi: Some(99),
    }
}

/// A care home of the municipality (institution kind 902, as in DVV's
/// answer). Without a start date: DVV's answer shows the current
/// residence's fields (censored) without one, only the former's with.
pub fn hoitolaitos(rng: &mut Rng, kunta: KuntaCode) -> OlinpaikassaAsuminen {
    OlinpaikassaAsuminen {
        kuntakoodi: kunta.is_municipality().then_some(kunta.into()),
        lajikoodi: Some(902),
        numero: Some(format!("{:04}", rng.below(50))),
        laitos: Some("0000".into()),
        alkupv: None,
        loppupv: None,
        asuinpaikantunnus: None,
    }
}

pub fn postiosoite(rng: &mut Rng, kunta: KuntaCode) -> Postiosoite {
    Postiosoite {
        postiosoite: Localized::fi(format!("PL {}", 1 + rng.below(999))),
        postinumero: postal_code(rng, kunta),
        postitoimipaikka: Localized::fi(town(kunta)),
    }
}

/// A street address abroad; `since` for a permanent one (DVV gives the
/// temporary one no date).
pub fn ulkomainen_osoite(rng: &mut Rng, since: Option<Date>) -> UlkomainenOsoite {
    let (country, place) = *rng.pick(FOREIGN_PLACES);
    UlkomainenOsoite {
        lahiosoite: format!("Example Street {}", 1 + rng.below(200)),
        paikkakunta: place.to_string(),
        valtiokoodi: country.to_string(),
        alkupv: since.map(VtjDate::Full),
    }
}

pub fn ulkomainen_postiosoite(rng: &mut Rng) -> UlkomainenPostiosoite {
    let (country, place) = *rng.pick(FOREIGN_PLACES);
    UlkomainenPostiosoite {
        postiosoite: format!("P.O. Box {}", 1 + rng.below(900)),
        postiosoite_lisarivi: None,
        postitoimipaikka: place.to_string(),
        valtiokoodi: country.to_string(),
    }
}

/// A mother tongue: Finnish about 86 %, Swedish 5 %, others the rest.
pub fn aidinkieli(rng: &mut Rng) -> Kieli {
    let x = rng.below(1000);
    if x < 860 {
        return Kieli::iso("fi");
    }
    if x < 912 {
        return Kieli::iso("sv");
    }
    let mut acc = 912;
    for (code, share) in OTHER_LANGUAGES {
        acc += share;
        if x < acc {
            return Kieli::iso(code);
        }
    }
    Kieli::other("muu kieli")
}

pub fn is_swedish(k: &Kieli) -> bool {
    k.kielikoodi == "sv"
}

/// A municipality code no longer in force, as the birth municipality of
/// someone born before the mergers of the 2000s still carries one: any
/// code of 001-299 the current table lacks (synthetic; which of them were
/// real municipalities does not matter here).
pub fn former_kunta(rng: &mut Rng) -> RecordedKuntaCode {
    loop {
        let code = RecordedKuntaCode::parse(&format!("{:03}", rng.below(299) + 1)).expect("three digits");
        if code.in_force().is_none() {
            return code;
        }
    }
}

pub fn kotikunta(code: KuntaCode, since: Date) -> Kotikunta {
    Kotikunta { kuntakoodi: code, kuntaan_muuttopv: Some(VtjDate::Full(since)) }
}

pub fn turvakielto_end(rng: &mut Rng, today: Date) -> VtjDate {
    if rng.chance(0.3) {
        VtjDate::Indefinite
    } else {
        VtjDate::Full(today + time::Duration::days(365 * 5))
    }
}
