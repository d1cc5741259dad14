//! One data group's change as record groups, and back.
//!
//! A group value becomes a main group (its code, the change type, its
//! fields) followed by the groups that belong to it: more of the same code
//! for a list (earlier hetus, former names, citizenships), or qualifying
//! groups with change type 0 for what the main group has no field for
//! (a language's name, post-office names, an address's building and
//! municipality, a guardian). What the file format cannot tell apart is
//! said where it is written (an unknown date and no date are one).
//!
//! Censoring is in the values, as recipients of the real service see it: an
//! address whose street field carries the turvakielto placeholder, a home
//! municipality `000`. Nothing of the person is in a censored group.

use thiserror::Error;
use vtj_core::groups::{
    code, Asiointikieli, AsiointikieliKoodi, Edunvalvoja, Edunvalvonta, Edunvalvontavaltuutus, HetuKorjaus, Huoltaja,
    Kansalaisuus, KansalaisuusRivi, Kieli, Kotikunta, KotimainenOsoite, Kuolinpaiva, Localized, Nimenmuutos, Nimi,
    Oikeus, Postiosoite, RelatedPerson, Sahkopostiosoite, Sukupuoli, Syntymakotikunta, Turvakielto,
    UlkomainenHenkilotunnus, UlkomainenOsoite, UlkomainenPostiosoite, UlkomainenSyntymapaikka, Voimassaolo,
    EDELLINEN_ETUNIMI, EDELLINEN_KUTSUMANIMI, EDELLINEN_SUKUNIMI, NYKYINEN_KUTSUMANIMI,
};
use vtj_core::{
    ChangeKind, GroupChange, GroupName, GroupValue, Hetu, Instance, InstanceKind, KuntaCode, RecordedKuntaCode, Sex,
    VtjDate,
};

use crate::layout::{self, Kind};
use crate::{latin1, RawGroup};

