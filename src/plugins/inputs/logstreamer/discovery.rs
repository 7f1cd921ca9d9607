//! Finding logstreams: a recursive scan of `log_directory`, `file_match` on
//! each relative path, `differentiator` to name streams and `priority` to
//! order each stream's files oldest → newest.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::config::{LogstreamerSettings, NamePart};
use super::priority::SortKey;

/// The result of one scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Stream name → its files, oldest first (absolute paths).
    pub streams: BTreeMap<String, Vec<PathBuf>>,
    /// Matching files left out because of a problem (reported, not silent).
    pub skipped: Vec<SkippedFile>,
    /// Matching files left out because their mtime is older than
    /// `oldest_duration`.
    pub too_old: Vec<PathBuf>,
}

/// A file or directory the scan could not use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    /// The path.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// The scan could not start.
#[derive(Debug, thiserror::Error)]
#[error("log_directory {}: {source}", path.display())]
pub struct DiscoveryError {
    /// The configured directory.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

/// Scans `settings.log_directory` now. `plugin_name` names the single
/// stream when `differentiator` is empty.
pub fn discover(
    settings: &LogstreamerSettings,
    plugin_name: &str,
) -> Result<Discovery, DiscoveryError> {
    discover_at(settings, plugin_name, SystemTime::now())
}

/// The files of one stream, oldest first (empty when the stream has none
/// now). Handy as a [`StreamReader`](super::StreamReader) rescanner.
pub fn stream_files(
    settings: &LogstreamerSettings,
    plugin_name: &str,
    stream: &str,
) -> Result<Vec<PathBuf>, DiscoveryError> {
    let mut found = discover(settings, plugin_name)?;
    Ok(found.streams.remove(stream).unwrap_or_default())
}

/// [`discover`] with an explicit "now" for the `oldest_duration` cut-off.
///
/// Directories are walked recursively; symbolic links to files are
/// followed, symbolic links to directories are not (no loops). Paths that
/// are not UTF-8 cannot be matched and are reported in `skipped`.
pub fn discover_at(
    settings: &LogstreamerSettings,
    plugin_name: &str,
    now: SystemTime,
) -> Result<Discovery, DiscoveryError> {
    let root = &settings.log_directory;
    let entries =
        fs::read_dir(root).map_err(|source| DiscoveryError { path: root.clone(), source })?;
    let mut discovery = Discovery::default();
    let mut found: Vec<(PathBuf, String, fs::Metadata)> = Vec::new();
    let walker = Walker { root, skip_dir: &settings.journal_directory };
    walker.walk(entries, &mut found, &mut discovery.skipped);

    let mut keyed: BTreeMap<String, Vec<(SortKey, PathBuf)>> = BTreeMap::new();
    for (path, rel, meta) in found {
        let Some(caps) = settings.file_match.captures(&rel) else { continue };
        let age = meta.modified().ok().and_then(|m| now.duration_since(m).ok());
        if age.is_some_and(|age| age > settings.oldest_duration) {
            discovery.too_old.push(path);
            continue;
        }
        let key = match SortKey::from_captures(&caps, settings) {
            Ok(key) => key,
            Err(reason) => {
                discovery.skipped.push(SkippedFile { path, reason: format!("priority: {reason}") });
                continue;
            }
        };
        let name = stream_name(&caps, &settings.differentiator, plugin_name);
        keyed.entry(name).or_default().push((key, path));
    }
    for (name, mut files) in keyed {
        files.sort();
        discovery.streams.insert(name, files.into_iter().map(|(_, p)| p).collect());
    }
    discovery.too_old.sort();
    Ok(discovery)
}

/// The stream a match belongs to: the differentiator parts concatenated,
/// or `plugin_name` when there are none.
fn stream_name(caps: &regex::Captures<'_>, parts: &[NamePart], plugin_name: &str) -> String {
    if parts.is_empty() {
        return plugin_name.to_owned();
    }
    let mut name = String::new();
    for part in parts {
        match part {
            NamePart::Literal(text) => name.push_str(text),
            NamePart::Group(group) => {
                name.push_str(caps.name(group).map(|m| m.as_str()).unwrap_or(""));
            }
        }
    }
    name
}

/// The recursive scan below `root`, leaving out `skip_dir` (the journal
/// directory, whose files are named after streams and could match).
struct Walker<'a> {
    root: &'a Path,
    skip_dir: &'a Path,
}

