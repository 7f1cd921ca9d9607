//! `PayloadRegexDecoder`: matches the Payload against a regex with named
//! captures and fills the message from a template (`[x.message_fields]`).
//! A capture named `Timestamp` is parsed with `timestamp_layout` (a Go
//! layout or `Epoch`/`EpochMilli`/`EpochMicro`/`EpochNano`) in
//! `timestamp_location`; one named `Severity` is mapped through
//! `[x.severity_map]` or parsed as a number. Fields are strings, as in Heka.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use regex::bytes::Regex;
use serde::Deserialize;

use super::template::MessageTemplate;
use crate::config::{Category, ConfigError};
use crate::message::{PackMut, time::parse_with_layout};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{DecodeFailure, DecodeOut, Decoder};

/// Options of `PayloadRegexDecoder`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayloadRegexDecoderConfig {
    /// The regex (must have capture groups).
    pub match_regex: String,
    /// Severity names to numbers.
    pub severity_map: HashMap<String, i32>,
    /// The message template.
    pub message_fields: BTreeMap<String, String>,
    /// Layout of the `Timestamp` capture.
    pub timestamp_layout: String,
    /// Zone of timestamps without one (IANA name).
    pub timestamp_location: String,
    /// Log decode errors (counted either way).
    pub log_errors: bool,
}

impl Default for PayloadRegexDecoderConfig {
    fn default() -> Self {
        PayloadRegexDecoderConfig {
            match_regex: String::new(),
            severity_map: HashMap::new(),
            message_fields: BTreeMap::new(),
            timestamp_layout: "2006-01-02T15:04:05Z07:00".into(),
            timestamp_location: "UTC".into(),
            log_errors: true,
        }
    }
}

/// The decoder (shared, immutable; cloned per stream cheaply).
#[derive(Debug, Clone)]
pub struct PayloadRegexDecoder {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    regex: Regex,
    names: Vec<String>,
    severity_map: HashMap<String, i32>,
    template: MessageTemplate,
    layout: String,
    tz: jiff::tz::TimeZone,
}