/// Street-field text of a censored address (Finnish and Swedish line).
pub const PLACEHOLDER_FI: &str = "***Lisätietoja Digi- ja väestötietovirastosta";
pub const PLACEHOLDER_SV: &str = "***Ytterligare upplysningar hos DVV";
/// Every censored street field starts so; real files carry older texts.
const PLACEHOLDER_MARK: &str = "***";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("group {group} field {field}: {source}")]
    NotLatin1 { group: String, field: &'static str, source: latin1::NotLatin1 },
    #[error("group {group} field {field}: {len} bytes do not fit its {width}")]
    TooLong { group: String, field: &'static str, len: usize, width: usize },
    #[error("group {group} field {field}: `|` and line breaks cannot be in a field")]
    Separator { group: String, field: &'static str },
    #[error("{0}")]
    Malformed(String),
}

fn malformed(m: impl Into<String>) -> CodecError {
    CodecError::Malformed(m.into())
}

/// Builds one group from its field values, in layout order. A date field
/// given "" is written as `00000000`.
fn group(code: &[u8; 3], change: u8, values: &[&str]) -> Result<RawGroup, CodecError> {
    let layout = layout::fields(code).ok_or_else(|| malformed(format!("no layout for {code:?}")))?;
    debug_assert_eq!(layout.len(), values.len());
    let name = || String::from_utf8_lossy(code).into_owned();
    let mut fields = Vec::with_capacity(layout::width(layout));
    for (fl, v) in layout.iter().zip(values) {
        let v = if v.is_empty() && fl.kind == Kind::Date { "00000000" } else { v };
        if v.contains(['|', '\r', '\n']) {
            return Err(CodecError::Separator { group: name(), field: fl.name });
        }
        let bytes =
            latin1::encode(v).map_err(|source| CodecError::NotLatin1 { group: name(), field: fl.name, source })?;
        if bytes.len() > fl.width {
            return Err(CodecError::TooLong { group: name(), field: fl.name, len: bytes.len(), width: fl.width });
        }
        fields.extend_from_slice(&bytes);
        fields.resize(fields.len() + fl.width - bytes.len(), b' ');
    }
    Ok(RawGroup { code: *code, change, fields })
}

fn blank(code: &[u8; 3], change: u8) -> Result<RawGroup, CodecError> {
    let n = layout::fields(code).map_or(0, <[_]>::len);
    group(code, change, &vec![""; n])
}

/// The main group's code of each data group.
pub fn head_code(g: GroupName) -> &'static [u8; 3] {
    match g {
        GroupName::HenkilotunnusKorjaus => b"001",
        GroupName::Aidinkieli => b"002",
        GroupName::Sukupuoli => b"003",
        GroupName::HenkilonNimi => b"004",
        GroupName::Nimenmuutos => b"005",
        GroupName::Kansalaisuus => b"007",
        GroupName::Kuolinpaiva => b"013",
        GroupName::Turvakielto => b"015",
        GroupName::VakinainenKotimainenOsoite => b"101",
        GroupName::TilapainenKotimainenOsoite => b"102",
        GroupName::KotimainenPostiosoite => b"103",
        GroupName::VakinainenUlkomainenOsoite => b"104",
        GroupName::TilapainenUlkomainenOsoite => b"105",
        GroupName::Kotikunta => b"204",
        GroupName::Edunvalvonta => b"306",
        GroupName::Edunvalvontavaltuutus => b"316",
        GroupName::Asiointikieli => b"901",
        GroupName::KotimainenYhteysosoite => b"903",
        GroupName::UlkomainenPostiosoite => b"906",
        GroupName::UlkomainenYhteysosoite => b"907",
        GroupName::Syntymakotikunta => b"008",
        GroupName::UlkomainenSyntymapaikka => b"009",
        GroupName::Sahkopostiosoite => b"421",
        GroupName::UlkomainenHenkilotunnus => b"422",
        GroupName::Kutsumanimi => b"423",
        GroupName::Huoltaja => b"305",
        other => JSON_CODES.iter().find(|(g, _)| *g == other).map_or(b"999", |(_, c)| c),
    }
}

/// The groups written as their JSON value under this project's own codes:
/// those of DVV's interface with no public fixed-width layout. The table
/// is the documentation of the codes (README, "File codes").
pub static JSON_CODES: [(GroupName, [u8; 3]); 45] = {
    use GroupName as G;
    [
        (G::Syntymapaiva, *b"920"),
        (G::Jarjestyskirjain, *b"921"),
        (G::Siviilisaaty, *b"922"),
        (G::Kuolleeksijulistamispaiva, *b"923"),
        (G::NimenmuutosLaaja, *b"924"),
        (G::HuoltajaSuppea, *b"926"),
        (G::HuoltajaRajoitettu, *b"927"),
        (G::Huollettava, *b"928"),
        (G::HuollettavaSuppea, *b"929"),
        (G::HuollettavaRajoitettu, *b"930"),
        (G::Vanhempi, *b"931"),
        (G::VanhempiSuppea, *b"932"),
        (G::Lapsi, *b"933"),
        (G::LapsiSuppea, *b"934"),
        (G::Perhesuhde, *b"935"),
        (G::Avioliitto, *b"936"),
        (G::RekisteroityParisuhde, *b"937"),
        (G::LapsenRekisteroinninLisatiedot, *b"938"),
        (G::MaastamuutonLisatiedotPuolisosta, *b"939"),
        (G::MaastamuutonLisatiedotVanhemmasta, *b"940"),
        (G::MaastamuutonLisatiedotHuoltajasta, *b"941"),
        (G::VakinainenKotimainenAsuinpaikkatunnus, *b"942"),
        (G::TilapainenKotimainenAsuinpaikkatunnus, *b"943"),
        (G::EdellinenKotimainenAsuinpaikkatunnus, *b"944"),
        (G::VakinainenOlinpaikassaAsuminen, *b"945"),
        (G::TilapainenOlinpaikassaAsuminen, *b"946"),
        (G::EntinenOlinpaikassaAsuminen, *b"947"),
        (G::VakinainenUlkomaillaAsuminen, *b"948"),
        (G::TilapainenUlkomaillaAsuminen, *b"949"),
        (G::EdellinenKotikunta, *b"950"),
        (G::TilapainenKunta, *b"951"),
        (G::VuodenvaihteenKunta, *b"952"),
        (G::Vaestokirjanpitokunta, *b"953"),
        (G::SuomeenMuuttopaiva, *b"954"),
        (G::ValtioJohonMuuttanut, *b"955"),
        (G::Poissaolo, *b"956"),
        (G::Uskontokuntalaji, *b"957"),
        (G::Uskontokunta, *b"958"),
        (G::HistoriaaUskontokunnasta, *b"959"),
        (G::Rekisteriviranomainen, *b"960"),
        (G::Suoramarkkinointikielto, *b"961"),
        (G::YhteystietojenLuovutuskielto, *b"962"),
        (G::Henkilomatrikkelikielto, *b"963"),
        (G::Sukututkimuskielto, *b"964"),
        (G::AsiakasrekisterinPaivityskielto, *b"965"),
    ]
};

/// The group written as JSON under `code`, if `code` is one of ours for that.
pub fn json_group(code: &[u8; 3]) -> Option<GroupName> {
    JSON_CODES.iter().find(|(_, c)| c == code).map(|(g, _)| *g)
}

/// Whether the group's value names a related person (a longer JSON field).
pub fn names_a_person(g: GroupName) -> bool {
    use GroupName as G;
    vtj_core::relations::RELATION_GROUPS.contains(&g)
        || matches!(
            g,
            G::LapsenRekisteroinninLisatiedot
                | G::MaastamuutonLisatiedotPuolisosta
                | G::MaastamuutonLisatiedotVanhemmasta
                | G::MaastamuutonLisatiedotHuoltajasta
        )
}

/// A group's value as the one JSON field of its own code: DVV's object
/// without `tietoryhma`; what Latin-1 cannot carry, and `|`, as `\uXXXX`.
fn json_text(v: &GroupValue) -> Result<String, CodecError> {
    let mut map = match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err(malformed(format!("{} did not serialise to an object", v.name()))),
    };
    map.remove("tietoryhma");
    Ok(latin1_json(serde_json::Value::Object(map).to_string()))
}

/// JSON text for a Latin-1 field: what Latin-1 cannot carry, and `|`, as `\uXXXX`.
fn latin1_json(plain: String) -> String {
    let mut out = String::with_capacity(plain.len());
    for ch in plain.chars() {
        if (ch as u32) <= 0xFF && ch != '|' {
            out.push(ch);
            continue;
        }
        let mut units = [0u16; 2];
        for u in ch.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{u:04x}"));
        }
    }
    out
}

fn from_json_text(name: GroupName, text: &str) -> Result<GroupValue, CodecError> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| malformed(format!("{name}: {e}")))?;
    map.insert("tietoryhma".into(), name.as_str().into());
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| malformed(format!("{name}: {e}")))
}

fn group_of_head(code: &[u8; 3]) -> Option<GroupName> {
    GroupName::ALL.into_iter().find(|&g| head_code(g) == code)
}

/// The data groups a qualifying code may follow.
fn qualifies(code: &[u8; 3], g: GroupName) -> bool {
    use GroupName as G;
    match code {
        b"452" => g == G::Aidinkieli,
        b"307" => g == G::Edunvalvonta,
        b"317" => g == G::Edunvalvontavaltuutus,
        b"911" => matches!(g, G::Edunvalvonta | G::Edunvalvontavaltuutus),
        b"910" => matches!(
            g,
            G::VakinainenKotimainenOsoite
                | G::TilapainenKotimainenOsoite
                | G::KotimainenPostiosoite
                | G::KotimainenYhteysosoite
        ),
        b"912" => matches!(g, G::VakinainenKotimainenOsoite | G::TilapainenKotimainenOsoite),
        b"320" | b"451" | b"913" => g == G::Huoltaja,
        _ => false,
    }
}

