//! Shared by the binary's integration tests.

use std::time::Duration;

/// A small deterministic sequence of kill delays: `n` of them, each 5 ms
/// and up to `spread_ms` more (xorshift from `seed`).
pub fn delays(seed: u64, n: usize, spread_ms: u64) -> impl Iterator<Item = Duration> {
    let mut x = seed;
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Duration::from_millis(5 + x % spread_ms)
    })
}
