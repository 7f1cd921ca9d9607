//! `MultiDecoder`: a chain of decoders (`subs`). With
//! `cascade_strategy = "first-wins"` each sub is tried in turn until one
//! succeeds; with `"all"` every sub runs on the output of the previous one,
//! and the decode fails only if none succeeded.

use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::PackMut;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{DecodeFailure, DecodeOut, Decoder, DecoderEnv, DecoderFactory, PluginError};

/// Options of `MultiDecoder`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultiDecoderConfig {
    /// Decoder section names, in order.
    pub subs: Vec<String>,
    /// `first-wins` or `all`.
    pub cascade_strategy: String,
    /// Log each failing sub decoder.
    pub log_sub_errors: bool,
}

impl Default for MultiDecoderConfig {
    fn default() -> Self {
        MultiDecoderConfig {
            subs: Vec::new(),
            cascade_strategy: "first-wins".into(),
            log_sub_errors: false,
        }
    }
}

/// The template: sub templates in order.
pub struct MultiDecoderFactory {
    name: String,
    subs: Vec<(String, Arc<dyn DecoderFactory>)>,
    all: bool,
    log_sub_errors: bool,
}

/// One instance, generic over Send-ness of its subs.
pub struct MultiDecoder<D: ?Sized> {
    name: String,
    subs: Vec<(String, Box<D>)>,
    all: bool,
    log_sub_errors: bool,
}

impl<D: Decoder + ?Sized> MultiDecoder<D> {
    fn first_wins(
        &mut self,
        mut pack: PackMut,
        out: &mut DecodeOut<'_>,
    ) -> Result<(), DecodeFailure> {
        let mut errors = Vec::new();
        for (name, sub) in &mut self.subs {
            match sub.decode(pack, out) {
                Ok(()) => return Ok(()),
                Err(DecodeFailure { pack: Some(p), message }) => {
                    if self.log_sub_errors {
                        tracing::warn!(decoder = %self.name, sub = %name, "Sub decoder failed: {message}");
                    }
                    errors.push(format!("{name}: {message}"));
                    pack = p;
                }
                Err(f) => return Err(f),
            }
        }
        Err(DecodeFailure::new(pack, format!("All subdecoders failed: {}", errors.join("; "))))
    }