/// Groups written as several main groups of the same code: a list inside
/// one value (earlier hetus, citizenships) or a repeated group's instances.
fn is_list(g: GroupName) -> bool {
    matches!(
        g,
        GroupName::HenkilotunnusKorjaus | GroupName::Nimenmuutos | GroupName::Kansalaisuus | GroupName::Huoltaja
    ) || (g.is_repeated() && json_group(head_code(g)).is_some())
        || g == GroupName::UlkomainenHenkilotunnus
}

/// One group change as record groups. Every instance of an added or
/// changed group is written with the group's change type.
pub fn encode(c: &GroupChange) -> Result<Vec<RawGroup>, CodecError> {
    let code = head_code(c.tietoryhma);
    let ch = match c.muutos {
        ChangeKind::Removed => return Ok(vec![blank(code, b'4')?]),
        ChangeKind::Censored => return censored(c.tietoryhma).map(|g| vec![g]),
        ChangeKind::Added => b'1',
        ChangeKind::Changed => b'3',
    };
    if c.arvot.is_empty() {
        return Err(malformed(format!("{}: a {:?} change without its value", c.tietoryhma, c.muutos)));
    }
    let mut out = Vec::new();
    for v in c.values() {
        if v.name() != c.tietoryhma {
            return Err(malformed(format!("{} filed under {}", v.name(), c.tietoryhma)));
        }
        out.extend(value(v, ch)?);
    }
    Ok(out)
}

fn censored(g: GroupName) -> Result<RawGroup, CodecError> {
    let code = head_code(g);
    match g {
        GroupName::VakinainenKotimainenOsoite | GroupName::TilapainenKotimainenOsoite => {
            group(code, b'3', &[PLACEHOLDER_FI, PLACEHOLDER_SV, "", "", "", "", "", "", ""])
        }
        GroupName::KotimainenPostiosoite => group(code, b'3', &[PLACEHOLDER_FI, "", "", ""]),
        GroupName::VakinainenUlkomainenOsoite | GroupName::TilapainenUlkomainenOsoite => {
            group(code, b'3', &[PLACEHOLDER_FI, PLACEHOLDER_SV, "", "", ""])
        }
        GroupName::UlkomainenPostiosoite => group(code, b'3', &[PLACEHOLDER_FI, PLACEHOLDER_SV, "", ""]),
        GroupName::Kotikunta => group(code, b'3', &["000", ""]),
        GroupName::Sahkopostiosoite => group(code, b'3', &["", PLACEHOLDER_FI, "", ""]),
        g if g.is_censored_under_turvakielto() && json_group(code).is_some() => group(code, b'3', &[PLACEHOLDER_FI]),
        other => Err(malformed(format!("{other} is never censored"))),
    }
}

/// A date field; an unknown date and no date are both `00000000` in files
/// (the reader gives no date).
fn opt_date(d: &Option<VtjDate>) -> String {
    d.as_ref().map(VtjDate::to_string).unwrap_or_default()
}

/// Name kinds and their codes: `01`/`02` in group 005; `04`/`09` the
/// current and former call name in group 423 (as the shared files show).
const NIMILAJI: [(&str, &str); 4] = [
    ("01", EDELLINEN_SUKUNIMI),
    ("02", EDELLINEN_ETUNIMI),
    ("04", NYKYINEN_KUTSUMANIMI),
    ("09", EDELLINEN_KUTSUMANIMI),
];

fn nimilaji_code(laji: &str) -> Result<&'static str, CodecError> {
    code_of(&NIMILAJI, "name kind", Some(laji))
}

fn nimilaji_of(code: &str) -> Result<&'static str, CodecError> {
    NIMILAJI
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .ok_or_else(|| malformed(format!("name kind {code:?} is not one this program writes")))
}

fn voimassaolo_of(code: &str) -> Result<Voimassaolo, CodecError> {
    match code {
        "1" => Ok(Voimassaolo::Aktiivi),
        "2" => Ok(Voimassaolo::Passiivi),
        other => Err(malformed(format!("validity code {other:?}"))),
    }
}

fn voimassaolo_code(v: Voimassaolo) -> &'static str {
    match v {
        Voimassaolo::Aktiivi => "1",
        Voimassaolo::Passiivi => "2",
    }
}

