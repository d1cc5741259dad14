//! The person's own particulars beyond name and language: birth, civil
//! status, religious community, foreign identity numbers, absence, and the
//! disclosure bans the person has asked for.

use serde::{Deserialize, Serialize};

use crate::date::VtjDate;
use crate::hetu::Sex;
use crate::kunta::RecordedKuntaCode;

use super::Voimassaolo;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Syntymapaiva {
    pub syntymapv: VtjDate,
}

/// SIVIILISAATY: `NAIMATON`, `AVIOLIITOSSA`, `ERONNUT`, `LESKI`,
/// `REKISTEROIDYSSA_PARISUHTEESSA`, ... (see [`super::family::code`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Siviilisaaty {
    pub siviilisaaty: String,
}

/// JARJESTYSKIRJAIN: the letter that tells twins and other children of
/// one birth apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Jarjestyskirjain {
    pub jarjestyskirjain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Syntymakotikunta {
    pub kuntakoodi: RecordedKuntaCode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UlkomainenSyntymapaikka {
    pub valtiokoodi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulkomainen_syntymapaikka: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuomeenMuuttopaiva {
    pub suomeen_muuttopv: VtjDate,
}

/// USKONTOKUNTALAJI: the kind of religious community (`EI_USKONTOKUNTAA` ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Uskontokuntalaji {
    pub uskontokuntalaji: String,
}

/// USKONTOKUNTA (in force) and HISTORIAA_USKONTOKUNNASTA (ended, one per
/// community): the community's number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Uskontokunta {
    pub uskontokunta: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupv: Option<VtjDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UlkomainenHenkilotunnus {
    pub ulkomainen_henkilotunnus: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sukupuoli: Option<Sex>,
    pub valtiokoodi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tietolahde: Option<String>,
    pub voimassaolo: Voimassaolo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub antopv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtj_tallennuspv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtj_voimassaolo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kuolleeksijulistamispaiva {
    pub kuollut: bool,
    pub kuolleeksijulistamispv: VtjDate,
}

/// POISSAOLO: the person's residence moved out of the Nordic countries or
/// within them (`KOTIPAIKKA_POHJOISMAISSA` ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Poissaolo {
    pub poissaolo: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siirtopv: Option<VtjDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValtioJohonMuuttanut {
    pub valtiokoodi: String,
}

/// REKISTERIVIRANOMAINEN: the registry office keeping the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rekisteriviranomainen {
    pub viranomaisnumero: u32,
}

/// A disclosure ban the person asked for (SUORAMARKKINOINTIKIELTO,
/// YHTEYSTIETOJEN_LUOVUTUSKIELTO, ...): its presence is the ban.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kielto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
}
