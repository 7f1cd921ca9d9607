//! Where things live by default: the share directory (Lua modules and
//! sandboxes), the host name, and absolute forms of relative directories.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the default share directory.
pub const SHARE_DIR_ENV: &str = "SANDPIPER_SHARE_DIR";

/// The share directory used when `[hekad] share_dir` is not set:
///
/// 1. `$SANDPIPER_SHARE_DIR` if set and not empty;
/// 2. else the first ancestor of the running executable that contains both
///    `lua_modules/` and `sandboxes/` (so `target/release/sandpiper` in a
///    source checkout finds the repository root);
/// 3. else the current directory if it contains both;
/// 4. else `/usr/share/sandpiper`.
pub fn resolve_share_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    resolve_share_dir_from(std::env::var_os(SHARE_DIR_ENV), exe.as_deref(), cwd.as_deref())
}

fn resolve_share_dir_from(
    env: Option<OsString>,
    exe: Option<&Path>,
    cwd: Option<&Path>,
) -> PathBuf {
    if let Some(dir) = env.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let from_exe = exe.and_then(|exe| exe.ancestors().skip(1).find(|dir| is_share_dir(dir)));
    let from_cwd = || cwd.filter(|dir| is_share_dir(dir));
    from_exe.or_else(from_cwd).map_or_else(|| PathBuf::from("/usr/share/sandpiper"), Path::to_owned)
}

fn is_share_dir(dir: &Path) -> bool {
    dir.join("lua_modules").is_dir() && dir.join("sandboxes").is_dir()
}

/// The OS host name: `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else
/// `localhost`.
pub fn os_hostname() -> String {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    [from_proc, std::env::var("HOSTNAME").ok()]
        .into_iter()
        .flatten()
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// `path` made absolute against the current directory (unchanged if
/// already absolute, or if the current directory cannot be read).
pub(crate) fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(path),
        Err(_) => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share_tree(root: &Path) {
        std::fs::create_dir_all(root.join("lua_modules")).unwrap();
        std::fs::create_dir_all(root.join("sandboxes")).unwrap();
    }

    #[test]
    fn env_variable_wins() {
        let dir = tempfile::tempdir().unwrap();
        share_tree(dir.path());
        let exe = dir.path().join("target/release/sandpiper");
        let got = resolve_share_dir_from(Some("/opt/share".into()), Some(&exe), Some(dir.path()));
        assert_eq!(got, PathBuf::from("/opt/share"));
    }

    #[test]
    fn empty_env_variable_is_ignored() {
        let got = resolve_share_dir_from(Some("".into()), None, None);
        assert_eq!(got, PathBuf::from("/usr/share/sandpiper"));
    }

    #[test]
    fn source_checkout_is_found_from_the_executable() {
        let dir = tempfile::tempdir().unwrap();
        share_tree(dir.path());
        std::fs::create_dir_all(dir.path().join("target/release")).unwrap();
        let exe = dir.path().join("target/release/sandpiper");
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(resolve_share_dir_from(None, Some(&exe), Some(elsewhere.path())), dir.path());
    }

    #[test]
    fn a_directory_needs_both_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lua_modules")).unwrap();
        let exe = dir.path().join("sandpiper");
        assert_eq!(
            resolve_share_dir_from(None, Some(&exe), Some(dir.path())),
            PathBuf::from("/usr/share/sandpiper")
        );
    }

    #[test]
    fn current_directory_is_the_next_choice() {
        let dir = tempfile::tempdir().unwrap();
        share_tree(dir.path());
        let exe = Path::new("/nonexistent/bin/sandpiper");
        assert_eq!(resolve_share_dir_from(None, Some(exe), Some(dir.path())), dir.path());
    }

    #[test]
    fn hostname_is_never_empty() {
        assert!(!os_hostname().is_empty());
    }

    #[test]
    fn absolute_joins_relative_paths_to_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(absolute(PathBuf::from("base_dir")), cwd.join("base_dir"));
        assert_eq!(absolute(PathBuf::from("/abs")), PathBuf::from("/abs"));
    }
}