fn value(v: &GroupValue, ch: u8) -> Result<Vec<RawGroup>, CodecError> {
    let code = head_code(v.name());
    let one = |values: &[&str]| Ok(vec![group(code, ch, values)?]);
    match v {
        GroupValue::HenkilotunnusKorjaus(k) => {
            let mut out = vec![group(code, ch, &[k.aktiivinen_henkilotunnus.as_str(), "1"])?];
            for h in &k.edelliset_henkilotunnukset {
                out.push(group(code, ch, &[h.as_str(), "2"])?);
            }
            Ok(out)
        }
        GroupValue::HenkilonNimi(n) => one(&[&n.sukunimi, &n.etunimi, &opt_date(&n.alkupv), ""]),
        GroupValue::Nimenmuutos(n) => {
            one(&[&n.nimi, nimilaji_code(&n.nimilaji)?, &opt_date(&n.alkupv), &opt_date(&n.loppupv), ""])
        }
        GroupValue::Sukupuoli(s) => one(&[sex_code(s.sukupuoli)]),
        GroupValue::Aidinkieli(k) if k.kielikoodi == "98" => {
            Ok(vec![group(code, ch, &["98"])?, group(b"452", b'0', &[k.nimi.as_deref().unwrap_or("")])?])
        }
        GroupValue::Aidinkieli(k) => one(&[&k.kielikoodi]),
        GroupValue::Asiointikieli(a) => one(&[
            match a.kielikoodi {
                AsiointikieliKoodi::Fi => "fi",
                AsiointikieliKoodi::Sv => "sv",
            },
            &opt_date(&a.alkupv),
        ]),
        GroupValue::Kansalaisuus(k) if k.henkilon_kansalaisuudet.is_empty() => one(&["", "", "", ""]),
        GroupValue::Kansalaisuus(k) => k
            .henkilon_kansalaisuudet
            .iter()
            .map(|r| {
                group(code, ch, &[&r.kansalaisuuskoodi, voimassaolo_code(r.voimassaolo), &opt_date(&r.saamispv), ""])
            })
            .collect(),
        GroupValue::Kuolinpaiva(k) => one(&[&k.kuolinpv.to_string()]),
        GroupValue::Turvakielto(t) => one(&[&opt_date(&t.turva_loppu_pv)]),
        GroupValue::Edunvalvonta(e) => {
            let rajoitus = if e.toimintakelpoisuus_rajoitettu { "1" } else { "0" };
            let mut out = vec![group(code, ch, &[&e.alkupv.to_string(), "", rajoitus, "100"])?];
            for g in &e.edunvalvojat {
                out.push(group(b"307", b'0', &[hetu_or_blank(g), "", "", "", ""])?);
                out.push(group(b"911", b'0', &[&g.nimi])?);
            }
            Ok(out)
        }
        GroupValue::Edunvalvontavaltuutus(v) => {
            let mut out = vec![group(code, ch, &[&v.vahvistamispv.to_string(), "", "100"])?];
            for g in &v.valtuutetut {
                out.push(group(b"317", b'0', &[hetu_or_blank(g), "", ""])?);
                out.push(group(b"911", b'0', &[&g.nimi])?);
            }
            Ok(out)
        }
        GroupValue::VakinainenKotimainenOsoite(o) | GroupValue::TilapainenKotimainenOsoite(o) => {
            let mut out = vec![
                group(
                    code,
                    ch,
                    &[
                        &o.katunimi.fi,
                        o.katunimi.sv.as_deref().unwrap_or(""),
                        &o.katunumero,
                        o.huoneistokirjain.as_deref().unwrap_or(""),
                        o.huoneistonumero.as_deref().unwrap_or(""),
                        o.jakokirjain.as_deref().unwrap_or(""),
                        &o.postinumero,
                        &opt_date(&o.alkupv),
                        "",
                    ],
                )?,
                group(b"910", b'0', &["", &o.postitoimipaikka.fi, o.postitoimipaikka.sv.as_deref().unwrap_or("")])?,
            ];
            if o.rakennustunnus.is_some() || o.osoitenumero.is_some() || o.kuntakoodi.is_some() {
                out.push(group(
                    b"912",
                    b'0',
                    &[
                        o.rakennustunnus.as_deref().unwrap_or(""),
                        &o.osoitenumero.map(|n| n.to_string()).unwrap_or_default(),
                        &o.kuntakoodi.map(|k| k.to_string()).unwrap_or_default(),
                    ],
                )?);
            }
            Ok(out)
        }
        GroupValue::KotimainenPostiosoite(o) | GroupValue::KotimainenYhteysosoite(o) => Ok(vec![
            group(code, ch, &[&o.postiosoite.fi, &o.postinumero, "", ""])?,
            group(
                b"910",
                b'0',
                &[
                    o.postiosoite.sv.as_deref().unwrap_or(""),
                    &o.postitoimipaikka.fi,
                    o.postitoimipaikka.sv.as_deref().unwrap_or(""),
                ],
            )?,
        ]),
        GroupValue::VakinainenUlkomainenOsoite(o) | GroupValue::TilapainenUlkomainenOsoite(o) => {
            one(&[&o.lahiosoite, &o.paikkakunta, &o.valtiokoodi, &opt_date(&o.alkupv), ""])
        }
        GroupValue::UlkomainenPostiosoite(o) | GroupValue::UlkomainenYhteysosoite(o) => {
            one(&[&o.postiosoite, o.postiosoite_lisarivi.as_deref().unwrap_or(""), &o.postitoimipaikka, &o.valtiokoodi])
        }
        GroupValue::Kotikunta(k) => one(&[&k.kuntakoodi.to_string(), &opt_date(&k.kuntaan_muuttopv)]),
        GroupValue::Syntymakotikunta(k) => one(&[&k.kuntakoodi.to_string()]),
        GroupValue::UlkomainenSyntymapaikka(p) => {
            one(&[&p.valtiokoodi, p.ulkomainen_syntymapaikka.as_deref().unwrap_or("")])
        }
        GroupValue::Sahkopostiosoite(e) => {
            one(&[&e.lajikoodi.map(|k| format!("{k:02}")).unwrap_or_default(), &e.sahkopostiosoite, "", ""])
        }
        GroupValue::UlkomainenHenkilotunnus(u) => one(&[
            &u.ulkomainen_henkilotunnus,
            u.sukupuoli.map_or("", sex_code),
            &u.valtiokoodi,
            code_of(&TIETOLAHDE, "tietolahde", u.tietolahde.as_deref())?,
            "",
            voimassaolo_code(u.voimassaolo),
            &opt_date(&u.antopv),
            "",
            &opt_date(&u.vtj_tallennuspv),
            "",
            vtj_voimassaolo_code(u.vtj_voimassaolo.as_deref())?,
        ]),
        GroupValue::Kutsumanimi(n) => {
            one(&[&n.nimi, nimilaji_code(&n.nimilaji)?, &opt_date(&n.alkupv), &opt_date(&n.loppupv), ""])
        }
        GroupValue::Huoltaja(h) => huoltaja(h, ch),
        other => one(&[&json_text(other)?]),
    }
}

