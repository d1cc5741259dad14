//! Synthetic VTJ: a seeded population ([`generate()`]) and daily life events
//! ([`simulate()`]). Deterministic: the same seed and days give the same
//! store. Every hetu is in the test range 900-999.

mod families;
pub mod generate;
mod hetus;
mod make;
mod names;
mod rng;
pub mod simulate;

pub use generate::{generate, GenerateConfig, GenerateReport};
pub use simulate::{simulate, SimError, SimulateConfig, SimulateReport};
