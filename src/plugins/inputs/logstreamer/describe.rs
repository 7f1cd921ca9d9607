//! A dry run of a LogstreamerInput section, like `heka-logstreamer`: the
//! streams found, their files in reading order and where each would start.

use std::fmt::Write;
use std::path::Path;

use super::config::LogstreamerInputConfig;
use super::discovery::discover;
use super::journal::JournalStore;
use super::resume::resolve;

/// Describes what the input named `name` would read: its streams, each
/// stream's files oldest first, and the start position (journal checked
/// against the files, read-only). Problems are part of the text.
pub fn describe(config: &LogstreamerInputConfig, base_dir: &Path, name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "[{name}] LogstreamerInput");
    let settings = match config.validate(base_dir) {
        Ok(settings) => settings,
        Err(errors) => {
            for e in errors.0 {
                let _ = writeln!(out, "  config error: {e}");
            }
            return out;
        }
    };
    let _ = writeln!(out, "  log_directory: {}", settings.log_directory.display());
    let _ = writeln!(out, "  file_match: {}", settings.file_match.as_str());
    let _ = writeln!(out, "  journal_directory: {}", settings.journal_directory.display());
    let discovery = match discover(&settings, name) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
            return out;
        }
    };
    if discovery.streams.is_empty() {
        let _ = writeln!(out, "  no matching files");
    }
    let journals = JournalStore::new(&settings.journal_directory);
    for (stream, files) in &discovery.streams {
        let _ = writeln!(out, "  stream {stream:?}: {} file(s), oldest first", files.len());
        for file in files {
            let _ = writeln!(out, "    {}", file.display());
        }
        let journal = match journals.load(stream) {
            Ok(j) => j,
            Err(e) => {
                let _ = writeln!(out, "    journal ignored: {e}");
                None
            }
        };
        let resolved = resolve(files, journal.as_ref(), settings.initial_tail, 0);
        let _ = writeln!(out, "    start: {}", resolved.decision);
        for problem in resolved.problems {
            let _ = writeln!(out, "    problem: {problem}");
        }
    }
    for skipped in &discovery.skipped {
        let _ = writeln!(out, "  skipped {}: {}", skipped.path.display(), skipped.reason);
    }
    if !discovery.too_old.is_empty() {
        let _ = writeln!(
            out,
            "  ignored {} file(s) older than oldest_duration ({:?})",
            discovery.too_old.len(),
            settings.oldest_duration
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::reader::{ReadOutcome, ReaderOptions, StreamReader};
    use super::*;
    use std::fs;

    #[test]
    fn lists_streams_files_and_start_positions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).expect("mkdir");
        for (f, text) in
            [("web.log", "a\n"), ("web.log.1", "b\n"), ("db.log", "c\n"), ("db.log.x", "d")]
        {
            fs::write(logs.join(f), text).expect("write");
        }
        let cfg: LogstreamerInputConfig = toml::from_str(&format!(
            "log_directory = {:?}\nfile_match = '(?P<Svc>\\w+)\\.log(\\.(?P<Seq>\\w+))?'\n\
             priority = ['^Seq']\ndifferentiator = ['Svc']",
            logs.display().to_string()
        ))
        .expect("toml");
        // A journal for "web": one line consumed from web.log.1.
        let settings = cfg.validate(dir.path()).expect("valid");
        let files = vec![logs.join("web.log.1"), logs.join("web.log")];
        let mut reader = StreamReader::new("web", files, None, ReaderOptions::default());
        assert_eq!(reader.read(&mut [0u8; 2]).expect("read"), ReadOutcome::Data { n: 2 });
        let journal = reader.checkpoint(0).expect("checkpoint").expect("open");
        JournalStore::new(&settings.journal_directory).save("web", &journal).expect("save");

        let text = describe(&cfg, dir.path(), "Logs");
        let web = format!(
            "    {}\n    {}\n",
            logs.join("web.log.1").display(),
            logs.join("web.log").display()
        );
        assert!(text.contains("stream \"web\": 2 file(s), oldest first\n"), "{text}");
        assert!(text.contains(&web), "{text}");
        assert!(text.contains("at byte 2 (journal verified)"), "{text}");
        assert!(text.contains("stream \"db\": 1 file(s)"), "{text}");
        assert!(text.contains("db.log at byte 0 (no journal: oldest file)"), "{text}");
        assert!(
            text.contains("skipped") && text.contains("db.log.x: priority: Seq value \"x\""),
            "{text}"
        );
    }

    #[test]
    fn config_errors_are_described() {
        let cfg = LogstreamerInputConfig::default();
        let text = describe(&cfg, Path::new("base"), "Logs");
        assert!(text.contains("config error: file_match: required"), "{text}");
    }
}
