//! Plugin sections: every top-level table other than `[hekad]` names one
//! plugin instance. Its type (the `type` key, else the section name) ends
//! in the plugin's category; its common options are parsed here and the
//! rest is left for the plugin's own config struct ([`plugin_config`]).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Table;

use super::common::{self, CommonConfig};
use super::error::{ConfigError, Report};
use super::value;

/// What a plugin does, from the suffix of its type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Input,
    Splitter,
    Decoder,
    Filter,
    Encoder,
    Output,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 6] = [
        Category::Input,
        Category::Splitter,
        Category::Decoder,
        Category::Filter,
        Category::Encoder,
        Category::Output,
    ];

    /// The type-name suffix: `Input`, `Splitter`, ...
    pub fn suffix(self) -> &'static str {
        match self {
            Category::Input => "Input",
            Category::Splitter => "Splitter",
            Category::Decoder => "Decoder",
            Category::Filter => "Filter",
            Category::Encoder => "Encoder",
            Category::Output => "Output",
        }
    }

    /// The category of a type name, from its suffix (Heka's
    /// `(Decoder|Encoder|Filter|Input|Output|Splitter)$`).
    pub fn from_type_name(type_name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| type_name.ends_with(c.suffix()))
    }

    /// The lowercase word: `input`, `splitter`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Input => "input",
            Category::Splitter => "splitter",
            Category::Decoder => "decoder",
            Category::Filter => "filter",
            Category::Encoder => "encoder",
            Category::Output => "output",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One plugin instance as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSection {
    /// Instance name: the section name.
    pub name: String,
    /// Plugin type: `type`, else the section name.
    pub type_name: String,
    /// From the type name's suffix.
    pub category: Category,
    /// The file the section is in.
    pub file: PathBuf,
    /// Plugin-specific keys only: `type` and the category's common keys
    /// are removed.
    pub table: Table,
    /// The category's common options.
    pub common: CommonConfig,
}

impl PluginSection {
    /// An error about this section's `key`, for a plugin's own checks.
    pub fn key_error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.error(message).at_key(key)
    }

    /// An error about this section as a whole.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.file, message).in_section(&self.name)
    }
}

