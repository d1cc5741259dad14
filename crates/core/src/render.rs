//! `render`: what one recipient receives of one change to one person.
//!
//! Every disclosure decision (scope, product, turvakielto, permit validity)
//! is made here and nowhere else. The REST service, file deliveries and the
//! hub all call it; storage holds full data and never pre-censors.

use std::collections::BTreeMap;

use time::Date;

use crate::event::{EventKind, EVENT_NAMES};
use crate::groups::{GroupName, GroupValue, Kotikunta};
use crate::kunta::KuntaCode;
use crate::permit::{Permit, Scope, Subject};
use crate::person::Person;

/// How one data group changed, as the recipient sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The recipient did not hold the group and now receives it (also when a
    /// turvakielto ends and a censored group is revealed again).
    Added,
    Changed,
    /// The group is gone: delete what you hold of it (values or a censor marker).
    Removed,
    /// The group is now censored: delete what you hold. Carries no value.
    Censored,
}

/// How one instance of an added or changed group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceKind {
    Added,
    Changed,
    /// Held before exactly so; sent along so that the group's instances are
    /// complete (a repeated group's other names when one is added).
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub muutos: InstanceKind,
    pub arvo: GroupValue,
}

/// One group's change. For `Added` and `Changed`, `arvot` holds every
/// instance the recipient holds of the group afterwards, in order; for
/// `Removed` and `Censored` it is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    pub tietoryhma: GroupName,
    pub muutos: ChangeKind,
    pub arvot: Vec<Instance>,
}

impl GroupChange {
    /// The group's values after the change (none for removed and censored).
    pub fn values(&self) -> impl Iterator<Item = &GroupValue> {
        self.arvot.iter().map(|i| &i.arvo)
    }

    /// An added group: every instance new.
    pub fn added(values: &[GroupValue]) -> Option<GroupChange> {
        let first = values.first()?;
        Some(GroupChange {
            tietoryhma: first.name(),
            muutos: ChangeKind::Added,
            arvot: values.iter().map(|v| Instance { muutos: InstanceKind::Added, arvo: v.clone() }).collect(),
        })
    }

    /// [`GroupChange::added`] of values the caller gives up.
    pub fn added_owned(values: Vec<GroupValue>) -> Option<GroupChange> {
        let tietoryhma = values.first()?.name();
        Some(GroupChange {
            tietoryhma,
            muutos: ChangeKind::Added,
            arvot: values.into_iter().map(|arvo| Instance { muutos: InstanceKind::Added, arvo }).collect(),
        })
    }

    pub fn marker(g: GroupName, muutos: ChangeKind) -> GroupChange {
        debug_assert!(matches!(muutos, ChangeKind::Removed | ChangeKind::Censored));
        GroupChange { tietoryhma: g, muutos, arvot: Vec::new() }
    }
}

/// The outcome of one change for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disclosure {
    /// Nothing: out of scope, inactive permit, or nothing visible changed.
    Nothing,
    /// The person enters the recipient's scope: every permitted group.
    Enter(Vec<GroupChange>),
    Change(Vec<GroupChange>),
    /// The change that took the person out of scope; delivery ends after
    /// it. It says at most the new home municipality's code (an area), or
    /// that every group the recipient held is removed (a hetu list):
    /// whatever else the change brought is outside the permit (DESIGN.md
    /// rule 2).
    Leave(Vec<GroupChange>),
}

impl Disclosure {
    pub fn changes(&self) -> &[GroupChange] {
        match self {
            Disclosure::Nothing => &[],
            Disclosure::Enter(c) | Disclosure::Change(c) | Disclosure::Leave(c) => c,
        }
    }
}

/// What a recipient may hold of one group of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible<'a> {
    Values(&'a [GroupValue]),
    Censored,
}

/// The recipient's view of a person under a permit: the groups of its
/// product, with turvakielto censoring applied. Absent groups are absent.
///
/// While a turvakielto is in force every censorable group of the product is
/// `Censored`, whether or not the person has a value for it, so the set of
/// markers reveals nothing about which addresses the person has.
pub fn visible<'a>(permit: &Permit, subject: Subject<'a>) -> BTreeMap<GroupName, Visible<'a>> {
    let person = subject.person;
    let entitled = permit.sees_turvakielto_data();
    let censoring = person.has_turvakielto() && !entitled;
    let mut view = BTreeMap::new();
    for &group in &permit.tuote.tietoryhmat {
        // The fact of a turvakielto is itself turvakielto data.
        if group == GroupName::Turvakielto && !entitled {
            continue;
        }
        if censoring && group.is_censored_under_turvakielto() {
            view.insert(group, Visible::Censored);
        } else {
            let values = person.instances(group);
            if !values.is_empty() {
                view.insert(group, Visible::Values(values));
            }
        }
    }
    view
}

