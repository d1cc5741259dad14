//! The fixed-width fields of each group code, in ISO-8859-1 bytes.
//!
//! Codes below 900 and their widths are those of real-format files: seen
//! in the shared conformance set, or given in its README (305 in its 2019
//! layout, 320, 451); the names of their fields are ours where no public
//! description names them. Codes 9xx are this project's own, for data our
//! model carries that the public samples do not show (asiointikieli,
//! foreign postal and contact addresses, post-office names, guardians'
//! names, an address's building and municipality, a relative as DVV's JSON
//! names them), and 920-989 for the groups of DVV's interface that have no
//! public file layout (each such group's value as JSON in one field; `codec`
//! lists them). A reader of real files never meets them; a real recipient
//! system reading our files sees them as unknown codes.

use std::collections::BTreeMap;

use vtj_core::{Hetu, VtjDate};

use crate::{latin1, Line, LineKind, RawGroup};

/// What a field holds, for validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// `YYYYMMDD`, possibly partial, unknown or `99990000`.
    Date,
    /// A hetu, or blank.
    Hetu,
    /// Digits, or blank.
    Digits,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub width: usize,
    pub kind: Kind,
}

const fn f(name: &'static str, width: usize, kind: Kind) -> Field {
    Field { name, width, kind }
}

use Kind::{Date as D, Digits as N, Hetu as H, Text as T};

const HETU_KORJAUS: &[Field] = &[f("henkilotunnus", 11, H), f("tila", 1, N)];
const KIELI: &[Field] = &[f("kielikoodi", 2, T)];
const ASIOINTIKIELI: &[Field] = &[f("kielikoodi", 2, T), f("alkupaiva", 8, D)];
const SUKUPUOLI: &[Field] = &[f("sukupuoli", 1, N)];
const NIMI: &[Field] = &[f("sukunimi", 100, T), f("etunimet", 100, T), f("alkupaiva", 8, D), f("lisatieto", 1, T)];
const NIMI_LAJEITTAIN: &[Field] =
    &[f("nimi", 100, T), f("nimilaji", 2, N), f("alkupaiva", 8, D), f("loppupaiva", 8, D), f("lisatieto", 1, T)];
const KANSALAISUUS: &[Field] = &[f("valtio", 3, N), f("tila", 1, N), f("alkupaiva", 8, D), f("loppupaiva", 8, D)];
const PAIKKA: &[Field] = &[f("valtio", 3, N), f("paikka", 50, T)];
const PAIVA: &[Field] = &[f("paiva", 8, D)];
const KOTIMAINEN_OSOITE: &[Field] = &[
    f("katunimi_fi", 100, T),
    f("katunimi_sv", 100, T),
    f("katunumero", 7, T),
    f("huoneistokirjain", 1, T),
    f("huoneistonumero", 3, N),
    f("jakokirjain", 1, T),
    f("postinumero", 5, N),
    f("alkupaiva", 8, D),
    f("loppupaiva", 8, D),
];
const POSTIOSOITE: &[Field] =
    &[f("postiosoite", 100, T), f("postinumero", 5, N), f("alkupaiva", 8, D), f("loppupaiva", 8, D)];
const ULKOMAINEN_OSOITE: &[Field] = &[
    f("katuosoite", 80, T),
    f("paikkakunta", 80, T),
    f("valtiokoodi", 3, N),
    f("alkupaiva", 8, D),
    f("loppupaiva", 8, D),
];
const ULKOMAINEN_POSTIOSOITE: &[Field] =
    &[f("postiosoite", 80, T), f("lisarivi", 80, T), f("postitoimipaikka", 80, T), f("valtiokoodi", 3, N)];
const ASUINPAIKKA: &[Field] = &[f("rakennustunnus", 10, T), f("osoitenumero", 3, N), f("kuntakoodi", 3, N)];
const KOTIKUNTA: &[Field] = &[f("kuntakoodi", 3, N), f("alkupaiva", 8, D)];
/// Group 305 as files carried it before December 2019 (the shared sample
/// files): read for a survey only; field names ours.
const SUKULAINEN_2017: &[Field] = &[
    f("henkilotunnus", 11, H),
    f("suhde", 2, N),
    f("lisatieto", 1, T),
    f("tila", 1, N),
    f("alkupaiva", 8, D),
    f("loppupaiva", 8, D),
    f("muutospaiva", 8, D),
];
/// Group 305, guardian, in the layout since December 2019.
const HUOLTAJA: &[Field] = &[
    f("henkilotunnus", 11, H),
    f("laji", 1, N),
    f("rooli", 1, N),
    f("alkupaiva", 8, D),
    f("loppupaiva", 8, D),
    f("asuminen", 1, N),
    f("asuminen_alkupaiva", 8, D),
    f("asuminen_loppupaiva", 8, D),
];
/// Group 320, a right of the guardian of the 305 before it.
const OIKEUS: &[Field] = &[f("oikeus", 4, T), f("alkupaiva", 8, D), f("loppupaiva", 8, D)];
const EDUNVALVONTA: &[Field] = &[f("alkupaiva", 8, D), f("loppupaiva", 8, D), f("rajoitus", 1, T), f("tehtava", 3, N)];
const EDUNVALVOJA: &[Field] =
    &[f("henkilotunnus", 11, H), f("y_tunnus", 9, T), f("tunniste", 9, N), f("alkupaiva", 8, D), f("loppupaiva", 8, D)];
