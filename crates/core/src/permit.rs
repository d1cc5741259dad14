//! Products (named sets of data groups) and permits (tietoluvat).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Date;

use crate::groups::GroupName;
use crate::kunta::KuntaCode;
use crate::person::Person;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Product {
    pub tunnus: String,
    pub kuvaus: String,
    pub tietoryhmat: BTreeSet<GroupName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProductError {
    #[error("unknown product {0:?}; built-in products are {1}")]
    Unknown(String, String),
}

/// Built-in products. DVV publishes the group list of ASREK; the others'
/// exact lists are not public, so these are documented defaults (README)
/// that an operator can replace with a product of their own.
pub const BUILTIN_PRODUCTS: [&str; 6] = ["ASREK", "PERUSTASO", "LAAJAT", "K2000", "PSOP", "APOTTI"];

impl Product {
    pub fn builtin(tunnus: &str) -> Result<Product, ProductError> {
        use GroupName::*;
        let identity = [HenkilotunnusKorjaus, HenkilonNimi, Nimenmuutos, Aidinkieli, Asiointikieli, Kuolinpaiva];
        let addresses = [
            VakinainenKotimainenOsoite,
            TilapainenKotimainenOsoite,
            KotimainenPostiosoite,
            VakinainenUlkomainenOsoite,
            TilapainenUlkomainenOsoite,
            UlkomainenPostiosoite,
            KotimainenYhteysosoite,
            UlkomainenYhteysosoite,
        ];
        let (kuvaus, groups): (&str, Vec<GroupName>) = match tunnus {
            "ASREK" => (
                "Asiakasrekisteri: municipal customer registers, hetu-restricted (DVV's published group list)",
                [&identity[..], &[Turvakielto, Edunvalvonta, Edunvalvontavaltuutus, Kotikunta], &addresses[..]].concat(),
            ),
            "PERUSTASO" => (
                "Perustason väestötiedot: identity, names, languages, death, permanent and postal address, home municipality",
                vec![
                    HenkilotunnusKorjaus,
                    HenkilonNimi,
                    Syntymapaiva,
                    Aidinkieli,
                    Asiointikieli,
                    Kuolinpaiva,
                    VakinainenKotimainenOsoite,
                    KotimainenPostiosoite,
                    KotimainenYhteysosoite,
                    Kotikunta,
                ],
            ),
            "LAAJAT" | "K2000" => (
                match tunnus {
                    "LAAJAT" => "Laajat väestötiedot: every person data group",
                    _ => "K2000 väestötiedot: every person data group, for K2000-format registers",
                },
                GroupName::ALL.to_vec(),
            ),
            "PSOP" | "APOTTI" => (
                match tunnus {
                    "PSOP" => "PSOP: client register of social and health services: the person, family, guardians, residence and bans; no religion, no narrow variants",
                    _ => "Apotti: patient information system: the person, family, guardians, residence and bans; no religion, no narrow variants",
                },
                GroupName::ALL.into_iter().filter(|g| social_and_health_care(*g)).collect(),
            ),
            other => return Err(ProductError::Unknown(other.to_string(), BUILTIN_PRODUCTS.join(", "))),
        };
        Ok(Product {
            tunnus: tunnus.to_string(),
            kuvaus: kuvaus.to_string(),
            tietoryhmat: groups.into_iter().collect(),
        })
    }
}

/// The groups of PSOP and Apotti: what social and health care runs on
/// (guardians and children for child welfare and maternity clinics, the
/// spouse, residence in institutions, e-mail, the bans) without religious
/// community, which neither needs, and without the narrow (_SUPPEA) and
/// restricted (_RAJOITETTU) variants, which carry less of what the full
/// groups carry.
fn social_and_health_care(g: GroupName) -> bool {
    use GroupName::*;
    !matches!(
        g,
        Uskontokunta
            | Uskontokuntalaji
            | HistoriaaUskontokunnasta
            | HuoltajaSuppea
            | HuoltajaRajoitettu
            | HuollettavaSuppea
            | HuollettavaRajoitettu
            | VanhempiSuppea
            | LapsiSuppea
    )
}

/// Who a permit covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "laji", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    /// Kuntarajaus: everyone whose home municipality is in the set.
    Kuntarajaus { kunnat: BTreeSet<KuntaCode> },
    /// Exactly the persons on the recipient's hetu list.
    Hetulista,
}