/// Builds the section `name` from its table, reporting every mistake.
/// Returns `None` when no category can be derived.
pub(crate) fn build(
    name: &str,
    mut table: Table,
    file: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<PluginSection> {
    let mut r = Report::new(file, Some(name), errors);
    let type_name = match table.remove("type") {
        None => name.to_owned(),
        Some(v) => match value::string(&v) {
            Ok(t) if !t.is_empty() => t,
            Ok(_) => {
                r.key("type", "must not be empty");
                return None;
            }
            Err(e) => {
                r.key("type", e);
                return None;
            }
        },
    };
    let Some(category) = Category::from_type_name(&type_name) else {
        let mut message = format!(
            "unrecognized plugin category for type '{type_name}': a type name ends in \
             Input, Splitter, Decoder, Filter, Encoder or Output"
        );
        if name.eq_ignore_ascii_case("hekad") {
            message.push_str(" (section names are case-sensitive: globals go in [hekad])");
        }
        if type_name == name {
            r.section(message);
        } else {
            r.key("type", message);
        }
        return None;
    };
    let common = common::take(category, &mut table, &mut r);
    let file = file.to_owned();
    Some(PluginSection { name: name.to_owned(), type_name, category, file, table, common })
}

/// Deserializes a section's plugin-specific table into the plugin's config
/// struct (which should use `#[serde(deny_unknown_fields)]`). Errors name
/// the file, section and key: an unknown key gives
/// `unknown config setting 'key'`, a wrong type `key: invalid type: ...`.
pub fn plugin_config<T: DeserializeOwned>(section: &PluginSection) -> Result<T, ConfigError> {
    section.table.clone().try_into().map_err(|e: toml::de::Error| {
        let (key, message) = describe_serde_error(&e);
        let error = section.error(message);
        match key {
            Some(key) => error.at_key(key),
            None => error,
        }
    })
}

/// Splits a serde error from a `toml::Value` into the dotted key at fault
/// and a message. toml appends the path of the value as a last line
/// "in `a.b`"; serde names unknown and missing fields in backticks.
fn describe_serde_error(e: &toml::de::Error) -> (Option<String>, String) {
    let shown = e.to_string();
    let path = shown
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("in `"))
        .and_then(|l| l.strip_suffix('`'))
        .map(str::to_owned);
    let message = e.message();
    let join = |leaf: &str| match &path {
        Some(p) => format!("{p}.{leaf}"),
        None => leaf.to_owned(),
    };
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if message.starts_with("unknown field `")
        && let Some((field, expected)) = quoted.split_first()
    {
        let key = join(field);
        return (Some(key.clone()), value::unknown_setting(&key, expected));
    }
    if message.starts_with("missing field `")
        && let Some(field) = quoted.first()
    {
        return (Some(join(field)), "missing required setting".to_owned());
    }
    (path, message.to_owned())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn build_str(name: &str, text: &str) -> (Option<PluginSection>, Vec<String>) {
        let mut errors = Vec::new();
        let s = build(name, text.parse().unwrap(), Path::new("c.toml"), &mut errors);
        (s, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn category_comes_from_the_type_suffix() {
        for (t, c) in [
            ("TcpInput", Category::Input),
            ("TokenSplitter", Category::Splitter),
            ("PayloadRegexDecoder", Category::Decoder),
            ("SandboxFilter", Category::Filter),
            ("PayloadEncoder", Category::Encoder),
            ("LogOutput", Category::Output),
            ("Output", Category::Output),
        ] {
            assert_eq!(Category::from_type_name(t), Some(c), "{t}");
        }
        for t in ["Tcp", "TcpInputs", "tcpinput", "InputTcp", ""] {
            assert_eq!(Category::from_type_name(t), None, "{t}");
        }
        assert_eq!(Category::Splitter.to_string(), "splitter");
    }

    #[test]
    fn section_name_is_the_default_type() {
        let (s, errors) = build_str("LogOutput", "message_matcher = \"TRUE\"\nfoo = 1");
        assert!(errors.is_empty());
        let s = s.unwrap();
        assert_eq!((s.name.as_str(), s.type_name.as_str()), ("LogOutput", "LogOutput"));
        assert_eq!(s.category, Category::Output);
        assert_eq!(s.file, PathBuf::from("c.toml"));
        assert_eq!(s.table.keys().collect::<Vec<_>>(), vec!["foo"]);
    }

    #[test]
    fn explicit_type_is_used_and_removed() {
        let (s, errors) = build_str("counter", "type = \"CounterFilter\"\nticker_interval = 1");
        assert!(errors.is_empty());
        let s = s.unwrap();
        assert_eq!((s.name.as_str(), s.type_name.as_str()), ("counter", "CounterFilter"));
        assert_eq!(s.category, Category::Filter);
        assert!(s.table.is_empty());
    }

    #[test]
    fn unrecognized_category_is_an_error() {
        let (s, errors) = build_str("nginx_access", "type = \"Nginx\"");
        assert!(s.is_none());
        assert_eq!(
            errors,
            vec![
                "c.toml: [nginx_access] type: unrecognized plugin category for type 'Nginx': \
                 a type name ends in Input, Splitter, Decoder, Filter, Encoder or Output"
            ]
        );
        let (_, errors) = build_str("Hekad", "maxprocs = 2");
        assert!(errors[0].starts_with("c.toml: [Hekad] unrecognized plugin category"));
        assert!(errors[0].contains("globals go in [hekad]"));
    }

    #[test]
    fn bad_type_values_are_errors() {
        let (s, errors) = build_str("x", "type = 5");
        assert!(s.is_none());
        assert_eq!(errors, vec!["c.toml: [x] type: invalid type: integer 5, expected a string"]);
        let (_, errors) = build_str("x", "type = \"\"");
        assert_eq!(errors, vec!["c.toml: [x] type: must not be empty"]);
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct TcpConfig {
        address: String,
        #[serde(default)]
        tls: Option<Tls>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Tls {
        cert_file: String,
    }

    fn tcp(text: &str) -> Result<TcpConfig, String> {
        let (s, errors) = build_str("tcp_in", &format!("type = \"TcpInput\"\n{text}"));
        assert!(errors.is_empty(), "{errors:?}");
        plugin_config::<TcpConfig>(&s.unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn plugin_config_reads_the_plugin_keys() {
        let c = tcp("address = \"127.0.0.1:5565\"\ndecoder = \"ProtobufDecoder\"").unwrap();
        assert_eq!(c, TcpConfig { address: "127.0.0.1:5565".into(), tls: None });
    }

    #[test]
    fn plugin_config_unknown_key_names_section_and_key() {
        assert_eq!(
            tcp("address = \"a\"\nparser_type = \"token\"").unwrap_err(),
            "c.toml: [tcp_in] unknown config setting 'parser_type'"
        );
        assert_eq!(
            tcp("Address = \"a\"").unwrap_err(),
            "c.toml: [tcp_in] unknown config setting 'Address' \
             (keys are case-sensitive: use 'address')"
        );
        assert_eq!(
            tcp("address = \"a\"\n[tls]\ncert = \"x\"").unwrap_err(),
            "c.toml: [tcp_in] unknown config setting 'tls.cert'"
        );
    }

    #[test]
    fn plugin_config_wrong_type_names_section_and_key() {
        assert_eq!(
            tcp("address = 1000").unwrap_err(),
            "c.toml: [tcp_in] address: invalid type: integer `1000`, expected a string"
        );
        assert_eq!(
            tcp("address = \"a\"\n[tls]\ncert_file = false").unwrap_err(),
            "c.toml: [tcp_in] tls.cert_file: invalid type: boolean `false`, expected a string"
        );
        assert_eq!(tcp("").unwrap_err(), "c.toml: [tcp_in] address: missing required setting");
    }

    #[test]
    fn plugin_errors_can_be_made_for_a_section() {
        let (s, _) = build_str("tcp_in", "type = \"TcpInput\"");
        let e = s.unwrap().key_error("address", "cannot resolve host");
        assert_eq!(e.to_string(), "c.toml: [tcp_in] address: cannot resolve host");
    }
}
