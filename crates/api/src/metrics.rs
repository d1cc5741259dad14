//! Prometheus counters, kept by hand: a few atomics are all we need.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub client_errors: AtomicU64,
    pub server_errors: AtomicU64,
    pub rate_limited: AtomicU64,
    pub changes_served: AtomicU64,
    pub persons_served: AtomicU64,
    pub audit_entries: AtomicU64,
    pub shared_pages: AtomicU64,
    pub area_pages_kept: AtomicU64,
    pub area_pages_ahead: AtomicU64,
}

impl Metrics {
    pub fn count_status(&self, status: u16) {
        self.requests.fetch_add(1, Relaxed);
        match status {
            429 => {
                self.rate_limited.fetch_add(1, Relaxed);
                self.client_errors.fetch_add(1, Relaxed);
            }
            400..=499 => {
                self.client_errors.fetch_add(1, Relaxed);
            }
            500.. => {
                self.server_errors.fetch_add(1, Relaxed);
            }
            _ => {}
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, v) in [
            ("vtj_requests_total", "API requests answered", &self.requests),
            ("vtj_client_errors_total", "requests answered with a 4xx status", &self.client_errors),
            ("vtj_server_errors_total", "requests answered with a 5xx status", &self.server_errors),
            ("vtj_rate_limited_total", "requests refused by the rate limit", &self.rate_limited),
            ("vtj_changes_served_total", "changes sent to recipients", &self.changes_served),
            ("vtj_persons_served_total", "person records sent to recipients", &self.persons_served),
            ("vtj_audit_entries_total", "audit log entries written", &self.audit_entries),
            (
                "vtj_shared_pages_total",
                "change pages given as made for another permit of the same kind",
                &self.shared_pages,
            ),
            (
                "vtj_area_pages_kept_total",
                "area pages given as made before: ahead of their request, or for a permit of the same kind",
                &self.area_pages_kept,
            ),
            ("vtj_area_pages_ahead_total", "area pages made ahead of their request (ours)", &self.area_pages_ahead),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Relaxed));
        }
        out
    }
}
