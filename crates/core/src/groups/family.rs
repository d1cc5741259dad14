//! Groups that link a person to another: parents and children, guardians
//! and wards, spouses and registered partners, and the extra particulars
//! VTJ keeps of a relative who emigrated or a child registered abroad.
//!
//! A related person is named, never located: [`RelatedPerson`] has the
//! hetu that links it to that person's own record, the names, the birth
//! date and sex, and no field that could say where the person lives. That
//! is what keeps a protected relative's location out of these groups.

use serde::{Deserialize, Serialize};

use crate::date::VtjDate;
use crate::hetu::{Hetu, Sex};
use crate::kunta::RecordedKuntaCode;

use super::Voimassaolo;

/// The other person of a relation (`huoltaja`, `lapsi`, `vanhempi`,
/// `puoliso`, `henkilo`, ...). DVV leaves out what it does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelatedPerson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub henkilotunnus: Option<Hetu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etunimet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sukunimi: Option<String>,
    #[serde(rename = "etunimetUTF8", default, skip_serializing_if = "Option::is_none")]
    pub etunimet_utf8: Option<String>,
    #[serde(rename = "sukunimiUTF8", default, skip_serializing_if = "Option::is_none")]
    pub sukunimi_utf8: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syntymapv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sukupuoli: Option<Sex>,
}

impl RelatedPerson {
    /// A person by hetu and names, as DVV writes a relative it knows.
    pub fn named(hetu: Hetu, etunimet: &str, sukunimi: &str) -> RelatedPerson {
        RelatedPerson {
            henkilotunnus: Some(hetu),
            etunimet: Some(etunimet.into()),
            sukunimi: Some(sukunimi.into()),
            etunimet_utf8: Some(etunimet.into()),
            sukunimi_utf8: Some(sukunimi.into()),
            syntymapv: Some(VtjDate::Full(hetu.birth_date())),
            sukupuoli: Some(hetu.sex()),
        }
    }

    /// A newborn before it is named: hetu, birth date and sex only (as
    /// DVV writes a child whose name is not yet registered).
    pub fn unnamed(hetu: Hetu) -> RelatedPerson {
        RelatedPerson {
            henkilotunnus: Some(hetu),
            etunimet: None,
            sukunimi: None,
            etunimet_utf8: None,
            sukunimi_utf8: None,
            syntymapv: Some(VtjDate::Full(hetu.birth_date())),
            sukupuoli: Some(hetu.sex()),
        }
    }
}

/// `adoptiosuhde` of a parent or child relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Adoptiosuhde {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
}

/// Codes of the parent and child groups (DVV's values in the capture).
pub mod code {
    pub const AITI: &str = "AITI";
    pub const ISA: &str = "ISA";
    pub const ADOPTIOAITI: &str = "ADOPTIOAITI";
    pub const ADOPTIOISA: &str = "ADOPTIOISA";
    pub const AVIOLAPSI: &str = "AVIOLAPSI";
    pub const AITIYS_VAHVISTETTU: &str = "AITIYS_VAHVISTETTU";
    pub const ISYYS_VAHVISTETTU: &str = "ISYYS_VAHVISTETTU";
    pub const SAATU_ADOPTIOLAPSEKSI: &str = "SAATU_ADOPTIOLAPSEKSI";
    pub const LAKISAATEINEN_HUOLTAJA: &str = "LAKISAATEINEN_HUOLTAJA";
    /// The guardian appointed by a court: this project writes it for a
    /// child placed under the social welfare board (sosiaalilautakunta).
    pub const MAARATTY_HUOLTAJA: &str = "MAARATTY_HUOLTAJA";
    pub const SOSIAALILAUTAKUNTA: &str = "SOSIAALILAUTAKUNTA";
    pub const PERHESUHDE_LAPSI: &str = "LAPSI";
    pub const PERHESUHDE_VANHEMPI: &str = "VANHEMPI";
    pub const NAIMATON: &str = "NAIMATON";
    pub const AVIOLIITOSSA: &str = "AVIOLIITOSSA";
    pub const ERONNUT: &str = "ERONNUT";
    pub const LESKI: &str = "LESKI";
    pub const REKISTEROIDYSSA_PARISUHTEESSA: &str = "REKISTEROIDYSSA_PARISUHTEESSA";
    pub const EROTETTU_REKISTEROIDYSTA_PARISUHTEESTA: &str = "EROTETTU_REKISTEROIDYSTA_PARISUHTEESTA";
    pub const LESKI_REKISTEROIDYSTA_PARISUHTEESTA: &str = "LESKI_REKISTEROIDYSTA_PARISUHTEESTA";
    pub const SIVIILIVIHKIMINEN: &str = "SIVIILIVIHKIMINEN";
    pub const KIRKOLLINEN_VIHKIMINEN: &str = "KIRKOLLINEN_VIHKIMINEN";
    pub const REKISTEROINTI: &str = "REKISTEROINTI";
    /// How a marriage or partnership ended (*ours*: DVV's material shows no ended one).
    pub const AVIOERO: &str = "AVIOERO";
    pub const PUOLISON_KUOLEMA: &str = "PUOLISON_KUOLEMA";
    pub const KUOLEMA: &str = "KUOLEMA";
}

