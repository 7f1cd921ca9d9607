//! The one table of plugin types: Heka type name -> constructor and the
//! defaults the plugin gives to common options.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{Category, ConfigError, HekadConfig, PluginSection};

use super::{
    DecoderFactory, EncoderFactory, FilterFactory, Input, OutputFactory, SplitterFactory, decoders,
    encoders, filters, inputs, outputs, splitters,
};

/// What a constructor returns, by category.
pub enum Built {
    /// An input instance.
    Input(Box<dyn Input>),
    /// A splitter template.
    Splitter(Arc<dyn SplitterFactory>),
    /// A decoder template.
    Decoder(Arc<dyn DecoderFactory>),
    /// A filter factory.
    Filter(Box<dyn FilterFactory>),
    /// An encoder template.
    Encoder(Arc<dyn EncoderFactory>),
    /// An output factory.
    Output(Box<dyn OutputFactory>),
}

/// What a constructor can see.
pub struct BuildContext<'a> {
    /// `[hekad]` globals.
    pub hekad: &'a HekadConfig,
    /// The plugin's section.
    pub section: &'a PluginSection,
    /// Decoder templates built so far (for MultiDecoder's `subs`).
    pub decoders: &'a HashMap<String, Arc<dyn DecoderFactory>>,
}

impl BuildContext<'_> {
    /// An error about this section (and optionally one key).
    pub fn error(&self, key: Option<&str>, message: impl Into<String>) -> ConfigError {
        match key {
            Some(key) => self.section.key_error(key, message),
            None => self.section.error(message),
        }
    }

    /// Deserialises the plugin-specific keys.
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        crate::config::plugin_config(self.section)
    }
}

/// Defaults a plugin type gives to common options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Defaults {
    /// Inputs: splitter when none is configured.
    pub splitter: Option<&'static str>,
    /// Inputs: decoder when none is configured.
    pub decoder: Option<&'static str>,
    /// Outputs: encoder when none is configured.
    pub encoder: Option<&'static str>,
    /// Filters/outputs: matcher when none is configured.
    pub matcher: Option<&'static str>,
    /// `can_exit` when not configured.
    pub can_exit: bool,
    /// Outputs: an encoder must be configured.
    pub needs_encoder: bool,
    /// Filters/outputs: `ticker_interval` seconds when not configured.
    pub ticker_interval: Option<u64>,
}

impl Defaults {
    /// No defaults.
    pub const NONE: Defaults = Defaults {
        splitter: None,
        decoder: None,
        encoder: None,
        matcher: None,
        can_exit: false,
        needs_encoder: false,
        ticker_interval: None,
    };
}

/// One registered plugin type.
pub struct PluginSpec {
    /// Heka type name (the TOML `type`).
    pub type_name: &'static str,
    /// Category, matching the name's suffix.
    pub category: Category,
    /// Constructor.
    pub build: fn(&BuildContext<'_>) -> Result<Built, ConfigError>,
    /// Common-option defaults.
    pub defaults: Defaults,
}

/// Every plugin type.
pub const PLUGINS: &[&PluginSpec] = &[
    &inputs::logstreamer::SPEC,
    &inputs::tcp::SPEC,
    &inputs::sandbox::SPEC,
    &splitters::token::SPEC,
    &splitters::regex::SPEC,
    &splitters::null::SPEC,
    &splitters::heka_framing::SPEC,
    &decoders::protobuf::SPEC,
    &decoders::payload_regex::SPEC,
    &decoders::multi::SPEC,
    &decoders::scribble::SPEC,
    &decoders::sandbox::SPEC,
    &filters::counter::SPEC,
    &filters::sandbox::SPEC,
    &filters::sandbox_manager::SPEC,
    &encoders::payload::SPEC,
    &encoders::protobuf::SPEC,
    &encoders::rst::SPEC,
    &encoders::sandbox::SPEC,
    &outputs::log::SPEC,
    &outputs::file::SPEC,
    &outputs::tcp::SPEC,
    &outputs::null::SPEC,
    &outputs::sandbox::SPEC,
];

/// Types usable without a config section (Heka registers these always).
pub const ALWAYS_AVAILABLE: &[&str] =
    &["ProtobufDecoder", "ProtobufEncoder", "TokenSplitter", "HekaFramingSplitter", "NullSplitter"];

/// Looks up a plugin type.
pub fn find(type_name: &str) -> Option<&'static PluginSpec> {
    PLUGINS.iter().copied().find(|p| p.type_name == type_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_suffix_matches_category() {
        let mut seen = std::collections::HashSet::new();
        for p in PLUGINS {
            assert!(seen.insert(p.type_name), "duplicate {}", p.type_name);
            assert!(p.type_name.ends_with(p.category.suffix()), "{}", p.type_name);
        }
        for name in ALWAYS_AVAILABLE {
            assert!(find(name).is_some(), "{name}");
        }
    }
}