impl Decoder for PayloadRegexDecoder {
    fn decode(&mut self, mut pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure> {
        let inner = &self.inner;
        // The captured text, one per name: copied, as the message changes
        // while it is read.
        let values: Vec<String> = {
            let Some(caps) = inner.regex.captures(&pack.message.payload) else {
                return Err(DecodeFailure::new(pack, "No match"));
            };
            (1..=inner.names.len())
                .map(|i| {
                    let text = caps.get(i).map(|m| m.as_bytes()).unwrap_or_default();
                    String::from_utf8_lossy(text).into_owned()
                })
                .collect()
        };
        let get = |k: &str| inner.names.iter().position(|n| n == k).map(|i| values[i].as_str());
        if let Some(ts) = get("Timestamp") {
            match parse_with_layout(&inner.layout, ts, Some(&inner.tz)) {
                Some(ns) => pack.message.timestamp = ns,
                None => {
                    return Err(DecodeFailure::new(
                        pack,
                        format!("Don't recognize Timestamp: '{ts}'"),
                    ));
                }
            }
        }
        if let Some(sev) = get("Severity") {
            match inner.severity_map.get(sev).copied().or_else(|| sev.parse().ok()) {
                Some(n) => pack.message.severity = Some(n),
                None => {
                    return Err(DecodeFailure::new(
                        pack,
                        format!("Don't recognize severity: '{sev}'"),
                    ));
                }
            }
        }
        if let Err(e) = inner.template.populate(&mut pack.message, Some(&get)) {
            return Err(DecodeFailure::new(pack, e));
        }
        pack.invalidate_bytes();
        out.push(pack);
        Ok(())
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: PayloadRegexDecoderConfig = cx.config()?;
    let regex =
        Regex::new(&c.match_regex).map_err(|e| cx.error(Some("match_regex"), e.to_string()))?;
    if regex.captures_len() < 2 {
        return Err(cx.error(Some("match_regex"), "must contain capture groups"));
    }
    let names = regex
        .capture_names()
        .skip(1)
        .enumerate()
        .map(|(i, n)| n.map_or_else(|| (i + 1).to_string(), str::to_string))
        .collect();
    let tz = jiff::tz::TimeZone::get(&c.timestamp_location).map_err(|e| {
        cx.error(
            Some("timestamp_location"),
            format!("unknown timestamp_location '{}': {e}", c.timestamp_location),
        )
    })?;
    Ok(Built::Decoder(Arc::new(PayloadRegexDecoder {
        inner: Arc::new(Inner {
            regex,
            names,
            severity_map: c.severity_map,
            template: MessageTemplate::new(&c.message_fields),
            layout: c.timestamp_layout,
            tz,
        }),
    })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "PayloadRegexDecoder",
    category: Category::Decoder,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::message::{PackPool, Scalar};
    use crate::plugins::registry::BuildContext;
    use crate::plugins::{DecoderEnv, DecoderFactory};
    use std::collections::HashMap as Map;

    fn decoder(toml: &str) -> Result<Arc<dyn DecoderFactory>, ConfigError> {
        let config = load_str(toml, std::path::Path::new("t.toml")).unwrap();
        let decoders = Map::new();
        let cx =
            BuildContext { hekad: &config.hekad, section: &config.plugins[0], decoders: &decoders };
        match build(&cx)? {
            Built::Decoder(d) => Ok(d),
            _ => panic!("not a decoder"),
        }
    }

    const CONFIG: &str = r#"
[apache]
type = "PayloadRegexDecoder"
match_regex = '^(?P<RemoteIP>\S+) \S+ \S+ \[(?P<Timestamp>[^\]]+)\] "(?P<Method>[A-Z]+) (?P<Url>\S+)[^"]*" (?P<StatusCode>\d+) (?P<Severity>\w+)$'
timestamp_layout = "02/Jan/2006:15:04:05 -0700"
[apache.severity_map]
warn = 4
[apache.message_fields]
Type = "ApacheLogfile"
RemoteIP = "%RemoteIP%"
"Status|code" = "%StatusCode%"
Who = "%Missing%"
"#;

    fn run(factory: &Arc<dyn DecoderFactory>, line: &str) -> Result<Vec<PackMut>, DecodeFailure> {
        let pool = PackPool::new(4);
        let mut pack = pool.get();
        pack.message.payload = line.as_bytes().to_vec();
        let mut out = Vec::new();
        let env = DecoderEnv { pool: pool.clone(), input_name: "t".into() };
        let mut d = factory.build(&env).unwrap();
        d.decode(pack, &mut DecodeOut::new(&mut out, &pool)).map(|()| out)
    }

    #[test]
    fn fills_timestamp_severity_headers_and_string_fields() {
        let f = decoder(CONFIG).unwrap();
        let line = r#"10.1.1.4 - - [10/Feb/2014:08:46:41 -0800] "GET /x HTTP/1.1" 404 warn"#;
        let out = run(&f, line).unwrap();
        let m = &out[0].message;
        assert_eq!(m.timestamp, 1392050801000000000);
        assert_eq!(m.severity, Some(4), "mapped through severity_map");
        assert_eq!(m.msg_type, b"ApacheLogfile");
        assert_eq!(m.field_value("RemoteIP", 0, 0), Some(Scalar::String(b"10.1.1.4")));
        let status = m.field("Status").unwrap();
        assert_eq!(status.representation, "code");
        assert_eq!(
            status.value.get(0),
            Some(Scalar::String(b"404")),
            "fields are strings, as in Heka"
        );
        assert_eq!(m.field_value("Who", 0, 0), Some(Scalar::String(b"<Missing>")));
    }

    #[test]
    fn no_match_and_bad_values_fail_with_the_pack() {
        let f = decoder(CONFIG).unwrap();
        let e = run(&f, "nonsense").unwrap_err();
        assert_eq!(e.message, "No match");
        assert!(e.pack.is_some());
        let bad_sev = r#"1.1.1.1 - - [10/Feb/2014:08:46:41 -0800] "GET / HTTP/1.1" 200 loud"#;
        assert!(run(&f, bad_sev).unwrap_err().message.contains("severity"));
    }

    #[test]
    fn config_errors_name_the_key() {
        let e =
            decoder("[d]\ntype='PayloadRegexDecoder'\nmatch_regex='no groups'\n").err().unwrap();
        assert_eq!(e.key.as_deref(), Some("match_regex"));
        let e = decoder("[d]\ntype='PayloadRegexDecoder'\nmatch_regex='(x'\n").err().unwrap();
        assert_eq!(e.key.as_deref(), Some("match_regex"));
        let e = decoder(
            "[d]\ntype='PayloadRegexDecoder'\nmatch_regex='(x)'\ntimestamp_location='Mars/Base'\n",
        )
        .err()
        .unwrap();
        assert_eq!(e.key.as_deref(), Some("timestamp_location"));
    }
}
