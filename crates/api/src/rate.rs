//! A token bucket per key (a recipient; a user's failed sign-ins): `burst` requests at once, refilled at
//! `per_second`. Over the limit the caller is told when to come back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter { per_second, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// `Ok` to go ahead (taking a token), or `Err(seconds)` to wait.
    pub fn check(&self, who: &str, now: Instant) -> Result<(), u64> {
        self.take(who, now, 1.0)
    }

    /// Whether `check` would let `who` go ahead now, taking nothing.
    pub fn peek(&self, who: &str, now: Instant) -> Result<(), u64> {
        self.take(who, now, 0.0)
    }

    fn take(&self, who: &str, now: Instant, cost: f64) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let (tokens, last) = buckets.entry(who.to_string()).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= cost;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / self.per_second.max(1e-9);
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refill_per_recipient() {
        let r = RateLimiter::new(2.0, 3);
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(r.check("a", t), Ok(()));
        }
        assert_eq!(r.check("a", t), Err(1));
        assert_eq!(r.check("b", t), Ok(()), "buckets are per recipient");
        assert_eq!(r.check("a", t + Duration::from_millis(500)), Ok(()));
        assert!(r.check("a", t + Duration::from_millis(500)).is_err());
        assert!(r.peek("a", t + Duration::from_millis(500)).is_err());
        assert_eq!(r.peek("c", t), Ok(()));
        assert_eq!(r.peek("c", t), Ok(()), "peeking takes nothing");
    }
}
