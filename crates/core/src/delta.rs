//! What one event changed, worked out once when the event is appended.
//!
//! A page of changes used to decode two whole persons per log entry and
//! compare every group, for every permit reading it. A `Delta` keeps what
//! [`render`](crate::render::render) asks of the persons (their scope, their
//! protection, their hetus) and the instances, before and after, of just
//! the groups that changed. [`render_change`] answers from it alone in the
//! common case, a change to a person who stays in or out of the recipient's
//! scope; where the answer needs the whole person (the person enters or
//! leaves the scope, or censoring starts or ends for the recipient) it says
//! so, and the caller renders from the persons. The property tests hold it
//! to `render` over random histories and permits.
//!
//! Stored as bytes ([`Delta::encode`]): a fixed binary head, which is all
//! a permit out of scope needs, then the changed groups in the store's and
//! DVV's group shapes, in the [`compact`](crate::compact) binary form
//! (version 2; version 1, still read, held them as JSON text).

use thiserror::Error;
use time::Date;

use crate::compact::{self, CompactError};
use crate::groups::{GroupName, GroupValue};
use crate::hetu::{Hetu, HetuError};
use crate::kunta::KuntaCode;
use crate::permit::{Permit, Scope};
use crate::person::{Person, PersonId};
use crate::render::{changed, leave_notice, ChangeKind, Disclosure, GroupChange};

/// One side of a change, as scope and censoring see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Side {
    kotikunta: Option<KuntaCode>,
    /// Holds a TURVAKIELTO group (`Person::has_turvakielto`).
    protected: bool,
    /// Has any group: a county hub holds nothing of a person who left
    /// upstream's scope (`hub::held`).
    held: bool,
}

impl Side {
    fn of(p: &Person) -> Side {
        Side { kotikunta: p.kotikunta(), protected: p.has_turvakielto(), held: crate::hub::held(p) }
    }
}

/// A group whose instances differ across the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDelta {
    pub name: GroupName,
    pub before: Vec<GroupValue>,
    pub after: Vec<GroupValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub person: PersonId,
    /// The event's code ([`EventKind::code`](crate::event::EventKind::code)).
    pub event: u8,
    /// The active hetu before the event; `None`: the person did not exist.
    pub hetu_before: Option<Hetu>,
    pub hetu_after: Hetu,
    before: Side,
    after: Side,
    /// In group order.
    groups: Vec<GroupDelta>,
}

