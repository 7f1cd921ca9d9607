//! Watching a sandbox's script and the `.lua` modules it loaded
//! (`reload_on_change = true`): a `notify` watcher on their directories
//! marks the script as changed, and the filter's own thread asks
//! [`ScriptWatch::due`] when to reload, so the reload happens between two
//! messages and none is lost or reordered.
//!
//! Directories are watched rather than files because editors often save by
//! writing a new file and renaming it over the old one. Changes are
//! debounced: a reload is due once no change was seen for [`QUIET`], so a
//! save in several steps (truncate, write, rename) causes one reload.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// How long the files must stay unchanged before a reload is due.
pub const QUIET: Duration = Duration::from_millis(150);

/// What the watcher thread and the filter share.
#[derive(Default)]
struct Seen {
    /// The files of interest.
    files: Mutex<HashSet<PathBuf>>,
    /// Set when one of them changed; cleared by [`ScriptWatch::clear`].
    dirty: AtomicBool,
    /// When the last change was seen.
    last: Mutex<Option<Instant>>,
}

impl Seen {
    fn note(&self, event: &Event) {
        let relevant = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Modify(_)
                | EventKind::Remove(_)
                | EventKind::Access(AccessKind::Close(AccessMode::Write))
        );
        if !relevant {
            return;
        }
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if event.paths.iter().any(|p| files.contains(p)) {
            drop(files);
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            self.dirty.store(true, Ordering::Release);
        }
    }
}

/// Watches a set of files for changes.
pub struct ScriptWatch {
    watcher: RecommendedWatcher,
    seen: Arc<Seen>,
    dirs: HashSet<PathBuf>,
}

impl ScriptWatch {
    /// Starts watching `files` (their directories).
    pub fn new(files: &[PathBuf]) -> Result<ScriptWatch, String> {
        let seen = Arc::new(Seen::default());
        let for_events = Arc::clone(&seen);
        let watcher = notify::recommended_watcher(move |r: notify::Result<Event>| match r {
            Ok(event) => for_events.note(&event),
            Err(e) => tracing::warn!("Watching scripts: {e}"),
        })
        .map_err(|e| format!("cannot watch files: {e}"))?;
        let mut w = ScriptWatch { watcher, seen, dirs: HashSet::new() };
        w.set_files(files)?;
        Ok(w)
    }

    /// Watches `files` from now on (in addition to the directories already
    /// watched).
    pub fn set_files(&mut self, files: &[PathBuf]) -> Result<(), String> {
        let wanted: HashSet<PathBuf> = files.iter().cloned().collect();
        for dir in files.iter().filter_map(|f| f.parent()) {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            if self.dirs.contains(dir) {
                continue;
            }
            self.watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
            self.dirs.insert(dir.to_path_buf());
        }
        *self.seen.files.lock().unwrap_or_else(|p| p.into_inner()) = wanted;
        Ok(())
    }

    /// Number of files watched.
    pub fn len(&self) -> usize {
        self.seen.files.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when no file is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when a file changed and nothing changed for [`QUIET`] since.
    /// Cheap when nothing changed (one atomic load).
    pub fn due(&self) -> bool {
        if !self.seen.dirty.load(Ordering::Acquire) {
            return false;
        }
        let last = *self.seen.last.lock().unwrap_or_else(|p| p.into_inner());
        last.is_none_or(|t| t.elapsed() >= QUIET)
    }

    /// Forgets the changes seen so far (a reload is starting).
    pub fn clear(&self) {
        self.seen.dirty.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_due(w: &ScriptWatch) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if w.due() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_change_is_due_after_a_quiet_period_and_other_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.lua");
        let module = dir.path().join("m.lua");
        std::fs::write(&script, "a").unwrap();
        std::fs::write(&module, "b").unwrap();
        let mut w = ScriptWatch::new(std::slice::from_ref(&script)).unwrap();
        std::fs::write(dir.path().join("other.lua"), "x").unwrap();
        std::thread::sleep(QUIET * 2);
        assert!(!w.due(), "a file not watched changed");
        std::fs::write(&script, "a2").unwrap();
        let changed = Instant::now();
        assert!(wait_due(&w), "the change was not seen");
        assert!(changed.elapsed() >= QUIET, "debounced");
        w.clear();
        assert!(!w.due());
        // Modules are added later; a save by rename counts.
        w.set_files(&[script.clone(), module.clone()]).unwrap();
        assert_eq!(w.len(), 2);
        let tmp = dir.path().join("m.lua.tmp");
        std::fs::write(&tmp, "b2").unwrap();
        std::fs::rename(&tmp, &module).unwrap();
        assert!(wait_due(&w), "the rename was not seen");
    }

    #[test]
    fn a_burst_of_writes_is_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.lua");
        std::fs::write(&script, "a").unwrap();
        let w = ScriptWatch::new(std::slice::from_ref(&script)).unwrap();
        for i in 0..5 {
            std::fs::write(&script, format!("v{i}")).unwrap();
            std::thread::sleep(QUIET / 10);
            assert!(!w.due(), "due in the middle of a burst");
        }
        assert!(wait_due(&w));
    }
}
