//! The SandboxManagerFilter's working directory: the `<name>.toml` and
//! `<name>.lua` of every managed filter (read again at start-up, so managed
//! filters survive a restart), written atomically and readable by the
//! daemon's user only; new sources of a reload wait in `.staged/` until the
//! reload succeeded.

use std::path::{Path, PathBuf};

use crate::state_file;

/// `s` with every character other than `[A-Za-z0-9_]` replaced by `_`
/// (Go's `\W`).
pub fn word(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// The name a managed filter runs under: `<manager>-<section>`, each part
/// made of word characters only.
pub fn system_name(manager: &str, section: &str) -> String {
    format!("{}-{}", word(manager), word(section))
}

/// Writes `data` to `path` atomically with mode 0600 (scripts and their
/// configs may hold secrets).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    state_file::write(path, data, Some(0o600))
}

/// One manager's view of the working directory.
#[derive(Debug, Clone)]
pub struct WorkDir {
    dir: PathBuf,
}

impl WorkDir {
    /// The directory (created if missing).
    pub fn open(dir: PathBuf) -> std::io::Result<WorkDir> {
        std::fs::create_dir_all(&dir)?;
        Ok(WorkDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `<name>.lua`.
    pub fn lua(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.lua"))
    }

    /// `<name>.toml`.
    pub fn toml(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.toml"))
    }

    /// Where the new source of a reload waits: `.staged/<name>.lua`.
    pub fn staged(&self, name: &str) -> PathBuf {
        self.dir.join(".staged").join(format!("{name}.lua"))
    }

    /// Names of the filters whose `<prefix>*.toml` is here, sorted.
    pub fn managed(&self, prefix: &str) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let file = entry?.file_name();
            let Some(file) = file.to_str() else { continue };
            if let Some(name) = file.strip_suffix(".toml")
                && name.starts_with(prefix)
            {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes `<name>.toml`, `<name>.lua` and any staged source.
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        state_file::remove(&self.toml(name))?;
        state_file::remove(&self.lua(name))?;
        state_file::remove(&self.staged(name))
    }

    /// Moves a staged source into place as `<name>.lua`.
    pub fn commit_staged(&self, name: &str) -> std::io::Result<()> {
        std::fs::rename(self.staged(name), self.lua(name))
    }

    /// Drops a staged source.
    pub fn drop_staged(&self, name: &str) -> std::io::Result<()> {
        state_file::remove(&self.staged(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_word_characters_only() {
        assert_eq!(system_name("Sandbox Manager", "my-filter.v2"), "Sandbox_Manager-my_filter_v2");
        assert_eq!(system_name("mgr", "Counter_1"), "mgr-Counter_1");
        assert_eq!(word("é!"), "__");
    }

    #[test]
    fn files_are_private_atomic_and_listed_by_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let wd = WorkDir::open(tmp.path().join("sbxmgrs")).unwrap();
        write_private(&wd.toml("mgr-b"), b"[b]").unwrap();
        write_private(&wd.lua("mgr-b"), b"-- b").unwrap();
        write_private(&wd.toml("mgr-a"), b"[a]").unwrap();
        write_private(&wd.toml("other-c"), b"[c]").unwrap();
        assert_eq!(wd.managed("mgr-").unwrap(), vec!["mgr-a", "mgr-b"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(wd.lua("mgr-b")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!wd.path().join("mgr-b.lua.tmp").exists());
        write_private(&wd.staged("mgr-b"), b"-- b2").unwrap();
        wd.commit_staged("mgr-b").unwrap();
        assert_eq!(std::fs::read(wd.lua("mgr-b")).unwrap(), b"-- b2");
        assert!(!wd.staged("mgr-b").exists());
        wd.remove("mgr-b").unwrap();
        wd.remove("mgr-b").unwrap();
        assert!(!wd.toml("mgr-b").exists() && !wd.lua("mgr-b").exists());
        assert_eq!(wd.managed("mgr-").unwrap(), vec!["mgr-a"]);
    }
}
