//! Loading a configuration from a file, a directory of `*.toml` files or a
//! string: `%ENV[...]` interpolation, TOML parsing, `[hekad]` merged across
//! files, plugin sections in file order. Every error in every file is
//! collected before giving up.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use toml::{Spanned, Value};

use super::common;
use super::env;
use super::error::{ConfigError, ConfigErrors, Report};
use super::hekad::{self, HekadConfig};
use super::section::{self, PluginSection};
use super::value;

/// A whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Globals from `[hekad]` (merged across files, later files win).
    pub hekad: HekadConfig,
    /// Plugin sections in file order (files in name order).
    pub plugins: Vec<PluginSection>,
}

impl Config {
    /// The plugin section called `name`.
    pub fn section(&self, name: &str) -> Option<&PluginSection> {
        self.plugins.iter().find(|s| s.name == name)
    }
}

/// Loads `path`: a TOML file, or a directory whose `*.toml` files are read
/// in name order (other files are ignored).
///
/// `%ENV[NAME]` is replaced by the variable's value before parsing.
/// Keys are matched exactly in snake_case: Heka's old TOML library ignored
/// case, Sandpiper does not (and hints when only the case is wrong).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let (config, errors) = load_partial(path);
    if errors.is_empty() { Ok(config) } else { Err(ConfigErrors(errors)) }
}

/// Like [`load`], but returns what could be loaded together with every
/// error, so later checks (plugin construction) can report their errors in
/// the same run. Sections with errors of their own are still included.
pub fn load_partial(path: &Path) -> (Config, Vec<ConfigError>) {
    let files = match config_files(path) {
        Ok(f) => f,
        Err(e) => {
            return (Config { hekad: HekadConfig::default(), plugins: Vec::new() }, vec![e]);
        }
    };
    let sources = files.into_iter().map(|f| {
        let text = fs::read_to_string(&f);
        (f, text)
    });
    assemble(sources.collect(), &process_env)
}

/// Loads configuration text; `origin` names the "file" in errors.
pub fn load_str(text: &str, origin: &Path) -> Result<Config, ConfigErrors> {
    load_str_with_env(text, origin, &process_env)
}

fn load_str_with_env(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let (config, errors) = assemble(vec![(origin.to_owned(), Ok(text.to_owned()))], env);
    if errors.is_empty() { Ok(config) } else { Err(ConfigErrors(errors)) }
}