#[derive(Debug, Error)]
pub enum DeltaError {
    #[error("a change summary of {0} bytes is shorter than its {HEAD}-byte head")]
    Truncated(usize),
    #[error("a change summary of version {0}; this program reads version {VERSION}")]
    Version(u8),
    #[error("a change summary's hetu: {0}")]
    Hetu(#[from] HetuError),
    #[error("a change summary's home municipality {0:03} is not one in force")]
    Kunta(u16),
    #[error("a change summary's groups: {0}")]
    Groups(#[from] CompactError),
    #[error("a change summary's groups could not be written: {0}")]
    Unwritable(CompactError),
    #[error("a change summary's groups (version 1): {0}")]
    GroupsJson(#[from] serde_json::Error),
    #[error("a change summary's groups (version 1) are not UTF-8 text")]
    NotText,
    #[error("a change summary's groups do not match its head: {0}")]
    Mismatch(&'static str),
}

const VERSION: u8 = 2;
/// Groups as JSON text: summaries appended before version 2.
const VERSION_JSON: u8 = 1;
/// version, flags, event, person id, two hetus, two municipality codes, group set.
const HEAD: usize = 1 + 1 + 1 + 8 + 11 + 11 + 2 + 2 + 16;
const NO_KUNTA: u16 = u16::MAX;

const EXISTED: u8 = 1;
const PROTECTED_BEFORE: u8 = 2;
const PROTECTED_AFTER: u8 = 4;
const HELD_BEFORE: u8 = 8;
const HELD_AFTER: u8 = 16;

impl Delta {
    /// What the event that took the person from `before` (`None`: did not
    /// exist) to `after` changed.
    pub fn of(before: Option<&Person>, after: &Person, event: u8) -> Delta {
        let mut names: Vec<GroupName> =
            before.into_iter().flat_map(|b| b.tietoryhmat.names()).chain(after.tietoryhmat.names()).collect();
        names.sort();
        names.dedup();
        let groups = names
            .into_iter()
            .filter_map(|name| {
                let old = before.map_or(&[][..], |b| b.instances(name));
                let new = after.instances(name);
                (old != new).then(|| GroupDelta { name, before: old.to_vec(), after: new.to_vec() })
            })
            .collect();
        let nobody = Side { kotikunta: None, protected: false, held: false };
        Delta {
            person: after.id,
            event,
            hetu_before: before.map(Person::hetu),
            hetu_after: after.hetu(),
            before: before.map_or(nobody, Side::of),
            after: Side::of(after),
            groups,
        }
    }

    pub fn groups(&self) -> &[GroupDelta] {
        &self.groups
    }

    fn group(&self, name: GroupName) -> Option<&GroupDelta> {
        self.groups.binary_search_by_key(&name, |g| g.name).ok().map(|i| &self.groups[i])
    }

    /// Whether a turvakielto was in force before or after the event.
    pub fn protected(&self) -> bool {
        self.before.protected || self.after.protected
    }

    /// The stored form. An error only for a value of a shape the compact
    /// form cannot write (the core's groups all can: their tests write every
    /// one), never a summary the reader would then refuse.
    pub fn encode(&self) -> Result<Vec<u8>, DeltaError> {
        let mut out = Vec::with_capacity(HEAD + 256);
        out.push(VERSION);
        let flags = [
            (self.hetu_before.is_some(), EXISTED),
            (self.before.protected, PROTECTED_BEFORE),
            (self.after.protected, PROTECTED_AFTER),
            (self.before.held, HELD_BEFORE),
            (self.after.held, HELD_AFTER),
        ];
        out.push(flags.iter().filter(|(on, _)| *on).fold(0, |f, (_, bit)| f | bit));
        out.push(self.event);
        out.extend_from_slice(&self.person.0.to_le_bytes());
        out.extend_from_slice(self.hetu_before.unwrap_or(self.hetu_after).as_str().as_bytes());
        out.extend_from_slice(self.hetu_after.as_str().as_bytes());
        for side in [self.before, self.after] {
            out.extend_from_slice(&side.kotikunta.map_or(NO_KUNTA, KuntaCode::number).to_le_bytes());
        }
        let set = self.groups.iter().fold(0u128, |set, g| set | 1u128 << index(g.name));
        out.extend_from_slice(&set.to_le_bytes());
        let body: Vec<(&[GroupValue], &[GroupValue])> =
            self.groups.iter().map(|g| (&g.before[..], &g.after[..])).collect();
        compact::write(&mut out, &body).map_err(DeltaError::Unwritable)?;
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Delta, DeltaError> {
        if bytes.len() < HEAD {
            return Err(DeltaError::Truncated(bytes.len()));
        }
        let (head, body) = bytes.split_at(HEAD);
        if head[0] != VERSION && head[0] != VERSION_JSON {
            return Err(DeltaError::Version(head[0]));
        }
        let flags = head[1];
        let on = |bit: u8| flags & bit != 0;
        let hetu = |b: &[u8]| Hetu::parse(&String::from_utf8_lossy(b));
        let kunta = |b: &[u8]| match u16::from_le_bytes([b[0], b[1]]) {
            NO_KUNTA => Ok(None),
            n => KuntaCode::from_number(n).map(Some).ok_or(DeltaError::Kunta(n)),
        };
        let mut id = [0; 8];
        id.copy_from_slice(&head[3..11]);
        let mut set = [0; 16];
        set.copy_from_slice(&head[37..HEAD]);
        let set = u128::from_le_bytes(set);
        let names: Vec<GroupName> =
            GroupName::ALL.iter().enumerate().filter(|&(i, _)| set & 1 << i != 0).map(|(_, &g)| g).collect();
        if set.checked_shr(GroupName::ALL.len() as u32).unwrap_or(0) != 0 {
            return Err(DeltaError::Mismatch("a group this program does not know"));
        }
        let values: Vec<(Vec<GroupValue>, Vec<GroupValue>)> = if head[0] == VERSION {
            compact::read(body)?
        } else {
            // Checked as text once: read from bytes, serde_json checks
            // every string on its own.
            serde_json::from_str(std::str::from_utf8(body).map_err(|_| DeltaError::NotText)?)?
        };
        if values.len() != names.len() {
            return Err(DeltaError::Mismatch("not one entry per changed group"));
        }
        let mut groups = Vec::with_capacity(names.len());
        for (name, (before, after)) in names.into_iter().zip(values) {
            if before.iter().chain(&after).any(|v| v.name() != name) || before == after {
                return Err(DeltaError::Mismatch("an entry that is not its group's change"));
            }
            groups.push(GroupDelta { name, before, after });
        }
        groups.sort_by_key(|g| g.name);
        Ok(Delta {
            person: PersonId(u64::from_le_bytes(id)),
            event: head[2],
            hetu_before: if on(EXISTED) { Some(hetu(&head[11..22])?) } else { None },
            hetu_after: hetu(&head[22..33])?,
            before: Side { kotikunta: kunta(&head[33..35])?, protected: on(PROTECTED_BEFORE), held: on(HELD_BEFORE) },
            after: Side { kotikunta: kunta(&head[35..37])?, protected: on(PROTECTED_AFTER), held: on(HELD_AFTER) },
            groups,
        })
    }
}

/// A group's bit in the stored group set: its place in `GroupName::ALL`
/// (the enum and the list are declared from one table, in one order).
fn index(g: GroupName) -> usize {
    g as usize
}

/// `render(permit, before, after, today)` of the change `d` summarises,
/// with both sides `listed` (or not) on a hetu list, when it can be
/// answered without the whole persons; `None` when it cannot: a person
/// other than a newborn enters the scope, a listed person leaves it, or
/// the recipient's censoring of a person ends (the revealed groups'
/// values are not in the summary unless they changed).
pub fn render_change(permit: &Permit, d: &Delta, listed: bool, today: Date) -> Option<Disclosure> {
    if !permit.is_active(today) {
        return Some(Disclosure::Nothing);
    }
    let in_scope = |side: &Side| match &permit.rajaus {
        Scope::Kuntarajaus { kunnat } => side.kotikunta.is_some_and(|k| kunnat.contains(&k)),
        Scope::Hetulista => listed && side.held,
    };
    let entitled = permit.sees_turvakielto_data();
    let censors = |side: &Side| side.protected && !entitled;
    // The fact of a turvakielto is itself turvakielto data.
    let shown = |g: GroupName| permit.tuote.tietoryhmat.contains(&g) && (entitled || g != GroupName::Turvakielto);
    let (was, now) = (censors(&d.before), censors(&d.after));
    match (d.hetu_before.is_some() && in_scope(&d.before), in_scope(&d.after)) {
        (false, false) => Some(Disclosure::Nothing),
        // A newborn: every group they have is in the summary.
        (false, true) if d.hetu_before.is_none() => Some(Disclosure::Enter(
            permit
                .tuote
                .tietoryhmat
                .iter()
                .filter(|&&g| shown(g))
                .filter_map(|&g| {
                    if now && g.is_censored_under_turvakielto() {
                        Some(GroupChange::marker(g, ChangeKind::Censored))
                    } else {
                        d.group(g).and_then(|c| GroupChange::added(&c.after))
                    }
                })
                .collect(),
        )),
        (false, true) => None,
        (true, false) => match permit.rajaus {
            Scope::Kuntarajaus { .. } => {
                let code = |side: &Side, censored: bool| {
                    side.kotikunta.filter(|_| !censored && permit.tuote.tietoryhmat.contains(&GroupName::Kotikunta))
                };
                Some(Disclosure::Leave(leave_notice(code(&d.before, was), code(&d.after, now))))
            }
            Scope::Hetulista => None,
        },
        // The revealed groups' values are in the summary only if they changed.
        (true, true) if was && !now && permit.tuote.tietoryhmat.iter().any(|g| g.is_censored_under_turvakielto()) => {
            None
        }
        (true, true) if !was && now => {
            // Every censorable group of the product becomes a marker,
            // whether or not the person has it; the others as they changed.
            let changes = permit
                .tuote
                .tietoryhmat
                .iter()
                .filter(|&&g| shown(g))
                .filter_map(|&g| {
                    if g.is_censored_under_turvakielto() {
                        Some(GroupChange::marker(g, ChangeKind::Censored))
                    } else {
                        d.group(g).and_then(group_change)
                    }
                })
                .collect();
            Some(disclosed(changes))
        }
        // Censored before and after: a censorable group says nothing.
        (true, true) => Some(disclosed(
            d.groups
                .iter()
                .filter(|g| shown(g.name) && !(now && g.name.is_censored_under_turvakielto()))
                .filter_map(group_change)
                .collect(),
        )),
    }
}

fn disclosed(changes: Vec<GroupChange>) -> Disclosure {
    if changes.is_empty() {
        Disclosure::Nothing
    } else {
        Disclosure::Change(changes)
    }
}

/// One group's change, seen whole on both sides.
fn group_change(g: &GroupDelta) -> Option<GroupChange> {
    match (g.before.is_empty(), g.after.is_empty()) {
        (true, false) => GroupChange::added(&g.after),
        (false, false) => Some(changed(g.name, &g.before, &g.after)),
        (false, true) => Some(GroupChange::marker(g.name, ChangeKind::Removed)),
        (true, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{Kotikunta, Sukupuoli};
    use crate::person::Groups;

    fn person(kunta: &str) -> Person {
        let hetu = Hetu::parse("010181-900C").unwrap_or_else(|e| panic!("{e}"));
        let mut tietoryhmat = Groups::default();
        tietoryhmat.set(GroupValue::Sukupuoli(Sukupuoli { sukupuoli: crate::hetu::Sex::Male }));
        tietoryhmat.set(GroupValue::Kotikunta(Kotikunta {
            kuntakoodi: KuntaCode::parse(kunta).unwrap_or_else(|e| panic!("{e}")),
            kuntaan_muuttopv: None,
        }));
        Person { id: PersonId(7), henkilotunnus: hetu, tietoryhmat }
    }

    #[test]
    fn a_summary_reads_back_and_refuses_what_it_cannot_be() {
        for (i, &g) in GroupName::ALL.iter().enumerate() {
            assert_eq!(index(g), i, "{g:?}'s bit is its place in GroupName::ALL");
        }
        let d = Delta::of(Some(&person("091")), &person("049"), 3);
        assert_eq!(d.groups().iter().map(|g| g.name).collect::<Vec<_>>(), [GroupName::Kotikunta]);
        let bytes = d.encode().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Delta::decode(&bytes).ok(), Some(d.clone()));

        assert!(matches!(Delta::decode(&bytes[..HEAD - 1]), Err(DeltaError::Truncated(_))));
        let mut other = bytes.clone();
        other[0] = 3;
        assert!(matches!(Delta::decode(&other), Err(DeltaError::Version(3))));
        assert!(matches!(Delta::decode(&bytes[..bytes.len() - 1]), Err(DeltaError::Groups(_))));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(Delta::decode(&longer), Err(DeltaError::Groups(CompactError::Trailing(1)))));

        // Summaries appended before version 2 hold their groups as JSON.
        let mut v1 = bytes[..HEAD].to_vec();
        v1[0] = VERSION_JSON;
        let body: Vec<(&[GroupValue], &[GroupValue])> =
            d.groups.iter().map(|g| (&g.before[..], &g.after[..])).collect();
        serde_json::to_writer(&mut v1, &body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Delta::decode(&v1).ok(), Some(d.clone()));
        assert!(bytes.len() < v1.len(), "{} bytes, {} as JSON", bytes.len(), v1.len());
        assert!(matches!(Delta::decode(&v1[..v1.len() - 1]), Err(DeltaError::GroupsJson(_))));
        let mut not_text = v1.clone();
        let at = not_text.len() - 3;
        not_text[at] = 0xff;
        assert!(matches!(Delta::decode(&not_text), Err(DeltaError::NotText)));
        // The compact form is not read as JSON, nor JSON as the compact form.
        let mut swapped = v1.clone();
        swapped[0] = VERSION;
        assert!(matches!(Delta::decode(&swapped), Err(DeltaError::Groups(_))));
        let mut swapped = bytes.clone();
        swapped[0] = VERSION_JSON;
        assert!(Delta::decode(&swapped).is_err());
        let mut no_kunta = bytes.clone();
        no_kunta[33..35].copy_from_slice(&999u16.to_le_bytes());
        assert!(matches!(Delta::decode(&no_kunta), Err(DeltaError::Kunta(999))));
        let mut bad_hetu = bytes.clone();
        bad_hetu[22] = b'X';
        assert!(matches!(Delta::decode(&bad_hetu), Err(DeltaError::Hetu(_))));
        // The group set names another group than the body holds.
        let mut set = bytes.clone();
        set[37..HEAD].copy_from_slice(&(1u128 << index(GroupName::Sukupuoli)).to_le_bytes());
        assert!(matches!(Delta::decode(&set), Err(DeltaError::Mismatch(_))));
        set[37..HEAD].copy_from_slice(&(1u128 << 127).to_le_bytes());
        assert!(matches!(Delta::decode(&set), Err(DeltaError::Mismatch(_))));
        // A change that changed nothing is no change.
        let same = Delta::of(Some(&person("091")), &person("091"), 3);
        assert!(same.groups().is_empty());
        assert_eq!(Delta::decode(&same.encode().unwrap_or_else(|e| panic!("{e}"))).ok(), Some(same));
    }
}
