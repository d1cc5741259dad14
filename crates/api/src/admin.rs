//! Operator actions: recipients, permits, users and their certificates,
//! the fee report. The CLI's `vtj admin` and the admin API call these;
//! each checks what it is given.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use thiserror::Error;
use time::Date;
use vtj_core::permit::ProductError;
use vtj_core::{hub, GroupName, KuntaCode, Permit, Product, Scope, SubPermitError, TurvakieltoRule};
use vtj_store::{Access, ApiUser, AuditLog, AuditRecord, Recipient, Store, StoreError};

use crate::auth;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Product(#[from] ProductError),
    #[error("unknown recipient {0:?}; create it first with `vtj admin recipient add`")]
    UnknownRecipient(String),
    #[error("unknown permit {0:?}")]
    UnknownPermit(String),
    #[error("permit {0:?} already exists")]
    PermitExists(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "permit {tunnus} cannot be a sub-permit of {upstream}:{}",
        reasons.iter().map(|r| format!("\n  - {r}")).collect::<String>()
    )]
    Widens { tunnus: String, upstream: String, reasons: Vec<SubPermitError> },
    #[error("could not create a random secret")]
    Random,
    #[error("a user named {0:?} exists already; names are never reused")]
    UserExists(String),
    #[error("unknown or revoked user {0:?}")]
    UnknownUser(String),
}

pub fn add_recipient<S: Access + ?Sized>(s: &mut S, tunnus: &str, nimi: &str) -> Result<(), AdminError> {
    if tunnus.trim().is_empty() || nimi.trim().is_empty() {
        return Err(AdminError::Invalid("a recipient needs a tunnus and a nimi".into()));
    }
    Ok(s.put_recipient(&Recipient { tunnus: tunnus.into(), nimi: nimi.into() })?)
}

/// A user of the REST interface for one permit (as DVV has them). The
/// password is returned once, to be handed to the recipient; only its
/// argon2id hash is kept.
pub fn add_user<S: Store + Access + ?Sized>(s: &mut S, permit: &str, name: &str) -> Result<String, AdminError> {
    let fine = |c: char| c.is_ascii_graphic() && c != ':';
    if name.is_empty() || name.len() > 100 || !name.chars().all(fine) {
        return Err(AdminError::Invalid(format!(
            "a user name is 1-100 visible ASCII characters without ':' (it travels in HTTP Basic), got {name:?}"
        )));
    }
    if s.permit(permit)?.is_none() {
        return Err(AdminError::UnknownPermit(permit.into()));
    }
    let password = auth::new_secret().map_err(|_| AdminError::Random)?;
    let password_hash = auth::hash_password(&password).map_err(|_| AdminError::Random)?;
    match s.add_user(&ApiUser { name: name.into(), permit: permit.into(), password_hash, revoked: false }) {
        Err(StoreError::UserExists(n)) => Err(AdminError::UserExists(n)),
        other => Ok(other.map(|()| password)?),
    }
}

/// Ends a user (and its certificates) at once.
pub fn revoke_user<S: Access + ?Sized>(s: &mut S, name: &str) -> Result<(), AdminError> {
    if s.user(name)?.is_none() {
        return Err(AdminError::UnknownUser(name.into()));
    }
    s.revoke_user(name)?;
    Ok(())
}

/// Registers a client certificate (its SHA-256) for a user: mutual TLS
/// then signs in as that user.
pub fn add_user_cert<S: Access + ?Sized>(s: &mut S, name: &str, cert_hash: &str) -> Result<(), AdminError> {
    match s.add_user_cert(name, cert_hash) {
        Err(StoreError::UnknownUser(n)) => Err(AdminError::UnknownUser(n)),
        other => Ok(other?),
    }
}

/// What a new permit is made of, as the operator gives it.
#[derive(Debug, Clone)]
pub struct PermitSpec {
    pub tunnus: String,
    pub luvansaaja: String,
    pub kayttotarkoitus: String,
    pub tuote: String,
    /// Replaces the product's groups: a product of the operator's own.
    pub ryhmat: Option<Vec<String>>,
    pub kunnat: Vec<String>,
    pub hyvinvointialueet: Vec<String>,
    pub hetulista: bool,
    pub turvakielto_oikeus: bool,
    pub alkaen: Date,
    pub asti: Option<Date>,
    /// A county hub's sub-permit: the upstream permit it is carved from.
    pub ylalupa: Option<String>,
}