/// What a permit says about data of persons under turvakielto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TurvakieltoRule {
    /// The default: censored groups are withheld while a turvakielto is in force.
    TiedotSensuroidaan,
    /// The recipient has the legal right to turvakielto data (e.g. law 661/2009 §37).
    TiedotLuovutetaan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Permit {
    pub tunnus: String,
    pub luvansaaja: String,
    pub kayttotarkoitus: String,
    pub tuote: Product,
    pub rajaus: Scope,
    pub turvakielto: TurvakieltoRule,
    #[serde(with = "crate::event::ymd_date")]
    pub voimassa_alkaen: Date,
    #[serde(default, with = "opt_ymd", skip_serializing_if = "Option::is_none")]
    pub voimassa_asti: Option<Date>,
    #[serde(default)]
    pub peruttu: bool,
    /// A county hub's sub-permit names the upstream permit it is carved
    /// from (ours): it is never wider ([`Permit::check_narrows`]) and is in
    /// force only while that one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ylalupa: Option<String>,
}

/// What the disclosure rules (`render`, `render_full`, `render_change`,
/// `label`) read of a permit on one day, and nothing else: the product's
/// groups, the scope, the turvakielto rule and whether the permit is in
/// force. Two permits of one kind receive the same of every person and
/// every change, whoever holds them and whatever they are for; work shared
/// between requests (a rendered page kept for the next recipient) is
/// keyed by the kind, never by less.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PermitKind {
    groups: BTreeSet<GroupName>,
    scope: Scope,
    turvakielto: TurvakieltoRule,
    active: bool,
}

/// A person as a permit's scope sees them: their state, and for a hetu-list
/// permit whether they are on the list at that moment.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub person: &'a Person,
    pub on_list: bool,
}

impl<'a> Subject<'a> {
    /// The person as a permit's scope sees them: on a hetu list only while
    /// the service holds data of them. VTJ itself always does; a county hub
    /// holds nothing of a person upstream no longer gives (`hub::mirror`),
    /// and they must leave every internal system, listed or not.
    pub fn new(person: &'a Person, listed: bool) -> Subject<'a> {
        Subject { person, on_list: listed && crate::hub::held(person) }
    }
}

impl Permit {
    /// Valid on `today` and not revoked.
    pub fn is_active(&self, today: Date) -> bool {
        !self.peruttu && self.voimassa_alkaen <= today && self.voimassa_asti.is_none_or(|end| today <= end)
    }

    pub fn in_scope(&self, s: Subject<'_>) -> bool {
        match &self.rajaus {
            Scope::Kuntarajaus { kunnat } => s.person.kotikunta().is_some_and(|k| kunnat.contains(&k)),
            Scope::Hetulista => s.on_list,
        }
    }

    pub fn sees_turvakielto_data(&self) -> bool {
        self.turvakielto == TurvakieltoRule::TiedotLuovutetaan
    }

