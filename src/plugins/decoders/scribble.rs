//! `ScribbleDecoder`: sets constant header and field values from
//! `[x.message_fields]` (no interpolation), e.g. to tag a stream's Type.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::template::MessageTemplate;
use crate::config::{Category, ConfigError};
use crate::message::PackMut;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{DecodeFailure, DecodeOut, Decoder};

/// Options of `ScribbleDecoder`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScribbleDecoderConfig {
    /// Headers and fields to set.
    pub message_fields: BTreeMap<String, String>,
}

/// The decoder.
#[derive(Debug, Clone)]
pub struct ScribbleDecoder {
    template: Arc<MessageTemplate>,
}

impl Decoder for ScribbleDecoder {
    fn decode(&mut self, mut pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure> {
        if let Err(e) = self.template.populate(&mut pack.message, None) {
            return Err(DecodeFailure::new(pack, e));
        }
        pack.invalidate_bytes();
        out.push(pack);
        Ok(())
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: ScribbleDecoderConfig = cx.config()?;
    Ok(Built::Decoder(Arc::new(ScribbleDecoder {
        template: Arc::new(MessageTemplate::new(&c.message_fields)),
    })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "ScribbleDecoder",
    category: Category::Decoder,
    build,
    defaults: Defaults::NONE,
};