impl PermitSpec {
    /// A kuntarajaus over every municipality of the country, product PSOP,
    /// without the turvakielto right: a national register's permit.
    pub fn whole_country(tunnus: &str, luvansaaja: &str, kayttotarkoitus: &str, alkaen: Date) -> PermitSpec {
        PermitSpec {
            tunnus: tunnus.into(),
            luvansaaja: luvansaaja.into(),
            kayttotarkoitus: kayttotarkoitus.into(),
            tuote: "PSOP".into(),
            ryhmat: None,
            kunnat: vtj_core::kunta::kunnat().iter().map(|k| k.code.to_string()).collect(),
            hyvinvointialueet: vec![],
            hetulista: false,
            turvakielto_oikeus: false,
            alkaen,
            asti: None,
            ylalupa: None,
        }
    }
}

pub fn add_permit<S: Store + Access + ?Sized>(s: &mut S, spec: &PermitSpec) -> Result<Permit, AdminError> {
    if s.recipient(&spec.luvansaaja)?.is_none() {
        return Err(AdminError::UnknownRecipient(spec.luvansaaja.clone()));
    }
    if s.permit(&spec.tunnus)?.is_some() {
        return Err(AdminError::PermitExists(spec.tunnus.clone()));
    }
    if spec.kayttotarkoitus.trim().is_empty() {
        return Err(AdminError::Invalid("a permit needs its purpose (kayttotarkoitus)".into()));
    }
    let mut tuote = Product::builtin(&spec.tuote).or_else(|e| match &spec.ryhmat {
        Some(_) => {
            Ok(Product { tunnus: spec.tuote.clone(), kuvaus: "operator-defined".into(), tietoryhmat: BTreeSet::new() })
        }
        None => Err(e),
    })?;
    if let Some(names) = &spec.ryhmat {
        tuote.tietoryhmat = names
            .iter()
            .map(|n| GroupName::parse(n).map_err(|e| AdminError::Invalid(e.to_string())))
            .collect::<Result<_, _>>()?;
        if tuote.tietoryhmat.is_empty() {
            return Err(AdminError::Invalid("a product needs at least one group".into()));
        }
    }
    let area = !spec.kunnat.is_empty() || !spec.hyvinvointialueet.is_empty();
    let rajaus = match (area, spec.hetulista) {
        (true, false) => {
            let mut kunnat = BTreeSet::new();
            for k in &spec.kunnat {
                kunnat.insert(KuntaCode::parse(k).map_err(|e| AdminError::Invalid(e.to_string()))?);
            }
            for r in &spec.hyvinvointialueet {
                kunnat.extend(vtj_core::kunta::region_kunnat(r).map_err(|e| AdminError::Invalid(e.to_string()))?);
            }
            Scope::Kuntarajaus { kunnat }
        }
        (false, true) => Scope::Hetulista,
        _ => {
            return Err(AdminError::Invalid(
                "give the scope: municipalities and/or wellbeing services counties, or a hetu list (not both)".into(),
            ))
        }
    };
    if spec.asti.is_some_and(|a| a < spec.alkaen) {
        return Err(AdminError::Invalid("the permit ends before it starts".into()));
    }
    let permit = Permit {
        tunnus: spec.tunnus.clone(),
        luvansaaja: spec.luvansaaja.clone(),
        kayttotarkoitus: spec.kayttotarkoitus.clone(),
        tuote,
        rajaus,
        turvakielto: if spec.turvakielto_oikeus {
            TurvakieltoRule::TiedotLuovutetaan
        } else {
            TurvakieltoRule::TiedotSensuroidaan
        },
        voimassa_alkaen: spec.alkaen,
        voimassa_asti: spec.asti,
        peruttu: false,
        ylalupa: spec.ylalupa.clone(),
    };
    if let Some(tunnus) = &spec.ylalupa {
        let upstream = s.permit(tunnus)?.ok_or_else(|| AdminError::UnknownPermit(tunnus.clone()))?;
        if let Some(above) = &upstream.ylalupa {
            return Err(AdminError::Invalid(format!(
                "permit {tunnus} is itself a sub-permit (of {above}); carve sub-permits from the upstream permit"
            )));
        }
        hub::check_upstream(&upstream).map_err(|e| AdminError::Invalid(e.to_string()))?;
        permit.check_narrows(&upstream).map_err(|reasons| AdminError::Widens {
            tunnus: permit.tunnus.clone(),
            upstream: tunnus.clone(),
            reasons,
        })?;
    }
    s.put_permit(&permit)?;
    Ok(permit)
}

