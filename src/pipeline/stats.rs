//! Counters every filter and output runner keeps, read by the report
//! without stopping the plugin.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::plugins::PluginReport;

/// Counters of one filter or output.
#[derive(Debug, Default)]
pub struct RunnerStats {
    /// Messages processed (`ProcessMessageCount`).
    pub processed: AtomicU64,
    /// Messages that failed (`ProcessMessageFailures`).
    pub failures: AtomicU64,
    /// Messages injected (`InjectMessageCount`); shared with the plugin's
    /// injection path.
    pub injected: std::sync::Arc<AtomicU64>,
    /// Timer events run.
    pub timer_events: AtomicU64,
    /// Total ns spent in process_message (sampled every call).
    pub process_ns: AtomicU64,
    /// Total ns spent in timer_event.
    pub timer_ns: AtomicU64,
    /// Restarts after failures.
    pub restarts: AtomicU64,
    /// In-place replacements (reloads) done.
    pub reloads: AtomicU64,
    /// Pause of the last reload: ns from the replacement's arrival to the
    /// first message handled after it.
    pub reload_pause_last_ns: AtomicU64,
    /// Longest such pause.
    pub reload_pause_max_ns: AtomicU64,
    /// In-place replacements refused (the old version kept running).
    pub reload_failures: AtomicU64,
    /// Why the last replacement was refused.
    pub reload_error: Mutex<Option<String>>,
    /// Plugin-specific values, refreshed by the runner about once a second.
    pub plugin: Mutex<PluginReport>,
    /// Set when the plugin stopped for good, with the reason.
    pub stopped: Mutex<Option<String>>,
}

impl RunnerStats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Average ns per process_message.
    pub fn avg_process_ns(&self) -> u64 {
        let n = Self::get(&self.processed);
        Self::get(&self.process_ns).checked_div(n).unwrap_or(0)
    }

    /// Average ns per timer_event.
    pub fn avg_timer_ns(&self) -> u64 {
        let n = Self::get(&self.timer_events);
        Self::get(&self.timer_ns).checked_div(n).unwrap_or(0)
    }

    /// Records the pause a reload caused.
    pub fn record_reload_pause(&self, ns: u64) {
        self.reload_pause_last_ns.store(ns, Ordering::Relaxed);
        self.reload_pause_max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// Records a refused replacement.
    pub fn record_reload_failure(&self, why: &str) {
        self.reload_failures.fetch_add(1, Ordering::Relaxed);
        *self.reload_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_string());
    }

    /// Replaces the plugin-specific values.
    pub fn set_plugin_report(&self, report: PluginReport) {
        *self.plugin.lock().unwrap_or_else(|p| p.into_inner()) = report;
    }

    /// Counts and logs a failed message (`Failed`) and lets the plugin go
    /// on; any other error ends the plugin (and goes to its retry policy).
    pub fn absorb_failure(
        &self,
        plugin: &str,
        result: Result<(), crate::plugins::PluginError>,
        limiter: &mut super::log_limit::LogLimiter,
    ) -> Result<(), crate::plugins::PluginError> {
        match result {
            Err(crate::plugins::PluginError::Failed(msg)) => {
                Self::add(&self.failures, 1);
                limiter.warn(plugin, &msg);
                Ok(())
            }
            other => other,
        }
    }

    /// Marks the plugin as stopped for good.
    pub fn set_stopped(&self, reason: String) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
    }
}
