//! Builders of synthetic data-group values.

use time::Date;
use vtj_core::groups::*;
use vtj_core::{KuntaCode, Sex, VtjDate};

use crate::names::*;
use crate::rng::Rng;

pub fn given_names(rng: &mut Rng, sex: Sex, swedish: bool) -> (String, String) {
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
    let call = names[0].to_string();
    (names.join(" "), call)
}

pub fn surname(rng: &mut Rng, swedish: bool) -> String {
    rng.pick(if swedish { SURNAMES_SV } else { SURNAMES_FI }).to_string()
}

pub fn nimi(rng: &mut Rng, sex: Sex, swedish: bool, since: VtjDate) -> Nimi {
    let (etunimet, call) = given_names(rng, sex, swedish);
    Nimi { sukunimi: surname(rng, swedish), etunimet, kutsumanimi: Some(call), alkupaiva: since }
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
    KotimainenOsoite {
        katunimi_fi: street.to_string(),
        katunimi_sv: street_sv.filter(|_| rng.chance(0.2)).map(str::to_string),
        katunumero: (1 + rng.below(80)).to_string(),
        huoneistokirjain: flat.then(|| ["A", "B", "C", "D"][rng.below(4) as usize].to_string()),
        huoneistonumero: flat.then(|| 1 + rng.below(60) as u16),
        postinumero: postal_code(rng, kunta),
        postitoimipaikka_fi: town(kunta),
        postitoimipaikka_sv: None,
        alkupaiva: VtjDate::Full(since),
        loppupaiva: None,
    }
}

pub fn temporary_osoite(rng: &mut Rng, kunta: KuntaCode, since: Date) -> KotimainenOsoite {
    let until = since + time::Duration::days(30 + rng.below(300) as i64);
    KotimainenOsoite { loppupaiva: Some(VtjDate::Full(until)), ..kotimainen_osoite(rng, kunta, since) }
}

pub fn postiosoite(rng: &mut Rng, kunta: KuntaCode, since: Date) -> Postiosoite {
    Postiosoite {
        postiosoite_fi: format!("PL {}", 1 + rng.below(999)),
        postiosoite_sv: None,
        postinumero: postal_code(rng, kunta),
        postitoimipaikka_fi: town(kunta),
        postitoimipaikka_sv: None,
        alkupaiva: VtjDate::Full(since),
        loppupaiva: None,
    }
}

pub fn ulkomainen_osoite(rng: &mut Rng, since: Date) -> UlkomainenOsoite {
    let (country, place) = *rng.pick(FOREIGN_PLACES);
    UlkomainenOsoite {
        katuosoite: format!("Example Street {}", 1 + rng.below(200)),
        paikkakunta: place.to_string(),
        valtiokoodi: country.to_string(),
        alkupaiva: VtjDate::Full(since),
        loppupaiva: None,
    }
}

/// A mother tongue: Finnish about 86 %, Swedish 5 %, others the rest.
pub fn aidinkieli(rng: &mut Rng) -> Kieli {
    let x = rng.below(1000);
    if x < 860 {
        return Kieli::Iso("fi".into());
    }
    if x < 912 {
        return Kieli::Iso("sv".into());
    }
    let mut acc = 912;
    for (code, share) in OTHER_LANGUAGES {
        acc += share;
        if x < acc {
            return Kieli::Iso((*code).into());
        }
    }
    Kieli::Other("muu kieli".into())
}

pub fn kotikunta(code: KuntaCode, since: Date) -> Kotikunta {
    Kotikunta { kuntakoodi: code, alkupaiva: VtjDate::Full(since) }
}

pub fn turvakielto_end(rng: &mut Rng, today: Date) -> VtjDate {
    if rng.chance(0.3) {
        VtjDate::Indefinite
    } else {
        VtjDate::Full(today + time::Duration::days(365 * 5))
    }
}
