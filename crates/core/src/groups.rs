//! Data groups (tietoryhmät): the unit in which VTJ data is disclosed.
//!
//! Group names, field names and value shapes are DVV's, as VTJ-muutosrajapinta
//! writes them (`../shared/conformance/muutosrajapinta/`): a group is a JSON
//! object `{"tietoryhma": NAME, ...fields}`, dates are `{"arvo", "tarkkuus"}`
//! objects, street and post-office names `{"fi", "sv"}`, codes strings. The
//! same serde is the store's, so there is one shape of a group everywhere.
//! Where DVV's material shows no group (the guardianship groups and contact
//! addresses), the shape is this project's, in DVV's style.
//!
//! A group may occur several times in one person (NIMENMUUTOS, one per
//! name): each occurrence is an instance, a [`GroupValue`].
//!
//! The value types live by subject: [`family`] (relatives, guardians,
//! spouses), [`residence`] (dwellings, institutions, abroad, municipality
//! history, e-mail), [`civil`] (birth, civil status, religion, foreign ids,
//! bans); names, languages, addresses and the home municipality here.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::date::VtjDate;
use crate::hetu::{Hetu, Sex};
use crate::kunta::KuntaCode;

pub mod civil;
pub mod family;
pub mod residence;

pub use civil::*;
pub use family::*;
pub use residence::*;

