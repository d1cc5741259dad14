//! `render`: what one recipient receives of one change to one person.
//!
//! Every disclosure decision (scope, product, turvakielto, permit validity)
//! is made here and nowhere else. The REST service, file deliveries and the
//! hub all call it; storage holds full data and never pre-censors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::event::EventKind;
use crate::groups::{GroupName, GroupValue};
use crate::permit::{Permit, Subject};
use crate::person::Person;

/// How one data group changed, as the recipient sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    /// The recipient did not hold the group and now receives it (also when a
    /// turvakielto ends and a censored group is revealed again).
    #[serde(rename = "LISATTY")]
    Added,
    #[serde(rename = "MUUTETTU")]
    Changed,
    #[serde(rename = "POISTETTU")]
    Removed,
    /// The group is now censored: delete what you hold. Carries no value.
    #[serde(rename = "SENSUROITU")]
    Censored,
}

/// One group's change. On the wire `arvo` is the group's bare value (the
/// group is named once, by `tietoryhma`), present exactly for LISATTY and
/// MUUTETTU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "GroupChangeWire", try_from = "GroupChangeWire")]
pub struct GroupChange {
    pub tietoryhma: GroupName,
    pub muutos: ChangeKind,
    pub arvo: Option<GroupValue>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupChangeWire {
    tietoryhma: GroupName,
    muutos: ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arvo: Option<serde_json::Value>,
}

impl From<GroupChange> for GroupChangeWire {
    fn from(c: GroupChange) -> GroupChangeWire {
        // GroupValue is tagged {"tietoryhma", "arvo"}; the wire keeps the inner value.
        let arvo = c.arvo.and_then(|v| match serde_json::to_value(v) {
            Ok(serde_json::Value::Object(mut m)) => m.remove("arvo"),
            _ => None,
        });
        GroupChangeWire { tietoryhma: c.tietoryhma, muutos: c.muutos, arvo }
    }
}

impl TryFrom<GroupChangeWire> for GroupChange {
    type Error = String;

