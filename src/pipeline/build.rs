//! Turns a loaded [`Config`] into a [`Plan`]: every plugin constructed,
//! every reference (decoder, splitter, encoder) resolved, every matcher
//! compiled, and every error collected before anything starts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{
    Category, CommonConfig, CommonSplitterConfig, Config, ConfigError, ConfigErrors, HekadConfig,
    PluginSection, RetryConfig,
};
use crate::matcher::Matcher;
use crate::message::max_record_size;
use crate::plugins::registry::{self, ALWAYS_AVAILABLE, BuildContext, Built, Defaults};
use crate::plugins::{
    DecoderFactory, EncoderFactory, FilterFactory, Input, OutputFactory, SplitterFactory,
};

use super::stream::{DecodeOptions, SplitterSettings};

/// An input ready to start.
pub struct InputPlan {
    /// Instance name.
    pub name: String,
    /// The section it was built from (compared on reload).
    pub section: PluginSection,
    /// Type name.
    pub type_name: String,
    /// The input.
    pub input: Box<dyn Input>,
    /// Splitter section name.
    pub splitter_name: String,
    /// Splitter template.
    pub splitter: Arc<dyn SplitterFactory>,
    /// Splitter runner options.
    pub splitter_settings: SplitterSettings,
    /// Decoder section name and template.
    pub decoder: Option<(String, Arc<dyn DecoderFactory>)>,
    /// Decode failure options.
    pub decode_options: DecodeOptions,
    /// Decoder threads per stream (thread-bound decoders).
    pub decoder_threads: usize,
    /// May stop without stopping the pipeline.
    pub can_exit: bool,
    /// Restart policy.
    pub retries: RetryConfig,
    /// `ticker_interval` seconds.
    pub ticker_interval: u64,
}

/// A filter ready to start.
pub struct FilterPlan {
    /// Instance name.
    pub name: String,
    /// The section it was built from (compared on reload).
    pub section: PluginSection,
    /// Type name.
    pub type_name: String,
    /// Builds the filter.
    pub factory: Box<dyn FilterFactory>,
    /// Compiled matcher.
    pub matcher: Matcher,
    /// `message_signer`.
    pub signer: Option<String>,
    /// `ticker_interval`.
    pub ticker: Option<Duration>,
    /// May stop without stopping the pipeline.
    pub can_exit: bool,
    /// Restart policy.
    pub retries: RetryConfig,
}

/// An output ready to start.
pub struct OutputPlan {
    /// Instance name.
    pub name: String,
    /// The section it was built from (compared on reload).
    pub section: PluginSection,
    /// Type name.
    pub type_name: String,
    /// Builds the output.
    pub factory: Box<dyn OutputFactory>,
    /// Encoder section name and template.
    pub encoder: Option<(String, Arc<dyn EncoderFactory>)>,
    /// Frame encoded records.
    pub use_framing: bool,
    /// Compiled matcher.
    pub matcher: Matcher,
    /// `message_signer`.
    pub signer: Option<String>,
    /// `ticker_interval`.
    pub ticker: Option<Duration>,
    /// May stop without stopping the pipeline.
    pub can_exit: bool,
    /// Restart policy.
    pub retries: RetryConfig,
}

/// Everything constructed, nothing running.
pub struct Plan {
    /// Globals.
    pub hekad: HekadConfig,
    /// Every section of the configuration (to compare on reload).
    pub sections: Vec<PluginSection>,
    /// Inputs in config order.
    pub inputs: Vec<InputPlan>,
    /// Filters in config order.
    pub filters: Vec<FilterPlan>,
    /// Outputs in config order.
    pub outputs: Vec<OutputPlan>,
}

struct Templates {
    splitters: HashMap<String, (Arc<dyn SplitterFactory>, CommonSplitterConfig)>,
    decoders: HashMap<String, Arc<dyn DecoderFactory>>,
    encoders: HashMap<String, Arc<dyn EncoderFactory>>,
}

