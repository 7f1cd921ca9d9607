//! `CounterFilter`: counts the messages it matches and, every
//! `ticker_interval` (default 5 s), injects `heka.counter-output` with the
//! total and the rate since the last tick; every 10 ticks it adds a summary
//! of the rates (min, max, mean), as Heka's did.

use std::time::Instant;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::PackRef;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Filter, FilterContext, FilterEnv, FilterFactory, PluginError, PluginReport};

/// Message Type of the counter's output.
pub const COUNTER_OUTPUT_TYPE: &str = "heka.counter-output";

/// `CounterFilter` has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterFilterConfig {}

/// The filter.
pub struct CounterFilter {
    count: u64,
    last_count: u64,
    last_time: Instant,
    rates: Vec<f64>,
}

impl CounterFilter {
    /// A counter starting now.
    pub fn new() -> Self {
        CounterFilter { count: 0, last_count: 0, last_time: Instant::now(), rates: Vec::new() }
    }

    fn emit(cx: &mut FilterContext<'_>, payload: String) -> Result<(), PluginError> {
        let mut pack = cx.new_pack().map_err(|e| PluginError::Failed(e.to_string()))?;
        pack.message.stamp_new();
        pack.message.msg_type = COUNTER_OUTPUT_TYPE.as_bytes().to_vec();
        pack.message.logger = cx.name.as_bytes().to_vec();
        pack.message.hostname = cx.hostname.as_bytes().to_vec();
        pack.message.payload = payload.into_bytes();
        cx.inject(pack).map_err(|e| PluginError::Failed(e.to_string()))
    }
}

impl Default for CounterFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl Filter for CounterFilter {
    fn process_message(
        &mut self,
        _pack: &PackRef,
        _cx: &mut FilterContext<'_>,
    ) -> Result<(), PluginError> {
        self.count += 1;
        Ok(())
    }

    fn timer_event(&mut self, _now_ns: i64, cx: &mut FilterContext<'_>) -> Result<(), PluginError> {
        let sent = self.count - self.last_count;
        if sent == 0 {
            return Ok(());
        }
        let elapsed = self.last_time.elapsed().as_secs_f64().max(1e-9);
        self.last_time = Instant::now();
        self.last_count = self.count;
        let rate = sent as f64 / elapsed;
        self.rates.push(rate);
        Self::emit(cx, format!("Got {} messages. {rate:.2} msg/sec", self.count))?;
        if self.rates.len() == 10 {
            let min = self.rates.iter().copied().fold(f64::INFINITY, f64::min);
            let max = self.rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = self.rates.iter().sum::<f64>() / self.rates.len() as f64;
            self.rates.clear();
            Self::emit(cx, format!("AGG Sum. Min: {min:.2}    Max: {max:.2}    Mean: {mean:.2}"))?;
        }
        Ok(())
    }

    fn report(&self, report: &mut PluginReport) {
        report.set("MessageCount", self.count);
    }
}

struct Factory;

impl FilterFactory for Factory {
    fn build(&self, _env: &FilterEnv) -> Result<Box<dyn Filter>, PluginError> {
        Ok(Box::new(CounterFilter::new()))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let _: CounterFilterConfig = cx.config()?;
    Ok(Built::Filter(Box::new(Factory)))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "CounterFilter",
    category: Category::Filter,
    build,
    defaults: Defaults {
        matcher: Some("Type != 'heka.counter-output'"),
        ticker_interval: Some(5),
        ..Defaults::NONE
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{PackMut, PackPool};
    use crate::plugins::context::{InjectError, Injector};

    struct Collect {
        pool: PackPool,
        out: Vec<PackMut>,
    }

    impl Injector for Collect {
        fn new_pack(&mut self) -> Result<PackMut, InjectError> {
            Ok(self.pool.get())
        }
        fn inject(&mut self, pack: PackMut) -> Result<(), InjectError> {
            self.out.push(pack);
            Ok(())
        }
    }

    #[test]
    fn counts_and_reports_on_ticks_with_a_summary_every_ten() {
        let mut inj = Collect { pool: PackPool::new(16), out: Vec::new() };
        let mut f = CounterFilter::new();
        let msg = PackMut::standalone().freeze();
        for tick in 0..10 {
            let mut cx = FilterContext { name: "counter", hostname: "h", injector: &mut inj };
            f.process_message(&msg, &mut cx).unwrap();
            f.timer_event(0, &mut cx).unwrap();
            assert_eq!(inj.out.len(), tick + 1 + usize::from(tick == 9));
        }
        let texts: Vec<String> =
            inj.out.iter().map(|p| p.message.payload_str().into_owned()).collect();
        assert!(texts[0].starts_with("Got 1 messages. "), "{}", texts[0]);
        assert!(texts[9].starts_with("Got 10 messages. "));
        assert!(texts[10].starts_with("AGG Sum. Min: "));
        assert_eq!(inj.out[0].message.msg_type, COUNTER_OUTPUT_TYPE.as_bytes());
        // No new messages: no output.
        let mut cx = FilterContext { name: "counter", hostname: "h", injector: &mut inj };
        f.timer_event(0, &mut cx).unwrap();
        assert_eq!(inj.out.len(), 11);
    }
}