/// Every data group: its Rust name, its value type and DVV's wire name.
/// The first twenty are the project's first model; the rest complete
/// DVV's 67 (the captured answer) with ASREK's four.
macro_rules! data_groups {
    ($($variant:ident($ty:ty) = $wire:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum GroupName {
            $(#[serde(rename = $wire)] $variant,)*
        }

        impl GroupName {
            pub const ALL: [GroupName; [$($wire),*].len()] = [$(GroupName::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(GroupName::$variant => $wire,)*
                }
            }
        }

        /// One instance of a data group. On the wire and in the store:
        /// `{"tietoryhma": NAME, ...the value's fields}`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(tag = "tietoryhma")]
        pub enum GroupValue {
            $(#[serde(rename = $wire)] $variant($ty),)*
        }

        impl GroupValue {
            /// The value of group `name` from the rest of its object.
            fn value_from<'de, D: serde::Deserializer<'de>>(name: GroupName, rest: D) -> Result<GroupValue, D::Error> {
                match name {
                    $(GroupName::$variant => <$ty>::deserialize(rest).map(GroupValue::$variant),)*
                }
            }
        }

        impl GroupValue {
            pub fn name(&self) -> GroupName {
                match self {
                    $(GroupValue::$variant(_) => GroupName::$variant,)*
                }
            }
        }
    };
}

data_groups! {
    HenkilotunnusKorjaus(HetuKorjaus) = "HENKILOTUNNUS_KORJAUS",
    HenkilonNimi(Nimi) = "HENKILON_NIMI",
    Nimenmuutos(Nimenmuutos) = "NIMENMUUTOS",
    Sukupuoli(Sukupuoli) = "SUKUPUOLI",
    Aidinkieli(Kieli) = "AIDINKIELI",
    Asiointikieli(Asiointikieli) = "ASIOINTIKIELI",
    Kansalaisuus(Kansalaisuus) = "KANSALAISUUS",
    Kuolinpaiva(Kuolinpaiva) = "KUOLINPAIVA",
    Turvakielto(Turvakielto) = "TURVAKIELTO",
    Edunvalvonta(Edunvalvonta) = "EDUNVALVONTA",
    Edunvalvontavaltuutus(Edunvalvontavaltuutus) = "EDUNVALVONTAVALTUUTUS",
    VakinainenKotimainenOsoite(KotimainenOsoite) = "VAKINAINEN_KOTIMAINEN_OSOITE",
    TilapainenKotimainenOsoite(KotimainenOsoite) = "TILAPAINEN_KOTIMAINEN_OSOITE",
    KotimainenPostiosoite(Postiosoite) = "KOTIMAINEN_POSTIOSOITE",
    VakinainenUlkomainenOsoite(UlkomainenOsoite) = "VAKINAINEN_ULKOMAINEN_OSOITE",
    TilapainenUlkomainenOsoite(UlkomainenOsoite) = "TILAPAINEN_ULKOMAINEN_OSOITE",
    UlkomainenPostiosoite(UlkomainenPostiosoite) = "ULKOMAINEN_POSTIOSOITE",
    KotimainenYhteysosoite(Postiosoite) = "KOTIMAINEN_YHTEYSOSOITE",
    UlkomainenYhteysosoite(UlkomainenPostiosoite) = "ULKOMAINEN_YHTEYSOSOITE",
    Kotikunta(Kotikunta) = "KOTIKUNTA",
    // Birth and civil status.
    Syntymapaiva(Syntymapaiva) = "SYNTYMAPAIVA",
    Syntymakotikunta(Syntymakotikunta) = "SYNTYMAKOTIKUNTA",
    UlkomainenSyntymapaikka(UlkomainenSyntymapaikka) = "ULKOMAINEN_SYNTYMAPAIKKA",
    Jarjestyskirjain(Jarjestyskirjain) = "JARJESTYSKIRJAIN",
    Siviilisaaty(Siviilisaaty) = "SIVIILISAATY",
    Kuolleeksijulistamispaiva(Kuolleeksijulistamispaiva) = "KUOLLEEKSIJULISTAMISPAIVA",
    // Names.
    NimenmuutosLaaja(Nimenmuutos) = "NIMENMUUTOS_LAAJA",
    Kutsumanimi(Nimenmuutos) = "KUTSUMANIMI",
    // Family: each names the other person, who holds the mirror group.
    Huoltaja(Huoltaja) = "HUOLTAJA",
    HuoltajaSuppea(Huoltaja) = "HUOLTAJA_SUPPEA",
    HuoltajaRajoitettu(Huoltaja) = "HUOLTAJA_RAJOITETTU",
    Huollettava(Huollettava) = "HUOLLETTAVA",
    HuollettavaSuppea(Huollettava) = "HUOLLETTAVA_SUPPEA",
    HuollettavaRajoitettu(Huollettava) = "HUOLLETTAVA_RAJOITETTU",
    Vanhempi(Vanhempi) = "VANHEMPI",
    VanhempiSuppea(Vanhempi) = "VANHEMPI_SUPPEA",
    Lapsi(Lapsi) = "LAPSI",
    LapsiSuppea(Lapsi) = "LAPSI_SUPPEA",
    Perhesuhde(Perhesuhde) = "PERHESUHDE",
    Avioliitto(Avioliitto) = "AVIOLIITTO",
    RekisteroityParisuhde(RekisteroityParisuhde) = "REKISTEROITY_PARISUHDE",
    LapsenRekisteroinninLisatiedot(LapsenLisatiedot) = "LAPSEN_REKISTEROINNIN_LISATIEDOT",
    MaastamuutonLisatiedotPuolisosta(PuolisonLisatiedot) = "MAASTAMUUTON_LISATIEDOT_PUOLISOSTA",
    MaastamuutonLisatiedotVanhemmasta(VanhemmanLisatiedot) = "MAASTAMUUTON_LISATIEDOT_VANHEMMASTA",
    MaastamuutonLisatiedotHuoltajasta(HuoltajanLisatiedot) = "MAASTAMUUTON_LISATIEDOT_HUOLTAJASTA",
    // Residence.
    VakinainenKotimainenAsuinpaikkatunnus(Asuinpaikkatunnus) = "VAKINAINEN_KOTIMAINEN_ASUINPAIKKATUNNUS",
    TilapainenKotimainenAsuinpaikkatunnus(Asuinpaikkatunnus) = "TILAPAINEN_KOTIMAINEN_ASUINPAIKKATUNNUS",
    EdellinenKotimainenAsuinpaikkatunnus(Asuinpaikkatunnus) = "EDELLINEN_KOTIMAINEN_ASUINPAIKKATUNNUS",
    VakinainenOlinpaikassaAsuminen(OlinpaikassaAsuminen) = "VAKINAINEN_OLINPAIKASSA_ASUMINEN",
    TilapainenOlinpaikassaAsuminen(OlinpaikassaAsuminen) = "TILAPAINEN_OLINPAIKASSA_ASUMINEN",
    EntinenOlinpaikassaAsuminen(OlinpaikassaAsuminen) = "ENTINEN_OLINPAIKASSA_ASUMINEN",
    VakinainenUlkomaillaAsuminen(UlkomaillaAsuminen) = "VAKINAINEN_ULKOMAILLA_ASUMINEN",
    TilapainenUlkomaillaAsuminen(UlkomaillaAsuminen) = "TILAPAINEN_ULKOMAILLA_ASUMINEN",
    Sahkopostiosoite(Sahkopostiosoite) = "SAHKOPOSTIOSOITE",
    // Municipalities.
    EdellinenKotikunta(KuntaJakso) = "EDELLINEN_KOTIKUNTA",
    TilapainenKunta(KuntaJakso) = "TILAPAINEN_KUNTA",
    VuodenvaihteenKunta(VuodenvaihteenKunta) = "VUODENVAIHTEEN_KUNTA",
    Vaestokirjanpitokunta(Kotikunta) = "VAESTOKIRJANPITOKUNTA",
    // Abroad.
    SuomeenMuuttopaiva(SuomeenMuuttopaiva) = "SUOMEEN_MUUTTOPAIVA",
    ValtioJohonMuuttanut(ValtioJohonMuuttanut) = "VALTIO_JOHON_MUUTTANUT",
    Poissaolo(Poissaolo) = "POISSAOLO",
    UlkomainenHenkilotunnus(UlkomainenHenkilotunnus) = "ULKOMAINEN_HENKILOTUNNUS",
    // Religion.
    Uskontokuntalaji(Uskontokuntalaji) = "USKONTOKUNTALAJI",
    Uskontokunta(Uskontokunta) = "USKONTOKUNTA",
    HistoriaaUskontokunnasta(Uskontokunta) = "HISTORIAA_USKONTOKUNNASTA",
    // Registry office and disclosure bans.
    Rekisteriviranomainen(Rekisteriviranomainen) = "REKISTERIVIRANOMAINEN",
    Suoramarkkinointikielto(Kielto) = "SUORAMARKKINOINTIKIELTO",
    YhteystietojenLuovutuskielto(Kielto) = "YHTEYSTIETOJEN_LUOVUTUSKIELTO",
    Henkilomatrikkelikielto(Kielto) = "HENKILOMATRIKKELIKIELTO",
    Sukututkimuskielto(Kielto) = "SUKUTUTKIMUSKIELTO",
    AsiakasrekisterinPaivityskielto(Kielto) = "ASIAKASREKISTERIN_PAIVITYSKIELTO",
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown data group {0:?}")]
pub struct UnknownGroup(pub String);

// Serde's derived form of an internally tagged enum buffers every object
// whole before it reads the tag, which made decoding stored persons the
// largest cost of serving changes. Every object this project writes, and
// every one in DVV's material, names its group first: then the rest is
// read straight into the value. An object naming it later is still read,
// through a buffer.
impl<'de> Deserialize<'de> for GroupValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(GroupValueVisitor)
    }
}

const TAG: &str = "tietoryhma";

struct GroupValueVisitor;

impl<'de> serde::de::Visitor<'de> for GroupValueVisitor {
    type Value = GroupValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a data group object {{\"{TAG}\": NAME, ...}}")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<GroupValue, A::Error> {
        use serde::de::{value::MapAccessDeserializer, Error as _, IntoDeserializer as _};
        let Some(crate::text::Text(first)) = map.next_key::<crate::text::Text<'de>>()? else {
            return Err(A::Error::missing_field(TAG));
        };
        if first == TAG {
            let name: GroupName = map.next_value()?;
            return GroupValue::value_from(name, MapAccessDeserializer::new(map));
        }
        let mut rest = serde_json::Map::new();
        rest.insert(first.into_owned(), map.next_value()?);
        while let Some(k) = map.next_key::<String>()? {
            if rest.contains_key(&k) {
                return Err(A::Error::custom(format_args!("duplicate field `{k}`")));
            }
            let v = map.next_value()?;
            rest.insert(k, v);
        }
        let name = rest.remove(TAG).ok_or_else(|| A::Error::missing_field(TAG))?;
        let name = GroupName::deserialize(name).map_err(A::Error::custom)?;
        GroupValue::value_from(name, rest.into_deserializer()).map_err(A::Error::custom)
    }
}

impl GroupName {
    /// The groups withheld from a recipient without the turvakielto right
    /// while a person's turvakielto is in force (DESIGN.md rule 1): every
    /// group that tells where the person lives, stays or can be reached by
    /// e-mail, as DVV's censoring account withholds them. Contact addresses
    /// are deliberately absent: they exist so that a protected person can
    /// still be reached. History (EDELLINEN_*, ENTINEN_*) and the birth
    /// municipality are not censored, as in DVV's answer.
    pub const CENSORED_UNDER_TURVAKIELTO: [GroupName; 17] = [
        GroupName::VakinainenKotimainenOsoite,
        GroupName::TilapainenKotimainenOsoite,
        GroupName::KotimainenPostiosoite,
        GroupName::VakinainenUlkomainenOsoite,
        GroupName::TilapainenUlkomainenOsoite,
        GroupName::UlkomainenPostiosoite,
        GroupName::Kotikunta,
        GroupName::VakinainenKotimainenAsuinpaikkatunnus,
        GroupName::TilapainenKotimainenAsuinpaikkatunnus,
        GroupName::VakinainenOlinpaikassaAsuminen,
        GroupName::TilapainenOlinpaikassaAsuminen,
        GroupName::VakinainenUlkomaillaAsuminen,
        GroupName::TilapainenUlkomaillaAsuminen,
        GroupName::Sahkopostiosoite,
        GroupName::TilapainenKunta,
        GroupName::VuodenvaihteenKunta,
        // Not among the capture's censored groups (neither protected person
        // has it), but it names the municipality the person lives in just
        // as KOTIKUNTA does: censored, as ours.
        GroupName::Vaestokirjanpitokunta,
    ];

    pub fn is_censored_under_turvakielto(self) -> bool {
        Self::CENSORED_UNDER_TURVAKIELTO.contains(&self)
    }

    /// The fields DVV lists in `turvakiellonAlaisetKentat` of a censored
    /// instance: every value field of the group, whether or not the person
    /// has it (as in the captured answer, so the list reveals nothing).
    pub fn censored_fields(self) -> &'static [&'static str] {
        const ASUINPAIKKATUNNUS: &[&str] = &[
            "rakennustunnus",
            "osoitenumero",
            "huoneistokirjain",
            "huoneistonumero",
            "jakokirjain",
            "kuntakoodi",
            "asuinpaikantunnus",
        ];
        match self {
            GroupName::VakinainenKotimainenOsoite | GroupName::TilapainenKotimainenOsoite => &[
                "katunimi",
                "katunumero",
                "huoneistokirjain",
                "huoneistonumero",
                "jakokirjain",
                "postinumero",
                "postitoimipaikka",
                "rakennustunnus",
                "osoitenumero",
                "kuntakoodi",
            ],
            GroupName::KotimainenPostiosoite => &["postiosoite", "postinumero", "postitoimipaikka"],
            GroupName::VakinainenUlkomainenOsoite | GroupName::TilapainenUlkomainenOsoite => {
                &["lahiosoite", "paikkakunta", "valtiokoodi", "valtionimi"]
            }
            GroupName::UlkomainenPostiosoite => {
                &["postiosoite", "postiosoiteLisarivi", "postitoimipaikka", "valtiokoodi", "valtionimi"]
            }
            GroupName::Kotikunta | GroupName::Vaestokirjanpitokunta => &["kuntakoodi", "kuntaanMuuttopv"],
            GroupName::TilapainenKunta => &["kuntakoodi", "kuntaanMuuttopv", "kunnastaPoisMuuttopv"],
            GroupName::VuodenvaihteenKunta => &["kuntakoodi", "vuodenvaihde"],
            GroupName::VakinainenKotimainenAsuinpaikkatunnus | GroupName::TilapainenKotimainenAsuinpaikkatunnus => {
                ASUINPAIKKATUNNUS
            }
            GroupName::VakinainenOlinpaikassaAsuminen | GroupName::TilapainenOlinpaikassaAsuminen => {
                &["kuntakoodi", "lajikoodi", "numero", "laitos", "asuinpaikantunnus"]
            }
            GroupName::VakinainenUlkomaillaAsuminen | GroupName::TilapainenUlkomaillaAsuminen => {
                &["valtiokoodi", "asuinpaikantunnus"]
            }
            GroupName::Sahkopostiosoite => &["sahkopostiosoite", "lajikoodi"],
            _ => &[],
        }
    }

    /// Whether the group may occur several times in one person: one
    /// instance per name, relative, marriage or earlier residence.
    pub fn is_repeated(self) -> bool {
        use GroupName as G;
        matches!(
            self,
            G::Nimenmuutos
                | G::NimenmuutosLaaja
                | G::Huoltaja
                | G::HuoltajaSuppea
                | G::HuoltajaRajoitettu
                | G::Huollettava
                | G::HuollettavaSuppea
                | G::HuollettavaRajoitettu
                | G::Vanhempi
                | G::VanhempiSuppea
                | G::Lapsi
                | G::LapsiSuppea
                | G::Perhesuhde
                | G::Avioliitto
                | G::RekisteroityParisuhde
                | G::LapsenRekisteroinninLisatiedot
                | G::MaastamuutonLisatiedotPuolisosta
                | G::MaastamuutonLisatiedotVanhemmasta
                | G::MaastamuutonLisatiedotHuoltajasta
                | G::EdellinenKotimainenAsuinpaikkatunnus
                | G::EntinenOlinpaikassaAsuminen
                | G::EdellinenKotikunta
                | G::UlkomainenHenkilotunnus
                | G::HistoriaaUskontokunnasta
        )
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

/// A name in Finnish and, where there is one, Swedish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub fi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sv: Option<String>,
}

impl Localized {
    pub fn fi(s: impl Into<String>) -> Localized {
        Localized { fi: s.into(), sv: None }
    }
}

/// Whether a record (a hetu, a citizenship) is the one in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Voimassaolo {
    Aktiivi,
    Passiivi,
}

/// HENKILOTUNNUS_KORJAUS: the person's hetus after a correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HetuKorjaus {
    pub aktiivinen_henkilotunnus: Hetu,
    /// Earlier hetus of the same person, oldest first.
    pub edelliset_henkilotunnukset: Vec<Hetu>,
    /// The hetu this correction is about (the new one, in force).
    pub muutettu_henkilotunnus: Hetu,
    pub voimassaolo: Voimassaolo,
}