fn sex_code(s: Sex) -> &'static str {
    match s {
        Sex::Male => "1",
        Sex::Female => "2",
    }
}

fn sex_of(code: &str) -> Result<Option<Sex>, CodecError> {
    match code {
        "" => Ok(None),
        "1" => Ok(Some(Sex::Male)),
        "2" => Ok(Some(Sex::Female)),
        other => Err(malformed(format!("sex code {other:?}"))),
    }
}

/// Sources of a foreign identity number (group 422). The digits are the
/// files'; the names DVV's JSON uses for them are known for `HENKILO_ITSE`
/// only, so this pairing is *ours*.
const TIETOLAHDE: [(&str, &str); 3] = [("1", "HENKILO_ITSE"), ("2", "VIRANOMAINEN"), ("3", "ULKOMAINEN_VIRANOMAINEN")];

fn vtj_voimassaolo_code(name: Option<&str>) -> Result<&'static str, CodecError> {
    match name {
        None => Ok(""),
        Some(VTJ_PARAS_TIEDOSSA_OLEVA) => Ok("1"),
        Some(n) => Err(malformed(format!("vtjVoimassaolo {n:?} has no code this program writes"))),
    }
}

const VTJ_PARAS_TIEDOSSA_OLEVA: &str = "PARAS_TIEDOSSA_OLEVA";

fn hetu_or_blank(g: &Edunvalvoja) -> &str {
    g.henkilotunnus.as_ref().map_or("", Hetu::as_str)
}

/// Guardian kinds and roles in group 305's one-digit fields. The files'
/// codes are not public: this pairing with DVV's JSON names is *ours*.
const HUOLTAJAN_LAJI: [(&str, &str); 2] = [("1", code::LAKISAATEINEN_HUOLTAJA), ("2", code::MAARATTY_HUOLTAJA)];
const HUOLTAJAN_ROOLI: [(&str, &str); 5] = [
    ("1", code::AITI),
    ("2", code::ISA),
    ("3", code::ADOPTIOAITI),
    ("4", code::ADOPTIOISA),
    ("5", code::SOSIAALILAUTAKUNTA),
];

fn code_of(table: &[(&'static str, &str)], what: &str, name: Option<&str>) -> Result<&'static str, CodecError> {
    let Some(name) = name else { return Ok("") };
    table
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(c, _)| *c)
        .ok_or_else(|| malformed(format!("{what} {name:?} has no code this program writes")))
}

fn name_of(table: &[(&str, &str)], what: &str, digit: &str) -> Result<Option<String>, CodecError> {
    if digit.is_empty() {
        return Ok(None);
    }
    table
        .iter()
        .find(|(c, _)| *c == digit)
        .map(|(_, n)| Some(n.to_string()))
        .ok_or_else(|| malformed(format!("{what} code {digit:?}")))
}

/// One guardian as group 305 (2019 layout), then 451 for a guardian
/// without hetu as real files have it, then 913 (*ours*: the guardian as
/// DVV's JSON names a relative, for what 305 and 451 do not carry), then a
/// 320 for each right. The living fields of 305 stay blank: DVV's JSON has
/// no such field.
fn huoltaja(h: &Huoltaja, ch: u8) -> Result<Vec<RawGroup>, CodecError> {
    let who = &h.huoltaja;
    let mut out = vec![group(
        b"305",
        ch,
        &[
            who.henkilotunnus.as_ref().map_or("", Hetu::as_str),
            code_of(&HUOLTAJAN_LAJI, "huoltajanLaji", h.huoltajan_laji.as_deref())?,
            code_of(&HUOLTAJAN_ROOLI, "huoltajanRooli", h.huoltajan_rooli.as_deref())?,
            &opt_date(&h.huoltosuhteen_alkupv),
            &opt_date(&h.huoltosuhteen_loppupv),
            "",
            "",
            "",
        ],
    )?];
    if who.henkilotunnus.is_none() {
        out.push(group(
            b"451",
            b'0',
            &[
                &opt_date(&who.syntymapv),
                who.sukupuoli.map_or("", sex_code),
                who.sukunimi.as_deref().unwrap_or(""),
                who.etunimet.as_deref().unwrap_or(""),
                "",
            ],
        )?);
    }
    let json = serde_json::to_string(&RelatedPerson { henkilotunnus: None, ..who.clone() })
        .map_err(|e| malformed(format!("HUOLTAJA: {e}")))?;
    out.push(group(b"913", b'0', &[&latin1_json(json)])?);
    for o in h.oikeudet.iter().flatten() {
        out.push(group(b"320", b'0', &[&o.oikeus, &opt_date(&o.alkupv), &opt_date(&o.loppupv)])?);
    }
    Ok(out)
}

/// The guardians of one HUOLTAJA change: each 305 with the groups after it.
/// Without our 913 (a real file) the guardian is what 305 or 451 tells;
/// the list of rights is always there, as DVV's JSON always has it.
fn huoltajat(u: &Unit, head: &[String], rest: &[Vec<String>]) -> Result<Vec<GroupValue>, CodecError> {
    let mut out: Vec<Huoltaja> = Vec::new();
    let all = u.groups.iter().zip(std::iter::once(head).chain(rest.iter().map(Vec::as_slice)));
    for (g, t) in all {
        if &g.code == b"305" {
            let henkilotunnus = if t[0].is_empty() { None } else { Some(hetu(&t[0])?) };
            out.push(Huoltaja {
                huoltaja: RelatedPerson {
                    henkilotunnus,
                    etunimet: None,
                    sukunimi: None,
                    etunimet_utf8: None,
                    sukunimi_utf8: None,
                    syntymapv: None,
                    sukupuoli: None,
                },
                huoltajan_laji: name_of(&HUOLTAJAN_LAJI, "huoltajanLaji", &t[1])?,
                huoltajan_rooli: name_of(&HUOLTAJAN_ROOLI, "huoltajanRooli", &t[2])?,
                huoltosuhteen_alkupv: opt_vdate(&t[3])?,
                huoltosuhteen_loppupv: opt_vdate(&t[4])?,
                oikeudet: Some(Vec::new()),
            });
            continue;
        }
        let Some(h) = out.last_mut() else {
            return Err(malformed(format!("HUOLTAJA: group {} before any 305", g.code_str())));
        };
        match &g.code {
            b"451" => {
                let who = &mut h.huoltaja;
                who.syntymapv = opt_vdate(&t[0])?;
                who.sukupuoli = sex_of(&t[1])?;
                who.sukunimi = opt(&t[2]);
                who.etunimet = opt(&t[3]);
            }
            b"913" => {
                let named: RelatedPerson =
                    serde_json::from_str(&t[0]).map_err(|e| malformed(format!("HUOLTAJA group 913: {e}")))?;
                h.huoltaja = RelatedPerson { henkilotunnus: h.huoltaja.henkilotunnus, ..named };
            }
            b"320" => h.oikeudet.get_or_insert_with(Vec::new).push(Oikeus {
                oikeus: t[0].clone(),
                alkupv: opt_vdate(&t[1])?,
                loppupv: opt_vdate(&t[2])?,
            }),
            other => return Err(malformed(format!("HUOLTAJA: group {} out of place", String::from_utf8_lossy(other)))),
        }
    }
    Ok(out.into_iter().map(GroupValue::Huoltaja).collect())
}

/// Record groups decoded into group changes, and the groups of codes this
/// program does not know (kept, for the caller to report).
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    pub changes: Vec<GroupChange>,
    pub unknown: Vec<RawGroup>,
}

/// A main group and the groups that belong to it.
struct Unit<'a> {
    name: GroupName,
    groups: Vec<&'a RawGroup>,
    /// Change type 5: the value before a correction, superseded by the 6 after it.
    superseded: bool,
}

