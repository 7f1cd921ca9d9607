//! Rate-limited logging for errors on data: a bad record storm must not
//! flood the log. Each limiter lets a burst through per interval and then
//! reports how many it suppressed.

use std::time::{Duration, Instant};

/// Messages allowed per interval.
const BURST: u32 = 10;
/// Length of one interval.
const INTERVAL: Duration = Duration::from_secs(10);

/// One limiter per plugin (or per error kind).
#[derive(Debug)]
pub struct LogLimiter {
    window_start: Instant,
    in_window: u32,
    suppressed: u64,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter { window_start: Instant::now(), in_window: 0, suppressed: 0 }
    }
}

impl LogLimiter {
    /// A fresh limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns `Some(suppressed_since_last)` when a message may be logged now.
    pub fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= INTERVAL {
            self.window_start = now;
            self.in_window = 0;
        }
        if self.in_window < BURST {
            self.in_window += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }

    /// Logs a warning for `plugin` if the limiter allows it.
    pub fn warn(&mut self, plugin: &str, message: &str) {
        if let Some(suppressed) = self.allow() {
            if suppressed > 0 {
                tracing::warn!(
                    plugin,
                    suppressed,
                    "{message} ({suppressed} similar messages suppressed)"
                );
            } else {
                tracing::warn!(plugin, "{message}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_a_burst_through_then_counts() {
        let mut l = LogLimiter::new();
        for _ in 0..BURST {
            assert_eq!(l.allow(), Some(0));
        }
        assert_eq!(l.allow(), None);
        assert_eq!(l.allow(), None);
        l.window_start -= INTERVAL;
        assert_eq!(l.allow(), Some(2), "reports what it suppressed");
    }
}
