//! What a batch touched, for the check that runs before it commits: every
//! relation between persons stays two-sided (`vtj_core::relations`).

use vtj_core::{EventError, Hetu, Person, PersonId};

use crate::StoreError;

/// Each person a batch changed: their state before the batch, after it,
/// and the index of the batch's last event on them.
#[derive(Default)]
pub(crate) struct Touched(Vec<(PersonId, Option<Person>, Person, usize)>);

impl Touched {
    pub(crate) fn record(&mut self, index: usize, before: &Option<Person>, after: &Person) {
        match self.0.iter_mut().find(|(id, ..)| *id == after.id) {
            Some(t) => (t.2, t.3) = (after.clone(), index),
            None => self.0.push((after.id, before.clone(), after.clone(), index)),
        }
    }

    /// Refuses the batch if it leaves a relation one-sided; `find` reads a
    /// person the batch did not touch, inside the batch's transaction.
    pub(crate) fn check_relations(
        &self,
        find: impl FnMut(Hetu) -> Result<Option<Person>, StoreError>,
    ) -> Result<(), StoreError> {
        let pairs: Vec<(Option<&Person>, &Person)> = self.0.iter().map(|(_, b, a, _)| (b.as_ref(), a)).collect();
        vtj_core::relations::check(&pairs, find)?.map_err(|e| {
            let index = self.0.iter().find(|(id, ..)| *id == e.person()).map_or(0, |t| t.3);
            StoreError::Event { index, source: EventError::Relation(e) }
        })
    }
}