pub fn decode(groups: &[RawGroup]) -> Result<Decoded, CodecError> {
    let mut units: Vec<Unit> = Vec::new();
    let mut unknown = Vec::new();
    for g in groups {
        if layout::fields(&g.code).is_none() {
            unknown.push(g.clone());
            continue;
        }
        if let Some(u) = units.last_mut() {
            let same_list = is_list(u.name) && head_code(u.name) == &g.code && u.groups[0].change == g.change;
            if same_list || (g.change == b'0' && qualifies(&g.code, u.name)) {
                u.groups.push(g);
                continue;
            }
        }
        let name = group_of_head(&g.code).ok_or_else(|| {
            malformed(format!("group {} is not a main group here (does it follow its own?)", g.code_str()))
        })?;
        units.push(Unit { name, groups: vec![g], superseded: g.change == b'5' });
    }
    let mut changes: Vec<GroupChange> = Vec::new();
    for u in units.iter().filter(|u| !u.superseded) {
        if changes.iter().any(|c| c.tietoryhma == u.name) {
            return Err(malformed(format!("{} twice in one record", u.name)));
        }
        changes.push(decode_unit(u)?);
    }
    Ok(Decoded { changes, unknown })
}

/// A group's field texts, in layout order.
fn texts(g: &RawGroup) -> Result<Vec<String>, CodecError> {
    Ok(layout::split_current(g).map_err(CodecError::Malformed)?.into_iter().map(|(_, t)| t).collect())
}

fn vdate(s: &str) -> Result<VtjDate, CodecError> {
    VtjDate::parse(s).map_err(|e| malformed(e.to_string()))
}