/// Applies a recipient's `.HTT` hetu-list upload to a hetu-list permit.
/// A file with any bad line changes nothing; returns (added, removed).
pub fn upload_hetu_list<S: Store + ?Sized>(
    s: &mut S,
    permit: &str,
    bytes: &[u8],
) -> Result<(usize, usize), AdminError> {
    let p = s.permit(permit)?.ok_or_else(|| AdminError::UnknownPermit(permit.into()))?;
    if !matches!(p.rajaus, Scope::Hetulista) {
        return Err(AdminError::Invalid(format!("permit {permit} is not a hetu-list permit")));
    }
    let upload = vtj_format::htt::read_hetu_list(bytes).map_err(|e| AdminError::Invalid(e.to_string()))?;
    // Additions first: re-running an interrupted upload converges.
    let added = s.hetu_list_add(permit, &upload.add)?;
    let removed = s.hetu_list_remove(permit, &upload.remove)?;
    Ok((added, removed))
}

/// Revokes a permit: answers on it stop with the next request.
pub fn revoke_permit<S: Store + ?Sized>(s: &mut S, tunnus: &str) -> Result<(), AdminError> {
    let mut p = s.permit(tunnus)?.ok_or_else(|| AdminError::UnknownPermit(tunnus.into()))?;
    p.peruttu = true;
    Ok(s.put_permit(&p)?)
}

/// Fees of one permit per the permit decision, from what the audit log shows was delivered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeeLine {
    pub permit: String,
    pub recipient: String,
    /// Person records delivered as initial data (REST perustiedot, initial files).
    pub initial_persons: u64,
    pub initial_fee_eur: f64,
    /// REST connection fee; 0 when the recipient moved from the file service.
    pub onboarding_fee_eur: f64,
    pub total_eur: f64,
}

/// Initial delivery 300 EUR + 0.011 EUR per person, 0.006 EUR per person above 2,900,000.
pub fn initial_fee(persons: u64) -> f64 {
    const TIER: u64 = 2_900_000;
    let cents = 30_000.0 + 1.1 * persons.min(TIER) as f64 + 0.6 * persons.saturating_sub(TIER) as f64;
    (cents.round()) / 100.0
}

pub const REST_ONBOARDING_EUR: f64 = 1_000.0;

