//! Usage statistics of a sandbox (Heka's report fields, §4.4).

use std::cell::Cell;
use std::time::{Duration, Instant};

use mlua::Lua;

/// The highest memory use the instruction hook has seen during long calls
/// (kept in Lua app data; the sandbox also samples after every call).
#[derive(Debug, Default)]
pub(crate) struct MemoryPeak(Cell<usize>);

impl MemoryPeak {
    /// Samples `lua`'s current use from the hook.
    pub fn sample(lua: &Lua) {
        let used = lua.used_memory();
        if let Some(p) = lua.app_data_ref::<MemoryPeak>()
            && used > p.0.get()
        {
            p.0.set(used);
        }
    }

    /// The peak the hook saw.
    pub fn get(lua: &Lua) -> usize {
        lua.app_data_ref::<MemoryPeak>().map_or(0, |p| p.0.get())
    }

    /// Starts over (after restoring data with the limits lifted).
    pub fn reset(lua: &Lua) {
        if let Some(p) = lua.app_data_ref::<MemoryPeak>() {
            p.0.set(0);
        }
    }
}

/// A snapshot of a sandbox's usage, with Heka's report names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// `Memory`: bytes the Lua state uses now (0 once terminated).
    pub memory: usize,
    /// `MaxMemory`: most bytes seen in use (sampled after calls and by the
    /// instruction hook).
    pub max_memory: usize,
    /// `MaxInstructions`: most instructions one call used (counted in steps
    /// of the hook interval; 0 without an instruction limit).
    pub max_instructions: u64,
    /// `MaxOutput`: largest payload or injected message in bytes.
    pub max_output: usize,
    /// `ProcessMessageCount`: `process_message` calls.
    pub process_message_count: u64,
    /// `ProcessMessageFailures`: calls that returned a negative status.
    pub process_message_failures: u64,
    /// `InjectMessageCount`: messages injected.
    pub inject_message_count: u64,
    /// `ProcessMessageSamples`: calls timed.
    pub process_message_samples: u64,
    /// `ProcessMessageAvgDuration`: mean time of the timed calls, in ns.
    pub process_message_avg_duration: u64,
    /// `TimerEventSamples`: `timer_event` calls timed.
    pub timer_event_samples: u64,
    /// `TimerEventAvgDuration`: mean time of the timed calls, in ns.
    pub timer_event_avg_duration: u64,
}

/// Running totals behind [`SandboxStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub process_message_count: u64,
    pub process_message_failures: u64,
    /// Highest memory use sampled after calls (and kept once closed).
    pub max_memory: usize,
    pub max_instructions: u64,
    pub process: Timing,
    pub timer: Timing,
}

/// Sampled call durations.
#[derive(Debug, Default)]
pub(crate) struct Timing {
    /// Calls left before the next timed one.
    skip: u32,
    samples: u64,
    total_ns: u128,
}

impl Timing {
    /// Starts timing this call if it is the 1-in-`every` sample.
    pub fn start(&mut self, every: u32) -> Option<Instant> {
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        self.skip = every.max(1) - 1;
        Some(Instant::now())
    }

    /// Records a sampled call.
    pub fn finish(&mut self, started: Option<Instant>) {
        if let Some(t) = started {
            self.record(t.elapsed());
        }
    }

    fn record(&mut self, d: Duration) {
        self.samples += 1;
        self.total_ns += d.as_nanos();
    }

    /// Number of timed calls.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Mean duration in ns.
    pub fn avg_ns(&self) -> u64 {
        if self.samples == 0 {
            0
        } else {
            u64::try_from(self.total_ns / u128::from(self.samples)).unwrap_or(u64::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_samples_one_in_n() {
        let mut t = Timing::default();
        for _ in 0..10 {
            let s = t.start(4);
            t.finish(s);
        }
        assert_eq!(t.samples(), 3, "calls 0, 4 and 8");
        let mut u = Timing::default();
        u.record(Duration::from_nanos(100));
        u.record(Duration::from_nanos(300));
        assert_eq!(u.avg_ns(), 200);
    }
}