/// What the recipient holding `permit` receives when a person goes from
/// `before` (`None`: did not exist) to `after`, with the disclosure made on
/// `today`. Pure: the same inputs always give the same answer.
pub fn render(permit: &Permit, before: Option<Subject<'_>>, after: Subject<'_>, today: Date) -> Disclosure {
    if !permit.is_active(today) {
        return Disclosure::Nothing;
    }
    let was_in = before.is_some_and(|b| permit.in_scope(b));
    let is_in = permit.in_scope(after);
    match (was_in, is_in) {
        (false, false) => Disclosure::Nothing,
        (false, true) => Disclosure::Enter(full(&visible(permit, after))),
        (true, false) => {
            let old = before.map(|b| visible(permit, b)).unwrap_or_default();
            Disclosure::Leave(match permit.rajaus {
                Scope::Kuntarajaus { .. } => {
                    leave_notice(shown_kotikunta(&old), shown_kotikunta(&visible(permit, after)))
                }
                Scope::Hetulista => withdrawn(&old),
            })
        }
        (true, true) => {
            let old = before.map(|b| visible(permit, b)).unwrap_or_default();
            let changes = diff(&old, &visible(permit, after));
            if changes.is_empty() {
                Disclosure::Nothing
            } else {
                Disclosure::Change(changes)
            }
        }
    }
}

/// Everything the recipient may hold of a person now, as an initial load.
pub fn render_full(permit: &Permit, subject: Subject<'_>, today: Date) -> Option<Vec<GroupChange>> {
    (permit.is_active(today) && permit.in_scope(subject)).then(|| full(&visible(permit, subject)))
}

/// [`render_full`] of a person the caller has no further use for: the
/// values given are moved out of it, not copied (a page of an area's
/// residents renders thousands of whole persons). `listed` as
/// [`Subject::new`] takes it.
pub fn render_full_owned(permit: &Permit, mut person: Person, listed: bool, today: Date) -> Option<Vec<GroupChange>> {
    let subject = Subject::new(&person, listed);
    if !(permit.is_active(today) && permit.in_scope(subject)) {
        return None;
    }
    let shown: Vec<(GroupName, bool)> =
        visible(permit, subject).into_iter().map(|(g, v)| (g, matches!(v, Visible::Censored))).collect();
    let changes = shown.into_iter().filter_map(|(g, censored)| {
        if censored {
            Some(GroupChange::marker(g, ChangeKind::Censored))
        } else {
            GroupChange::added_owned(person.tietoryhmat.remove(g))
        }
    });
    Some(changes.collect())
}

fn full(view: &BTreeMap<GroupName, Visible<'_>>) -> Vec<GroupChange> {
    view.iter()
        .filter_map(|(&g, v)| match v {
            Visible::Values(v) => GroupChange::added(v),
            Visible::Censored => Some(GroupChange::marker(g, ChangeKind::Censored)),
        })
        .collect()
}

/// A listed person the service no longer holds (a county hub's person who
/// left upstream's scope), or one taken off the list: every group the
/// recipient held is gone. A client written for DVV knows no leaving
/// flag, but it deletes what a `POISTETTU` names, and so holds nothing.
fn withdrawn(old: &BTreeMap<GroupName, Visible<'_>>) -> Vec<GroupChange> {
    old.keys().map(|&g| GroupChange::marker(g, ChangeKind::Removed)).collect()
}

/// The leaving change: the new home municipality's code (of those the
/// recipient may see before and after) if it changed; no address, no
/// date, nothing else.
pub(crate) fn leave_notice(old: Option<KuntaCode>, new: Option<KuntaCode>) -> Vec<GroupChange> {
    match new {
        Some(now) if old != Some(now) => vec![GroupChange {
            tietoryhma: GroupName::Kotikunta,
            muutos: ChangeKind::Changed,
            arvot: vec![Instance {
                muutos: InstanceKind::Changed,
                arvo: GroupValue::Kotikunta(Kotikunta { kuntakoodi: now, kuntaan_muuttopv: None }),
            }],
        }],
        _ => Vec::new(),
    }
}

/// The home municipality a view shows, if any.
fn shown_kotikunta(view: &BTreeMap<GroupName, Visible<'_>>) -> Option<KuntaCode> {
    match view.get(&GroupName::Kotikunta) {
        Some(Visible::Values([GroupValue::Kotikunta(k), ..])) => Some(k.kuntakoodi),
        _ => None,
    }
}