const VALTUUTUS: &[Field] = &[f("vahvistamispaiva", 8, D), f("loppupaiva", 8, D), f("tehtava", 3, N)];
const VALTUUTETTU: &[Field] = &[f("henkilotunnus", 11, H), f("alkupaiva", 8, D), f("loppupaiva", 8, D)];
const AMMATTI: &[Field] = &[f("koodi", 4, T), f("ammatti", 35, T)];
const SAHKOPOSTI: &[Field] = &[f("laji", 2, N), f("sahkoposti", 255, T), f("alkupaiva", 8, D), f("loppupaiva", 8, D)];
const ULKOMAINEN_HETU: &[Field] = &[
    f("tunnus", 30, T),
    f("sukupuoli", 1, N),
    f("valtiokoodi", 3, N),
    f("tietolahde", 1, N),
    f("tyyppi", 1, T),
    f("voimassaolo", 1, N),
    f("antopaiva", 8, D),
    f("passivointipaiva", 8, D),
    f("tallennuspaiva", 8, D),
    f("tallennus_passivointipaiva", 8, D),
    f("vtj_voimassaolo", 1, N),
];
const SYNTYMAKOTIKUNTA: &[Field] = &[f("kuntakoodi", 3, N)];
/// This project's groups without a public layout: the group's value as
/// DVV's JSON object (without `tietoryhma`), characters outside Latin-1
/// and `|` escaped as `\uXXXX`. Two widths: relations name a person.
pub const JSON_SHORT: &[Field] = &[f("json", 300, T)];
pub const JSON_LONG: &[Field] = &[f("json", 1000, T)];
/// Group 451: the person of the group before it, who has no hetu.
const HENKILO_ILMAN_HETUA: &[Field] = &[
    f("syntymapaiva", 8, D),
    f("sukupuoli", 1, N),
    f("sukunimi", 100, T),
    f("etunimet", 100, T),
    f("kansalaisuus", 3, N),
];
const KIELI_SELITE: &[Field] = &[f("kieli_selite", 30, T)];
const HENKILON_NIMI_OMA: &[Field] = &[f("nimi", 100, T)];
const POSTITOIMIPAIKKA: &[Field] =
    &[f("postiosoite_sv", 100, T), f("postitoimipaikka_fi", 50, T), f("postitoimipaikka_sv", 50, T)];

/// The fields of a group code, or `None` for a code this program does not know.
pub fn fields(code: &[u8; 3]) -> Option<&'static [Field]> {
    Some(match code {
        b"001" => HETU_KORJAUS,
        b"002" => KIELI,
        b"901" => ASIOINTIKIELI,
        b"003" => SUKUPUOLI,
        b"004" => NIMI,
        b"005" | b"423" => NIMI_LAJEITTAIN,
        b"007" => KANSALAISUUS,
        b"009" => PAIKKA,
        b"013" | b"015" => PAIVA,
        b"101" | b"102" => KOTIMAINEN_OSOITE,
        b"103" | b"903" => POSTIOSOITE,
        b"104" | b"105" => ULKOMAINEN_OSOITE,
        b"906" | b"907" => ULKOMAINEN_POSTIOSOITE,
        b"204" => KOTIKUNTA,
        b"305" => HUOLTAJA,
        b"320" => OIKEUS,
        b"306" => EDUNVALVONTA,
        b"307" => EDUNVALVOJA,
        b"316" => VALTUUTUS,
        b"317" => VALTUUTETTU,
        b"401" => AMMATTI,
        b"421" => SAHKOPOSTI,
        b"422" => ULKOMAINEN_HETU,
        b"008" => SYNTYMAKOTIKUNTA,
        b"451" => HENKILO_ILMAN_HETUA,
        b"452" => KIELI_SELITE,
        b"910" => POSTITOIMIPAIKKA,
        b"911" => HENKILON_NIMI_OMA,
        b"912" => ASUINPAIKKA,
        b"913" => JSON_LONG,
        c if crate::codec::json_group(c).is_some() => {
            if crate::codec::json_group(c).is_some_and(crate::codec::names_a_person) {
                JSON_LONG
            } else {
                JSON_SHORT
            }
        }
        _ => return None,
    })
}

