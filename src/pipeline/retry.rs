//! Restart policy (`[name.retries]`): exponential back-off with jitter,
//! as Heka's retry helper.

use std::time::Duration;

use crate::config::RetryConfig;
use crate::plugins::context::StopSignal;

/// Tracks restarts of one plugin.
#[derive(Debug)]
pub struct RetryHelper {
    config: RetryConfig,
    attempts: i64,
    next_delay: Duration,
}

impl RetryHelper {
    /// A helper for `config`.
    pub fn new(config: RetryConfig) -> Self {
        let next_delay = config.delay;
        RetryHelper { config, attempts: 0, next_delay }
    }

    /// The delay before the next attempt, or `None` when retries are used up
    /// (`max_retries` -1 = forever, 0 = never).
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.config.max_retries >= 0 && self.attempts >= self.config.max_retries {
            return None;
        }
        self.attempts += 1;
        let base = self.next_delay;
        self.next_delay = (self.next_delay * 2).min(self.config.max_delay);
        let jitter_ms = self.config.max_jitter.as_millis() as u64;
        let jitter = if jitter_ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(u64::from(rand_u32()) % jitter_ms)
        };
        Some(base.min(self.config.max_delay) + jitter)
    }

    /// Logs why `plugin` (a `kind`, for the log) failed and waits before
    /// its restart; `Err` says why there will be none (retries used up, or
    /// `stop` raised while waiting).
    pub fn backoff(
        &mut self,
        plugin: &str,
        kind: &str,
        stop: &StopSignal,
        why: &str,
    ) -> Result<(), String> {
        tracing::error!(plugin = %plugin, "{kind} failed: {why}");
        match self.next_delay() {
            Some(delay) if !stop.wait(delay) => Ok(()),
            Some(_) => Err(format!("{why} (shutting down)")),
            None => Err(why.to_string()),
        }
    }

    /// Call after a successful (re)start.
    pub fn reset(&mut self) {
        self.attempts = 0;
        self.next_delay = self.config.delay;
    }

    /// Attempts made since the last reset.
    pub fn attempts(&self) -> i64 {
        self.attempts
    }
}

fn rand_u32() -> u32 {
    let b = crate::message::uuid::new_v4();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max: i64) -> RetryConfig {
        RetryConfig {
            max_retries: max,
            delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            max_jitter: Duration::ZERO,
        }
    }

    #[test]
    fn backs_off_exponentially_up_to_max_delay() {
        let mut r = RetryHelper::new(cfg(-1));
        let d: Vec<_> = (0..4).map(|_| r.next_delay().unwrap().as_millis()).collect();
        assert_eq!(d, vec![100, 200, 350, 350]);
        r.reset();
        assert_eq!(r.next_delay().unwrap().as_millis(), 100);
    }

    #[test]
    fn stops_after_max_retries() {
        let mut r = RetryHelper::new(cfg(2));
        assert!(r.next_delay().is_some());
        assert!(r.next_delay().is_some());
        assert!(r.next_delay().is_none());
        assert!(RetryHelper::new(cfg(0)).next_delay().is_none());
    }
}