/// HENKILON_NIMI. The `UTF8` fields carry the name where it has letters
/// outside ISO-8859-1; DVV writes them alongside the plain ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Nimi {
    pub etunimi: String,
    pub sukunimi: String,
    #[serde(rename = "etunimiUTF8", default, skip_serializing_if = "Option::is_none")]
    pub etunimi_utf8: Option<String>,
    #[serde(rename = "sukunimiUTF8", default, skip_serializing_if = "Option::is_none")]
    pub sukunimi_utf8: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
}

impl Nimi {
    /// A name whose UTF-8 forms are the same text (every name of ours).
    pub fn new(etunimi: &str, sukunimi: &str, alkupv: Option<VtjDate>) -> Nimi {
        Nimi {
            etunimi: etunimi.into(),
            sukunimi: sukunimi.into(),
            etunimi_utf8: Some(etunimi.into()),
            sukunimi_utf8: Some(sukunimi.into()),
            alkupv,
        }
    }
}

/// The kinds of name in NIMENMUUTOS this project writes (DVV has more:
/// `NYKYINEN_KUTSUMANIMI`, `VIIMEKSI_NAIMATTOMANA_OLLESSA_OLLUT_SUKUNIMI` ...).
pub const EDELLINEN_SUKUNIMI: &str = "EDELLINEN_SUKUNIMI";
pub const EDELLINEN_ETUNIMI: &str = "EDELLINEN_ETUNIMI";
pub const NYKYINEN_KUTSUMANIMI: &str = "NYKYINEN_KUTSUMANIMI";
pub const EDELLINEN_KUTSUMANIMI: &str = "EDELLINEN_KUTSUMANIMI";

