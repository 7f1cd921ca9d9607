//! `NullOutput`: accepts matched messages and discards them, counting them
//! (like Vector's blackhole sink) — for benchmarks and for measuring the
//! cost of everything upstream.

use crate::config::{Category, ConfigError};
use crate::message::PackRef;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Output, OutputContext, OutputFactory, PluginError, PluginReport};
use serde::Deserialize;

/// `NullOutput` has no options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullOutputConfig {}

/// The output.
#[derive(Debug, Default)]
pub struct NullOutput {
    count: u64,
    bytes: u64,
}

impl Output for NullOutput {
    fn process_message(
        &mut self,
        pack: &PackRef,
        _cx: &mut OutputContext<'_>,
    ) -> Result<(), PluginError> {
        self.count += 1;
        self.bytes += pack.message.payload.len() as u64;
        Ok(())
    }

    fn report(&self, report: &mut PluginReport) {
        report.set("DiscardedMessages", self.count);
        report.set("DiscardedPayloadBytes", self.bytes);
    }
}

struct Factory;

impl OutputFactory for Factory {
    fn build(&self) -> Result<Box<dyn Output>, PluginError> {
        Ok(Box::new(NullOutput::default()))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let _: NullOutputConfig = cx.config()?;
    Ok(Built::Output(Box::new(Factory)))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "NullOutput",
    category: Category::Output,
    build,
    defaults: Defaults::NONE,
};
