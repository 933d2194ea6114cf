//! Retrying a delivery step with exponential backoff. Shared by the store,
//! email and webhook channels so that every channel counts attempts and
//! waits the same way.

use std::future::Future;
use std::time::Duration;

/// How long to wait between attempts: `base`, `2·base`, `4·base` … up to `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait, however many attempts failed.
    pub cap: Duration,
}

impl Default for Backoff {
    /// One second doubling up to thirty: long enough for a restarting relay or
    /// a throttled bucket, short enough for a nightly job.
    fn default() -> Self {
        Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// A backoff starting at `base` with the default cap.
    pub fn starting_at(base: Duration) -> Self {
        Backoff { base, ..Backoff::default() }
    }

    /// The wait after `failures` failed attempts (1 = after the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// What the retried operation ended with, and how many attempts it took.
#[derive(Debug)]
pub struct Attempted<T, E> {
    /// The last attempt's result.
    pub result: Result<T, E>,
    /// Attempts made (at least 1).
    pub attempts: u32,
}

/// Whether a failed attempt is worth repeating.
pub trait Retryable {
    /// False for failures another attempt cannot fix (a missing bucket, bad
    /// credentials, a rejected request); true for the transient ones.
    fn is_retryable(&self) -> bool;
}

/// Runs `op` up to `attempts` times (at least once), waiting between failures
/// as `backoff` says, and stops early on a failure that is not retryable.
pub async fn retry<T, E, F, Fut>(attempts: u32, backoff: Backoff, mut op: F) -> Attempted<T, E>
where
    E: Retryable,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let attempts = attempts.max(1);
    let mut attempt = 1;
    loop {
        let result = op(attempt).await;
        match &result {
            Err(e) if attempt < attempts && e.is_retryable() => {
                tracing::debug!(attempt, "attempt failed, retrying");
                tokio::time::sleep(backoff.delay(attempt)).await;
                attempt += 1;
            }
            _ => return Attempted { result, attempts: attempt },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fails(bool);

    impl Retryable for Fails {
        fn is_retryable(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff { base: Duration::from_millis(100), cap: Duration::from_millis(350) };
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(2), Duration::from_millis(200));
        assert_eq!(b.delay(3), Duration::from_millis(350));
        assert_eq!(b.delay(40), Duration::from_millis(350));
    }

    #[tokio::test]
    async fn stops_on_success_on_permanent_failure_and_after_the_last_attempt() {
        let fast = Backoff::starting_at(Duration::from_millis(1));
        let ok = retry(4, fast, |n| async move { if n < 3 { Err(Fails(true)) } else { Ok(n) } }).await;
        assert_eq!((ok.result.ok(), ok.attempts), (Some(3), 3));

        let permanent = retry(4, fast, |_| async { Err::<(), _>(Fails(false)) }).await;
        assert_eq!(permanent.attempts, 1);

        let exhausted = retry(3, fast, |_| async { Err::<(), _>(Fails(true)) }).await;
        assert_eq!(exhausted.attempts, 3);

        let at_least_once = retry(0, fast, |_| async { Ok::<_, Fails>(()) }).await;
        assert_eq!(at_least_once.attempts, 1);
    }
}
