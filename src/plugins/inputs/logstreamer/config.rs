//! LogstreamerInput's plugin-specific configuration keys (Heka's names and
//! defaults) and their validation into ready-to-use [`LogstreamerSettings`].
//!
//! The common input keys (`splitter`, `decoder`, ...) are not here: the
//! config loader strips them before this struct is deserialized.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

use crate::config::parse_duration;

/// The translation-map key that gives the sort value of an absent optional
/// group (instead of −1).
pub const MISSING_KEY: &str = "missing";

/// `[name]` section keys of a LogstreamerInput, as written in TOML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogstreamerInputConfig {
    /// Root of the recursive scan (default "/var/log").
    pub log_directory: PathBuf,
    /// Regex on the path relative to `log_directory`; required.
    pub file_match: String,
    /// Group names sorting each stream's files, `^Name` for descending.
    pub priority: Vec<String>,
    /// Literal strings and group names concatenated into a stream name.
    pub differentiator: Vec<String>,
    /// Group name → (lowercase value → sort integer).
    pub translation: BTreeMap<String, BTreeMap<String, i64>>,
    /// Files whose mtime is older than this are ignored (default "720h").
    pub oldest_duration: String,
    /// Where journals go; relative paths are under `base_dir`.
    /// Default: `<base_dir>/logstreamer`.
    pub journal_directory: Option<PathBuf>,
    /// How often the directory is rescanned (default "1m").
    pub rescan_interval: String,
    /// How long to sleep when an open file has no new data (default "250ms").
    pub check_data_interval: String,
    /// Without a journal, start at the end of the newest file (default false).
    pub initial_tail: bool,
    /// Hostname stamped on messages (default: the host's).
    pub hostname: Option<String>,
}

impl Default for LogstreamerInputConfig {
    fn default() -> Self {
        LogstreamerInputConfig {
            log_directory: PathBuf::from("/var/log"),
            file_match: String::new(),
            priority: Vec::new(),
            differentiator: Vec::new(),
            translation: BTreeMap::new(),
            oldest_duration: "720h".to_owned(),
            journal_directory: None,
            rescan_interval: "1m".to_owned(),
            check_data_interval: "250ms".to_owned(),
            initial_tail: false,
            hostname: None,
        }
    }
}

/// One `priority` entry: a group and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityKey {
    /// The regex group name.
    pub group: String,
    /// `^Name`: larger values are older.
    pub descending: bool,
}

/// One `differentiator` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePart {
    /// The value of this regex group (empty when the group did not match).
    Group(String),
    /// This text as is.
    Literal(String),
}

/// A validated configuration: regex compiled, durations parsed, paths made
/// absolute. Cheap to clone (the regex is shared).
#[derive(Debug, Clone)]
pub struct LogstreamerSettings {
    /// Absolute root of the scan.
    pub log_directory: PathBuf,
    /// `file_match` with `$` appended when it was missing.
    pub file_match: Regex,
    /// Sort keys, most significant first.
    pub priority: Vec<PriorityKey>,
    /// Stream naming; empty means "one stream named after the plugin".
    pub differentiator: Vec<NamePart>,
    /// Group → lowercase value → sort integer.
    pub translation: HashMap<String, HashMap<String, i64>>,
    /// Maximum file age (mtime).
    pub oldest_duration: Duration,
    /// Absolute journal directory.
    pub journal_directory: PathBuf,
    /// Directory rescan period.
    pub rescan_interval: Duration,
    /// Poll period for new data.
    pub check_data_interval: Duration,
    /// Start new streams (no journal) at the end of the newest file.
    pub initial_tail: bool,
    /// Hostname override.
    pub hostname: Option<String>,
}

