//! What a request or a delivery disclosed, and its audit entry. The entry
//! is written before a disclosed byte leaves: a channel builds its answer,
//! commits the entry, and only then sends (DESIGN.md rule 4).

use std::collections::BTreeSet;

use time::OffsetDateTime;
use vtj_core::{GroupChange, Hetu, Permit};
use vtj_store::{Appended, AuditLog, AuditRecord, ListDigest};

use crate::refusal::Refused;

/// Whose data and which groups went out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    pub hetus: Vec<String>,
    pub groups: BTreeSet<String>,
    /// Person records (initial data) or change records sent.
    pub records: u64,
}

impl Touched {
    /// A person or change record sent under `shown` of the person whose
    /// hetu is `active` now: both are logged when they differ, so that the
    /// person is found in the log by either.
    pub fn record(&mut self, shown: Hetu, active: Hetu, groups: &[GroupChange]) {
        self.records += 1;
        self.hetus.push(shown.to_string());
        if active != shown {
            self.hetus.push(active.to_string());
        }
        // A page names the same few groups a thousand times over: a name
        // is copied only the first time.
        for g in groups {
            let name = g.tietoryhma.as_str();
            if !self.groups.contains(name) {
                self.groups.insert(name.to_string());
            }
        }
    }

    pub fn add(&mut self, other: Touched) {
        self.records += other.records;
        self.hetus.extend(other.hetus);
        self.groups.extend(other.groups);
    }
}

/// The fixed part of an audit entry: what was done, by whom, on which
/// permit and why, and what was asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub action: String,
    pub recipient: Option<String>,
    pub user: Option<String>,
    pub permit: Option<String>,
    pub purpose: Option<String>,
    /// `X-Road-Client` as sent: recorded, never trusted.
    pub xroad_client: Option<String>,
    /// Hetus asked for by name (at most `PERUSTIEDOT_MAX` in one call).
    pub asked: Vec<String>,
    /// A list sent to follow changes: recorded by count and digest.
    pub asked_list: Option<ListDigest>,
}

impl Context {
    pub fn new(action: impl Into<String>) -> Context {
        Context { action: action.into(), ..Context::default() }
    }

    /// The permit's recipient and purpose.
    pub fn permit(&mut self, p: &Permit) {
        self.recipient = Some(p.luvansaaja.clone());
        self.permit = Some(p.tunnus.clone());
        self.purpose = Some(p.kayttotarkoitus.clone());
    }

    /// The entry of an answer (`status` 200 with what it disclosed) or a refusal.
    pub fn entry(&self, at: OffsetDateTime, outcome: Result<Touched, (u16, &str)>) -> AuditRecord {
        let (status, code, touched) = match outcome {
            Ok(t) => (200, None, t),
            Err((status, code)) => (status, Some(code.to_string()), Touched::default()),
        };
        AuditRecord {
            at: AuditRecord::format_time(at),
            recipient: self.recipient.clone(),
            user: self.user.clone(),
            permit: self.permit.clone(),
            purpose: self.purpose.clone(),
            action: self.action.clone(),
            xroad_client: self.xroad_client.clone(),
            asked: self.asked.clone(),
            asked_list: self.asked_list.clone(),
            hetus: touched.hetus,
            groups: touched.groups.into_iter().collect(),
            records: touched.records,
            status,
            code,
        }
    }
}

/// Commits an entry (and, with a key, the checkpoint that covers it);
/// nothing may be disclosed if this fails.
pub fn commit<S: AuditLog + ?Sized>(
    s: &mut S,
    entry: &AuditRecord,
    signer: Option<&vtj_tlog::Signer>,
) -> Result<Appended, Refused> {
    Ok(s.audit_append(entry, signer)?)
}