fn diff(old: &BTreeMap<GroupName, Visible<'_>>, new: &BTreeMap<GroupName, Visible<'_>>) -> Vec<GroupChange> {
    let mut groups: Vec<GroupName> = old.keys().chain(new.keys()).copied().collect();
    groups.sort();
    groups.dedup();
    groups
        .into_iter()
        .filter_map(|g| match (old.get(&g), new.get(&g)) {
            (None | Some(Visible::Censored), Some(Visible::Values(v))) => GroupChange::added(v),
            (Some(Visible::Values(a)), Some(Visible::Values(b))) if a != b => Some(changed(g, a, b)),
            // A value or a censor marker the recipient holds goes.
            (Some(_), None) => Some(GroupChange::marker(g, ChangeKind::Removed)),
            (None | Some(Visible::Values(_)), Some(Visible::Censored)) => {
                Some(GroupChange::marker(g, ChangeKind::Censored))
            }
            // Unchanged, or censored before and after: nothing to say.
            _ => None,
        })
        .collect()
}

/// A group whose values differ: a single-instance group's new value, or
/// every instance of a repeated group, each new one added and the others
/// sent along unchanged.
pub(crate) fn changed(g: GroupName, old: &[GroupValue], new: &[GroupValue]) -> GroupChange {
    let arvot = if g.is_repeated() {
        new.iter()
            .map(|v| Instance {
                muutos: if old.contains(v) { InstanceKind::Unchanged } else { InstanceKind::Added },
                arvo: v.clone(),
            })
            .collect()
    } else {
        new.iter().map(|v| Instance { muutos: InstanceKind::Changed, arvo: v.clone() }).collect()
    };
    GroupChange { tietoryhma: g, muutos: ChangeKind::Changed, arvot }
}

/// The event name a recipient may see with a change. A recipient without
/// the turvakielto right must not learn from the name what the censor
/// markers hide (that the protected person moved, or that the turvakielto
/// itself started, was extended or ended), so for a person protected before
/// or after the event only names from an allow-list pass; every other name
/// becomes the neutral [`NEUTRAL_EVENT`]. An allow-list fails closed when
/// event kinds are added.
pub fn event_label(permit: &Permit, before: Option<&Person>, after: &Person, kind: &EventKind) -> &'static str {
    let protected = before.is_some_and(Person::has_turvakielto) || after.has_turvakielto();
    label(permit, protected, kind.code())
}

/// [`event_label`] of an event known by its code ([`EventKind::code`]),
/// for a person protected before or after it or neither.
pub fn label(permit: &Permit, protected: bool, code: u8) -> &'static str {
    let Some(&name) = EVENT_NAMES.get(usize::from(code)) else { return NEUTRAL_EVENT };
    // A hub knows what changed, not which event of VTJ's changed it.
    if name == "PEILAUS" {
        return NEUTRAL_EVENT;
    }
    if !protected || permit.sees_turvakielto_data() || SAID_OF_THE_PROTECTED.contains(&name) {
        name
    } else {
        NEUTRAL_EVENT
    }
}

/// Events whose name reveals nothing a censor marker hides.
const SAID_OF_THE_PROTECTED: [&str; 10] = [
    "SYNTYMA",
    "KUOLEMA",
    "NIMENMUUTOS",
    "KIELEN_MUUTOS",
    "KOTIMAINEN_YHTEYSOSOITE",
    "ULKOMAINEN_YHTEYSOSOITE",
    "EDUNVALVONTA_ALKAA",
    "EDUNVALVONTA_PAATTYY",
    "EDUNVALVONTAVALTUUTUS_VAHVISTETTU",
    "HENKILOTUNNUS_KORJAUS",
];

/// The event name shown when the real one would reveal censored data.
pub const NEUTRAL_EVENT: &str = "TIETOJEN_MUUTOS";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::{Nimenmuutos, EDELLINEN_SUKUNIMI};

    fn former(nimi: &str) -> GroupValue {
        GroupValue::Nimenmuutos(Nimenmuutos {
            nimilaji: EDELLINEN_SUKUNIMI.into(),
            nimi: nimi.into(),
            nimi_utf8: None,
            nimenmuutostapa: None,
            alkupv: None,
            loppupv: None,
        })
    }

    #[test]
    fn a_repeated_group_sends_every_instance_marking_the_new() {
        let old = [former("A")];
        let new = [former("A"), former("B")];
        let c = changed(GroupName::Nimenmuutos, &old, &new);
        assert_eq!(c.muutos, ChangeKind::Changed);
        let kinds: Vec<_> = c.arvot.iter().map(|i| i.muutos).collect();
        assert_eq!(kinds, [InstanceKind::Unchanged, InstanceKind::Added]);
    }

    #[test]
    fn a_revealed_group_without_value_removes_the_marker() {
        let mut old = BTreeMap::new();
        old.insert(GroupName::KotimainenPostiosoite, Visible::Censored);
        let d = diff(&old, &BTreeMap::new());
        assert_eq!(d, vec![GroupChange::marker(GroupName::KotimainenPostiosoite, ChangeKind::Removed)]);
    }
}