pub fn fee_report<S: Store + AuditLog + ?Sized>(
    s: &S,
    moved_from_files: &BTreeSet<String>,
) -> Result<Vec<FeeLine>, AdminError> {
    let mut delivered: BTreeMap<String, u64> = BTreeMap::new();
    s.audit_scan(&mut |page| {
        for e in page {
            let r: AuditRecord = serde_json::from_str(&e.data)?;
            // REST initial data (by list and by municipality) and .PTT files.
            let initial = r.action.ends_with("/perustiedot") || r.action.ends_with("/perustiedot-vko");
            if let (true, 200, Some(p)) = (initial, r.status, r.permit) {
                *delivered.entry(p).or_default() += r.records;
            }
        }
        Ok(())
    })?;
    Ok(s.permits()?
        .into_iter()
        .map(|p| {
            let n = delivered.get(&p.tunnus).copied().unwrap_or(0);
            let initial = if n > 0 { initial_fee(n) } else { 0.0 };
            let onboarding = if moved_from_files.contains(&p.tunnus) { 0.0 } else { REST_ONBOARDING_EUR };
            FeeLine {
                permit: p.tunnus,
                recipient: p.luvansaaja,
                initial_persons: n,
                initial_fee_eur: initial,
                onboarding_fee_eur: onboarding,
                total_eur: initial + onboarding,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hetu_list_upload_applies_whole_files_only() {
        let mut s = vtj_store::SqliteStore::open_in_memory().unwrap();
        add_recipient(&mut s, "K", "Kunta").unwrap();
        let spec = PermitSpec {
            tunnus: "L".into(),
            luvansaaja: "K".into(),
            kayttotarkoitus: "asiakasrekisteri".into(),
            tuote: "ASREK".into(),
            ryhmat: None,
            kunnat: vec![],
            hyvinvointialueet: vec![],
            hetulista: true,
            turvakielto_oikeus: false,
            alkaen: time::macros::date!(2026 - 01 - 01),
            asti: None,
            ylalupa: None,
        };
        add_permit(&mut s, &spec).unwrap();
        let file = b"'''ED2'''T'\r\n010181-900CL\r\n020516C903KL\r\n'''EOF'''2'";
        assert_eq!(upload_hetu_list(&mut s, "L", file).unwrap(), (2, 0));
        let bad = b"'''ED2'''T'\r\n010594Y9032L\r\n010181-900CX\r\n'''EOF'''2'";
        let e = upload_hetu_list(&mut s, "L", bad).unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        assert_eq!(s.hetu_list("L").unwrap().len(), 2, "nothing from the bad file was applied");
        let remove = b"'''ED2'''T'\n010181-900CP\n'''EOF'''1'";
        assert_eq!(upload_hetu_list(&mut s, "L", remove).unwrap(), (0, 1));
        assert_eq!(s.hetu_list("L").unwrap().iter().map(|h| h.as_str()).collect::<Vec<_>>(), ["020516C903K"]);
    }

    #[test]
    fn a_sub_permit_is_refused_if_wider_than_its_upstream_permit() {
        let mut s = vtj_store::SqliteStore::open_in_memory().unwrap();
        add_recipient(&mut s, "HVA", "Hyvinvointialue").unwrap();
        add_recipient(&mut s, "PSOP", "Palvelusetelijärjestelmä").unwrap();
        let upstream = PermitSpec {
            tunnus: "DVV-1".into(),
            luvansaaja: "HVA".into(),
            kayttotarkoitus: "hyvinvointialueen asiakasrekisterit".into(),
            tuote: "PERUSTASO".into(),
            ryhmat: None,
            kunnat: vec!["091".into(), "049".into()],
            hyvinvointialueet: vec![],
            hetulista: false,
            turvakielto_oikeus: false,
            alkaen: time::macros::date!(2026 - 01 - 01),
            asti: Some(time::macros::date!(2028 - 12 - 31)),
            ylalupa: None,
        };
        add_permit(&mut s, &upstream).unwrap();
        let sub = PermitSpec {
            tunnus: "PSOP-1".into(),
            luvansaaja: "PSOP".into(),
            kayttotarkoitus: "palvelusetelit".into(),
            tuote: "oma".into(),
            ryhmat: Some(vec!["HENKILON_NIMI".into(), "HENKILOTUNNUS_KORJAUS".into(), "KOTIKUNTA".into()]),
            kunnat: vec!["049".into()],
            asti: None,
            ylalupa: Some("DVV-1".into()),
            ..upstream.clone()
        };
        let wide = PermitSpec {
            tunnus: "PSOP-2".into(),
            ryhmat: Some(vec!["HENKILON_NIMI".into(), "SUKUPUOLI".into()]),
            kunnat: vec!["049".into(), "179".into()],
            turvakielto_oikeus: true,
            ..sub.clone()
        };
        let e = add_permit(&mut s, &wide).unwrap_err();
        let text = e.to_string();
        for part in ["PSOP-2 cannot be a sub-permit of DVV-1", "SUKUPUOLI", "179", "turvakielto right"] {
            assert!(text.contains(part), "{part:?} missing from: {text}");
        }
        assert!(s.permit("PSOP-2").unwrap().is_none(), "a refused sub-permit is not saved");

        let p = add_permit(&mut s, &sub).unwrap();
        assert_eq!(p.ylalupa.as_deref(), Some("DVV-1"));
        assert_eq!(s.permit("PSOP-1").unwrap(), Some(p));

        let nested = PermitSpec { tunnus: "PSOP-3".into(), ylalupa: Some("PSOP-1".into()), ..sub.clone() };
        assert!(add_permit(&mut s, &nested).unwrap_err().to_string().contains("itself a sub-permit"));
        let orphan = PermitSpec { tunnus: "PSOP-4".into(), ylalupa: Some("EI-OLE".into()), ..sub };
        assert!(matches!(add_permit(&mut s, &orphan), Err(AdminError::UnknownPermit(t)) if t == "EI-OLE"));
    }

    #[test]
    fn initial_fee_follows_the_decision() {
        assert_eq!(initial_fee(0), 300.0);
        assert_eq!(initial_fee(1_000), 311.0);
        assert_eq!(initial_fee(2_900_000), 300.0 + 31_900.0);
        assert_eq!(initial_fee(3_000_000), 300.0 + 31_900.0 + 600.0);
    }
}
