//! `ProtobufDecoder`: the record is a Heka protobuf message; decode it into
//! the pack and keep the bytes as trusted (forwarded unchanged by
//! ProtobufEncoder). Records delivered as Payload (no message bytes) are
//! decoded from the payload.

use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::PackMut;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{DecodeFailure, DecodeOut, Decoder};

/// `ProtobufDecoder` has no options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtobufDecoderConfig {}

/// The decoder.
#[derive(Debug, Clone, Default)]
pub struct ProtobufDecoder;

impl Decoder for ProtobufDecoder {
    fn decode(&mut self, mut pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure> {
        if pack.raw_bytes().is_empty() && !pack.message.payload.is_empty() {
            let payload = std::mem::take(&mut pack.message.payload);
            pack.raw_buffer().extend_from_slice(&payload);
        }
        match pack.decode_raw() {
            Ok(()) => {
                out.push(pack);
                Ok(())
            }
            Err(e) => Err(DecodeFailure::new(pack, format!("protobuf decode failed: {e}"))),
        }
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let _: ProtobufDecoderConfig = cx.config()?;
    Ok(Built::Decoder(Arc::new(ProtobufDecoder)))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "ProtobufDecoder",
    category: Category::Decoder,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Field, Message, PackPool, encode};

    #[test]
    fn decodes_raw_bytes_and_keeps_them_trusted() {
        let mut m = Message::new();
        m.msg_type = b"t".to_vec();
        m.add_field(Field::integer("n", 5));
        let bytes = encode(&m);
        let pool = PackPool::new(2);
        let mut pack = pool.get();
        pack.raw_buffer().extend_from_slice(&bytes);
        let mut got = Vec::new();
        ProtobufDecoder.decode(pack, &mut DecodeOut::new(&mut got, &pool)).unwrap();
        assert_eq!(got[0].message, m);
        assert_eq!(got[0].trusted_bytes(), Some(bytes.as_slice()));
    }

    #[test]
    fn garbage_fails_and_returns_the_pack() {
        let pool = PackPool::new(1);
        let mut pack = pool.get();
        pack.raw_buffer().extend_from_slice(b"\xff\xff\xff");
        let mut got = Vec::new();
        let err = ProtobufDecoder.decode(pack, &mut DecodeOut::new(&mut got, &pool)).unwrap_err();
        assert!(err.pack.is_some());
        assert!(err.message.contains("protobuf decode failed"));
    }
}
