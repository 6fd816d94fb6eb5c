//! A token bucket per endpoint and instance: the handler's own limit behind APIM's per-client
//! limits, so a flood of registrations or token requests that gets past the gateway (or reaches
//! an instance directly) costs little.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct RateLimit {
    per_minute: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute),
            burst: f64::from(burst),
            state: Mutex::new((f64::from(burst), Instant::now())),
        }
    }

    /// Takes a token; `Err` with the seconds until one is available.
    pub fn take(&self) -> Result<(), u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *state;
        let now = Instant::now();
        let refill = now.duration_since(*last).as_secs_f64() * self.per_minute / 60.0;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) * 60.0 / self.per_minute;
            Err(Duration::from_secs_f64(wait).as_secs().max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_and_then_requests_wait() {
        let limit = RateLimit::new(60, 3);
        for _ in 0..3 {
            assert!(limit.take().is_ok());
        }
        assert_eq!(limit.take(), Err(1));
    }
}