/// One problem in a LogstreamerInput section; the message names the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `file_match` absent or empty.
    #[error("file_match: required (a regex on paths relative to log_directory)")]
    MissingFileMatch,
    /// `file_match` does not compile.
    #[error("file_match: invalid regex {pattern:?}: {reason}")]
    BadRegex {
        /// The pattern as written.
        pattern: String,
        /// The regex crate's explanation.
        reason: String,
    },
    /// `log_directory` empty or not resolvable.
    #[error("log_directory: {reason}")]
    BadLogDirectory {
        /// What is wrong.
        reason: String,
    },
    /// A `priority` entry names no group of `file_match`.
    #[error("priority: {entry:?} names no group of file_match (groups: {known})")]
    UnknownPriorityGroup {
        /// The entry as written.
        entry: String,
        /// The groups that exist.
        known: String,
    },
    /// A `differentiator` entry differs from a group name only by case: a
    /// typo rather than a literal.
    #[error("differentiator: {entry:?} is not a group of file_match; did you mean {group:?}?")]
    DifferentiatorCase {
        /// The entry as written.
        entry: String,
        /// The group it resembles.
        group: String,
    },
    /// `translation` has a map for a group that `file_match` lacks.
    #[error("translation: {group:?} names no group of file_match (groups: {known})")]
    UnknownTranslationGroup {
        /// The map's group.
        group: String,
        /// The groups that exist.
        known: String,
    },
    /// A translation map with a single entry must be the `missing` entry.
    #[error("translation.{group}: a single-entry map must be {MISSING_KEY:?}, found {key:?}")]
    SingleEntryNotMissing {
        /// The map's group.
        group: String,
        /// Its only key.
        key: String,
    },
    /// Two keys of a translation map are equal once lowercased.
    #[error("translation.{group}: keys {first:?} and {second:?} collide (lookups are lowercase)")]
    TranslationCaseClash {
        /// The map's group.
        group: String,
        /// One key.
        first: String,
        /// The other.
        second: String,
    },
    /// A duration key does not parse, or is zero.
    #[error("{key}: {reason}")]
    BadDuration {
        /// Which key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    /// The configuration key this error is about.
    pub fn key(&self) -> &'static str {
        match self {
            ConfigError::MissingFileMatch | ConfigError::BadRegex { .. } => "file_match",
            ConfigError::BadLogDirectory { .. } => "log_directory",
            ConfigError::UnknownPriorityGroup { .. } => "priority",
            ConfigError::DifferentiatorCase { .. } => "differentiator",
            ConfigError::UnknownTranslationGroup { .. }
            | ConfigError::SingleEntryNotMissing { .. }
            | ConfigError::TranslationCaseClash { .. } => "translation",
            ConfigError::BadDuration { key, .. } => key,
        }
    }
}