    fn try_from(w: GroupChangeWire) -> Result<GroupChange, String> {
        let needs_value = matches!(w.muutos, ChangeKind::Added | ChangeKind::Changed);
        let arvo = match (w.arvo, needs_value) {
            (Some(v), true) => Some(
                serde_json::from_value(serde_json::json!({ "tietoryhma": w.tietoryhma, "arvo": v }))
                    .map_err(|e| format!("{}: {e}", w.tietoryhma))?,
            ),
            (None, false) => None,
            (None, true) => return Err(format!("{}: a {:?} change needs its arvo", w.tietoryhma, w.muutos)),
            (Some(_), false) => return Err(format!("{}: a {:?} change carries no arvo", w.tietoryhma, w.muutos)),
        };
        Ok(GroupChange { tietoryhma: w.tietoryhma, muutos: w.muutos, arvo })
    }
}

/// The outcome of one change for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "laji", content = "muutokset", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disclosure {
    /// Nothing: out of scope, inactive permit, or nothing visible changed.
    #[serde(rename = "EI_MITAAN")]
    Nothing,
    /// The person enters the recipient's scope: every permitted group.
    #[serde(rename = "UUSI_HENKILO")]
    Enter(Vec<GroupChange>),
    #[serde(rename = "MUUTOS")]
    Change(Vec<GroupChange>),
    /// The change that took the person out of scope; delivery ends after it.
    #[serde(rename = "POISTUU_RAJAUKSESTA")]
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
    Value(&'a GroupValue),
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
        } else if let Some(v) = person.group(group) {
            view.insert(group, Visible::Value(v));
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
    let new_view = visible(permit, after);
    match (was_in, is_in) {
        (false, false) => Disclosure::Nothing,
        (false, true) => Disclosure::Enter(full(&new_view)),
        (true, still_in) => {
            let old_view = before.map(|b| visible(permit, b)).unwrap_or_default();
            let changes = diff(&old_view, &new_view);
            match (still_in, changes.is_empty()) {
                (true, true) => Disclosure::Nothing,
                (true, false) => Disclosure::Change(changes),
                (false, _) => Disclosure::Leave(changes),
            }
        }
    }
}

/// Everything the recipient may hold of a person now, as an initial load.
pub fn render_full(permit: &Permit, subject: Subject<'_>, today: Date) -> Option<Vec<GroupChange>> {
    (permit.is_active(today) && permit.in_scope(subject)).then(|| full(&visible(permit, subject)))
}

fn full(view: &BTreeMap<GroupName, Visible<'_>>) -> Vec<GroupChange> {
    view.iter()
        .map(|(&g, v)| match v {
            Visible::Value(v) => change(g, ChangeKind::Added, Some(v)),
            Visible::Censored => change(g, ChangeKind::Censored, None),
        })
        .collect()
}

fn diff(old: &BTreeMap<GroupName, Visible<'_>>, new: &BTreeMap<GroupName, Visible<'_>>) -> Vec<GroupChange> {
    let mut groups: Vec<GroupName> = old.keys().chain(new.keys()).copied().collect();
    groups.sort();
    groups.dedup();
    groups
        .into_iter()
        .filter_map(|g| match (old.get(&g), new.get(&g)) {
            (None | Some(Visible::Censored), Some(Visible::Value(v))) => Some(change(g, ChangeKind::Added, Some(v))),
            (Some(Visible::Value(a)), Some(Visible::Value(b))) if a != b => {
                Some(change(g, ChangeKind::Changed, Some(b)))
            }
            (Some(Visible::Value(_)), None) => Some(change(g, ChangeKind::Removed, None)),
            (None | Some(Visible::Value(_)), Some(Visible::Censored)) => Some(change(g, ChangeKind::Censored, None)),
            // Unchanged, or censored before and either censored or empty now:
            // the recipient holds nothing either way, so nothing is said.
            _ => None,
        })
        .collect()
}

fn change(g: GroupName, kind: ChangeKind, value: Option<&GroupValue>) -> GroupChange {
    GroupChange { tietoryhma: g, muutos: kind, arvo: value.cloned() }
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
    if !protected || permit.sees_turvakielto_data() {
        return kind.wire_name();
    }
    match kind {
        EventKind::Birth { .. }
        | EventKind::Death { .. }
        | EventKind::NameChange { .. }
        | EventKind::LanguageChange { .. }
        | EventKind::ContactAddress { .. }
        | EventKind::ForeignContactAddress { .. }
        | EventKind::GuardianshipStart { .. }
        | EventKind::GuardianshipEnd
        | EventKind::PowerOfAttorneyConfirmed { .. }
        | EventKind::HetuCorrection { .. } => kind.wire_name(),
        _ => NEUTRAL_EVENT,
    }
}

/// The event name shown when the real one would reveal censored data.
pub const NEUTRAL_EVENT: &str = "TIETOJEN_MUUTOS";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::Kotikunta;
    use crate::{KuntaCode, VtjDate};

    #[test]
    fn group_change_wire_names_the_group_once_and_checks_arvo() {
        let v = GroupValue::Kotikunta(Kotikunta {
            kuntakoodi: KuntaCode::parse("091").unwrap(),
            alkupaiva: VtjDate::Unknown,
        });
        let c = GroupChange { tietoryhma: GroupName::Kotikunta, muutos: ChangeKind::Changed, arvo: Some(v) };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"tietoryhma":"KOTIKUNTA","muutos":"MUUTETTU","arvo":{"kuntakoodi":"091","alkupaiva":"00000000"}}"#
        );
        assert_eq!(serde_json::from_str::<GroupChange>(&json).unwrap(), c);

        let censored = r#"{"tietoryhma":"KOTIKUNTA","muutos":"SENSUROITU"}"#;
        assert_eq!(serde_json::from_str::<GroupChange>(censored).unwrap().arvo, None);
        for bad in [
            r#"{"tietoryhma":"KOTIKUNTA","muutos":"LISATTY"}"#,
            r#"{"tietoryhma":"KOTIKUNTA","muutos":"SENSUROITU","arvo":{"kuntakoodi":"091","alkupaiva":"00000000"}}"#,
            r#"{"tietoryhma":"KOTIKUNTA","muutos":"LISATTY","arvo":{"etunimet":"X"}}"#,
            r#"{"tietoryhma":"KOTIKUNTA","muutos":"POISTETTU","extra":1}"#,
        ] {
            assert!(serde_json::from_str::<GroupChange>(bad).is_err(), "{bad}");
        }
    }
}