fn construct(
    hekad: &HekadConfig,
    section: &PluginSection,
    decoders: &HashMap<String, Arc<dyn DecoderFactory>>,
) -> Result<(Built, Defaults), ConfigError> {
    let Some(spec) = registry::find(&section.type_name) else {
        return Err(
            section.key_error("type", format!("unknown plugin type '{}'", section.type_name))
        );
    };
    let cx = BuildContext { hekad, section, decoders };
    Ok(((spec.build)(&cx)?, spec.defaults))
}

/// A section made up for an always-available type used without one.
fn implicit_section(type_name: &str, category: Category) -> PluginSection {
    PluginSection {
        name: type_name.to_string(),
        type_name: type_name.to_string(),
        category,
        file: std::path::PathBuf::from("<built-in>"),
        table: toml::Table::new(),
        common: match category {
            Category::Splitter => CommonConfig::Splitter(CommonSplitterConfig {
                min_buffer_size: 8192,
                ..CommonSplitterConfig::default()
            }),
            Category::Decoder => CommonConfig::Decoder,
            _ => CommonConfig::Encoder,
        },
    }
}

/// Builds the templates (splitters, decoders in dependency order, encoders).
fn build_templates(config: &Config, errors: &mut Vec<ConfigError>) -> Templates {
    let mut t =
        Templates { splitters: HashMap::new(), decoders: HashMap::new(), encoders: HashMap::new() };
    let mut sections: Vec<PluginSection> = config.plugins.clone();
    for name in ALWAYS_AVAILABLE {
        if sections.iter().any(|s| s.name == *name) {
            continue;
        }
        let category = registry::find(name).map(|s| s.category);
        if let Some(category) = category {
            sections.push(implicit_section(name, category));
        }
    }
    // Decoders may depend on other decoders (MultiDecoder subs): build in
    // passes until nothing more can be built; what is left has a cycle or a
    // missing sub.
    let mut pending: Vec<&PluginSection> =
        sections.iter().filter(|s| s.category == Category::Decoder).collect();
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for s in pending {
            let subs = decoder_subs(s);
            if subs.iter().any(|d| !t.decoders.contains_key(d)) {
                still.push(s);
                continue;
            }
            match construct(&config.hekad, s, &t.decoders) {
                Ok((Built::Decoder(d), _)) => {
                    t.decoders.insert(s.name.clone(), d);
                }
                Ok(_) => errors.push(s.key_error("type", "not a decoder")),
                Err(e) => errors.push(e),
            }
        }
        pending = still;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for s in pending {
        let missing: Vec<String> =
            decoder_subs(s).into_iter().filter(|d| !t.decoders.contains_key(d)).collect();
        let defined = |d: &String| sections.iter().any(|x| &x.name == d);
        let msg = if missing.iter().all(defined) {
            format!("subs form a cycle or depend on a failed decoder: {}", missing.join(", "))
        } else {
            format!("unknown decoder in subs: {}", missing.join(", "))
        };
        errors.push(s.key_error("subs", msg));
    }
    for s in &sections {
        match s.category {
            Category::Splitter => match construct(&config.hekad, s, &t.decoders) {
                Ok((Built::Splitter(f), _)) => {
                    let common = match &s.common {
                        CommonConfig::Splitter(c) => *c,
                        _ => CommonSplitterConfig::default(),
                    };
                    t.splitters.insert(s.name.clone(), (f, common));
                }
                Ok(_) => errors.push(s.key_error("type", "not a splitter")),
                Err(e) => errors.push(e),
            },
            Category::Encoder => match construct(&config.hekad, s, &t.decoders) {
                Ok((Built::Encoder(f), _)) => {
                    t.encoders.insert(s.name.clone(), f);
                }
                Ok(_) => errors.push(s.key_error("type", "not an encoder")),
                Err(e) => errors.push(e),
            },
            _ => {}
        }
    }
    t
}