/// Every problem found in one section.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl LogstreamerInputConfig {
    /// Checks every key and builds the settings. Relative `log_directory`
    /// is made absolute against the working directory; relative
    /// `journal_directory` is taken under `base_dir` (Heka's base_dir),
    /// then made absolute too.
    /// All problems are collected, not just the first.
    pub fn validate(&self, base_dir: &Path) -> Result<LogstreamerSettings, ConfigErrors> {
        let mut errors = Vec::new();

        let log_directory = if self.log_directory.as_os_str().is_empty() {
            errors.push(ConfigError::BadLogDirectory { reason: "must not be empty".into() });
            PathBuf::new()
        } else {
            std::path::absolute(&self.log_directory).unwrap_or_else(|e| {
                errors.push(ConfigError::BadLogDirectory { reason: e.to_string() });
                PathBuf::new()
            })
        };

        let file_match = compile_file_match(&self.file_match).map_err(|e| errors.push(e)).ok();
        let groups: Vec<String> = file_match
            .as_ref()
            .map(|re| re.capture_names().flatten().map(str::to_owned).collect())
            .unwrap_or_default();
        let known = if groups.is_empty() { "none".to_owned() } else { groups.join(", ") };

        let mut priority = Vec::new();
        for entry in &self.priority {
            let (group, descending) = match entry.strip_prefix('^') {
                Some(g) => (g, true),
                None => (entry.as_str(), false),
            };
            if file_match.is_some() && !groups.iter().any(|g| g == group) {
                errors.push(ConfigError::UnknownPriorityGroup {
                    entry: entry.clone(),
                    known: known.clone(),
                });
            }
            priority.push(PriorityKey { group: group.to_owned(), descending });
        }

        let mut differentiator = Vec::new();
        for entry in &self.differentiator {
            if groups.iter().any(|g| g == entry) {
                differentiator.push(NamePart::Group(entry.clone()));
                continue;
            }
            if let Some(g) = groups.iter().find(|g| g.eq_ignore_ascii_case(entry)) {
                errors.push(ConfigError::DifferentiatorCase {
                    entry: entry.clone(),
                    group: g.clone(),
                });
            }
            differentiator.push(NamePart::Literal(entry.clone()));
        }

        let mut translation = HashMap::new();
        for (group, map) in &self.translation {
            if file_match.is_some() && !groups.iter().any(|g| g == group) {
                errors.push(ConfigError::UnknownTranslationGroup {
                    group: group.clone(),
                    known: known.clone(),
                });
            }
            if map.len() == 1
                && let Some(key) = map.keys().find(|k| !k.eq_ignore_ascii_case(MISSING_KEY))
            {
                errors.push(ConfigError::SingleEntryNotMissing {
                    group: group.clone(),
                    key: key.clone(),
                });
            }
            let mut lowered: HashMap<String, i64> = HashMap::new();
            let mut original: HashMap<String, &String> = HashMap::new();
            for (key, value) in map {
                let low = key.to_lowercase();
                if let Some(first) = original.get(&low) {
                    errors.push(ConfigError::TranslationCaseClash {
                        group: group.clone(),
                        first: (*first).clone(),
                        second: key.clone(),
                    });
                }
                original.insert(low.clone(), key);
                lowered.insert(low, *value);
            }
            translation.insert(group.clone(), lowered);
        }

        let mut duration = |key: &'static str, text: &str| -> Duration {
            match parse_duration(text) {
                Ok(d) if d.is_zero() => {
                    errors.push(ConfigError::BadDuration {
                        key,
                        reason: "must be above zero".into(),
                    });
                    Duration::ZERO
                }
                Ok(d) => d,
                Err(reason) => {
                    errors.push(ConfigError::BadDuration { key, reason });
                    Duration::ZERO
                }
            }
        };
        let oldest_duration = duration("oldest_duration", &self.oldest_duration);
        let rescan_interval = duration("rescan_interval", &self.rescan_interval);
        let check_data_interval = duration("check_data_interval", &self.check_data_interval);

        let journal_directory = match &self.journal_directory {
            Some(dir) => base_dir.join(dir),
            None => base_dir.join("logstreamer"),
        };
        let journal_directory =
            std::path::absolute(&journal_directory).unwrap_or(journal_directory);

        match file_match {
            Some(file_match) if errors.is_empty() => Ok(LogstreamerSettings {
                log_directory,
                file_match,
                priority,
                differentiator,
                translation,
                oldest_duration,
                journal_directory,
                rescan_interval,
                check_data_interval,
                initial_tail: self.initial_tail,
                hostname: self.hostname.clone(),
            }),
            _ => Err(ConfigErrors(errors)),
        }
    }
}

