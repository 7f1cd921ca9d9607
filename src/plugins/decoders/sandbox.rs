//! `SandboxDecoder`: a Lua decoder (Heka's API). Each input stream gets its
//! own instance on its own thread. A decode that fails (status < 0) drops
//! the record and is counted; a terminated script fails every later record
//! (each counted and logged, rate-limited) while the input keeps running.

use std::sync::Arc;

use crate::config::{Category, ConfigError};
use crate::message::{PackMut, PackPool};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::sandbox::sandbox_config;
use crate::plugins::{DecodeFailure, DecodeOut, Decoder, DecoderEnv, DecoderFactory, PluginError};
use crate::sandbox::{DecodeOutcome, Sandbox, SandboxConfig, SandboxHost, SandboxKind};

/// Gives a decoder extra packs for multi-message decodes.
struct DecoderHost {
    pool: PackPool,
}

impl SandboxHost for DecoderHost {
    fn new_pack(&mut self) -> Result<PackMut, String> {
        Ok(self.pool.get())
    }

    fn inject(&mut self, _pack: PackMut) -> Result<(), String> {
        Err("decoders return their messages; inject is not routed".into())
    }
}

/// The decoder.
pub struct SandboxDecoder {
    sandbox: Sandbox,
}

impl Decoder for SandboxDecoder {
    fn decode(&mut self, pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure> {
        let failure = |message: String| DecodeFailure { pack: None, message };
        match self.sandbox.decode(pack, out.packs()) {
            Ok(DecodeOutcome::Forwarded | DecodeOutcome::Injected(_)) => Ok(()),
            Ok(DecodeOutcome::Failed { message, .. }) => Err(failure(message)),
            Ok(DecodeOutcome::Fatal { status, message }) => {
                Err(failure(format!("fatal status {status}: {message}")))
            }
            Err(t) => Err(failure(format!("sandbox terminated: {}", t.message))),
        }
    }
}

struct Factory {
    cfg: SandboxConfig,
}

impl DecoderFactory for Factory {
    fn build_send(
        &self,
        _env: &DecoderEnv,
    ) -> Option<Result<Box<dyn Decoder + Send>, PluginError>> {
        None
    }

    fn build(&self, env: &DecoderEnv) -> Result<Box<dyn Decoder>, PluginError> {
        let host = DecoderHost { pool: env.pool.clone() };
        let sandbox = Sandbox::new(self.cfg.clone(), Box::new(host))
            .map_err(|e| PluginError::Terminated(e.to_string()))?;
        Ok(Box::new(SandboxDecoder { sandbox }))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let (cfg, _) = sandbox_config(cx, SandboxKind::Decoder)?;
    Ok(Built::Decoder(Arc::new(Factory { cfg })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "SandboxDecoder",
    category: Category::Decoder,
    build,
    defaults: Defaults::NONE,
};