    fn all(&mut self, pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure> {
        let mut current = vec![pack];
        let mut any_ok = false;
        let mut errors = Vec::new();
        for (name, sub) in &mut self.subs {
            let mut next = Vec::new();
            for p in current.drain(..) {
                let mut produced = Vec::new();
                let result = {
                    let mut sub_out = DecodeOut::new(&mut produced, out.pool());
                    sub.decode(p, &mut sub_out)
                };
                match result {
                    Ok(()) => {
                        any_ok = true;
                        next.extend(produced);
                    }
                    Err(DecodeFailure { pack: Some(p), message }) => {
                        if self.log_sub_errors {
                            tracing::warn!(decoder = %self.name, sub = %name, "Sub decoder failed: {message}");
                        }
                        errors.push(format!("{name}: {message}"));
                        next.extend(produced);
                        next.push(p);
                    }
                    Err(f) => return Err(f),
                }
            }
            current = next;
        }
        if any_ok {
            current.into_iter().for_each(|p| out.push(p));
            Ok(())
        } else {
            let mut it = current.into_iter();
            let message = format!("All subdecoders failed: {}", errors.join("; "));
            match it.next() {
                Some(p) => Err(DecodeFailure::new(p, message)),
                None => Err(DecodeFailure { pack: None, message }),
            }
        }
    }
}

impl<D: Decoder + ?Sized> Decoder for MultiDecoder<D> {
    fn decode(&mut self, pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure> {
        if self.all { self.all(pack, out) } else { self.first_wins(pack, out) }
    }
}

impl DecoderFactory for MultiDecoderFactory {
    fn build_send(&self, env: &DecoderEnv) -> Option<Result<Box<dyn Decoder + Send>, PluginError>> {
        let mut subs: Vec<(String, Box<dyn Decoder + Send>)> = Vec::new();
        for (name, f) in &self.subs {
            match f.build_send(env)? {
                Ok(d) => subs.push((name.clone(), d)),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(Box::new(MultiDecoder {
            name: self.name.clone(),
            subs,
            all: self.all,
            log_sub_errors: self.log_sub_errors,
        })))
    }

    fn build(&self, env: &DecoderEnv) -> Result<Box<dyn Decoder>, PluginError> {
        let subs = self
            .subs
            .iter()
            .map(|(n, f)| f.build(env).map(|d| (n.clone(), d)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(MultiDecoder {
            name: self.name.clone(),
            subs,
            all: self.all,
            log_sub_errors: self.log_sub_errors,
        }))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: MultiDecoderConfig = cx.config()?;
    if c.subs.is_empty() {
        return Err(cx.error(Some("subs"), "at least one sub decoder is required"));
    }
    let all = match c.cascade_strategy.as_str() {
        "first-wins" => false,
        "all" => true,
        other => {
            return Err(cx.error(
                Some("cascade_strategy"),
                format!("must be \"first-wins\" or \"all\", not \"{other}\""),
            ));
        }
    };
    let mut subs = Vec::new();
    for name in &c.subs {
        match cx.decoders.get(name) {
            Some(f) => subs.push((name.clone(), Arc::clone(f))),
            None => return Err(cx.error(Some("subs"), format!("unknown decoder '{name}'"))),
        }
    }
    Ok(Built::Decoder(Arc::new(MultiDecoderFactory {
        name: cx.section.name.clone(),
        subs,
        all,
        log_sub_errors: c.log_sub_errors,
    })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "MultiDecoder",
    category: Category::Decoder,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::message::{PackPool, Scalar};
    use std::collections::HashMap;

    /// Builds every decoder section of `toml` in order; returns the last.
    fn build_all(toml: &str) -> Arc<dyn DecoderFactory> {
        let config = load_str(toml, std::path::Path::new("t.toml")).unwrap();
        let mut decoders: HashMap<String, Arc<dyn DecoderFactory>> = HashMap::new();
        let mut last = None;
        for s in &config.plugins {
            let spec = crate::plugins::registry::find(&s.type_name).unwrap();
            let cx = BuildContext { hekad: &config.hekad, section: s, decoders: &decoders };
            let Ok(Built::Decoder(d)) = (spec.build)(&cx) else { panic!("{}", s.name) };
            decoders.insert(s.name.clone(), Arc::clone(&d));
            last = Some(d);
        }
        last.unwrap()
    }

    const SUBS: &str = r#"
[numbers]
type = "PayloadRegexDecoder"
match_regex = '^(?P<n>\d+)$'
[numbers.message_fields]
Type = "number"
[words]
type = "PayloadRegexDecoder"
match_regex = '^(?P<w>[a-z]+)$'
[words.message_fields]
Type = "word"
[tag]
type = "ScribbleDecoder"
[tag.message_fields]
tagged = "yes"
"#;

    fn decode(f: &Arc<dyn DecoderFactory>, payload: &str) -> Result<Vec<PackMut>, DecodeFailure> {
        let pool = PackPool::new(4);
        let mut pack = pool.get();
        pack.message.payload = payload.as_bytes().to_vec();
        let mut out = Vec::new();
        let env = DecoderEnv { pool: pool.clone(), input_name: "t".into() };
        let mut d = f.build_send(&env).unwrap().unwrap();
        d.decode(pack, &mut DecodeOut::new(&mut out, &pool)).map(|()| out)
    }

    #[test]
    fn first_wins_tries_subs_in_order() {
        let f =
            build_all(&format!("{SUBS}\n[multi]\ntype='MultiDecoder'\nsubs=['numbers','words']\n"));
        assert_eq!(decode(&f, "42").unwrap()[0].message.msg_type, b"number");
        assert_eq!(decode(&f, "abc").unwrap()[0].message.msg_type, b"word");
        let e = decode(&f, "!!").unwrap_err();
        assert!(e.message.starts_with("All subdecoders failed"), "{}", e.message);
    }

    #[test]
    fn all_runs_every_sub_and_fails_only_if_none_succeeds() {
        let f = build_all(&format!(
            "{SUBS}\n[multi]\ntype='MultiDecoder'\nsubs=['numbers','tag']\ncascade_strategy='all'\n"
        ));
        let out = decode(&f, "42").unwrap();
        assert_eq!(out[0].message.msg_type, b"number");
        assert_eq!(out[0].message.field_value("tagged", 0, 0), Some(Scalar::String(b"yes")));
        let out = decode(&f, "abc").unwrap();
        assert_eq!(out.len(), 1, "numbers failed, tag succeeded");
        let f = build_all(&format!(
            "{SUBS}\n[multi]\ntype='MultiDecoder'\nsubs=['numbers','words']\ncascade_strategy='all'\n"
        ));
        assert!(decode(&f, "!!").is_err());
    }
}
