//! The core's disclosures as DVV's records: [`person_record`] and
//! [`change_record`] build them as group objects (what the client and the
//! tests read); [`PersonRecordView`] and [`ChangeRecordView`] serialise
//! the same JSON text straight from the core's values, without the objects
//! in between (what the service's pages are mostly made of). Both are
//! written from one description of a record's parts, and
//! `tests/records.rs` holds them to the same bytes.
//!
//! How a disclosure is written (this project's choices where DVV's
//! material shows nothing, marked *ours*):
//! - a group that comes or changes: every instance the recipient now holds
//!   of it, new ones `LISATTY`, changed ones `MUUTETTU`, and, for a group
//!   that occurs several times, the unchanged ones `LISATIETO` (*ours*:
//!   the instances of a group named in a change record are the complete
//!   set, so a recipient replaces what it holds of the group with them);
//! - a group that goes: one instance `POISTETTU` with
//!   `voimassaolevatTiedot: []` and no values; TURVAKIELTO instead comes
//!   `MUUTETTU` with `turvakieltoAktiivinen: false`, as DVV sends its end;
//! - censored (turvakielto, a permit without the right): the group with
//!   its value fields left out and `turvakiellonAlaisetKentat` naming them,
//!   `MUUTETTU` when censoring starts, `LISATTY` for a person entering;
//! - a person leaving a municipality-scoped permit's area: the record
//!   carries `"poistuuRajauksesta": true` (*ours*) and at most KOTIKUNTA
//!   with the new municipality's code; nothing else of the person.

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use time::Date;
use vtj_core::{ChangeKind, Disclosure, GroupChange, GroupValue, InstanceKind};

use crate::group::{attribute, muutospv, ChangeRecord, Group, PersonRecord};

/// One group instance of a record, before it is an object.
enum Part<'a> {
    /// A marker (censored, removed), small and built as an object.
    Marker(Group),
    /// A value, with its `muutosattribuutti` in a change record.
    Value(&'a GroupValue, Option<&'static str>),
}

impl Part<'_> {
    fn into_group(self) -> Group {
        match self {
            Part::Marker(g) => g,
            Part::Value(v, None) => Group::from_value(v),
            Part::Value(v, Some(a)) => Group::from_value(v).with_attribute(a),
        }
    }
}

impl Serialize for Part<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Marker(g) => g.serialize(s),
            Part::Value(v, None) => v.serialize(s),
            // `with_attribute` adds the field last: the value's own fields,
            // then the attribute, written straight into the answer.
            Part::Value(v, Some(a)) => WithAttribute { value: v, muutosattribuutti: a }.serialize(s),
        }
    }
}

/// A group's value with its `muutosattribuutti` after its own fields.
#[derive(Serialize)]
struct WithAttribute<'a> {
    #[serde(flatten)]
    value: &'a GroupValue,
    muutosattribuutti: &'a str,
}

/// The parts of a person record: every group held, censored ones as markers.
fn person_parts(groups: &[GroupChange]) -> impl Iterator<Item = Part<'_>> {
    groups.iter().flat_map(|c| {
        let marker = (c.muutos == ChangeKind::Censored).then(|| Part::Marker(Group::censored(c.tietoryhma)));
        let values = matches!(c.muutos, ChangeKind::Added | ChangeKind::Changed).then_some(c.arvot.iter());
        marker.into_iter().chain(values.into_iter().flatten().map(|i| Part::Value(&i.arvo, None)))
    })
}

/// The parts of a change record (see the module's comment).
fn change_parts(groups: &[GroupChange], entering: bool) -> impl Iterator<Item = Part<'_>> {
    groups.iter().flat_map(move |c| {
        let marker = match c.muutos {
            ChangeKind::Censored => Some(Group::censored(c.tietoryhma).with_attribute(if entering {
                attribute::LISATTY
            } else {
                attribute::MUUTETTU
            })),
            ChangeKind::Removed => Some(Group::removed(c.tietoryhma)),
            ChangeKind::Added | ChangeKind::Changed => None,
        };
        let values = marker.is_none().then_some(c.arvot.iter());
        marker.map(Part::Marker).into_iter().chain(values.into_iter().flatten().map(|i| {
            let a = match i.muutos {
                InstanceKind::Added => attribute::LISATTY,
                InstanceKind::Changed => attribute::MUUTETTU,
                InstanceKind::Unchanged => attribute::LISATIETO,
            };
            Part::Value(&i.arvo, Some(a))
        }))
    })
}

/// What a disclosure makes a change record of: (groups, entering, leaving).
fn change_of(d: &Disclosure) -> Option<(&[GroupChange], bool, bool)> {
    match d {
        Disclosure::Nothing => None,
        Disclosure::Enter(g) => Some((g, true, false)),
        Disclosure::Change(g) => Some((g, false, false)),
        Disclosure::Leave(g) => Some((g, false, true)),
    }
}

/// A person's current data as an initial record.
pub fn person_record(henkilotunnus: &str, groups: &[GroupChange]) -> PersonRecord {
    PersonRecord {
        henkilotunnus: henkilotunnus.to_string(),
        tietoryhmat: person_parts(groups).map(Part::into_group).collect(),
    }
}

/// One disclosed change as a change record; `None` for no disclosure.
pub fn change_record(henkilotunnus: &str, registered: Date, d: &Disclosure) -> Option<ChangeRecord> {
    let (groups, entering, leaving) = change_of(d)?;
    Some(ChangeRecord {
        henkilotunnus: henkilotunnus.to_string(),
        tietoryhmat: change_parts(groups, entering).map(Part::into_group).collect(),
        muutospv: muutospv(registered),
        poistuu_rajauksesta: leaving,
    })
}

/// Serialises as [`person_record`]'s record would.
pub struct PersonRecordView<'a> {
    pub henkilotunnus: &'a str,
    pub groups: &'a [GroupChange],
}

impl Serialize for PersonRecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("PersonRecord", 2)?;
        r.serialize_field("henkilotunnus", self.henkilotunnus)?;
        r.serialize_field("tietoryhmat", &Parts(|| person_parts(self.groups)))?;
        r.end()
    }
}

/// Serialises as [`change_record`]'s record would; made only of a
/// disclosure that is one.
pub struct ChangeRecordView<'a> {
    henkilotunnus: &'a str,
    registered: Date,
    groups: &'a [GroupChange],
    entering: bool,
    leaving: bool,
}

impl<'a> ChangeRecordView<'a> {
    /// `None` for no disclosure, as [`change_record`].
    pub fn new(henkilotunnus: &'a str, registered: Date, d: &'a Disclosure) -> Option<ChangeRecordView<'a>> {
        let (groups, entering, leaving) = change_of(d)?;
        Some(ChangeRecordView { henkilotunnus, registered, groups, entering, leaving })
    }
}

impl Serialize for ChangeRecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("ChangeRecord", 3 + usize::from(self.leaving))?;
        r.serialize_field("henkilotunnus", self.henkilotunnus)?;
        r.serialize_field("tietoryhmat", &Parts(|| change_parts(self.groups, self.entering)))?;
        r.serialize_field("muutospv", &muutospv(self.registered))?;
        if self.leaving {
            r.serialize_field("poistuuRajauksesta", &true)?;
        }
        r.end()
    }
}

/// A record's parts as a JSON array, made anew each time it is written.
struct Parts<F>(F);

impl<'a, F: Fn() -> I, I: Iterator<Item = Part<'a>>> Serialize for Parts<F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for part in (self.0)() {
            seq.serialize_element(&part)?;
        }
        seq.end()
    }
}
