//! The disclosure engine: everything between "a permit asks" and "these
//! records may leave", without HTTP or files. The REST service
//! (`vtj-api`), the file deliveries ([`deliver`]) and a county hub call it,
//! so every channel gives a permit the same data.
//!
//! - [`pages`]: the permit in force, and pages of initial data and changes,
//!   each person rendered by the core's `render` / `render_full` (scope,
//!   product and turvakielto are decided there and nowhere else).
//! - [`log_cache`]: decoded change-log blocks shared between requests.
//! - [`page_cache`]: pages of changes made once for every permit of a kind.
//! - [`audit`]: what a request disclosed, and its audit entry.
//! - [`deliver`]: Muutostietopalvelu deliveries of a permit.
//! - [`refusal`]: why a request gets nothing, channel-neutral.

pub mod audit;
pub mod deliver;
pub mod log_cache;
pub mod page_cache;
pub mod pages;
pub mod refusal;

pub use audit::{Context, Touched};
pub use log_cache::LogCache;
pub use page_cache::{PageCache, SharedPage};
pub use pages::{ChangeOut, ChangesPage, Limits, PersonOut};
pub use refusal::{Refusal, Refused};
