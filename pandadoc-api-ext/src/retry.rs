//! When and how long to wait before sending an idempotent request again.

use std::time::Duration;

use crate::Error;

/// Retries of idempotent requests: on throttling (429), 502/503/504, timeouts and connection
/// errors; exponential backoff with full jitter, never sooner than the server asked, with capped
/// attempts and total time. On by default; [`RetryPolicy::disabled`] turns it off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff from 500 ms doubling up to 20 s, at most 60 s in all.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Attempts in all, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff cap before the first retry; it doubles with each retry.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff between two attempts (a server's `Retry-After` may ask for more).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest time from the first attempt to the start of the last: a retry that would
    /// start later is not made, and the last error is returned.
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// The attempts allowed.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long to wait before attempt `attempt + 1` after `error`, having spent `elapsed`
    /// so far; `None` when no retry should be made.
    pub fn delay(&self, attempt: u32, elapsed: Duration, error: &Error) -> Option<Duration> {
        if attempt >= self.max_attempts || !error.is_retryable() {
            return None;
        }
        let exponential = self
            .initial_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16));
        let cap = exponential.min(self.max_backoff);
        // Full jitter: uniform in [0, cap].
        let jittered = cap.mul_f64(fastrand::f64());
        let delay = jittered.max(error.retry_after().unwrap_or(Duration::ZERO));
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn throttled(after: Option<u64>) -> Error {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(s) = after {
            headers.insert(reqwest::header::RETRY_AFTER, s.to_string().parse().unwrap());
        }
        Error::from_response(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            &headers,
            b"{}",
            crate::error::Snippet::Keep,
        )
    }

    #[test]
    fn backoff_is_jittered_below_an_exponential_cap() {
        let policy = RetryPolicy::default()
            .max_attempts(10)
            .max_elapsed(Duration::from_secs(3600));
        let err = Error::new(ErrorKind::Network, "reset");
        for attempt in 1..6 {
            let cap = Duration::from_millis(500) * (1 << (attempt - 1));
            for _ in 0..50 {
                let d = policy.delay(attempt, Duration::ZERO, &err).unwrap();
                assert!(
                    d <= cap.min(Duration::from_secs(20)),
                    "attempt {attempt}: {d:?}"
                );
            }
        }
    }

    #[test]
    fn never_sooner_than_the_server_asks() {
        let policy = RetryPolicy::default();
        for _ in 0..50 {
            assert!(
                policy
                    .delay(1, Duration::ZERO, &throttled(Some(3)))
                    .unwrap()
                    >= Duration::from_secs(3)
            );
        }
    }

    #[test]
    fn stops_at_max_attempts_budget_and_non_retryable_errors() {
        let policy = RetryPolicy::default().max_attempts(2);
        assert!(policy.delay(2, Duration::ZERO, &throttled(None)).is_none());
        assert!(
            policy
                .delay(1, Duration::from_secs(59), &throttled(Some(5)))
                .is_none(),
            "past the budget"
        );
        let bad = Error::new(ErrorKind::BadRequest, "no");
        assert!(policy.delay(1, Duration::ZERO, &bad).is_none());
        assert!(
            RetryPolicy::disabled()
                .delay(1, Duration::ZERO, &throttled(None))
                .is_none()
        );
    }
}
