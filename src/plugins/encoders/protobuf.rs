//! `ProtobufEncoder`: the message as Heka protobuf — the trusted bytes it
//! arrived with when unchanged, a fresh encoding otherwise. Outputs frame it
//! by default (`use_framing`).

use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::PackRef;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Encoded, Encoder, PluginError};

/// `ProtobufEncoder` has no options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtobufEncoderConfig {}

/// The encoder.
#[derive(Debug, Clone, Default)]
pub struct ProtobufEncoder;

impl Encoder for ProtobufEncoder {
    fn encode(&mut self, pack: &PackRef, out: &mut Vec<u8>) -> Result<Encoded, PluginError> {
        match pack.trusted_bytes() {
            Some(b) => out.extend_from_slice(b),
            None => crate::message::encode_into(&pack.message, out),
        }
        Ok(Encoded::Output)
    }

    fn is_protobuf(&self) -> bool {
        true
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let _: ProtobufEncoderConfig = cx.config()?;
    Ok(Built::Encoder(Arc::new(ProtobufEncoder)))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "ProtobufEncoder",
    category: Category::Encoder,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, PackMut, decode};

    #[test]
    fn encodes_and_prefers_trusted_bytes() {
        let p = PackMut::from_message(Message::new()).freeze();
        let mut out = Vec::new();
        ProtobufEncoder.encode(&p, &mut out).unwrap();
        assert_eq!(decode(&out).unwrap(), p.message);
        let mut q = PackMut::from_message(Message::new());
        q.set_trusted_bytes(b"as received");
        out.clear();
        ProtobufEncoder.encode(&q.freeze(), &mut out).unwrap();
        assert_eq!(out, b"as received");
    }
}