/// One instance of NIMENMUUTOS or NIMENMUUTOS_LAAJA: one name the person
/// has or had; also KUTSUMANIMI, the call name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Nimenmuutos {
    pub nimilaji: String,
    pub nimi: String,
    #[serde(rename = "nimiUTF8", default, skip_serializing_if = "Option::is_none")]
    pub nimi_utf8: Option<String>,
    /// How the name came (NIMENMUUTOS_LAAJA only, e.g. `KUTSUMANIMEN_MUUTOS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nimenmuutostapa: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loppupv: Option<VtjDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sukupuoli {
    pub sukupuoli: Sex,
}

/// AIDINKIELI: an ISO 639-1 code (`98` with `nimi` for a language without
/// one), its ISO 639-2 code and the language's name where VTJ gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, try_from = "KieliWire")]
pub struct Kieli {
    pub kielikoodi: String,
    #[serde(rename = "kielikoodiISO6392", default, skip_serializing_if = "Option::is_none")]
    pub kielikoodi_iso6392: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nimi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KieliWire {
    kielikoodi: String,
    #[serde(rename = "kielikoodiISO6392", default)]
    kielikoodi_iso6392: Option<String>,
    #[serde(default)]
    nimi: Option<String>,
    #[serde(default)]
    alkupv: Option<VtjDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KieliError {
    #[error("language code {0:?} is neither ISO 639-1 (two lower-case letters) nor 98")]
    Code(String),
    #[error("language code 98 needs the language's name in nimi")]
    MissingName,
}

impl TryFrom<KieliWire> for Kieli {
    type Error = KieliError;
    fn try_from(w: KieliWire) -> Result<Self, Self::Error> {
        let k = Kieli {
            kielikoodi: w.kielikoodi,
            kielikoodi_iso6392: w.kielikoodi_iso6392,
            nimi: w.nimi,
            alkupv: w.alkupv,
        };
        match k.kielikoodi.as_str() {
            "98" if k.nimi.as_deref().is_none_or(|n| n.trim().is_empty()) => Err(KieliError::MissingName),
            "98" => Ok(k),
            c if c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase()) => Ok(k),
            _ => Err(KieliError::Code(k.kielikoodi)),
        }
    }
}

impl Kieli {
    /// A language by its ISO 639-1 code, with the ISO 639-2 code where known.
    pub fn iso(code: &str) -> Kieli {
        Kieli {
            kielikoodi: code.into(),
            kielikoodi_iso6392: iso639_2(code).map(str::to_string),
            nimi: None,
            alkupv: None,
        }
    }

