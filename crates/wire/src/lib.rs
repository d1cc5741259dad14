//! VTJ-muutosrajapinta as DVV publishes it, and as this project extends it
//! where DVV's public material is silent (each extension says so). What is
//! known of DVV's interface is in `../shared/conformance/muutosrajapinta/`.
//!
//! - [`paths`]: the calls and the headers.
//! - [`body`]: request and answer envelopes.
//! - [`group`]: one data group instance, kept as its JSON text (a group or
//!   field this project does not model survives untouched), and how the
//!   core's values are written as such objects.
//! - [`records`]: the core's disclosures as DVV's person and change
//!   records, built as objects or serialised straight from the values.
//! - [`held`]: what a recipient holds of a person, and how a change record
//!   is applied to it.
//! - [`known`]: DVV's data group names.
//!
//! The service writes through this crate and the client reads through it,
//! so the two cannot drift apart.

pub mod body;
pub mod group;
pub mod held;
pub mod known;
mod object;
pub mod paths;
pub mod records;

pub use body::*;
pub use group::{muutospv, ChangeRecord, Group, PersonRecord};
pub use held::Held;
pub use records::{change_record, person_record, ChangeRecordView, PersonRecordView};
