//! `PayloadEncoder`: the message Payload, optionally prefixed with a
//! timestamp and followed by a newline.

use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::{PackRef, time::now_ns};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Encoded, Encoder, PluginError};

/// Options of `PayloadEncoder`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayloadEncoderConfig {
    /// Add "\n" after each payload.
    pub append_newlines: bool,
    /// Prefix each payload with a timestamp.
    pub prefix_ts: bool,
    /// Use the message's timestamp (else the current time).
    pub ts_from_message: bool,
    /// strftime format of the prefix.
    pub ts_format: String,
}

impl Default for PayloadEncoderConfig {
    fn default() -> Self {
        PayloadEncoderConfig {
            append_newlines: true,
            prefix_ts: false,
            ts_from_message: true,
            ts_format: "[%Y/%b/%d:%H:%M:%S %z] ".into(),
        }
    }
}

/// The encoder.
#[derive(Debug, Clone)]
pub struct PayloadEncoder {
    config: Arc<PayloadEncoderConfig>,
}

impl PayloadEncoder {
    /// An encoder with `config`.
    pub fn new(config: PayloadEncoderConfig) -> Self {
        PayloadEncoder { config: Arc::new(config) }
    }
}

impl Encoder for PayloadEncoder {
    fn encode(&mut self, pack: &PackRef, out: &mut Vec<u8>) -> Result<Encoded, PluginError> {
        let c = &self.config;
        if c.prefix_ts {
            let ns = if c.ts_from_message { pack.message.timestamp } else { now_ns() };
            let ts = jiff::Timestamp::from_nanosecond(i128::from(ns))
                .map_err(|e| PluginError::Failed(format!("bad timestamp: {e}")))?;
            let text = jiff::fmt::strtime::format(
                &c.ts_format,
                &ts.to_zoned_datetime(jiff::tz::TimeZone::UTC),
            )
            .map_err(|e| PluginError::Failed(format!("ts_format: {e}")))?;
            out.extend_from_slice(text.as_bytes());
        }
        out.extend_from_slice(&pack.message.payload);
        if c.append_newlines {
            out.push(b'\n');
        }
        Ok(Encoded::Output)
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: PayloadEncoderConfig = cx.config()?;
    let probe = jiff::Timestamp::UNIX_EPOCH.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    if c.prefix_ts
        && let Err(e) = jiff::fmt::strtime::format(&c.ts_format, &probe)
    {
        return Err(cx.error(Some("ts_format"), e.to_string()));
    }
    Ok(Built::Encoder(Arc::new(PayloadEncoder::new(c))))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "PayloadEncoder",
    category: Category::Encoder,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, PackMut};

    fn pack(payload: &str, ts: i64) -> PackRef {
        let mut m = Message::new();
        m.payload = payload.as_bytes().to_vec();
        m.timestamp = ts;
        PackMut::from_message(m).freeze()
    }

    #[test]
    fn payload_with_and_without_newline() {
        let mut out = Vec::new();
        PayloadEncoder::new(PayloadEncoderConfig::default())
            .encode(&pack("x", 0), &mut out)
            .unwrap();
        assert_eq!(out, b"x\n");
        out.clear();
        let c = PayloadEncoderConfig { append_newlines: false, ..Default::default() };
        PayloadEncoder::new(c).encode(&pack("line\n", 0), &mut out).unwrap();
        assert_eq!(out, b"line\n");
    }

    #[test]
    fn timestamp_prefix_uses_message_time() {
        let mut out = Vec::new();
        let c = PayloadEncoderConfig { prefix_ts: true, ..Default::default() };
        PayloadEncoder::new(c).encode(&pack("x", 1392050801000000000), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[2014/Feb/10:16:46:41 +0000] x\n");
    }
}