    /// A language without an ISO 639-1 code (`98`), by name.
    pub fn other(name: &str) -> Kieli {
        Kieli { kielikoodi: "98".into(), kielikoodi_iso6392: Some("mis".into()), nimi: Some(name.into()), alkupv: None }
    }
}

/// ISO 639-2 (bibliographic) of the ISO 639-1 codes common in Finland.
pub fn iso639_2(code: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("fi", "fin"),
        ("sv", "swe"),
        ("se", "sme"),
        ("ru", "rus"),
        ("et", "est"),
        ("ar", "ara"),
        ("en", "eng"),
        ("so", "som"),
        ("fa", "per"),
        ("zh", "chi"),
        ("ku", "kur"),
        ("uk", "ukr"),
        ("de", "ger"),
        ("fr", "fre"),
        ("es", "spa"),
        ("vi", "vie"),
        ("th", "tha"),
        ("tr", "tur"),
        ("pl", "pol"),
        ("sq", "alb"),
        ("no", "nor"),
        ("da", "dan"),
        ("is", "ice"),
        ("it", "ita"),
        ("pt", "por"),
        ("hu", "hun"),
        ("ro", "rum"),
        ("bg", "bul"),
        ("lt", "lit"),
        ("lv", "lav"),
        ("ne", "nep"),
        ("hi", "hin"),
        ("bn", "ben"),
        ("ur", "urd"),
        ("tl", "tgl"),
        ("ti", "tir"),
        ("am", "amh"),
        ("sw", "swa"),
        ("ps", "pus"),
    ];
    TABLE.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

/// The language of dealings with authorities: Finnish or Swedish only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AsiointikieliKoodi {
    #[serde(rename = "fi")]
    Fi,
    #[serde(rename = "sv")]
    Sv,
}