impl Walker<'_> {
    /// Collects regular files with their path relative to the root
    /// (`/`-separated on Unix). Files that vanish during the scan are
    /// ignored; other problems are reported in `skipped`.
    fn walk(
        &self,
        entries: fs::ReadDir,
        found: &mut Vec<(PathBuf, String, fs::Metadata)>,
        skipped: &mut Vec<SkippedFile>,
    ) {
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    skipped
                        .push(SkippedFile { path: self.root.to_path_buf(), reason: e.to_string() });
                    continue;
                }
            };
            let path = entry.path();
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    skipped.push(SkippedFile { path, reason: e.to_string() });
                    continue;
                }
            };
            if file_type.is_dir() {
                if path == self.skip_dir {
                    continue;
                }
                match fs::read_dir(&path) {
                    Ok(sub) => self.walk(sub, found, skipped),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => skipped.push(SkippedFile { path, reason: e.to_string() }),
                }
                continue;
            }
            // `fs::metadata` follows a symlink; a link to a directory is not walked.
            let meta = match fs::metadata(&path) {
                Ok(meta) if meta.is_file() => meta,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    skipped.push(SkippedFile { path, reason: e.to_string() });
                    continue;
                }
            };
            let rel = path.strip_prefix(self.root).ok().and_then(Path::to_str).map(str::to_owned);
            match rel {
                Some(rel) => found.push((path, rel, meta)),
                None => {
                    skipped.push(SkippedFile { path, reason: "path is not valid UTF-8".into() })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::inputs::logstreamer::LogstreamerInputConfig;
    use std::time::Duration;

    fn touch(root: &Path, rel: &str) -> PathBuf {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, rel.as_bytes()).expect("write");
        path
    }

    fn settings(root: &Path, extra: &str) -> LogstreamerSettings {
        let text = format!("log_directory = {:?}\n{extra}", root.display().to_string());
        let cfg: LogstreamerInputConfig = toml::from_str(&text).expect("toml");
        cfg.validate(root).expect("valid")
    }

    fn rel_names(root: &Path, files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|p| p.strip_prefix(root).expect("under root").display().to_string())
            .collect()
    }

    /// A Heka-like year/month tree: access and error logs with rotations.
    fn heka_tree(root: &Path) {
        for dir in ["2010/05", "2010/07", "2012/04", "2013/01"] {
            for f in ["access.log", "access.log.1", "access.log.2", "error.log", "error.log.1"] {
                touch(root, &format!("{dir}/{f}"));
            }
        }
        touch(root, "subdir/file.log");
        touch(root, "2013/01/notes.txt");
    }

    const TREE_MATCH: &str =
        r#"file_match = '(?P<Year>\d+)/(?P<Month>\d+)/(?P<Type>\w+)\.log(\.(?P<Seq>\d+))?'"#;

    #[test]
    fn year_month_tree_ordered_oldest_to_newest_per_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        heka_tree(root);
        let s = settings(
            root,
            &format!(
                "{TREE_MATCH}\npriority = ['Year', 'Month', '^Seq']\ndifferentiator = ['Type', '-log']"
            ),
        );
        let d = discover(&s, "LogInput").expect("scan");
        assert_eq!(d.streams.keys().collect::<Vec<_>>(), vec!["access-log", "error-log"]);
        assert_eq!(
            rel_names(root, &d.streams["access-log"]),
            vec![
                "2010/05/access.log.2",
                "2010/05/access.log.1",
                "2010/05/access.log",
                "2010/07/access.log.2",
                "2010/07/access.log.1",
                "2010/07/access.log",
                "2012/04/access.log.2",
                "2012/04/access.log.1",
                "2012/04/access.log",
                "2013/01/access.log.2",
                "2013/01/access.log.1",
                "2013/01/access.log",
            ]
        );
        assert_eq!(
            rel_names(root, &d.streams["error-log"])[..3],
            ["2010/05/error.log.1", "2010/05/error.log", "2010/07/error.log.1"]
        );
        assert!(d.skipped.is_empty(), "{:?}", d.skipped);
        assert!(d.streams.values().flatten().all(|p| p.is_absolute()));
    }

    #[test]
    fn without_differentiator_everything_is_one_stream_named_after_the_plugin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        heka_tree(root);
        let s = settings(root, &format!("{TREE_MATCH}\npriority = ['^Year', '^Month', 'Seq']"));
        let d = discover(&s, "LogInput").expect("scan");
        assert_eq!(d.streams.keys().collect::<Vec<_>>(), vec!["LogInput"]);
        let files = rel_names(root, &d.streams["LogInput"]);
        assert_eq!(files.len(), 20);
        // Descending years and months: 2013/01 is oldest; ascending Seq with
        // missing = -1: the plain files come first; ties go by path.
        assert_eq!(files[..3], ["2013/01/access.log", "2013/01/error.log", "2013/01/access.log.1"]);
        assert_eq!(files[19], "2010/05/access.log.2");
    }

    #[test]
    fn heka_quirk_unnumbered_current_file_is_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in ["access.log.1", "access.log", "access.log.2", "access.log.10"] {
            touch(root, f);
        }
        let s =
            settings(root, "file_match = 'access\\.log\\.?(?P<Seq>\\d+)?'\npriority = ['^Seq']");
        let d = discover(&s, "p").expect("scan");
        assert_eq!(
            rel_names(root, &d.streams["p"]),
            vec!["access.log.10", "access.log.2", "access.log.1", "access.log"]
        );
    }

    #[test]
    fn missing_translation_entry_moves_the_unnumbered_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in ["app.log", "app.log.1", "app.log.2"] {
            touch(root, f);
        }
        let s = settings(
            root,
            "file_match = 'app\\.log(\\.(?P<Seq>\\d+))?'\npriority = ['^Seq']\n[translation.Seq]\nmissing = 100",
        );
        let d = discover(&s, "p").expect("scan");
        assert_eq!(rel_names(root, &d.streams["p"]), vec!["app.log", "app.log.2", "app.log.1"]);
    }

    #[test]
    fn month_names_and_custom_translation_order_and_name_streams() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in [
            "Feb/prod.log",
            "jan/prod.log",
            "DEC/prod.log",
            "jan/STAGING.log",
            "jan/dev.log",
            "Mar/dev.log",
            "Bogus/dev.log",
        ] {
            touch(root, f);
        }
        let s = settings(
            root,
            r#"
            file_match = '(?P<MonthName>\w+)/(?P<Env>\w+)\.log'
            priority = ['Env', 'MonthName']
            [translation.Env]
            dev = 1
            staging = 2
            prod = 3
            "#,
        );
        let d = discover(&s, "months").expect("scan");
        assert_eq!(
            rel_names(root, &d.streams["months"]),
            vec![
                "jan/dev.log",
                "Mar/dev.log",
                "jan/STAGING.log",
                "jan/prod.log",
                "Feb/prod.log",
                "DEC/prod.log"
            ]
        );
        assert_eq!(d.skipped.len(), 1);
        assert!(d.skipped[0].path.ends_with("Bogus/dev.log"));
        assert!(d.skipped[0].reason.contains("MonthName"), "{}", d.skipped[0].reason);
    }

    #[test]
    fn dollar_is_appended_and_start_is_not_anchored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in ["a/web.log", "web.log.old", "myweb.log"] {
            touch(root, f);
        }
        let s = settings(root, "file_match = 'web\\.log'");
        let d = discover(&s, "p").expect("scan");
        assert_eq!(rel_names(root, &d.streams["p"]), vec!["a/web.log", "myweb.log"]);
    }

    #[test]
    fn old_files_are_ignored_by_mtime() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let old = touch(root, "x.log.1");
        touch(root, "x.log");
        let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
        fs::File::options()
            .write(true)
            .open(&old)
            .expect("open")
            .set_modified(two_hours_ago)
            .expect("set mtime");
        let s = settings(root, "file_match = 'x\\.log(\\.\\d+)?'\noldest_duration = '1h'");
        let d = discover(&s, "p").expect("scan");
        assert_eq!(rel_names(root, &d.streams["p"]), vec!["x.log"]);
        assert_eq!(d.too_old, vec![old]);
        let s = settings(root, "file_match = 'x\\.log(\\.\\d+)?'\noldest_duration = '3h'");
        assert_eq!(discover(&s, "p").expect("scan").streams["p"].len(), 2);
    }

    #[test]
    fn the_journal_directory_is_not_scanned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        touch(root, "app.log");
        touch(root, "journals/app.log");
        let s = settings(root, "file_match = '\\w+\\.log'\njournal_directory = 'journals'");
        assert_eq!(s.journal_directory, root.join("journals"));
        let d = discover(&s, "p").expect("scan");
        assert_eq!(rel_names(root, &d.streams["p"]), vec!["app.log"]);
    }

    #[test]
    fn missing_log_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = settings(&dir.path().join("nope"), "file_match = 'x'");
        let err = discover(&s, "p").expect_err("missing dir");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn stream_files_picks_one_stream() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        heka_tree(root);
        let s = settings(
            root,
            &format!(
                "{TREE_MATCH}\npriority = ['Year', 'Month', '^Seq']\ndifferentiator = ['Type']"
            ),
        );
        assert_eq!(stream_files(&s, "p", "error").expect("scan").len(), 8);
        assert!(stream_files(&s, "p", "nothing").expect("scan").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_directories_are_not_followed_but_linked_files_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let target = touch(root, "real/a.log");
        std::os::unix::fs::symlink(root.join("real"), root.join("loop")).expect("symlink");
        std::os::unix::fs::symlink(&target, root.join("b.log")).expect("symlink");
        let s = settings(root, "file_match = '\\w\\.log'");
        let d = discover(&s, "p").expect("scan");
        assert_eq!(rel_names(root, &d.streams["p"]), vec!["b.log", "real/a.log"]);
    }
}
