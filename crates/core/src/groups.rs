//! Data groups (tietoryhmät): the unit in which VTJ data is disclosed.
//!
//! Group names and JSON field names are the wire vocabulary and stay Finnish.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::date::VtjDate;
use crate::hetu::{Hetu, Sex};
use crate::kunta::KuntaCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupName {
    HenkilotunnusKorjaus,
    HenkilonNimi,
    Nimenmuutos,
    Sukupuoli,
    Aidinkieli,
    Asiointikieli,
    Kansalaisuus,
    Kuolinpaiva,
    Turvakielto,
    Edunvalvonta,
    Edunvalvontavaltuutus,
    VakinainenKotimainenOsoite,
    TilapainenKotimainenOsoite,
    KotimainenPostiosoite,
    VakinainenUlkomainenOsoite,
    TilapainenUlkomainenOsoite,
    UlkomainenPostiosoite,
    KotimainenYhteysosoite,
    UlkomainenYhteysosoite,
    Kotikunta,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown data group {0:?}")]
pub struct UnknownGroup(pub String);

impl GroupName {
    pub const ALL: [GroupName; 20] = [
        GroupName::HenkilotunnusKorjaus,
        GroupName::HenkilonNimi,
        GroupName::Nimenmuutos,
        GroupName::Sukupuoli,
        GroupName::Aidinkieli,
        GroupName::Asiointikieli,
        GroupName::Kansalaisuus,
        GroupName::Kuolinpaiva,
        GroupName::Turvakielto,
        GroupName::Edunvalvonta,
        GroupName::Edunvalvontavaltuutus,
        GroupName::VakinainenKotimainenOsoite,
        GroupName::TilapainenKotimainenOsoite,
        GroupName::KotimainenPostiosoite,
        GroupName::VakinainenUlkomainenOsoite,
        GroupName::TilapainenUlkomainenOsoite,
        GroupName::UlkomainenPostiosoite,
        GroupName::KotimainenYhteysosoite,
        GroupName::UlkomainenYhteysosoite,
        GroupName::Kotikunta,
    ];

    /// The groups withheld from a recipient without the turvakielto right
    /// while a person's turvakielto is in force (DESIGN.md rule 1). Contact
    /// addresses are deliberately absent: they exist so that a protected
    /// person can still be reached.
    pub const CENSORED_UNDER_TURVAKIELTO: [GroupName; 7] = [
        GroupName::VakinainenKotimainenOsoite,
        GroupName::TilapainenKotimainenOsoite,
        GroupName::KotimainenPostiosoite,
        GroupName::VakinainenUlkomainenOsoite,
        GroupName::TilapainenUlkomainenOsoite,
        GroupName::UlkomainenPostiosoite,
        GroupName::Kotikunta,
    ];

    pub fn is_censored_under_turvakielto(self) -> bool {
        Self::CENSORED_UNDER_TURVAKIELTO.contains(&self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupName::HenkilotunnusKorjaus => "HENKILOTUNNUS_KORJAUS",
            GroupName::HenkilonNimi => "HENKILON_NIMI",
            GroupName::Nimenmuutos => "NIMENMUUTOS",
            GroupName::Sukupuoli => "SUKUPUOLI",
            GroupName::Aidinkieli => "AIDINKIELI",
            GroupName::Asiointikieli => "ASIOINTIKIELI",
            GroupName::Kansalaisuus => "KANSALAISUUS",
            GroupName::Kuolinpaiva => "KUOLINPAIVA",
            GroupName::Turvakielto => "TURVAKIELTO",
            GroupName::Edunvalvonta => "EDUNVALVONTA",
            GroupName::Edunvalvontavaltuutus => "EDUNVALVONTAVALTUUTUS",
            GroupName::VakinainenKotimainenOsoite => "VAKINAINEN_KOTIMAINEN_OSOITE",
            GroupName::TilapainenKotimainenOsoite => "TILAPAINEN_KOTIMAINEN_OSOITE",
            GroupName::KotimainenPostiosoite => "KOTIMAINEN_POSTIOSOITE",
            GroupName::VakinainenUlkomainenOsoite => "VAKINAINEN_ULKOMAINEN_OSOITE",
            GroupName::TilapainenUlkomainenOsoite => "TILAPAINEN_ULKOMAINEN_OSOITE",
            GroupName::UlkomainenPostiosoite => "ULKOMAINEN_POSTIOSOITE",
            GroupName::KotimainenYhteysosoite => "KOTIMAINEN_YHTEYSOSOITE",
            GroupName::UlkomainenYhteysosoite => "ULKOMAINEN_YHTEYSOSOITE",
            GroupName::Kotikunta => "KOTIKUNTA",
        }
    }

    pub fn parse(s: &str) -> Result<GroupName, UnknownGroup> {
        GroupName::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| UnknownGroup(s.to_string()))
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language: an ISO 639-1 code, or `98` ("other") with a free-text name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KieliWire", into = "KieliWire")]
pub enum Kieli {
    Iso(String),
    Other(String),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KieliWire {
    kielikoodi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kieli_selite: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KieliError {
    #[error("language code {0:?} is neither ISO 639-1 (two lower-case letters) nor 98")]
    Code(String),
    #[error("language code 98 needs the language's name in kieliSelite")]
    MissingName,
}

impl TryFrom<KieliWire> for Kieli {
    type Error = KieliError;
    fn try_from(w: KieliWire) -> Result<Self, Self::Error> {
        match w.kielikoodi.as_str() {
            "98" => w.kieli_selite.filter(|s| !s.trim().is_empty()).map(Kieli::Other).ok_or(KieliError::MissingName),
            c if c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase()) => Ok(Kieli::Iso(w.kielikoodi)),
            _ => Err(KieliError::Code(w.kielikoodi)),
        }
    }
}

impl From<Kieli> for KieliWire {
    fn from(k: Kieli) -> Self {
        match k {
            Kieli::Iso(c) => KieliWire { kielikoodi: c, kieli_selite: None },
            Kieli::Other(name) => KieliWire { kielikoodi: "98".into(), kieli_selite: Some(name) },
        }
    }
}

/// The language of dealings with authorities: Finnish or Swedish only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Asiointikieli {
    #[serde(rename = "fi")]
    Fi,
    #[serde(rename = "sv")]
    Sv,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HetuKorjaus {
    pub voimassaoleva_henkilotunnus: Hetu,
    /// Earlier hetus of the same person, oldest first.
    pub aiemmat_henkilotunnukset: Vec<Hetu>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Nimi {
    pub sukunimi: String,
    pub etunimet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kutsumanimi: Option<String>,
    pub alkupaiva: VtjDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Nimilaji {
    Sukunimi,
    Etunimet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AiempiNimi {
    pub nimilaji: Nimilaji,
    pub nimi: String,
    pub alkupaiva: VtjDate,
    pub loppupaiva: VtjDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Nimenmuutos {
    /// Former names, oldest first.
    pub aiemmat_nimet: Vec<AiempiNimi>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kansalaisuus {
    /// ISO 3166-1 numeric country codes, e.g. `246` Finland.
    pub valtiot: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kuolinpaiva {
    pub kuolinpaiva: VtjDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Turvakielto {
    /// `99990000` for a turvakielto in force until further notice.
    pub paattymispaiva: VtjDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edunvalvoja {
    /// Absent for a public guardian office or a guardian without a Finnish hetu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub henkilotunnus: Option<Hetu>,
    pub nimi: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edunvalvonta {
    pub alkupaiva: VtjDate,
    /// Whether the person's capacity to act has been restricted.
    pub toimintakelpoisuus_rajoitettu: bool,
    pub edunvalvojat: Vec<Edunvalvoja>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edunvalvontavaltuutus {
    pub vahvistamispaiva: VtjDate,
    pub valtuutetut: Vec<Edunvalvoja>,
}

/// A permanent or temporary street address in Finland.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KotimainenOsoite {
    pub katunimi_fi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub katunimi_sv: Option<String>,
    pub katunumero: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoneistokirjain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoneistonumero: Option<u16>,
    pub postinumero: String,
    pub postitoimipaikka_fi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postitoimipaikka_sv: Option<String>,
    pub alkupaiva: VtjDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupaiva: Option<VtjDate>,
}

/// A postal or contact address in Finland: free-form first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Postiosoite {
    pub postiosoite_fi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postiosoite_sv: Option<String>,
    pub postinumero: String,
    pub postitoimipaikka_fi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postitoimipaikka_sv: Option<String>,
    pub alkupaiva: VtjDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupaiva: Option<VtjDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UlkomainenOsoite {
    pub katuosoite: String,
    pub paikkakunta: String,
    /// ISO 3166-1 numeric country code.
    pub valtiokoodi: String,
    pub alkupaiva: VtjDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupaiva: Option<VtjDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kotikunta {
    pub kuntakoodi: KuntaCode,
    pub alkupaiva: VtjDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SukupuoliArvo {
    pub sukupuoli: Sex,
}

/// The value of one data group. On the wire: `{"tietoryhma": NAME, "arvo": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tietoryhma", content = "arvo", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupValue {
    HenkilotunnusKorjaus(HetuKorjaus),
    HenkilonNimi(Nimi),
    Nimenmuutos(Nimenmuutos),
    Sukupuoli(SukupuoliArvo),
    Aidinkieli(Kieli),
    Asiointikieli(AsiointikieliArvo),
    Kansalaisuus(Kansalaisuus),
    Kuolinpaiva(Kuolinpaiva),
    Turvakielto(Turvakielto),
    Edunvalvonta(Edunvalvonta),
    Edunvalvontavaltuutus(Edunvalvontavaltuutus),
    VakinainenKotimainenOsoite(KotimainenOsoite),
    TilapainenKotimainenOsoite(KotimainenOsoite),
    KotimainenPostiosoite(Postiosoite),
    VakinainenUlkomainenOsoite(UlkomainenOsoite),
    TilapainenUlkomainenOsoite(UlkomainenOsoite),
    UlkomainenPostiosoite(UlkomainenOsoite),
    KotimainenYhteysosoite(Postiosoite),
    UlkomainenYhteysosoite(UlkomainenOsoite),
    Kotikunta(Kotikunta),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsiointikieliArvo {
    pub kielikoodi: Asiointikieli,
}

impl GroupValue {
    pub fn name(&self) -> GroupName {
        match self {
            GroupValue::HenkilotunnusKorjaus(_) => GroupName::HenkilotunnusKorjaus,
            GroupValue::HenkilonNimi(_) => GroupName::HenkilonNimi,
            GroupValue::Nimenmuutos(_) => GroupName::Nimenmuutos,
            GroupValue::Sukupuoli(_) => GroupName::Sukupuoli,
            GroupValue::Aidinkieli(_) => GroupName::Aidinkieli,
            GroupValue::Asiointikieli(_) => GroupName::Asiointikieli,
            GroupValue::Kansalaisuus(_) => GroupName::Kansalaisuus,
            GroupValue::Kuolinpaiva(_) => GroupName::Kuolinpaiva,
            GroupValue::Turvakielto(_) => GroupName::Turvakielto,
            GroupValue::Edunvalvonta(_) => GroupName::Edunvalvonta,
            GroupValue::Edunvalvontavaltuutus(_) => GroupName::Edunvalvontavaltuutus,
            GroupValue::VakinainenKotimainenOsoite(_) => GroupName::VakinainenKotimainenOsoite,
            GroupValue::TilapainenKotimainenOsoite(_) => GroupName::TilapainenKotimainenOsoite,
            GroupValue::KotimainenPostiosoite(_) => GroupName::KotimainenPostiosoite,
            GroupValue::VakinainenUlkomainenOsoite(_) => GroupName::VakinainenUlkomainenOsoite,
            GroupValue::TilapainenUlkomainenOsoite(_) => GroupName::TilapainenUlkomainenOsoite,
            GroupValue::UlkomainenPostiosoite(_) => GroupName::UlkomainenPostiosoite,
            GroupValue::KotimainenYhteysosoite(_) => GroupName::KotimainenYhteysosoite,
            GroupValue::UlkomainenYhteysosoite(_) => GroupName::UlkomainenYhteysosoite,
            GroupValue::Kotikunta(_) => GroupName::Kotikunta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_between_serde_and_as_str() {
        for g in GroupName::ALL {
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{}\"", g.as_str()));
            assert_eq!(GroupName::parse(g.as_str()), Ok(g));
        }
        assert!(GroupName::parse("HENKILON_NIMET").is_err());
    }

    #[test]
    fn group_value_wire_shape() {
        let v = GroupValue::Kotikunta(Kotikunta {
            kuntakoodi: KuntaCode::parse("091").unwrap(),
            alkupaiva: VtjDate::parse("20200100").unwrap(),
        });
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"tietoryhma":"KOTIKUNTA","arvo":{"kuntakoodi":"091","alkupaiva":"20200100"}}"#);
        assert_eq!(serde_json::from_str::<GroupValue>(&json).unwrap(), v);
        assert_eq!(v.name(), GroupName::Kotikunta);
    }

    #[test]
    fn unknown_fields_and_bad_languages_rejected() {
        let extra = r#"{"tietoryhma":"KOTIKUNTA","arvo":{"kuntakoodi":"091","alkupaiva":"20200100","x":1}}"#;
        assert!(serde_json::from_str::<GroupValue>(extra).is_err());
        let other: Kieli = serde_json::from_str(r#"{"kielikoodi":"98","kieliSelite":"tuntematon kieli"}"#).unwrap();
        assert_eq!(other, Kieli::Other("tuntematon kieli".into()));
        assert!(serde_json::from_str::<Kieli>(r#"{"kielikoodi":"98"}"#).is_err());
        assert!(serde_json::from_str::<Kieli>(r#"{"kielikoodi":"FI"}"#).is_err());
        assert!(serde_json::from_str::<Kieli>(r#"{"kielikoodi":"fin"}"#).is_err());
    }
}