impl AsiointikieliKoodi {
    pub fn iso639_2(self) -> &'static str {
        match self {
            AsiointikieliKoodi::Fi => "fin",
            AsiointikieliKoodi::Sv => "swe",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Asiointikieli {
    pub kielikoodi: AsiointikieliKoodi,
    #[serde(rename = "kielikoodiISO6392", default, skip_serializing_if = "Option::is_none")]
    pub kielikoodi_iso6392: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
}

impl Asiointikieli {
    pub fn new(k: AsiointikieliKoodi, alkupv: Option<VtjDate>) -> Asiointikieli {
        Asiointikieli { kielikoodi: k, kielikoodi_iso6392: Some(k.iso639_2().into()), alkupv }
    }
}

/// One citizenship; the group lists them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KansalaisuusRivi {
    /// ISO 3166-1 numeric, e.g. `246` Finland; `998` stateless.
    pub kansalaisuuskoodi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kansalaisuusnimi: Option<String>,
    pub voimassaolo: Voimassaolo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saamispv: Option<VtjDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kansalaisuus {
    pub henkilon_kansalaisuudet: Vec<KansalaisuusRivi>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kuolinpaiva {
    pub kuollut: bool,
    pub kuolinpv: VtjDate,
}

/// TURVAKIELTO. The group's presence is what puts a person under
/// protection (fail closed); `turvaLoppuPv` is the registered end date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Turvakielto {
    pub turvakielto_aktiivinen: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turva_loppu_pv: Option<VtjDate>,
}

impl Turvakielto {
    pub fn until(end: VtjDate) -> Turvakielto {
        Turvakielto { turvakielto_aktiivinen: true, turva_loppu_pv: Some(end) }
    }
}

/// A guardian (edunvalvoja) or attorney: a person, or an office without a hetu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edunvalvoja {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub henkilotunnus: Option<Hetu>,
    pub nimi: String,
}

/// EDUNVALVONTA (this project's shape: DVV's material shows none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edunvalvonta {
    pub alkupv: VtjDate,
    /// Whether the person's capacity to act has been restricted.
    pub toimintakelpoisuus_rajoitettu: bool,
    pub edunvalvojat: Vec<Edunvalvoja>,
}

