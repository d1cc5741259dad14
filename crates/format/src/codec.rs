//! One data group's change as record groups, and back.
//!
//! A group value becomes a main group (its code, the change type, its
//! fields) followed by the groups that belong to it: more of the same code
//! for a list (earlier hetus, former names, citizenships), or qualifying
//! groups with change type 0 for what the main group has no field for
//! (a call name, a language's name, post-office names, a guardian).
//!
//! Censoring is in the values, as recipients of the real service see it: an
//! address whose street field carries the turvakielto placeholder, a home
//! municipality `000`. Nothing of the person is in a censored group.

use thiserror::Error;
use vtj_core::groups::AiempiNimi;
use vtj_core::groups::{
    Asiointikieli, AsiointikieliArvo, Edunvalvoja, Edunvalvonta, Edunvalvontavaltuutus, HetuKorjaus, Kansalaisuus,
    Kieli, Kotikunta, KotimainenOsoite, Kuolinpaiva, Nimenmuutos, Nimi, Nimilaji, Postiosoite, SukupuoliArvo,
    Turvakielto, UlkomainenOsoite,
};
use vtj_core::{ChangeKind, GroupChange, GroupName, GroupValue, Hetu, KuntaCode, Sex, VtjDate};

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
    }
}

fn group_of_head(code: &[u8; 3]) -> Option<GroupName> {
    GroupName::ALL.into_iter().find(|&g| head_code(g) == code)
}

/// The data groups a qualifying code may follow.
fn qualifies(code: &[u8; 3], g: GroupName) -> bool {
    use GroupName as G;
    match code {
        b"423" => g == G::HenkilonNimi,
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
        _ => false,
    }
}

fn is_list(g: GroupName) -> bool {
    matches!(g, GroupName::HenkilotunnusKorjaus | GroupName::Nimenmuutos | GroupName::Kansalaisuus)
}

/// One group change as record groups.
pub fn encode(c: &GroupChange) -> Result<Vec<RawGroup>, CodecError> {
    let code = head_code(c.tietoryhma);
    match (c.muutos, &c.arvo) {
        (ChangeKind::Removed, _) => Ok(vec![blank(code, b'4')?]),
        (ChangeKind::Censored, _) => censored(c.tietoryhma).map(|g| vec![g]),
        (ChangeKind::Added, Some(v)) => value(v, b'1'),
        (ChangeKind::Changed, Some(v)) => value(v, b'3'),
        (k, None) => Err(malformed(format!("{}: a {k:?} change without its value", c.tietoryhma))),
    }
}

fn censored(g: GroupName) -> Result<RawGroup, CodecError> {
    let code = head_code(g);
    match g {
        GroupName::VakinainenKotimainenOsoite | GroupName::TilapainenKotimainenOsoite => {
            group(code, b'3', &[PLACEHOLDER_FI, PLACEHOLDER_SV, "", "", "", "", "", "", ""])
        }
        GroupName::KotimainenPostiosoite => group(code, b'3', &[PLACEHOLDER_FI, "", "", ""]),
        GroupName::VakinainenUlkomainenOsoite
        | GroupName::TilapainenUlkomainenOsoite
        | GroupName::UlkomainenPostiosoite => group(code, b'3', &[PLACEHOLDER_FI, PLACEHOLDER_SV, "", "", ""]),
        GroupName::Kotikunta => group(code, b'3', &["000", ""]),
        other => Err(malformed(format!("{other} is never censored"))),
    }
}

fn date(d: &VtjDate) -> String {
    d.to_string()
}

fn opt_date(d: &Option<VtjDate>) -> String {
    d.as_ref().map(date).unwrap_or_default()
}

