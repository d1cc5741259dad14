//! Where a person lives or lived, beyond the street addresses: dwelling
//! identifiers, residence in an institution or abroad, municipality
//! history, and e-mail. The groups of the present (permanent, temporary,
//! year-end) reveal a location and are censored under turvakielto; the
//! history groups (EDELLINEN_*, ENTINEN_*) are not, as in DVV's answer.

use serde::{Deserialize, Serialize};

use crate::date::VtjDate;
use crate::kunta::RecordedKuntaCode;

/// VAKINAINEN_, TILAPAINEN_ and EDELLINEN_KOTIMAINEN_ASUINPAIKKATUNNUS:
/// the building and dwelling a person is registered in. `asuinpaikantunnus`
/// is kept exactly, a trailing space included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Asuinpaikkatunnus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rakennustunnus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osoitenumero: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jakokirjain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoneistonumero: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoneistokirjain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuntakoodi: Option<RecordedKuntaCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asuinpaikantunnus: Option<String>,
}

impl Asuinpaikkatunnus {
    /// The identifier of the dwelling at an address whose building is
    /// known; `asuinpaikantunnus` is *ours*: building, address number and
    /// flat, which is what tells dwellings apart.
    pub fn of(o: &super::KotimainenOsoite) -> Option<Asuinpaikkatunnus> {
        let rakennus = o.rakennustunnus.clone()?;
        let numero = o.osoitenumero.unwrap_or(1);
        let flat = o.huoneistonumero.clone();
        Some(Asuinpaikkatunnus {
            asuinpaikantunnus: Some(format!(
                "{rakennus}{numero:02}{}{}",
                o.huoneistokirjain.as_deref().unwrap_or(" "),
                flat.as_deref().unwrap_or("000")
            )),
            rakennustunnus: Some(rakennus),
            osoitenumero: Some(numero),
            jakokirjain: o.jakokirjain.clone(),
            huoneistonumero: flat,
            huoneistokirjain: o.huoneistokirjain.clone(),
            kuntakoodi: o.kuntakoodi.map(Into::into),
            alkupv: o.alkupv,
            loppupv: None,
        })
    }
}

/// VAKINAINEN_, TILAPAINEN_ and ENTINEN_OLINPAIKASSA_ASUMINEN: living in an
/// institution (a care home, a hospital, a prison) rather than a dwelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OlinpaikassaAsuminen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuntakoodi: Option<RecordedKuntaCode>,
    /// The kind of place (DVV's code, e.g. 902).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lajikoodi: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numero: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laitos: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asuinpaikantunnus: Option<String>,
}

/// VAKINAINEN_ and TILAPAINEN_ULKOMAILLA_ASUMINEN: living abroad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UlkomaillaAsuminen {
    pub valtiokoodi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asuinpaikantunnus: Option<String>,
}

/// EDELLINEN_KOTIKUNTA (one per earlier home municipality) and
/// TILAPAINEN_KUNTA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KuntaJakso {
    pub kuntakoodi: RecordedKuntaCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuntaan_muuttopv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kunnasta_pois_muuttopv: Option<VtjDate>,
}

/// VUODENVAIHTEEN_KUNTA: the home municipality at the turn of a year (the
/// basis of taxation and state subsidies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VuodenvaihteenKunta {
    pub kuntakoodi: RecordedKuntaCode,
    pub vuodenvaihde: u16,
}

/// SAHKOPOSTIOSOITE. The capture shows only its censored form, which names
/// these two fields; the kind code's type is *ours* (the file format's
/// group 421 has a two-digit kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sahkopostiosoite {
    pub sahkopostiosoite: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lajikoodi: Option<u32>,
}