/// EDUNVALVONTAVALTUUTUS (this project's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edunvalvontavaltuutus {
    pub vahvistamispv: VtjDate,
    pub valtuutetut: Vec<Edunvalvoja>,
}

/// A permanent or temporary street address in Finland.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KotimainenOsoite {
    pub katunimi: Localized,
    pub katunumero: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoneistokirjain: Option<String>,
    /// Three digits, `"028"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huoneistonumero: Option<String>,
    pub postinumero: String,
    pub postitoimipaikka: Localized,
    /// After the post office, where DVV writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jakokirjain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rakennustunnus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osoitenumero: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuntakoodi: Option<KuntaCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
}

/// A postal address in Finland (KOTIMAINEN_POSTIOSOITE), and the contact
/// address of a protected person (KOTIMAINEN_YHTEYSOSOITE, this project's
/// shape for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Postiosoite {
    pub postiosoite: Localized,
    pub postinumero: String,
    pub postitoimipaikka: Localized,
}

/// A permanent or temporary street address abroad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UlkomainenOsoite {
    pub lahiosoite: String,
    pub paikkakunta: String,
    /// ISO 3166-1 numeric country code.
    pub valtiokoodi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alkupv: Option<VtjDate>,
}

/// A postal address abroad (ULKOMAINEN_POSTIOSOITE), and a protected
/// person's contact address abroad (ULKOMAINEN_YHTEYSOSOITE, this
/// project's shape for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UlkomainenPostiosoite {
    pub postiosoite: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postiosoite_lisarivi: Option<String>,
    pub postitoimipaikka: String,
    pub valtiokoodi: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kotikunta {
    pub kuntakoodi: KuntaCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kuntaan_muuttopv: Option<VtjDate>,
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
    fn a_group_reads_with_its_name_first_or_anywhere_and_refuses_what_it_cannot_be() {
        let read = |json: &str| serde_json::from_str::<GroupValue>(json).map_err(|e| e.to_string());
        let first = read(r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"179"}"#).unwrap();
        assert_eq!(first.name(), GroupName::Kotikunta);
        assert_eq!(serde_json::to_string(&first).unwrap(), r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"179"}"#);
        assert_eq!(read(r#"{"kuntakoodi":"179","tietoryhma":"KOTIKUNTA"}"#), Ok(first.clone()));
        // The same through a deserializer other than a JSON reader.
        let value = serde_json::json!({"kuntakoodi": "179", "tietoryhma": "KOTIKUNTA"});
        assert_eq!(GroupValue::deserialize(value).map_err(|e| e.to_string()), Ok(first));

        let refused = |json: &str, says: &str| {
            let e = read(json).unwrap_err();
            assert!(e.contains(says), "{json}: {e}");
        };
        refused(r#"{"kuntakoodi":"179"}"#, "missing field `tietoryhma`");
        refused(r#"{}"#, "missing field `tietoryhma`");
        refused(r#"{"tietoryhma":"KOTIKUNNAT","kuntakoodi":"179"}"#, "unknown variant `KOTIKUNNAT`");
        refused(r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"179","x":1}"#, "unknown field `x`");
        refused(r#"{"kuntakoodi":"179","tietoryhma":"KOTIKUNTA","x":1}"#, "unknown field `x`");
        refused(r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"179","tietoryhma":"KOTIKUNTA"}"#, "tietoryhma");
        refused(r#"{"kuntakoodi":"179","kuntakoodi":"179","tietoryhma":"KOTIKUNTA"}"#, "duplicate field");
        refused(r#"{"tietoryhma":"KOTIKUNTA"}"#, "missing field `kuntakoodi`");
        refused(r#"["KOTIKUNTA"]"#, "a data group object");
    }

    #[test]
    fn group_value_is_dvvs_flat_object() {
        let v = GroupValue::Kotikunta(Kotikunta {
            kuntakoodi: KuntaCode::parse("091").unwrap(),
            kuntaan_muuttopv: Some(VtjDate::parse("20200100").unwrap()),
        });
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(
            json,
            r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"091","kuntaanMuuttopv":{"arvo":"2020-01-01","tarkkuus":"KUUKAUSI"}}"#
        );
        assert_eq!(serde_json::from_str::<GroupValue>(&json).unwrap(), v);
        assert_eq!(v.name(), GroupName::Kotikunta);
        let nimi = r#"{"tietoryhma":"HENKILON_NIMI","etunimi":"Malla","sukunimi":"Heikkinen","etunimiUTF8":"Malla","sukunimiUTF8":"Heikkinen"}"#;
        let parsed: GroupValue = serde_json::from_str(nimi).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), nimi);
    }

    #[test]
    fn unknown_fields_and_bad_languages_rejected() {
        let extra = r#"{"tietoryhma":"KOTIKUNTA","kuntakoodi":"091","x":1}"#;
        assert!(serde_json::from_str::<GroupValue>(extra).is_err());
        let other: Kieli = serde_json::from_str(r#"{"kielikoodi":"98","nimi":"tuntematon kieli"}"#).unwrap();
        assert_eq!(other.nimi.as_deref(), Some("tuntematon kieli"));
        assert!(serde_json::from_str::<Kieli>(r#"{"kielikoodi":"98"}"#).is_err());
        assert!(serde_json::from_str::<Kieli>(r#"{"kielikoodi":"FI"}"#).is_err());
        assert!(serde_json::from_str::<Kieli>(r#"{"kielikoodi":"fin"}"#).is_err());
        let se = r#"{"kielikoodi":"se","kielikoodiISO6392":"mis","nimi":"saame"}"#;
        assert_eq!(serde_json::to_string(&serde_json::from_str::<Kieli>(se).unwrap()).unwrap(), se);
    }

    #[test]
    fn every_censorable_group_lists_its_fields() {
        for g in GroupName::ALL {
            assert_eq!(g.is_censored_under_turvakielto(), !g.censored_fields().is_empty(), "{g}");
        }
    }
}
