//! What a batch touched, for the check that runs before it commits: every
//! relation between persons stays two-sided (`vtj_core::relations`).

use std::collections::HashMap;

use vtj_core::relations::links;
use vtj_core::{EventError, EventKind, Hetu, Person, PersonId};

use crate::StoreError;

/// Each person a batch changed: their state before the batch, after it,
/// and the index of the batch's last event on them.
#[derive(Default)]
pub(crate) struct Touched(Vec<(PersonId, Option<Person>, Person, usize)>, HashMap<PersonId, usize>);

impl Touched {
    /// Notes an event's person. Only a person whose relations or hetu the
    /// batch changes is kept (with their state before that change: earlier
    /// events of the batch left their relations as they were); the rest are
    /// read from the transaction if a relative's check needs them, so a
    /// batch of ordinary changes costs no copies. A hub's mirror is not
    /// checked: it holds what upstream gave, relatives out of scope unseen.
    pub(crate) fn record(&mut self, index: usize, kind: &EventKind, before: Option<&Person>, after: &Person) {
        if matches!(kind, EventKind::Mirrored { .. }) {
            return;
        }
        if let Some(&at) = self.1.get(&after.id) {
            (self.0[at].2, self.0[at].3) = (after.clone(), index);
            return;
        }
        let relevant = match before {
            None => !links(after).is_empty(),
            Some(b) => b.hetu() != after.hetu() || links(b) != links(after),
        };
        if relevant {
            self.1.insert(after.id, self.0.len());
            self.0.push((after.id, before.cloned(), after.clone(), index));
        }
    }

    /// Refuses the batch if it leaves a relation one-sided. `read` gives the
    /// persons the batch did not touch, by the hetus asked, inside the
    /// batch's transaction: first every relative the check will look at, at
    /// once, then (should the check ask for one more) one at a time.
    pub(crate) fn check_relations(
        &self,
        mut read: impl FnMut(&[Hetu]) -> Result<HashMap<Hetu, Person>, StoreError>,
    ) -> Result<(), StoreError> {
        let pairs: Vec<(Option<&Person>, &Person)> = self.0.iter().map(|(_, b, a, _)| (b.as_ref(), a)).collect();
        let wanted = vtj_core::relations::relatives_outside(&pairs);
        let read_ahead = if wanted.is_empty() { HashMap::new() } else { read(&wanted)? };
        let find = |h: Hetu| -> Result<Option<Person>, StoreError> {
            match wanted.binary_search(&h) {
                Ok(_) => Ok(read_ahead.get(&h).cloned()),
                Err(_) => Ok(read(&[h])?.remove(&h)),
            }
        };
        vtj_core::relations::check(&pairs, find)?.map_err(|e| {
            let index = self.1.get(&e.person()).map_or(0, |&at| self.0[at].3);
            StoreError::Event { index, source: EventError::Relation(e) }
        })
    }
}