/// VANHEMPI and VANHEMPI_SUPPEA (the narrow one lacks `isaAiti` and `lapsilaatu`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vanhempi {
    pub vanhempi: RelatedPerson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa_aiti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanhemmuusnimike: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapsilaatu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jarjestyskirjain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoptiosuhde: Option<Adoptiosuhde>,
}

/// LAPSI and LAPSI_SUPPEA: the mirror of [`Vanhempi`] on the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lapsi {
    pub lapsi: RelatedPerson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa_aiti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanhemmuusnimike: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapsilaatu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jarjestyskirjain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoptiosuhde: Option<Adoptiosuhde>,
}

/// One right of a guardian (`oikeudet`; *ours*: the capture shows only
/// empty lists; the fields follow the file format's group 320).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Oikeus {
    pub oikeus: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupv: Option<VtjDate>,
}

/// HUOLTAJA, HUOLTAJA_SUPPEA and HUOLTAJA_RAJOITETTU (without `huoltajanLaji`
/// and `oikeudet`), on the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Huoltaja {
    pub huoltaja: RelatedPerson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltajan_laji: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltajan_rooli: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltosuhteen_alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltosuhteen_loppupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oikeudet: Option<Vec<Oikeus>>,
}

/// HUOLLETTAVA and its narrow forms, on the guardian: the mirror of [`Huoltaja`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Huollettava {
    pub huollettava: RelatedPerson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltajan_laji: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltajan_rooli: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltosuhteen_alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoltosuhteen_loppupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oikeudet: Option<Vec<Oikeus>>,
}

/// PERHESUHDE: one family relation, seen from this person (`rooli` is the
/// other person's role: `VANHEMPI` on the child, `LAPSI` on the parent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Perhesuhde {
    pub henkilo: RelatedPerson,
    pub rooli: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa_aiti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapsilaatu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanhemmuusnimike: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupv: Option<VtjDate>,
    pub voimassaolo: Voimassaolo,
}

/// AVIOLIITTO: one marriage; `PASSIIVI` once it has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Avioliitto {
    pub puoliso: RelatedPerson,
    pub voimassaolo: Voimassaolo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vihkipv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vihkitapa: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jarjestysnumero: Option<u32>,
    /// *Ours*: when and how the marriage ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purkautumispv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purkautumistapa: Option<String>,
}

/// REKISTEROITY_PARISUHDE: one registered partnership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RekisteroityParisuhde {
    pub osapuoli: RelatedPerson,
    pub voimassaolo: Voimassaolo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virallistamispv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virallistamistapa: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jarjestysnumero: Option<u32>,
    /// *Ours*, as in [`Avioliitto`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purkautumispv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purkautumistapa: Option<String>,
}

/// `lisatiedot`: what VTJ recorded of a relative at emigration or of a
/// child registered abroad. A birth municipality, not a residence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lisatiedot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub henkilotunnus: Option<Hetu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sukupuoli: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syntymakotikunta: Option<RecordedKuntaCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valtiokoodi: Option<String>,
}

/// LAPSEN_REKISTEROINNIN_LISATIEDOT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LapsenLisatiedot {
    pub lapsi: RelatedPerson,
    pub lisatiedot: Lisatiedot,
}

/// MAASTAMUUTON_LISATIEDOT_PUOLISOSTA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PuolisonLisatiedot {
    pub puoliso: RelatedPerson,
    pub lisatiedot: Lisatiedot,
}

/// MAASTAMUUTON_LISATIEDOT_VANHEMMASTA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VanhemmanLisatiedot {
    pub vanhempi: RelatedPerson,
    pub lisatiedot: Lisatiedot,
}

/// MAASTAMUUTON_LISATIEDOT_HUOLTAJASTA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HuoltajanLisatiedot {
    pub huoltaja: RelatedPerson,
    pub lisatiedot: Lisatiedot,
}