/// The first section of configuration text sent by a remote party (a
/// SandboxManagerFilter's `load`): only that section is read and checked,
/// and `%ENV[...]` is *not* interpolated, so the sender cannot read the
/// daemon's environment. `origin` names the "file" in errors.
pub fn first_section_str(text: &str, origin: &Path) -> Result<PluginSection, ConfigErrors> {
    let entries = top_level(text).map_err(|message| ConfigError::new(origin, message))?;
    let Some((name, value)) = entries.into_iter().next() else {
        return Err(ConfigError::new(origin, "no plugin section").into());
    };
    let Value::Table(table) = value else {
        return Err(ConfigError::new(origin, not_a_section(&value)).at_key(name).into());
    };
    if name == "hekad" {
        return Err(ConfigError::new(origin, "expected a plugin section, found [hekad]").into());
    }
    let mut errors = Vec::new();
    let section = section::build(&name, table, origin, &mut errors);
    match section {
        Some(s) if errors.is_empty() => Ok(s),
        _ => Err(ConfigErrors(errors)),
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// `path` itself, or the `*.toml` files directly in it, in name order.
fn config_files(path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let cannot = |e: io::Error| ConfigError::new(path, format!("cannot read: {e}"));
    if !fs::metadata(path).map_err(cannot)?.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(path).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let is_toml = entry.file_name().as_encoded_bytes().ends_with(b".toml");
        if is_toml && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    if files.is_empty() {
        return Err(ConfigError::new(path, "directory has no *.toml files"));
    }
    files.sort();
    Ok(files)
}

/// Parses every source and builds the configuration and all the errors.
fn assemble(
    sources: Vec<(PathBuf, io::Result<String>)>,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Config, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let mut globals: BTreeMap<String, (Value, &Path)> = BTreeMap::new();
    let mut first_seen: HashMap<String, &Path> = HashMap::new();
    let mut plugins = Vec::new();
    for (file, text) in &sources {
        let Some(entries) = parse_file(file, text, env, &mut errors) else { continue };
        for (name, v) in entries {
            match v {
                Value::Table(table) if name == "hekad" => {
                    globals.extend(table.into_iter().map(|(k, v)| (k, (v, file.as_path()))));
                }
                Value::Table(table) => {
                    if let Some(first) = first_seen.get(&name) {
                        let message =
                            format!("duplicate section, already defined in {}", first.display());
                        errors.push(ConfigError::new(file, message).in_section(name));
                        continue;
                    }
                    first_seen.insert(name.clone(), file);
                    plugins.extend(section::build(&name, table, file, &mut errors));
                }
                other => errors.push(ConfigError::new(file, not_a_section(&other)).at_key(name)),
            }
        }
    }
    let entries = globals.iter().map(|(k, (v, file))| (k.as_str(), v, *file));
    let hekad = hekad::parse(entries, &mut errors);
    for s in &plugins {
        let mut r = Report::new(&s.file, Some(&s.name), &mut errors);
        common::check_record_size(&s.common, hekad.max_record_size(), &mut r);
    }
    // Group by file, in load order; within a file, in the order found.
    errors.sort_by_key(|e| sources.iter().position(|(f, _)| *f == e.file));
    (Config { hekad, plugins }, errors)
}

/// The top-level entries of one file in the order they appear, or `None`
/// (with the error recorded) if it cannot be read, interpolated or parsed.
fn parse_file(
    file: &Path,
    text: &io::Result<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<(String, Value)>> {
    let parsed = match text {
        Ok(text) => parse_text(text, lookup),
        Err(e) => Err(format!("cannot read: {e}")),
    };
    parsed.map_err(|message| errors.push(ConfigError::new(file, message))).ok()
}

fn parse_text(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Value)>, String> {
    top_level(&env::substitute(text, lookup)?)
}

/// The top-level entries of TOML text in the order they appear.
fn top_level(text: &str) -> Result<Vec<(String, Value)>, String> {
    let top: BTreeMap<Spanned<String>, Value> =
        toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
    let mut entries: Vec<_> = top.into_iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    Ok(entries.into_iter().map(|(name, v)| (name.into_inner(), v)).collect())
}

/// The error for a top-level key that is not a `[section]` table.
fn not_a_section(v: &Value) -> String {
    format!("expected a [section] table, found {}", value::describe(v))
}

/// "TOML syntax error at line L, column C: ..." (1-based).
fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let mut at = span.start.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let column = text[line_start..at].chars().count() + 1;
            let line = env::line_of(text, at);
            format!("TOML syntax error at line {line}, column {column}: {}", e.message())
        }
        None => format!("TOML syntax error: {}", e.message()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Category, CommonConfig, FullAction, RetryConfig, plugin_config};

    const SEED: &str = r#"
[hekad]
cpuprof = "log/cpuprof.log"
memprof = "log/memprof.log"
maxprocs = 24
base_dir = "base_dir"
pid_file = "hekad.pid"
[LogstreamerInput]
log_directory = "/some/dir"
file_match = 'access\.log'
[PayloadEncoder]
append_newlines = false
[LogOutput]
message_matcher = "TRUE"
encoder = "PayloadEncoder"
"#;

    fn errors_of(result: Result<Config, ConfigErrors>) -> Vec<String> {
        result.unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    fn names(config: &Config) -> Vec<&str> {
        config.plugins.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn first_section_str_reads_only_the_first_section_verbatim() {
        let text = "[b_first]\ntype = 'SandboxFilter'\nmessage_matcher = 'TRUE'\n\
                    filename = '%ENV[HOME]'\n[a_second]\ntype = 'Bogus'\n";
        let s = first_section_str(text, Path::new("t.toml")).unwrap();
        assert_eq!((s.name.as_str(), s.type_name.as_str()), ("b_first", "SandboxFilter"));
        assert_eq!(s.table["filename"].as_str(), Some("%ENV[HOME]"), "no interpolation");
        let common = s.common.filter_output().unwrap();
        assert_eq!(common.message_matcher.as_deref(), Some("TRUE"));
        let err = first_section_str("[x\n", Path::new("t.toml")).unwrap_err().to_string();
        assert!(err.starts_with("t.toml: TOML syntax error at line 1"), "{err}");
        let err = first_section_str("", Path::new("t.toml")).unwrap_err().to_string();
        assert_eq!(err, "t.toml: no plugin section");
        let err = first_section_str("a = 1", Path::new("t.toml")).unwrap_err().to_string();
        assert!(err.contains("expected a [section] table"), "{err}");
        let err = first_section_str("[hekad]\nmaxprocs = 1", Path::new("t.toml")).unwrap_err();
        assert!(err.to_string().contains("found [hekad]"), "{err}");
        let err = first_section_str("[f]\ntype = 'Nope'", Path::new("t.toml")).unwrap_err();
        assert!(err.to_string().contains("unrecognized plugin category"), "{err}");
    }

    #[test]
    fn seed_config_loads() {
        let c = load_str(SEED, Path::new("seed.toml")).unwrap();
        assert_eq!(c.hekad.maxprocs, 24);
        assert_eq!(c.hekad.cpuprof, Some(PathBuf::from("log/cpuprof.log")));
        assert_eq!(c.hekad.memprof, Some(PathBuf::from("log/memprof.log")));
        assert_eq!(c.hekad.pid_file, Some(PathBuf::from("hekad.pid")));
        assert_eq!(c.hekad.base_dir, std::env::current_dir().unwrap().join("base_dir"));
        assert_eq!(names(&c), vec!["LogstreamerInput", "PayloadEncoder", "LogOutput"]);
        let input = c.section("LogstreamerInput").unwrap();
        assert_eq!(input.category, Category::Input);
        assert_eq!(input.table["file_match"].as_str(), Some("access\\.log"));
        assert_eq!(input.file, PathBuf::from("seed.toml"));
        let encoder = c.section("PayloadEncoder").unwrap();
        assert_eq!(
            (encoder.category, &encoder.common),
            (Category::Encoder, &CommonConfig::Encoder)
        );
        assert_eq!(encoder.table["append_newlines"].as_bool(), Some(false));
        let output = c.section("LogOutput").unwrap();
        let common = output.common.filter_output().unwrap();
        assert_eq!(common.message_matcher.as_deref(), Some("TRUE"));
        assert_eq!(common.encoder.as_deref(), Some("PayloadEncoder"));
        assert!(output.table.is_empty());
    }

    #[test]
    fn good_config_with_default_and_explicit_types_in_file_order() {
        let c = load_str(
            r#"
            [TcpInput]
            address = "127.0.0.1:5565"

            [sample]
            type = "StatFilter"
            message_matcher = "Type == 'counter'"

            [default]
            type = "StatFilter"

            [ProtobufDecoder]

            [counter_file]
            type = "FileOutput"
            message_matcher = "Type == 'heka.counter-output'"
            path = "counter.log"
            "#,
            Path::new("good.toml"),
        )
        .unwrap();
        assert_eq!(
            names(&c),
            vec!["TcpInput", "sample", "default", "ProtobufDecoder", "counter_file"],
            "file order, not alphabetical"
        );
        let types: Vec<(&str, Category)> =
            c.plugins.iter().map(|s| (s.type_name.as_str(), s.category)).collect();
        assert_eq!(
            types,
            vec![
                ("TcpInput", Category::Input),
                ("StatFilter", Category::Filter),
                ("StatFilter", Category::Filter),
                ("ProtobufDecoder", Category::Decoder),
                ("FileOutput", Category::Output),
            ]
        );
        assert_eq!(c.section("counter_file").unwrap().table.keys().collect::<Vec<_>>(), ["path"]);
        assert!(c.section("nope").is_none());
    }

    #[test]
    fn common_options_with_retries_and_buffering() {
        let c = load_str(
            r#"
            [UdpInput]
            address = "127.0.0.1:5565"
            splitter = "HekaFramingSplitter"
            decoder = "ProtobufDecoder"
            [UdpInput.retries]
            max_delay = "30s"
            delay = "250ms"
            max_retries = 5

            [CounterFilter]
            message_matcher = "Type != 'heka.counter-output'"
            message_signer = "some_signer"
            ticker_interval = 10

            [TcpOutput]
            address = "10.0.0.1:5565"
            message_matcher = "TRUE"
            use_buffering = true
            [TcpOutput.buffering]
            full_action = "block"
            "#,
            Path::new("common.toml"),
        )
        .unwrap();
        let input = c.section("UdpInput").unwrap();
        let ic = input.common.input().unwrap();
        assert_eq!(ic.splitter.as_deref(), Some("HekaFramingSplitter"));
        assert_eq!(ic.retries, RetryConfig { max_retries: 5, ..RetryConfig::default() });
        assert_eq!(input.table.keys().collect::<Vec<_>>(), ["address"]);
        let fc = c.section("CounterFilter").unwrap().common.filter_output().unwrap();
        assert_eq!(fc.message_signer.as_deref(), Some("some_signer"));
        assert_eq!(fc.ticker_interval, Some(10));
        assert_eq!(fc.retries, RetryConfig::default());
        assert_eq!(fc.use_buffering, None, "the plugin decides its default");
        let oc = c.section("TcpOutput").unwrap().common.filter_output().unwrap();
        assert_eq!(oc.use_buffering, Some(true));
        let b = oc.buffering.unwrap();
        assert_eq!(b.full_action, FullAction::Block);
        assert_eq!((b.max_file_size, b.max_buffer_size, b.cursor_update_count), (512 << 20, 0, 1));
    }

    #[test]
    fn unknown_hekad_key_is_an_error() {
        let errors =
            errors_of(load_str("[hekad]\nmaxprocs = 2\nmax_procs = 4", Path::new("h.toml")));
        assert_eq!(errors, vec!["h.toml: [hekad] unknown config setting 'max_procs'"]);
    }

    #[test]
    fn unknown_and_ill_typed_common_keys_are_errors() {
        let errors = errors_of(load_str(
            r#"
            [LogOutput]
            message_matcher = "TRUE"
            ticker_interval = "x"
            [LogOutput.retries]
            max_retry = 3
            [LogOutput.buffering]
            full_action = "explode"
            "#,
            Path::new("c.toml"),
        ));
        assert_eq!(
            errors,
            vec![
                "c.toml: [LogOutput] ticker_interval: invalid type: string \"x\", \
                 expected an integer",
                "c.toml: [LogOutput] buffering.full_action: unknown value \"explode\", \
                 expected \"shutdown\", \"drop\" or \"block\"",
                "c.toml: [LogOutput] unknown config setting 'retries.max_retry'",
            ]
        );
    }

    #[test]
    fn unrecognized_category_is_reported_by_load() {
        let errors = errors_of(load_str("[MyPlugin]\n[ok]\ntype = \"LogOutput\"", Path::new("c")));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("c: [MyPlugin] unrecognized plugin category"), "{errors:?}");
    }

    fn env(name: &str) -> Option<String> {
        (name == "LOG_ENCODER").then(|| "PayloadEncoder".to_owned())
    }

    #[test]
    fn env_interpolation_in_section_names_and_values() {
        let text = "[%ENV[LOG_ENCODER]]\n\n[LogOutput]\ntype = \"LogOutput\"\n\
                    message_matcher = \"TRUE\"\nencoder = \"%ENV[LOG_ENCODER]\"\n";
        let c = load_str_with_env(text, Path::new("env.toml"), &env).unwrap();
        assert_eq!(names(&c), vec!["PayloadEncoder", "LogOutput"]);
        assert_eq!(c.plugins[0].category, Category::Encoder);
        let common = c.plugins[1].common.filter_output().unwrap();
        assert_eq!(common.encoder.as_deref(), Some("PayloadEncoder"));
    }

    #[test]
    fn env_errors_name_the_file_and_line() {
        let missing =
            "[LogOutput]\ntype = \"LogOutput\"\nencoder = \"%ENV[this_has_no_ending\"\n\n";
        let errors = errors_of(load_str_with_env(missing, Path::new("bad1.toml"), &env));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("bad1.toml: line 3: missing closing delimiter ']'"),
            "{errors:?}"
        );
        let spaces = "[TestOut]\ntype = \"LogOutput\"\nencoder = \"%ENV[ spaces arent allowed]\"\n";
        let errors = errors_of(load_str_with_env(spaces, Path::new("bad2.toml"), &env));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .starts_with("bad2.toml: line 3: invalid characters in environment variable name"),
            "{errors:?}"
        );
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let errors = errors_of(load_str("[a]\nx = 1\ny = = 2\n", Path::new("s.toml")));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("s.toml: TOML syntax error at line 3, column"), "{errors:?}");
        let errors = errors_of(load_str("[TcpInput]\n[TcpInput]\n", Path::new("d.toml")));
        assert!(errors[0].starts_with("d.toml: TOML syntax error at line 2"), "{errors:?}");
    }

    #[test]
    fn top_level_keys_must_be_sections() {
        let errors = errors_of(load_str("maxprocs = 4\n[LogOutput]\n", Path::new("t.toml")));
        assert_eq!(errors, vec!["t.toml: maxprocs: expected a [section] table, found integer 4"]);
    }

    #[test]
    fn three_independent_mistakes_give_three_errors() {
        let errors = errors_of(load_str(
            r#"
            [hekad]
            max_message_size = 100

            [Tailer]
            type = "Tail"

            [LogOutput]
            message_matcher = "TRUE"
            can_exit = "no"
            "#,
            Path::new("three.toml"),
        ));
        assert_eq!(
            errors,
            vec![
                "three.toml: [Tailer] type: unrecognized plugin category for type 'Tail': \
                 a type name ends in Input, Splitter, Decoder, Filter, Encoder or Output",
                "three.toml: [LogOutput] can_exit: invalid type: string \"no\", \
                 expected a boolean (true or false)",
                "three.toml: [hekad] max_message_size: must be greater than 1024",
            ]
        );
    }

    #[test]
    fn record_size_limits_follow_max_message_size() {
        let text = "[hekad]\nmax_message_size = 2048\n\
                    [TokenSplitter]\nmin_buffer_size = 4096\n";
        let errors = errors_of(load_str(text, Path::new("r.toml")));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("r.toml: [TokenSplitter] min_buffer_size: must be at most"));
        let text = "[hekad]\nmax_message_size = 8192\n[TokenSplitter]\nmin_buffer_size = 4096\n";
        assert!(load_str(text, Path::new("r.toml")).is_ok());
    }

    fn write(dir: &Path, name: &str, text: &str) {
        fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn directory_loads_toml_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "two.toml",
            "[hekad]\nmaxprocs = 3\n[TwoOutput]\nmessage_matcher = \"TRUE\"",
        );
        write(dir.path(), "one.toml", "[OneInput]\n[hekad]\nmaxprocs = 2\npoolsize = 7");
        write(dir.path(), "nope.toml.no", "this is not toml at all [");
        write(dir.path(), "README", "nor this");
        fs::create_dir(dir.path().join("sub.toml")).unwrap();
        let c = load(dir.path()).unwrap();
        assert_eq!(names(&c), vec!["OneInput", "TwoOutput"]);
        assert_eq!(c.plugins[0].file, dir.path().join("one.toml"));
        assert_eq!(c.plugins[1].file, dir.path().join("two.toml"));
        assert_eq!(c.hekad.maxprocs, 3, "later files win");
        assert_eq!(c.hekad.poolsize, 7, "keys not overridden are kept");
    }

    #[test]
    fn hekad_errors_name_the_file_whose_value_won() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", "[hekad]\nsample_denominator = 0\nlog_flags = -1");
        write(dir.path(), "b.toml", "[hekad]\nsample_denominator = 5");
        let errors = errors_of(load(dir.path()));
        let a = dir.path().join("a.toml");
        assert_eq!(
            errors,
            vec![format!("{}: [hekad] log_flags: must not be negative", a.display())]
        );
    }

    #[test]
    fn duplicate_sections_across_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1.toml", "[LogOutput]\nmessage_matcher = \"TRUE\"");
        write(dir.path(), "2.toml", "[LogOutput]\nmessage_matcher = \"FALSE\"");
        let errors = errors_of(load(dir.path()));
        let (one, two) = (dir.path().join("1.toml"), dir.path().join("2.toml"));
        assert_eq!(
            errors,
            vec![format!(
                "{}: [LogOutput] duplicate section, already defined in {}",
                two.display(),
                one.display()
            )]
        );
    }

    #[test]
    fn errors_from_every_file_are_collected_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", "[x]\ny = = 1");
        write(dir.path(), "b.toml", "[LogOutput]\nticker_interval = -1\n[hekad]\nbogus = 1");
        write(dir.path(), "c.toml", "[c]\ntype = \"%ENV[oops\"");
        let errors = load(dir.path()).unwrap_err().0;
        let files: Vec<&Path> = errors.iter().map(|e| e.file.as_path()).collect();
        let (a, b, c) =
            (dir.path().join("a.toml"), dir.path().join("b.toml"), dir.path().join("c.toml"));
        assert_eq!(files, vec![a.as_path(), b.as_path(), b.as_path(), c.as_path()]);
        assert_eq!(errors[1].key.as_deref(), Some("ticker_interval"));
        assert_eq!(errors[2].section.as_deref(), Some("hekad"));
    }

    #[test]
    fn missing_paths_and_empty_directories_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let errors = errors_of(load(&missing));
        assert!(errors[0].starts_with(&format!("{}: cannot read:", missing.display())));
        write(dir.path(), "notes.txt", "");
        let errors = errors_of(load(dir.path()));
        assert_eq!(
            errors,
            vec![format!("{}: directory has no *.toml files", dir.path().display())]
        );
    }

    #[test]
    fn a_single_file_loads_by_path() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "hekad.conf", SEED);
        let c = load(&dir.path().join("hekad.conf")).unwrap();
        assert_eq!(c.plugins.len(), 3);
        assert_eq!(c.hekad.max_pack_idle, Duration::from_secs(120));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Logstreamer {
        log_directory: String,
        file_match: String,
    }

    #[test]
    fn plugin_config_reads_a_loaded_section() {
        let c = load_str(SEED, Path::new("seed.toml")).unwrap();
        let ls: Logstreamer = plugin_config(c.section("LogstreamerInput").unwrap()).unwrap();
        assert_eq!(
            (ls.log_directory.as_str(), ls.file_match.as_str()),
            ("/some/dir", "access\\.log")
        );
        let bad = SEED.replace("file_match", "parser_type");
        let c = load_str(&bad, Path::new("seed.toml")).unwrap();
        let err = plugin_config::<Logstreamer>(c.section("LogstreamerInput").unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "seed.toml: [LogstreamerInput] unknown config setting 'parser_type'"
        );
    }
}
