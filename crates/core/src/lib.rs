//! The pure domain of the population-data change services: no I/O, no
//! clocks, no randomness. Everything here is a function of its arguments.
//!
//! - [`hetu`], [`date`], [`kunta`]: reference data types.
//! - [`groups`]: the data groups (tietoryhmät) and their wire names.
//! - [`person`], [`event`]: person state and the events that change it.
//! - [`relations`], [`family`]: two-sided relations and the family events
//!   that keep them so.
//! - [`permit`]: products and permits.
//! - [`render`]: the one function that decides what a recipient receives;
//!   [`delta`]: what an event changed, kept so that most changes render
//!   without the whole persons.
//! - [`hub`]: a county hub's person, as its upstream permit disclosed them.

pub mod compact;
pub mod date;
pub mod delta;
pub mod event;
pub mod family;
pub mod groups;
pub mod hetu;
pub mod hub;
pub mod kunta;
pub mod permit;
pub mod person;
pub mod relations;
pub mod render;
mod text;

pub use date::VtjDate;
pub use delta::{render_change, Delta, DeltaError};
pub use event::{apply, Event, EventError, EventKind};
pub use groups::{GroupName, GroupValue};
pub use hetu::{Hetu, HetuError, Sex};
pub use kunta::{KuntaCode, RecordedKuntaCode};
pub use permit::{Permit, PermitKind, Product, Scope, SubPermitError, Subject, TurvakieltoRule};
pub use person::{Person, PersonId};
pub use relations::RelationError;
pub use render::{
    event_label, label, render, render_full, render_full_owned, ChangeKind, Disclosure, GroupChange, Instance,
    InstanceKind,
};
