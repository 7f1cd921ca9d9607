//! The simulated ticker: `timer_event` driven by message time instead of
//! the wall clock, so timer logic is deterministic under `sandpiper test`.

use crate::message::time::NANOS_PER_SEC;

/// Gaps longer than this many intervals fire only their last tick.
pub const MAX_TICKS_PER_GAP: i64 = 100_000;

/// Fires at each multiple of the interval that message time reaches.
#[derive(Debug, Clone)]
pub struct Ticker {
    interval: i64,
    next: Option<i64>,
    newest: Option<i64>,
}

impl Ticker {
    /// A ticker every `seconds` (0: never).
    pub fn new(seconds: u64) -> Ticker {
        let interval = i64::try_from(seconds).unwrap_or(i64::MAX / NANOS_PER_SEC);
        Ticker { interval: interval.saturating_mul(NANOS_PER_SEC), next: None, newest: None }
    }

    /// The ticks (ns) due before a message stamped `ts` is processed.
    pub fn advance(&mut self, ts: i64) -> Vec<i64> {
        self.newest = Some(self.newest.map_or(ts, |n| n.max(ts)));
        if self.interval <= 0 {
            return Vec::new();
        }
        let iv = self.interval;
        let Some(mut next) = self.next else {
            self.next = Some(ts.div_euclid(iv).saturating_add(1).saturating_mul(iv));
            return Vec::new();
        };
        let mut due = Vec::new();
        if ts >= next {
            let behind = (ts - next) / iv;
            if behind >= MAX_TICKS_PER_GAP {
                next += behind * iv;
            }
            while ts >= next {
                due.push(next);
                next += iv;
            }
        }
        self.next = Some(next);
        due
    }

    /// The tick after the last message: at the newest message time, or at
    /// `now` when there was none. `None` without an interval.
    pub fn last(&self, now: i64) -> Option<i64> {
        (self.interval > 0).then(|| self.newest.unwrap_or(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NANOS_PER_SEC;

    #[test]
    fn ticks_fire_at_each_multiple_reached_after_the_first_message() {
        let mut t = Ticker::new(60);
        assert!(t.advance(30 * S).is_empty());
        assert!(t.advance(59 * S).is_empty());
        assert_eq!(t.advance(60 * S), vec![60 * S]);
        assert!(t.advance(61 * S).is_empty());
        assert_eq!(t.advance(250 * S), vec![120 * S, 180 * S, 240 * S]);
        // Time going back fires nothing and does not rewind.
        assert!(t.advance(10 * S).is_empty());
        assert_eq!(t.last(0), Some(250 * S));
    }

    #[test]
    fn no_interval_never_ticks_and_long_gaps_are_capped() {
        let mut t = Ticker::new(0);
        assert!(t.advance(S).is_empty() && t.advance(1000 * S).is_empty());
        assert_eq!(t.last(5), None);
        let mut t = Ticker::new(1);
        assert_eq!(t.last(5), Some(5));
        t.advance(0);
        let due = t.advance(10 * MAX_TICKS_PER_GAP * S);
        assert_eq!(due, vec![10 * MAX_TICKS_PER_GAP * S]);
    }
}