/// The `subs` a MultiDecoder section names.
pub(super) fn decoder_subs(s: &PluginSection) -> Vec<String> {
    match s.table.get("subs").and_then(|v| v.as_array()) {
        Some(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        None => Vec::new(),
    }
}

fn compile_matcher(
    s: &PluginSection,
    configured: Option<&String>,
    default: Option<&str>,
) -> Result<Matcher, ConfigError> {
    let expr = match (configured, default) {
        (Some(e), _) => e.as_str(),
        (None, Some(d)) => d,
        (None, None) => "FALSE",
    };
    Matcher::new(expr).map_err(|e| s.key_error("message_matcher", e.to_string()))
}

fn ticker(seconds: Option<u64>) -> Option<Duration> {
    seconds.filter(|s| *s > 0).map(Duration::from_secs)
}

/// Builds one filter from its section (also used for filters loaded at run
/// time by a SandboxManagerFilter).
pub fn filter_plan(
    hekad: &HekadConfig,
    s: &PluginSection,
    decoders: &HashMap<String, Arc<dyn DecoderFactory>>,
) -> Result<FilterPlan, ConfigError> {
    let CommonConfig::Filter(common) = &s.common else {
        return Err(s.key_error("type", "not a filter"));
    };
    let (factory, defaults) = match construct(hekad, s, decoders)? {
        (Built::Filter(f), d) => (f, d),
        _ => return Err(s.key_error("type", "not a filter")),
    };
    let matcher = compile_matcher(s, common.message_matcher.as_ref(), defaults.matcher)?;
    Ok(FilterPlan {
        name: s.name.clone(),
        section: s.clone(),
        type_name: s.type_name.clone(),
        factory,
        matcher,
        signer: common.message_signer.clone(),
        ticker: ticker(common.ticker_interval.or(defaults.ticker_interval)),
        can_exit: common.can_exit.unwrap_or(defaults.can_exit),
        retries: common.retries,
    })
}

/// Builds the whole plan, or returns every error found.
pub fn build(config: &Config) -> Result<Plan, ConfigErrors> {
    let mut errors = Vec::new();
    let templates = build_templates(config, &mut errors);
    let mut plan = Plan {
        hekad: config.hekad.clone(),
        sections: config.plugins.clone(),
        inputs: Vec::new(),
        filters: Vec::new(),
        outputs: Vec::new(),
    };
    let max_record = max_record_size(config.hekad.max_message_size);
    for s in &config.plugins {
        match (&s.category, &s.common) {
            (Category::Input, CommonConfig::Input(common)) => {
                let (input, defaults) = match construct(&config.hekad, s, &templates.decoders) {
                    Ok((Built::Input(i), d)) => (i, d),
                    Ok(_) => {
                        errors.push(s.key_error("type", "not an input"));
                        continue;
                    }
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                let splitter_name = common
                    .splitter
                    .clone()
                    .or(defaults.splitter.map(str::to_string))
                    .unwrap_or_else(|| "NullSplitter".to_string());
                let Some((splitter, sc)) = templates.splitters.get(&splitter_name) else {
                    errors.push(
                        s.key_error("splitter", format!("unknown splitter '{splitter_name}'")),
                    );
                    continue;
                };
                let decoder_name = common.decoder.clone().or(defaults.decoder.map(str::to_string));
                let decoder = match decoder_name {
                    None => None,
                    Some(d) if d.is_empty() => None,
                    Some(d) => match templates.decoders.get(&d) {
                        Some(f) => Some((d, Arc::clone(f))),
                        None => {
                            errors.push(s.key_error("decoder", format!("unknown decoder '{d}'")));
                            continue;
                        }
                    },
                };
                let use_message_bytes =
                    sc.use_message_bytes.unwrap_or_else(|| splitter.build().use_message_bytes());
                plan.inputs.push(InputPlan {
                    name: s.name.clone(),
                    section: s.clone(),
                    type_name: s.type_name.clone(),
                    input,
                    splitter_name,
                    splitter: Arc::clone(splitter),
                    splitter_settings: SplitterSettings {
                        keep_truncated: sc.keep_truncated,
                        max_record_size: max_record,
                        deliver_incomplete_final: sc.deliver_incomplete_final,
                        use_message_bytes,
                    },
                    decoder,
                    decode_options: DecodeOptions {
                        send_decode_failures: common.send_decode_failures,
                        log_decode_failures: common.log_decode_failures,
                    },
                    decoder_threads: common.decoder_threads,
                    can_exit: common.can_exit.unwrap_or(defaults.can_exit),
                    retries: common.retries,
                    ticker_interval: common.ticker_interval.unwrap_or(0),
                });
            }
            (Category::Filter, CommonConfig::Filter(_)) => {
                match filter_plan(&config.hekad, s, &templates.decoders) {
                    Ok(f) => plan.filters.push(f),
                    Err(e) => errors.push(e),
                }
            }
            (Category::Output, CommonConfig::Output(common)) => {
                let (factory, defaults) = match construct(&config.hekad, s, &templates.decoders) {
                    Ok((Built::Output(f), d)) => (f, d),
                    Ok(_) => {
                        errors.push(s.key_error("type", "not an output"));
                        continue;
                    }
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                let encoder_name = common.encoder.clone().or(defaults.encoder.map(str::to_string));
                let encoder = match encoder_name {
                    None => None,
                    Some(e) if e.is_empty() => None,
                    Some(e) => match templates.encoders.get(&e) {
                        Some(f) => Some((e, Arc::clone(f))),
                        None => {
                            errors.push(s.key_error("encoder", format!("unknown encoder '{e}'")));
                            continue;
                        }
                    },
                };
                if encoder.is_none() && defaults.needs_encoder {
                    errors.push(s.key_error("encoder", "an encoder is required"));
                    continue;
                }
                let protobuf = encoder.as_ref().is_some_and(|(_, f)| f.is_protobuf());
                match compile_matcher(s, common.message_matcher.as_ref(), defaults.matcher) {
                    Ok(matcher) => plan.outputs.push(OutputPlan {
                        name: s.name.clone(),
                        section: s.clone(),
                        type_name: s.type_name.clone(),
                        factory,
                        encoder,
                        use_framing: common.use_framing.unwrap_or(protobuf),
                        matcher,
                        signer: common.message_signer.clone(),
                        ticker: ticker(common.ticker_interval.or(defaults.ticker_interval)),
                        can_exit: common.can_exit.unwrap_or(defaults.can_exit),
                        retries: common.retries,
                    }),
                    Err(e) => errors.push(e),
                }
            }
            _ => {}
        }
    }
    if errors.is_empty() { Ok(plan) } else { Err(ConfigErrors(errors)) }
}

impl Plan {
    /// The plugin graph in words (`sandpiper check`).
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for i in &self.inputs {
            let decoder = i.decoder.as_ref().map_or("none", |(n, _)| n.as_str());
            let _ = writeln!(
                out,
                "input  {} ({}) -> splitter {} -> decoder {}",
                i.name, i.type_name, i.splitter_name, decoder
            );
        }
        for f in &self.filters {
            let _ = writeln!(
                out,
                "filter {} ({}) <- matcher {}",
                f.name,
                f.type_name,
                f.matcher.as_str()
            );
        }
        for o in &self.outputs {
            let encoder = o.encoder.as_ref().map_or("none", |(n, _)| n.as_str());
            let framing = if o.use_framing { ", framed" } else { "" };
            let _ = writeln!(
                out,
                "output {} ({}) <- matcher {} ; encoder {}{}",
                o.name,
                o.type_name,
                o.matcher.as_str(),
                encoder,
                framing
            );
        }
        out
    }
}
