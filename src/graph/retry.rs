//! When to try a Graph call again, and how long to wait.
//!
//! Graph's throttling guidance: on 429 wait as long as `Retry-After` says (seconds, or an HTTP
//! date), keep honouring it, and back off exponentially when it is absent; 503 and 504 may
//! carry it too. A 429 means the request was not executed, so any method may be retried; a 503,
//! a 504 or a lost connection may follow a request that *was* executed, so only idempotent
//! calls are repeated after those.
//!
//! Two limits keep retries from making an outage worse: each call retries at most
//! [`MAX_RETRIES`] times and never past its deadline, and a process-wide [`RetryBudget`] allows
//! retries only as a fraction of recent calls, so a throttled Graph is not hit harder by every
//! instance at once. Waits carry jitter so instances do not retry in lockstep.

use std::{
    sync::Mutex,
    time::{Duration, SystemTime},
};

use http::{HeaderMap, StatusCode};

use crate::outbound::jitter;

pub const MAX_RETRIES: u32 = 3;
/// A `Retry-After` longer than this is not waited for inside a tool call.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// What a failed attempt allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after this wait.
    RetryAfter(Duration),
    /// Do not repeat the call.
    GiveUp,
}

/// The decision for an attempt that got `status` (or no response at all) on the `retry`-th
/// retry, given `Retry-After`.
pub fn verdict(
    status: Option<StatusCode>,
    headers: Option<&HeaderMap>,
    idempotent: bool,
    retry: u32,
) -> Verdict {
    if retry >= MAX_RETRIES {
        return Verdict::GiveUp;
    }
    let retryable = match status {
        Some(StatusCode::TOO_MANY_REQUESTS) => true,
        Some(StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT) => idempotent,
        Some(_) => false,
        None => idempotent,
    };
    if !retryable {
        return Verdict::GiveUp;
    }
    // A server-given wait is a minimum: jitter only adds to it.
    let wait = match headers.and_then(retry_after) {
        Some(wait) => wait + jitter(Duration::from_millis(100)),
        None => {
            let backoff = FIRST_BACKOFF * 2u32.pow(retry);
            backoff + jitter(backoff / 2)
        }
    };
    if wait > MAX_WAIT {
        Verdict::GiveUp
    } else {
        Verdict::RetryAfter(wait)
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Retries allowed as a share of calls: every call earns [`EARNED_PER_CALL`] of a retry, up to
/// [`MAX_SAVED`] saved; a retry spends one.
pub struct RetryBudget {
    balance: Mutex<f64>,
}

const EARNED_PER_CALL: f64 = 0.2;
const MAX_SAVED: f64 = 20.0;

impl Default for RetryBudget {
    fn default() -> Self {
        Self {
            balance: Mutex::new(MAX_SAVED),
        }
    }
}

impl RetryBudget {
    pub fn earn(&self) {
        let mut balance = self.balance.lock().expect("retry budget lock");
        *balance = (*balance + EARNED_PER_CALL).min(MAX_SAVED);
    }

    /// Takes one retry if the budget has one.
    pub fn spend(&self) -> bool {
        let mut balance = self.balance.lock().expect("retry budget lock");
        if *balance >= 1.0 {
            *balance -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, retry_after.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(61));
        let wait = retry_after(&headers(&in_a_minute)).unwrap();
        assert!(
            wait > Duration::from_secs(58) && wait <= Duration::from_secs(61),
            "{wait:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&past)), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon")), None);
    }

    #[test]
    fn a_429_is_retried_for_any_method_honouring_retry_after() {
        let verdict = verdict(
            Some(StatusCode::TOO_MANY_REQUESTS),
            Some(&headers("2")),
            false,
            0,
        );
        let Verdict::RetryAfter(wait) = verdict else {
            panic!("{verdict:?}")
        };
        assert!(
            wait >= Duration::from_secs(2) && wait <= Duration::from_millis(2100),
            "{wait:?}"
        );
    }

    #[test]
    fn a_503_or_a_lost_connection_is_retried_only_when_idempotent() {
        for status in [
            Some(StatusCode::SERVICE_UNAVAILABLE),
            Some(StatusCode::GATEWAY_TIMEOUT),
            None,
        ] {
            assert!(matches!(
                verdict(status, None, true, 0),
                Verdict::RetryAfter(_)
            ));
            assert_eq!(verdict(status, None, false, 0), Verdict::GiveUp);
        }
    }

    #[test]
    fn other_statuses_long_waits_and_exhausted_retries_give_up() {
        assert_eq!(
            verdict(Some(StatusCode::BAD_REQUEST), None, true, 0),
            Verdict::GiveUp
        );
        assert_eq!(
            verdict(Some(StatusCode::FORBIDDEN), None, true, 0),
            Verdict::GiveUp
        );
        assert_eq!(
            verdict(
                Some(StatusCode::TOO_MANY_REQUESTS),
                Some(&headers("600")),
                true,
                0
            ),
            Verdict::GiveUp
        );
        assert_eq!(
            verdict(Some(StatusCode::TOO_MANY_REQUESTS), None, true, MAX_RETRIES),
            Verdict::GiveUp
        );
    }

    #[test]
    fn backoff_grows_without_retry_after() {
        let wait = |retry| match verdict(Some(StatusCode::TOO_MANY_REQUESTS), None, true, retry) {
            Verdict::RetryAfter(wait) => wait,
            Verdict::GiveUp => panic!("gave up"),
        };
        assert!(wait(0) < Duration::from_millis(500));
        assert!(wait(2) >= Duration::from_secs(1));
    }

    #[test]
    fn the_budget_allows_retries_as_a_share_of_calls() {
        let budget = RetryBudget::default();
        for _ in 0..20 {
            assert!(budget.spend());
        }
        assert!(!budget.spend(), "saved retries are used up");
        for _ in 0..5 {
            budget.earn();
        }
        assert!(budget.spend(), "five calls earn one retry");
        assert!(!budget.spend());
    }
}
