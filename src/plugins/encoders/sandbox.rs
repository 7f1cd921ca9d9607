//! `SandboxEncoder`: a Lua encoder (Heka's API): the output is the last
//! `inject_payload` payload, the last `inject_message` protobuf, or the
//! (possibly `write_message`-changed) message's protobuf; status -2 writes
//! nothing.

use std::sync::Arc;

use crate::config::{Category, ConfigError};
use crate::message::PackRef;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::sandbox::sandbox_config;
use crate::plugins::{Encoded, Encoder, EncoderFactory, PluginError};
use crate::sandbox::{EncodeOutcome, NoHost, Sandbox, SandboxConfig, SandboxKind};

/// The encoder.
pub struct SandboxEncoder {
    sandbox: Sandbox,
    scratch: Vec<u8>,
}

impl Encoder for SandboxEncoder {
    fn encode(&mut self, pack: &PackRef, out: &mut Vec<u8>) -> Result<Encoded, PluginError> {
        let text = |status: i32, message: Option<String>| {
            message.unwrap_or_else(|| format!("process_message returned {status}"))
        };
        match self.sandbox.encode(pack, &mut self.scratch) {
            Ok(EncodeOutcome::Output) => {
                out.extend_from_slice(&self.scratch);
                Ok(Encoded::Output)
            }
            Ok(EncodeOutcome::Skip) => Ok(Encoded::Nothing),
            Ok(EncodeOutcome::Failed { status, message }) => {
                Err(PluginError::Failed(format!("Failed serializing: {}", text(status, message))))
            }
            Ok(EncodeOutcome::Fatal { status, message }) => {
                Err(PluginError::Fatal(text(status, message)))
            }
            Err(t) => Err(PluginError::Terminated(t.message)),
        }
    }
}

struct Factory {
    cfg: SandboxConfig,
}

impl EncoderFactory for Factory {
    fn build(&self) -> Result<Box<dyn Encoder>, PluginError> {
        let sandbox = Sandbox::new(self.cfg.clone(), Box::new(NoHost))
            .map_err(|e| PluginError::Terminated(e.to_string()))?;
        Ok(Box::new(SandboxEncoder { sandbox, scratch: Vec::new() }))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let (cfg, _) = sandbox_config(cx, SandboxKind::Encoder)?;
    Ok(Built::Encoder(Arc::new(Factory { cfg })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "SandboxEncoder",
    category: Category::Encoder,
    build,
    defaults: Defaults::NONE,
};