    /// The permit's kind on `today`.
    pub fn kind(&self, today: Date) -> PermitKind {
        PermitKind {
            groups: self.tuote.tietoryhmat.clone(),
            scope: self.rajaus.clone(),
            turvakielto: self.turvakielto,
            active: self.is_active(today),
        }
    }
}

/// Why a sub-permit cannot be carved out of an upstream permit: each
/// names what it would add to the upstream permit, or what the hub could
/// not keep apart. A county hub refuses such a sub-permit at creation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubPermitError {
    #[error("the upstream permit {0} is revoked: no sub-permit can be given under it")]
    UpstreamRevoked(String),
    #[error("groups outside the upstream product {product}: {}", names(.groups))]
    Groups { product: String, groups: Vec<GroupName> },
    #[error("municipalities outside the upstream permit's area: {}", codes(.0))]
    Municipalities(Vec<KuntaCode>),
    #[error(
        "the upstream permit has no product group KOTIKUNTA, so the hub cannot tell where anyone lives: \
         a municipality-scoped sub-permit is impossible; use a hetu list"
    )]
    NoHomeMunicipality,
    #[error("the turvakielto right (TIEDOT_LUOVUTETAAN): the upstream permit does not have it")]
    TurvakieltoRight,
    #[error(
        "the upstream permit has the turvakielto right but not the group TURVAKIELTO, so the hub \
         cannot tell whose data to censor: a sub-permit without the right may not carry {}",
        names(.0)
    )]
    CannotCensor(Vec<GroupName>),
    #[error(
        "HENKILOTUNNUS_KORJAUS: the upstream permit carries it and this one does not, so the system \
         could not follow a hetu correction (it would keep the person under a hetu no longer theirs)"
    )]
    NoCorrections,
    #[error("valid from {sub}, before the upstream permit ({upstream})")]
    StartsEarlier { sub: Date, upstream: Date },
    #[error("valid until {sub}, after the upstream permit ends ({upstream})")]
    EndsLater { sub: Date, upstream: Date },
}

fn names(groups: &[GroupName]) -> String {
    groups.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ")
}