pub fn width(fields: &[Field]) -> usize {
    fields.iter().map(|f| f.width).sum()
}

/// Layouts a code had before the one this program writes, which real
/// files of their time carry: told apart by width.
fn earlier(code: &[u8; 3]) -> &'static [&'static [Field]] {
    match code {
        b"305" => &[SUKULAINEN_2017],
        _ => &[],
    }
}

/// The earlier layout of its code a group is in, told by its width.
fn earlier_layout(group: &RawGroup, current: &[Field]) -> Option<&'static [Field]> {
    let len = group.fields.len();
    (len != width(current)).then(|| earlier(&group.code).iter().find(|l| width(l) == len).copied()).flatten()
}

/// A group's fields as text, trailing blanks removed, with their names; a
/// group in an earlier layout of its code (by width) in that layout.
pub fn split(group: &RawGroup) -> Result<Vec<(&'static str, String)>, String> {
    let current = fields(&group.code).ok_or_else(|| format!("unknown group code {}", group.code_str()))?;
    split_as(group, earlier_layout(group, current).unwrap_or(current))
}

/// A group's fields in the layout this program writes; a group in an
/// earlier layout of its code is refused, saying so.
pub fn split_current(group: &RawGroup) -> Result<Vec<(&'static str, String)>, String> {
    let current = fields(&group.code).ok_or_else(|| format!("unknown group code {}", group.code_str()))?;
    if earlier_layout(group, current).is_some() {
        return Err(format!(
            "group {} is in its layout before December 2019 ({} bytes); this program reads the current one ({} bytes)",
            group.code_str(),
            group.fields.len(),
            width(current)
        ));
    }
    split_as(group, current)
}

fn split_as(group: &RawGroup, layout: &'static [Field]) -> Result<Vec<(&'static str, String)>, String> {
    if group.fields.len() != width(layout) {
        return Err(format!(
            "group {} has {} bytes of fields; its layout has {}",
            group.code_str(),
            group.fields.len(),
            width(layout)
        ));
    }
    let mut at = 0;
    let mut out = Vec::with_capacity(layout.len());
    for fl in layout {
        let raw = &group.fields[at..at + fl.width];
        at += fl.width;
        let text = latin1::decode(raw).trim_end().to_string();
        let bad = match fl.kind {
            Kind::Text => None,
            Kind::Date => VtjDate::parse(&text).err().map(|e| e.to_string()),
            Kind::Hetu if text.is_empty() => None,
            Kind::Hetu => Hetu::parse(&text).err().map(|e| e.to_string()),
            Kind::Digits => (!text.trim().bytes().all(|b| b.is_ascii_digit())).then(|| "not digits".to_string()),
        };
        if let Some(why) = bad {
            return Err(format!("group {} field {} {text:?}: {why}", group.code_str(), fl.name));
        }
        out.push((fl.name, text));
    }
    Ok(out)
}

/// What a file holds, group code by group code: for a conformance check
/// and for telling an operator what a file from elsewhere contains.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Survey {
    pub records: usize,
    pub groups: BTreeMap<String, usize>,
    /// Codes with no known layout: kept as bytes, counted here.
    pub unknown: BTreeMap<String, usize>,
    /// Known codes whose fields do not fit their layout, with line numbers.
    pub problems: Vec<String>,
}

pub fn survey(lines: &[Line]) -> Survey {
    let mut s = Survey::default();
    for (i, line) in lines.iter().enumerate() {
        let LineKind::Record(r) = &line.kind else { continue };
        s.records += 1;
        for g in &r.groups {
            if fields(&g.code).is_none() {
                *s.unknown.entry(g.code_str().to_string()).or_default() += 1;
                continue;
            }
            *s.groups.entry(g.code_str().to_string()).or_default() += 1;
            if !(b'0'..=b'6').contains(&g.change) || g.change == b'2' {
                s.problems.push(format!(
                    "line {}: group {} has change type {:?}",
                    i + 1,
                    g.code_str(),
                    g.change as char
                ));
            }
            if let Err(e) = split(g) {
                s.problems.push(format!("line {}: {e}", i + 1));
            }
        }
    }
    s
}