fn opt_vdate(s: &str) -> Result<Option<VtjDate>, CodecError> {
    Ok(match vdate(s)? {
        VtjDate::Unknown => None,
        d => Some(d),
    })
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn localized(fi: &str, sv: &str) -> Localized {
    Localized { fi: fi.to_string(), sv: opt(sv) }
}

fn hetu(s: &str) -> Result<Hetu, CodecError> {
    Hetu::parse(s).map_err(|e| malformed(format!("{s:?}: {e}")))
}

fn kunta(s: &str) -> Result<KuntaCode, CodecError> {
    KuntaCode::parse(s).map_err(|e| malformed(e.to_string()))
}

fn is_censored(name: GroupName, head: &[String]) -> bool {
    match name {
        GroupName::Kotikunta => head[0] == "000",
        GroupName::Sahkopostiosoite => head[1].starts_with(PLACEHOLDER_MARK),
        _ => name.is_censored_under_turvakielto() && head[0].starts_with(PLACEHOLDER_MARK),
    }
}

fn decode_unit(u: &Unit) -> Result<GroupChange, CodecError> {
    let head = texts(u.groups[0])?;
    let (muutos, kind) = match u.groups[0].change {
        b'1' => (ChangeKind::Added, InstanceKind::Added),
        b'3' | b'6' => (ChangeKind::Changed, InstanceKind::Changed),
        b'4' => return Ok(GroupChange::marker(u.name, ChangeKind::Removed)),
        c => return Err(malformed(format!("{}: change type {:?} on a main group", u.name, c as char))),
    };
    if is_censored(u.name, &head) {
        return Ok(GroupChange::marker(u.name, ChangeKind::Censored));
    }
    let rest: Vec<Vec<String>> = u.groups[1..].iter().map(|g| texts(g)).collect::<Result<_, _>>()?;
    let qualifier = |code: &[u8; 3]| -> Result<Option<Vec<String>>, CodecError> {
        let mut found = u.groups[1..].iter().zip(&rest).filter(|(g, _)| &g.code == code);
        let first = found.next().map(|(_, t)| t.clone());
        if found.next().is_some() {
            return Err(malformed(format!("{}: more than one {}", u.name, String::from_utf8_lossy(code))));
        }
        Ok(first)
    };
    let values: Vec<GroupValue> = match u.name {
        GroupName::HenkilotunnusKorjaus => {
            let mut edelliset = Vec::new();
            let mut aktiivinen = None;
            for t in std::iter::once(&head).chain(&rest) {
                match t[1].as_str() {
                    "1" if aktiivinen.is_none() => aktiivinen = Some(hetu(&t[0])?),
                    "2" => edelliset.push(hetu(&t[0])?),
                    other => return Err(malformed(format!("hetu correction status {other:?}"))),
                }
            }
            let aktiivinen = aktiivinen.ok_or_else(|| malformed("hetu correction without the active hetu"))?;
            vec![GroupValue::HenkilotunnusKorjaus(HetuKorjaus {
                aktiivinen_henkilotunnus: aktiivinen,
                edelliset_henkilotunnukset: edelliset,
                muutettu_henkilotunnus: aktiivinen,
                voimassaolo: Voimassaolo::Aktiivi,
            })]
        }
        GroupName::HenkilonNimi => {
            vec![GroupValue::HenkilonNimi(Nimi::new(&head[1], &head[0], opt_vdate(&head[2])?))]
        }
        GroupName::Nimenmuutos => std::iter::once(&head)
            .chain(&rest)
            .map(|t| {
                let nimilaji = nimilaji_of(&t[1])?;
                Ok(GroupValue::Nimenmuutos(Nimenmuutos {
                    nimilaji: nimilaji.to_string(),
                    nimi: t[0].clone(),
                    nimi_utf8: Some(t[0].clone()),
                    nimenmuutostapa: None,
                    alkupv: opt_vdate(&t[2])?,
                    loppupv: opt_vdate(&t[3])?,
                }))
            })
            .collect::<Result<_, _>>()?,
        GroupName::Sukupuoli => vec![GroupValue::Sukupuoli(Sukupuoli {
            sukupuoli: sex_of(&head[0])?.ok_or_else(|| malformed("a SUKUPUOLI group without the sex"))?,
        })],
        GroupName::Aidinkieli => vec![GroupValue::Aidinkieli(match (head[0].as_str(), qualifier(b"452")?) {
            ("98", Some(t)) => Kieli::other(&t[0]),
            ("98", None) => return Err(malformed("language 98 without its name (group 452)")),
            (c, _) => Kieli::iso(c),
        })],
        GroupName::Asiointikieli => vec![GroupValue::Asiointikieli(Asiointikieli::new(
            match head[0].as_str() {
                "fi" => AsiointikieliKoodi::Fi,
                "sv" => AsiointikieliKoodi::Sv,
                other => return Err(malformed(format!("asiointikieli {other:?}"))),
            },
            opt_vdate(&head[1])?,
        ))],
        GroupName::Kansalaisuus if head[0].is_empty() && rest.is_empty() => {
            vec![GroupValue::Kansalaisuus(Kansalaisuus { henkilon_kansalaisuudet: Vec::new() })]
        }
        GroupName::Kansalaisuus => {
            let rivit = std::iter::once(&head)
                .chain(&rest)
                .map(|t| {
                    Ok(KansalaisuusRivi {
                        kansalaisuuskoodi: t[0].clone(),
                        kansalaisuusnimi: None,
                        voimassaolo: voimassaolo_of(&t[1])?,
                        saamispv: opt_vdate(&t[2])?,
                    })
                })
                .collect::<Result<_, CodecError>>()?;
            vec![GroupValue::Kansalaisuus(Kansalaisuus { henkilon_kansalaisuudet: rivit })]
        }
        GroupName::Kuolinpaiva => {
            vec![GroupValue::Kuolinpaiva(Kuolinpaiva { kuollut: true, kuolinpv: vdate(&head[0])? })]
        }
        GroupName::Turvakielto => vec![GroupValue::Turvakielto(Turvakielto {
            turvakielto_aktiivinen: true,
            turva_loppu_pv: opt_vdate(&head[0])?,
        })],
        GroupName::Edunvalvonta => vec![GroupValue::Edunvalvonta(Edunvalvonta {
            alkupv: vdate(&head[0])?,
            toimintakelpoisuus_rajoitettu: head[2] == "1",
            edunvalvojat: persons(u, &rest, b"307")?,
        })],
        GroupName::Edunvalvontavaltuutus => vec![GroupValue::Edunvalvontavaltuutus(Edunvalvontavaltuutus {
            vahvistamispv: vdate(&head[0])?,
            valtuutetut: persons(u, &rest, b"317")?,
        })],
        GroupName::VakinainenKotimainenOsoite | GroupName::TilapainenKotimainenOsoite => {
            let extra = qualifier(b"910")?.ok_or_else(|| malformed(format!("{}: no group 910", u.name)))?;
            let place = qualifier(b"912")?.unwrap_or_else(|| vec![String::new(); 3]);
            let osoitenumero = match place[1].as_str() {
                "" => None,
                n => Some(n.parse().map_err(|_| malformed(format!("osoitenumero {n:?}")))?),
            };
            let kuntakoodi = match place[2].as_str() {
                "" => None,
                k => Some(KuntaCode::parse(k).map_err(|e| malformed(e.to_string()))?),
            };
            let o = KotimainenOsoite {
                katunimi: localized(&head[0], &head[1]),
                katunumero: head[2].clone(),
                huoneistokirjain: opt(&head[3]),
                huoneistonumero: opt(&head[4]),
                jakokirjain: opt(&head[5]),
                postinumero: head[6].clone(),
                postitoimipaikka: localized(&extra[1], &extra[2]),
                rakennustunnus: opt(&place[0]),
                osoitenumero,
                kuntakoodi,
                alkupv: opt_vdate(&head[7])?,
            };
            vec![if u.name == GroupName::VakinainenKotimainenOsoite {
                GroupValue::VakinainenKotimainenOsoite(o)
            } else {
                GroupValue::TilapainenKotimainenOsoite(o)
            }]
        }
        GroupName::KotimainenPostiosoite | GroupName::KotimainenYhteysosoite => {
            let extra = qualifier(b"910")?.ok_or_else(|| malformed(format!("{}: no group 910", u.name)))?;
            let o = Postiosoite {
                postiosoite: localized(&head[0], &extra[0]),
                postinumero: head[1].clone(),
                postitoimipaikka: localized(&extra[1], &extra[2]),
            };
            vec![if u.name == GroupName::KotimainenPostiosoite {
                GroupValue::KotimainenPostiosoite(o)
            } else {
                GroupValue::KotimainenYhteysosoite(o)
            }]
        }
        GroupName::VakinainenUlkomainenOsoite | GroupName::TilapainenUlkomainenOsoite => {
            let o = UlkomainenOsoite {
                lahiosoite: head[0].clone(),
                paikkakunta: head[1].clone(),
                valtiokoodi: head[2].clone(),
                alkupv: opt_vdate(&head[3])?,
            };
            vec![if u.name == GroupName::VakinainenUlkomainenOsoite {
                GroupValue::VakinainenUlkomainenOsoite(o)
            } else {
                GroupValue::TilapainenUlkomainenOsoite(o)
            }]
        }
        GroupName::UlkomainenPostiosoite | GroupName::UlkomainenYhteysosoite => {
            let o = UlkomainenPostiosoite {
                postiosoite: head[0].clone(),
                postiosoite_lisarivi: opt(&head[1]),
                postitoimipaikka: head[2].clone(),
                valtiokoodi: head[3].clone(),
            };
            vec![if u.name == GroupName::UlkomainenPostiosoite {
                GroupValue::UlkomainenPostiosoite(o)
            } else {
                GroupValue::UlkomainenYhteysosoite(o)
            }]
        }
        GroupName::Kotikunta => vec![GroupValue::Kotikunta(Kotikunta {
            kuntakoodi: kunta(&head[0])?,
            kuntaan_muuttopv: opt_vdate(&head[1])?,
        })],
        GroupName::Syntymakotikunta => {
            vec![GroupValue::Syntymakotikunta(Syntymakotikunta {
                kuntakoodi: RecordedKuntaCode::parse(&head[0]).map_err(|e| malformed(e.to_string()))?,
            })]
        }
        GroupName::UlkomainenSyntymapaikka => vec![GroupValue::UlkomainenSyntymapaikka(UlkomainenSyntymapaikka {
            valtiokoodi: head[0].clone(),
            ulkomainen_syntymapaikka: opt(&head[1]),
        })],
        GroupName::Sahkopostiosoite => vec![GroupValue::Sahkopostiosoite(Sahkopostiosoite {
            lajikoodi: match head[0].as_str() {
                "" => None,
                k => Some(k.parse().map_err(|_| malformed(format!("e-mail kind {k:?}")))?),
            },
            sahkopostiosoite: head[1].clone(),
        })],
        GroupName::UlkomainenHenkilotunnus => std::iter::once(&head)
            .chain(&rest)
            .map(|t| {
                Ok(GroupValue::UlkomainenHenkilotunnus(UlkomainenHenkilotunnus {
                    ulkomainen_henkilotunnus: t[0].clone(),
                    sukupuoli: sex_of(&t[1])?,
                    valtiokoodi: t[2].clone(),
                    tietolahde: name_of(&TIETOLAHDE, "tietolahde", &t[3])?,
                    voimassaolo: voimassaolo_of(&t[5])?,
                    antopv: opt_vdate(&t[6])?,
                    vtj_tallennuspv: opt_vdate(&t[8])?,
                    vtj_voimassaolo: match t[10].as_str() {
                        "" => None,
                        "1" => Some(VTJ_PARAS_TIEDOSSA_OLEVA.to_string()),
                        c => return Err(malformed(format!("vtjVoimassaolo code {c:?}"))),
                    },
                }))
            })
            .collect::<Result<_, CodecError>>()?,
        GroupName::Kutsumanimi => vec![GroupValue::Kutsumanimi(Nimenmuutos {
            nimilaji: nimilaji_of(&head[1])?.to_string(),
            nimi: head[0].clone(),
            nimi_utf8: Some(head[0].clone()),
            nimenmuutostapa: None,
            alkupv: opt_vdate(&head[2])?,
            loppupv: opt_vdate(&head[3])?,
        })],
        GroupName::Huoltaja => huoltajat(u, &head, &rest)?,
        other => std::iter::once(&head).chain(&rest).map(|t| from_json_text(other, &t[0])).collect::<Result<_, _>>()?,
    };
    Ok(GroupChange {
        tietoryhma: u.name,
        muutos,
        arvot: values.into_iter().map(|arvo| Instance { muutos: kind, arvo }).collect(),
    })
}

/// Guardians or attorneys: each an identity group followed by its 911 name.
fn persons(u: &Unit, rest: &[Vec<String>], id_code: &[u8; 3]) -> Result<Vec<Edunvalvoja>, CodecError> {
    let mut out: Vec<Edunvalvoja> = Vec::new();
    let mut pending: Option<Option<Hetu>> = None;
    for (g, t) in u.groups[1..].iter().zip(rest) {
        match (&g.code, pending.take()) {
            (c, None) if c == id_code => {
                pending = Some(if t[0].is_empty() { None } else { Some(hetu(&t[0])?) });
            }
            (b"911", Some(henkilotunnus)) => out.push(Edunvalvoja { henkilotunnus, nimi: t[0].clone() }),
            _ => return Err(malformed(format!("{}: group {} out of order", u.name, g.code_str()))),
        }
    }
    if pending.is_some() {
        return Err(malformed(format!("{}: a person without a name (group 911)", u.name)));
    }
    Ok(out)
}