/// Compiles `file_match`, appending `$` when the pattern does not already
/// end with an (unescaped) `$`, as Heka does.
fn compile_file_match(pattern: &str) -> Result<Regex, ConfigError> {
    if pattern.is_empty() {
        return Err(ConfigError::MissingFileMatch);
    }
    let trailing_backslashes =
        pattern.trim_end_matches('$').chars().rev().take_while(|&c| c == '\\').count();
    let anchored = pattern.ends_with('$') && trailing_backslashes % 2 == 0;
    let full = if anchored { pattern.to_owned() } else { format!("{pattern}$") };
    Regex::new(&full)
        .map_err(|e| ConfigError::BadRegex { pattern: pattern.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> LogstreamerInputConfig {
        toml::from_str(toml_text).expect("valid toml")
    }

    fn errors(cfg: &LogstreamerInputConfig) -> Vec<ConfigError> {
        cfg.validate(Path::new("/base")).expect_err("should fail").0
    }

    #[test]
    fn defaults_match_heka() {
        let cfg = parse(r#"file_match = 'access\.log'"#);
        let s = cfg.validate(Path::new("/base")).expect("valid");
        assert_eq!(s.log_directory, PathBuf::from("/var/log"));
        assert_eq!(s.oldest_duration, Duration::from_secs(720 * 3600));
        assert_eq!(s.rescan_interval, Duration::from_secs(60));
        assert_eq!(s.check_data_interval, Duration::from_millis(250));
        assert_eq!(s.journal_directory, PathBuf::from("/base/logstreamer"));
        assert!(!s.initial_tail);
        assert_eq!(s.hostname, None);
        assert_eq!(s.file_match.as_str(), r"access\.log$");
        assert!(s.differentiator.is_empty());
    }

    #[test]
    fn full_section_parses() {
        let cfg = parse(
            r#"
            log_directory = "/srv/logs"
            file_match = '(?P<Year>\d+)/(?P<MonthName>\w+)/(?P<Type>\w+)\.log(\.(?P<Seq>\d+))?$'
            priority = ["Year", "MonthName", "^Seq"]
            differentiator = ["web-", "Type"]
            journal_directory = "journals"
            rescan_interval = "10s"
            check_data_interval = "1s"
            oldest_duration = "1h"
            initial_tail = true
            hostname = "box"
            [translation.Seq]
            missing = 9999
            "#,
        );
        let s = cfg.validate(Path::new("/base")).expect("valid");
        assert_eq!(s.file_match.as_str(), cfg.file_match, "no second $ appended");
        assert_eq!(
            s.priority,
            vec![
                PriorityKey { group: "Year".into(), descending: false },
                PriorityKey { group: "MonthName".into(), descending: false },
                PriorityKey { group: "Seq".into(), descending: true },
            ]
        );
        assert_eq!(
            s.differentiator,
            vec![NamePart::Literal("web-".into()), NamePart::Group("Type".into())]
        );
        assert_eq!(s.journal_directory, PathBuf::from("/base/journals"));
        assert_eq!(s.translation["Seq"]["missing"], 9999);
        assert_eq!(s.rescan_interval, Duration::from_secs(10));
        assert!(s.initial_tail);
        assert_eq!(s.hostname.as_deref(), Some("box"));
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = toml::from_str::<LogstreamerInputConfig>("file_match = 'x'\nfile_mach = 'y'")
            .expect_err("unknown key");
        assert!(err.to_string().contains("file_mach"), "{err}");
    }

    #[test]
    fn file_match_is_required_and_must_compile() {
        let cfg = LogstreamerInputConfig::default();
        assert_eq!(errors(&cfg), vec![ConfigError::MissingFileMatch]);
        let cfg = parse("file_match = '(unclosed'");
        let errs = errors(&cfg);
        assert!(matches!(errs[0], ConfigError::BadRegex { .. }));
        assert_eq!(errs[0].key(), "file_match");
        assert!(errs[0].to_string().starts_with("file_match: invalid regex"));
    }

    #[test]
    fn escaped_dollar_still_gets_an_anchor() {
        let re = compile_file_match(r"price\$").expect("compiles");
        assert_eq!(re.as_str(), r"price\$$");
        let re = compile_file_match(r"price\\$").expect("compiles");
        assert_eq!(re.as_str(), r"price\\$");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let cfg = parse(
            r#"
            file_match = '(?P<Type>\w+)\.log(\.(?P<Seq>\d+))?'
            priority = ["^Sequence"]
            differentiator = ["type"]
            oldest_duration = "forever"
            rescan_interval = "0"
            check_data_interval = "5"
            [translation.Typo]
            a = 1
            b = 2
            [translation.Seq]
            first = 1
            "#,
        );
        let errs = errors(&cfg);
        let keys: Vec<&str> = errs.iter().map(ConfigError::key).collect();
        assert_eq!(
            keys,
            vec![
                "priority",
                "differentiator",
                "translation",
                "translation",
                "oldest_duration",
                "rescan_interval",
                "check_data_interval"
            ],
            "{errs:?}"
        );
        let text = ConfigErrors(errs).to_string();
        assert!(text.contains(r#"priority: "^Sequence" names no group"#), "{text}");
        assert!(text.contains("did you mean \"Type\""), "{text}");
        assert!(text.contains("translation.Seq: a single-entry map must be"), "{text}");
        assert!(text.contains("rescan_interval: must be above zero"), "{text}");
    }

    #[test]
    fn translation_keys_are_lowercased_and_clashes_refused() {
        let cfg = parse(
            r#"
            file_match = '(?P<Env>\w+)\.log'
            [translation.Env]
            Prod = 2
            dev = 1
            "#,
        );
        let s = cfg.validate(Path::new("/b")).expect("valid");
        assert_eq!(s.translation["Env"]["prod"], 2);
        let cfg = parse(
            r#"
            file_match = '(?P<Env>\w+)\.log'
            [translation.Env]
            Prod = 2
            prod = 1
            "#,
        );
        assert!(matches!(errors(&cfg)[0], ConfigError::TranslationCaseClash { .. }));
    }

    #[test]
    fn absolute_journal_directory_is_kept() {
        let cfg = parse("file_match = 'x'\njournal_directory = '/j'");
        let s = cfg.validate(Path::new("/base")).expect("valid");
        assert_eq!(s.journal_directory, PathBuf::from("/j"));
    }
}