fn codes(kunnat: &[KuntaCode]) -> String {
    kunnat.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl Permit {
    /// Whether this permit can be a sub-permit of `upstream` in a county
    /// hub: it discloses nothing `upstream` does not (groups, area,
    /// turvakielto right, validity), and the hub, which holds only what
    /// `upstream` gave, can decide its scope and censoring. Every reason it
    /// cannot, at once (an empty list is never returned as an error).
    ///
    /// A sub-permit without an end date ends with the upstream permit: the
    /// hub stops serving when upstream is no longer in force. A hetu list
    /// narrows any upstream scope (the hub holds only upstream's persons),
    /// and so does an area within upstream's own.
    pub fn check_narrows(&self, upstream: &Permit) -> Result<(), Vec<SubPermitError>> {
        let mut errors = Vec::new();
        if upstream.peruttu {
            errors.push(SubPermitError::UpstreamRevoked(upstream.tunnus.clone()));
        }
        let wider: Vec<GroupName> = self.tuote.tietoryhmat.difference(&upstream.tuote.tietoryhmat).copied().collect();
        if !wider.is_empty() {
            errors.push(SubPermitError::Groups { product: upstream.tuote.tunnus.clone(), groups: wider });
        }
        if let Scope::Kuntarajaus { kunnat } = &self.rajaus {
            if let Scope::Kuntarajaus { kunnat: area } = &upstream.rajaus {
                let outside: Vec<KuntaCode> = kunnat.difference(area).copied().collect();
                if !outside.is_empty() {
                    errors.push(SubPermitError::Municipalities(outside));
                }
            }
            if !upstream.tuote.tietoryhmat.contains(&GroupName::Kotikunta) {
                errors.push(SubPermitError::NoHomeMunicipality);
            }
        }
        let corrections = |p: &Permit| p.tuote.tietoryhmat.contains(&GroupName::HenkilotunnusKorjaus);
        if corrections(upstream) && !corrections(self) {
            errors.push(SubPermitError::NoCorrections);
        }
        if self.sees_turvakielto_data() && !upstream.sees_turvakielto_data() {
            errors.push(SubPermitError::TurvakieltoRight);
        }
        if !self.sees_turvakielto_data()
            && upstream.sees_turvakielto_data()
            && !upstream.tuote.tietoryhmat.contains(&GroupName::Turvakielto)
        {
            let censorable: Vec<GroupName> =
                self.tuote.tietoryhmat.iter().copied().filter(|g| g.is_censored_under_turvakielto()).collect();
            if !censorable.is_empty() {
                errors.push(SubPermitError::CannotCensor(censorable));
            }
        }
        if self.voimassa_alkaen < upstream.voimassa_alkaen {
            errors
                .push(SubPermitError::StartsEarlier { sub: self.voimassa_alkaen, upstream: upstream.voimassa_alkaen });
        }
        if let (Some(sub), Some(end)) = (self.voimassa_asti, upstream.voimassa_asti) {
            if sub > end {
                errors.push(SubPermitError::EndsLater { sub, upstream: end });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

mod opt_ymd {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => crate::event::ymd_date::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "crate::event::ymd_date")] Date);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asrek_is_the_published_list() {
        let p = Product::builtin("ASREK").unwrap();
        assert_eq!(p.tietoryhmat.len(), 18);
        assert!(!p.tietoryhmat.contains(&GroupName::Sukupuoli));
        let published = [
            "HENKILOTUNNUS_KORJAUS",
            "HENKILON_NIMI",
            "NIMENMUUTOS",
            "AIDINKIELI",
            "ASIOINTIKIELI",
            "KUOLINPAIVA",
            "TURVAKIELTO",
            "EDUNVALVONTA",
            "EDUNVALVONTAVALTUUTUS",
            "VAKINAINEN_KOTIMAINEN_OSOITE",
            "TILAPAINEN_KOTIMAINEN_OSOITE",
            "KOTIMAINEN_POSTIOSOITE",
            "VAKINAINEN_ULKOMAINEN_OSOITE",
            "TILAPAINEN_ULKOMAINEN_OSOITE",
            "ULKOMAINEN_POSTIOSOITE",
            "KOTIMAINEN_YHTEYSOSOITE",
            "ULKOMAINEN_YHTEYSOSOITE",
            "KOTIKUNTA",
        ];
        let names: Vec<&str> = p.tietoryhmat.iter().map(|g| g.as_str()).collect();
        let mut expected = published.to_vec();
        expected.sort_by_key(|n| GroupName::parse(n).unwrap());
        assert_eq!(names, expected);
    }

    #[test]
    fn care_products_carry_families_and_the_basic_one_does_not() {
        for tunnus in ["PSOP", "APOTTI"] {
            let p = Product::builtin(tunnus).unwrap();
            for g in [GroupName::Huoltaja, GroupName::Huollettava, GroupName::Lapsi, GroupName::Vanhempi] {
                assert!(p.tietoryhmat.contains(&g), "{tunnus} lacks {g}");
            }
            for g in GroupName::CENSORED_UNDER_TURVAKIELTO {
                assert!(p.tietoryhmat.contains(&g), "{tunnus} lacks {g}");
            }
            assert!(!p.tietoryhmat.contains(&GroupName::Uskontokunta));
        }
        let basic = Product::builtin("PERUSTASO").unwrap();
        assert!(!basic.tietoryhmat.contains(&GroupName::Huoltaja));
        assert_eq!(Product::builtin("LAAJAT").unwrap().tietoryhmat.len(), GroupName::ALL.len());
    }

    #[test]
    fn every_builtin_resolves_and_unknown_is_an_error() {
        for name in BUILTIN_PRODUCTS {
            assert_eq!(Product::builtin(name).unwrap().tunnus, name);
        }
        let err = Product::builtin("XYZ").unwrap_err();
        assert!(err.to_string().contains("ASREK"));
    }

    #[test]
    fn permit_json_round_trips() {
        let p = Permit {
            tunnus: "L1".into(),
            luvansaaja: "KS".into(),
            kayttotarkoitus: "asiakasrekisteri".into(),
            tuote: Product::builtin("PERUSTASO").unwrap(),
            rajaus: Scope::Kuntarajaus { kunnat: crate::kunta::region_kunnat("KS").unwrap() },
            turvakielto: TurvakieltoRule::TiedotSensuroidaan,
            voimassa_alkaen: Date::from_calendar_date(2026, time::Month::January, 1).unwrap(),
            voimassa_asti: Some(Date::from_calendar_date(2030, time::Month::December, 31).unwrap()),
            peruttu: false,
            ylalupa: None,
        };
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"voimassaAsti\":\"20301231\""), "{json}");
        assert_eq!(serde_json::from_str::<Permit>(&json).unwrap(), p);
        let today = Date::from_calendar_date(2026, time::Month::June, 1).unwrap();
        assert!(p.is_active(today));
        assert!(!p.is_active(Date::from_calendar_date(2031, time::Month::January, 1).unwrap()));
        assert!(!Permit { peruttu: true, ..p }.is_active(today));
    }
}