fn value(v: &GroupValue, ch: u8) -> Result<Vec<RawGroup>, CodecError> {
    let code = head_code(v.name());
    let one = |values: &[&str]| Ok(vec![group(code, ch, values)?]);
    match v {
        GroupValue::HenkilotunnusKorjaus(k) => {
            let mut out = vec![group(code, ch, &[k.voimassaoleva_henkilotunnus.as_str(), "1"])?];
            for h in &k.aiemmat_henkilotunnukset {
                out.push(group(code, ch, &[h.as_str(), "2"])?);
            }
            Ok(out)
        }
        GroupValue::HenkilonNimi(n) => {
            let mut out = vec![group(code, ch, &[&n.sukunimi, &n.etunimet, &date(&n.alkupaiva), ""])?];
            if let Some(k) = &n.kutsumanimi {
                out.push(group(b"423", b'0', &[k, "00", &date(&n.alkupaiva), "", ""])?);
            }
            Ok(out)
        }
        GroupValue::Nimenmuutos(m) if m.aiemmat_nimet.is_empty() => one(&["", "00", "", "", ""]),
        GroupValue::Nimenmuutos(m) => m
            .aiemmat_nimet
            .iter()
            .map(|a| {
                let laji = match a.nimilaji {
                    Nimilaji::Sukunimi => "01",
                    Nimilaji::Etunimet => "02",
                };
                group(code, ch, &[&a.nimi, laji, &date(&a.alkupaiva), &date(&a.loppupaiva), ""])
            })
            .collect(),
        GroupValue::Sukupuoli(s) => one(&[match s.sukupuoli {
            Sex::Male => "1",
            Sex::Female => "2",
        }]),
        GroupValue::Aidinkieli(Kieli::Iso(c)) => one(&[c]),
        GroupValue::Aidinkieli(Kieli::Other(name)) => {
            Ok(vec![group(code, ch, &["98"])?, group(b"452", b'0', &[name])?])
        }
        GroupValue::Asiointikieli(a) => one(&[match a.kielikoodi {
            Asiointikieli::Fi => "fi",
            Asiointikieli::Sv => "sv",
        }]),
        GroupValue::Kansalaisuus(k) if k.valtiot.is_empty() => one(&["", "", "", ""]),
        GroupValue::Kansalaisuus(k) => k.valtiot.iter().map(|v| group(code, ch, &[v, "1", "", ""])).collect(),
        GroupValue::Kuolinpaiva(k) => one(&[&date(&k.kuolinpaiva)]),
        GroupValue::Turvakielto(t) => one(&[&date(&t.paattymispaiva)]),
        GroupValue::Edunvalvonta(e) => {
            let rajoitus = if e.toimintakelpoisuus_rajoitettu { "1" } else { "0" };
            let mut out = vec![group(code, ch, &[&date(&e.alkupaiva), "", rajoitus, "100"])?];
            for g in &e.edunvalvojat {
                out.push(group(b"307", b'0', &[hetu_or_blank(g), "", "", "", ""])?);
                out.push(group(b"911", b'0', &[&g.nimi])?);
            }
            Ok(out)
        }
        GroupValue::Edunvalvontavaltuutus(v) => {
            let mut out = vec![group(code, ch, &[&date(&v.vahvistamispaiva), "", "100"])?];
            for g in &v.valtuutetut {
                out.push(group(b"317", b'0', &[hetu_or_blank(g), "", ""])?);
                out.push(group(b"911", b'0', &[&g.nimi])?);
            }
            Ok(out)
        }
        GroupValue::VakinainenKotimainenOsoite(o) | GroupValue::TilapainenKotimainenOsoite(o) => {
            let numero = o.huoneistonumero.map(|n| format!("{n:03}")).unwrap_or_default();
            Ok(vec![
                group(
                    code,
                    ch,
                    &[
                        &o.katunimi_fi,
                        o.katunimi_sv.as_deref().unwrap_or(""),
                        &o.katunumero,
                        o.huoneistokirjain.as_deref().unwrap_or(""),
                        &numero,
                        "",
                        &o.postinumero,
                        &date(&o.alkupaiva),
                        &opt_date(&o.loppupaiva),
                    ],
                )?,
                group(b"910", b'0', &["", &o.postitoimipaikka_fi, o.postitoimipaikka_sv.as_deref().unwrap_or("")])?,
            ])
        }
        GroupValue::KotimainenPostiosoite(o) | GroupValue::KotimainenYhteysosoite(o) => Ok(vec![
            group(code, ch, &[&o.postiosoite_fi, &o.postinumero, &date(&o.alkupaiva), &opt_date(&o.loppupaiva)])?,
            group(
                b"910",
                b'0',
                &[
                    o.postiosoite_sv.as_deref().unwrap_or(""),
                    &o.postitoimipaikka_fi,
                    o.postitoimipaikka_sv.as_deref().unwrap_or(""),
                ],
            )?,
        ]),
        GroupValue::VakinainenUlkomainenOsoite(o)
        | GroupValue::TilapainenUlkomainenOsoite(o)
        | GroupValue::UlkomainenPostiosoite(o)
        | GroupValue::UlkomainenYhteysosoite(o) => {
            one(&[&o.katuosoite, &o.paikkakunta, &o.valtiokoodi, &date(&o.alkupaiva), &opt_date(&o.loppupaiva)])
        }
        GroupValue::Kotikunta(k) => one(&[&format!("{:03}", k.kuntakoodi.number()), &date(&k.alkupaiva)]),
    }
}

