//! Configuration errors. Every error names the file it came from and, where
//! known, the section and key, so a user can go straight to the mistake.
//! Loading collects all of them before giving up ([`ConfigErrors`]).

use std::path::{Path, PathBuf};

/// One configuration mistake.
///
/// Displayed on one line as `file: [section] key: message`; the `[section]`
/// and `key:` parts are left out when unknown, and `key:` is also left out
/// when the message already quotes the key (as in
/// `conf.toml: [nginx_access] unknown config setting 'log_fromat'`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The file the mistake is in.
    pub file: PathBuf,
    /// The section (`hekad` or a plugin name), if the mistake is inside one.
    pub section: Option<String>,
    /// The key, dotted for sub-tables (`retries.delay`), if one is at fault.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about a whole file.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ConfigError { file: file.into(), section: None, key: None, message: message.into() }
    }

    /// Places the error inside `section`.
    pub fn in_section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    /// Blames `key`.
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    fn render(&self) -> String {
        let mut out = format!("{}:", self.file.display());
        if let Some(section) = &self.section {
            out.push_str(&format!(" [{section}]"));
        }
        if let Some(key) = &self.key
            && !self.message.contains(&format!("'{key}'"))
        {
            out.push_str(&format!(" {key}:"));
        }
        out.push(' ');
        // One error, one line: fold any line breaks a message carries.
        out.push_str(&self.message.replace(['\r', '\n'], " "));
        out
    }
}

/// Every mistake found while loading a configuration, in file order.
/// Displayed one error per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

/// Collects errors for one file and (optionally) one section while a parser
/// walks its keys, so parsers can report and carry on.
pub(crate) struct Report<'a> {
    file: &'a Path,
    section: Option<&'a str>,
    errors: &'a mut Vec<ConfigError>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(
        file: &'a Path,
        section: Option<&'a str>,
        errors: &'a mut Vec<ConfigError>,
    ) -> Self {
        Report { file, section, errors }
    }

    /// Records a mistake at `key`.
    pub(crate) fn key(&mut self, key: &str, message: impl Into<String>) {
        self.push(Some(key), message.into());
    }

    /// Records a mistake about the section (or file) as a whole.
    pub(crate) fn section(&mut self, message: impl Into<String>) {
        self.push(None, message.into());
    }

    fn push(&mut self, key: Option<&str>, message: String) {
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            section: self.section.map(str::to_owned),
            key: key.map(str::to_owned),
            message,
        });
    }

    /// Passes a converted value through, or records its error at `key`.
    pub(crate) fn check<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.key(key, message)).ok()
    }

    /// Stores a converted value in `field`, or records its error at `key`
    /// and leaves `field` (its default) alone.
    pub(crate) fn set<T>(&mut self, key: &str, field: &mut T, result: Result<T, String>) {
        if let Some(v) = self.check(key, result) {
            *field = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_section_and_key() {
        let e = ConfigError::new("conf.toml", "must be greater than 1024")
            .in_section("hekad")
            .at_key("max_message_size");
        assert_eq!(e.to_string(), "conf.toml: [hekad] max_message_size: must be greater than 1024");
    }

    #[test]
    fn display_omits_a_key_the_message_already_quotes() {
        let e = ConfigError::new("conf.toml", "unknown config setting 'log_fromat'")
            .in_section("nginx_access")
            .at_key("log_fromat");
        assert_eq!(e.to_string(), "conf.toml: [nginx_access] unknown config setting 'log_fromat'");
    }

    #[test]
    fn display_is_one_line_without_section_or_key() {
        let e = ConfigError::new("a.toml", "first\nsecond");
        assert_eq!(e.to_string(), "a.toml: first second");
    }

    #[test]
    fn errors_display_one_per_line() {
        let errors = ConfigErrors(vec![
            ConfigError::new("a.toml", "one"),
            ConfigError::new("b.toml", "two").in_section("X"),
        ]);
        assert_eq!(errors.to_string(), "a.toml: one\nb.toml: [X] two");
    }

    #[test]
    fn report_fills_in_file_and_section() {
        let mut errors = Vec::new();
        let mut report = Report::new(Path::new("f.toml"), Some("S"), &mut errors);
        assert_eq!(report.check("k", Ok::<_, String>(5)), Some(5));
        assert_eq!(report.check::<u8>("k", Err("bad".into())), None);
        let mut field = 1;
        report.set("f", &mut field, Ok(2));
        report.set("f", &mut field, Err("worse".into()));
        assert_eq!(field, 2, "a bad value keeps the field");
        assert_eq!(
            errors,
            vec![
                ConfigError::new("f.toml", "bad").in_section("S").at_key("k"),
                ConfigError::new("f.toml", "worse").in_section("S").at_key("f"),
            ]
        );
    }
}