fn hetu_or_blank(g: &Edunvalvoja) -> &str {
    g.henkilotunnus.as_ref().map_or("", Hetu::as_str)
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
    Ok(layout::split(g).map_err(CodecError::Malformed)?.into_iter().map(|(_, t)| t).collect())
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

fn hetu(s: &str) -> Result<Hetu, CodecError> {
    Hetu::parse(s).map_err(|e| malformed(format!("{s:?}: {e}")))
}

fn is_censored(name: GroupName, head: &[String]) -> bool {
    if name == GroupName::Kotikunta {
        return head[0] == "000";
    }
    name.is_censored_under_turvakielto() && head[0].starts_with(PLACEHOLDER_MARK)
}

fn decode_unit(u: &Unit) -> Result<GroupChange, CodecError> {
    let head = texts(u.groups[0])?;
    let muutos = match u.groups[0].change {
        b'1' => ChangeKind::Added,
        b'3' | b'6' => ChangeKind::Changed,
        b'4' => ChangeKind::Removed,
        c => return Err(malformed(format!("{}: change type {:?} on a main group", u.name, c as char))),
    };
    if muutos == ChangeKind::Removed {
        return Ok(GroupChange { tietoryhma: u.name, muutos, arvo: None });
    }
    if is_censored(u.name, &head) {
        return Ok(GroupChange { tietoryhma: u.name, muutos: ChangeKind::Censored, arvo: None });
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
    let arvo = match u.name {
        GroupName::HenkilotunnusKorjaus => {
            let mut aiemmat = Vec::new();
            let mut voimassa = None;
            for t in std::iter::once(&head).chain(&rest) {
                match t[1].as_str() {
                    "1" if voimassa.is_none() => voimassa = Some(hetu(&t[0])?),
                    "2" => aiemmat.push(hetu(&t[0])?),
                    other => return Err(malformed(format!("hetu correction status {other:?}"))),
                }
            }
            let voimassaoleva_henkilotunnus =
                voimassa.ok_or_else(|| malformed("hetu correction without the active hetu"))?;
            GroupValue::HenkilotunnusKorjaus(HetuKorjaus {
                voimassaoleva_henkilotunnus,
                aiemmat_henkilotunnukset: aiemmat,
            })
        }
        GroupName::HenkilonNimi => GroupValue::HenkilonNimi(Nimi {
            sukunimi: head[0].clone(),
            etunimet: head[1].clone(),
            kutsumanimi: qualifier(b"423")?.map(|t| t[0].clone()),
            alkupaiva: vdate(&head[2])?,
        }),
        GroupName::Nimenmuutos if head[1] == "00" && rest.is_empty() => {
            GroupValue::Nimenmuutos(Nimenmuutos { aiemmat_nimet: Vec::new() })
        }
        GroupName::Nimenmuutos => {
            let aiemmat_nimet = std::iter::once(&head)
                .chain(&rest)
                .map(|t| {
                    let nimilaji = match t[1].as_str() {
                        "01" => Nimilaji::Sukunimi,
                        "02" => Nimilaji::Etunimet,
                        other => return Err(malformed(format!("name kind {other:?} is not one this program writes"))),
                    };
                    Ok(AiempiNimi { nimilaji, nimi: t[0].clone(), alkupaiva: vdate(&t[2])?, loppupaiva: vdate(&t[3])? })
                })
                .collect::<Result<_, _>>()?;
            GroupValue::Nimenmuutos(Nimenmuutos { aiemmat_nimet })
        }
        GroupName::Sukupuoli => GroupValue::Sukupuoli(SukupuoliArvo {
            sukupuoli: match head[0].as_str() {
                "1" => Sex::Male,
                "2" => Sex::Female,
                other => return Err(malformed(format!("sex code {other:?}"))),
            },
        }),
        GroupName::Aidinkieli => GroupValue::Aidinkieli(match (head[0].as_str(), qualifier(b"452")?) {
            ("98", Some(t)) => Kieli::Other(t[0].clone()),
            ("98", None) => return Err(malformed("language 98 without its name (group 452)")),
            (c, _) => Kieli::Iso(c.to_string()),
        }),
        GroupName::Asiointikieli => GroupValue::Asiointikieli(AsiointikieliArvo {
            kielikoodi: match head[0].as_str() {
                "fi" => Asiointikieli::Fi,
                "sv" => Asiointikieli::Sv,
                other => return Err(malformed(format!("asiointikieli {other:?}"))),
            },
        }),
        GroupName::Kansalaisuus if head[0].is_empty() && rest.is_empty() => {
            GroupValue::Kansalaisuus(Kansalaisuus { valtiot: Vec::new() })
        }
        GroupName::Kansalaisuus => GroupValue::Kansalaisuus(Kansalaisuus {
            valtiot: std::iter::once(&head).chain(&rest).map(|t| t[0].clone()).collect(),
        }),
        GroupName::Kuolinpaiva => GroupValue::Kuolinpaiva(Kuolinpaiva { kuolinpaiva: vdate(&head[0])? }),
        GroupName::Turvakielto => GroupValue::Turvakielto(Turvakielto { paattymispaiva: vdate(&head[0])? }),
        GroupName::Edunvalvonta => GroupValue::Edunvalvonta(Edunvalvonta {
            alkupaiva: vdate(&head[0])?,
            toimintakelpoisuus_rajoitettu: head[2] == "1",
            edunvalvojat: persons(u, &rest, b"307")?,
        }),
        GroupName::Edunvalvontavaltuutus => GroupValue::Edunvalvontavaltuutus(Edunvalvontavaltuutus {
            vahvistamispaiva: vdate(&head[0])?,
            valtuutetut: persons(u, &rest, b"317")?,
        }),
        GroupName::VakinainenKotimainenOsoite | GroupName::TilapainenKotimainenOsoite => {
            let extra = qualifier(b"910")?.ok_or_else(|| malformed(format!("{}: no group 910", u.name)))?;
            let huoneistonumero = match head[4].as_str() {
                "" => None,
                n => Some(n.parse().map_err(|_| malformed(format!("huoneistonumero {n:?}")))?),
            };
            let o = KotimainenOsoite {
                katunimi_fi: head[0].clone(),
                katunimi_sv: opt(&head[1]),
                katunumero: head[2].clone(),
                huoneistokirjain: opt(&head[3]),
                huoneistonumero,
                postinumero: head[6].clone(),
                postitoimipaikka_fi: extra[1].clone(),
                postitoimipaikka_sv: opt(&extra[2]),
                alkupaiva: vdate(&head[7])?,
                loppupaiva: opt_vdate(&head[8])?,
            };
            if u.name == GroupName::VakinainenKotimainenOsoite {
                GroupValue::VakinainenKotimainenOsoite(o)
            } else {
                GroupValue::TilapainenKotimainenOsoite(o)
            }
        }
        GroupName::KotimainenPostiosoite | GroupName::KotimainenYhteysosoite => {
            let extra = qualifier(b"910")?.ok_or_else(|| malformed(format!("{}: no group 910", u.name)))?;
            let o = Postiosoite {
                postiosoite_fi: head[0].clone(),
                postiosoite_sv: opt(&extra[0]),
                postinumero: head[1].clone(),
                postitoimipaikka_fi: extra[1].clone(),
                postitoimipaikka_sv: opt(&extra[2]),
                alkupaiva: vdate(&head[2])?,
                loppupaiva: opt_vdate(&head[3])?,
            };
            if u.name == GroupName::KotimainenPostiosoite {
                GroupValue::KotimainenPostiosoite(o)
            } else {
                GroupValue::KotimainenYhteysosoite(o)
            }
        }
        GroupName::VakinainenUlkomainenOsoite
        | GroupName::TilapainenUlkomainenOsoite
        | GroupName::UlkomainenPostiosoite
        | GroupName::UlkomainenYhteysosoite => {
            let o = UlkomainenOsoite {
                katuosoite: head[0].clone(),
                paikkakunta: head[1].clone(),
                valtiokoodi: head[2].clone(),
                alkupaiva: vdate(&head[3])?,
                loppupaiva: opt_vdate(&head[4])?,
            };
            match u.name {
                GroupName::VakinainenUlkomainenOsoite => GroupValue::VakinainenUlkomainenOsoite(o),
                GroupName::TilapainenUlkomainenOsoite => GroupValue::TilapainenUlkomainenOsoite(o),
                GroupName::UlkomainenPostiosoite => GroupValue::UlkomainenPostiosoite(o),
                _ => GroupValue::UlkomainenYhteysosoite(o),
            }
        }
        GroupName::Kotikunta => GroupValue::Kotikunta(Kotikunta {
            kuntakoodi: KuntaCode::parse(&head[0]).map_err(|e| malformed(e.to_string()))?,
            alkupaiva: vdate(&head[1])?,
        }),
    };
    Ok(GroupChange { tietoryhma: u.name, muutos, arvo: Some(arvo) })
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
