//! The per-stream journal (checkpoint): where reading resumes after a
//! restart, and the 500-byte hash that recognises the file even after it
//! was rotated, renamed or compressed.
//!
//! One JSON file per stream at `<journal_directory>/<safe stream name>`,
//! with Heka's fields plus the file identity:
//! `{"seek":1969,"file_name":"/var/log/error.log","last_hash":"…","inode":12,"device":2049}`.
//! Heka journals (without `inode`/`device`) load too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use super::source::FileId;

/// How many bytes before `seek` the hash covers.
pub const HASH_WINDOW: usize = 500;

/// A resumable position in a logstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// Offset of the next unread byte in `file_name` (for `.gz` files: in
    /// the decompressed data).
    pub seek: u64,
    /// Absolute path of the file at the time of the checkpoint.
    pub file_name: PathBuf,
    /// [`hash_window`] of the bytes preceding `seek`.
    pub last_hash: String,
    /// The file's inode number (Unix), to find it after a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// The file's device number (Unix), completing the identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<u64>,
    /// The file's birth time in nanoseconds since the Unix epoch, where the
    /// filesystem has one: tells the file from a later one reusing the inode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born: Option<u64>,
    /// Only when `seek` is 0: the end of the file read before this one. A
    /// hash at offset 0 identifies nothing, so if this file cannot be found
    /// by identity (compressed, deleted) the reader resumes after the end of
    /// that previous file instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Box<Journal>>,
}

impl Journal {
    /// The journaled file's identity, when recorded.
    pub fn file_id(&self) -> Option<FileId> {
        match (self.device, self.inode) {
            (Some(device), Some(inode)) => Some(FileId { device, inode, born: self.born }),
            _ => None,
        }
    }
}

/// SHA-1 (lowercase hex) of the [`HASH_WINDOW`] bytes preceding a
/// position: `preceding` holds the bytes just before the position (only its
/// last 500 count); when fewer than 500 bytes precede the position the
/// window is zero-padded at the front. So position 0 hashes 500 zero
/// bytes, and position 3 in a file starting "abc" hashes 497 zeros then
/// "abc".
pub fn hash_window(preceding: &[u8]) -> String {
    let start = preceding.len().saturating_sub(HASH_WINDOW);
    hash_window_parts(&[&preceding[start..]])
}

/// [`hash_window`] of the concatenation of `parts`, whose total length must
/// be at most [`HASH_WINDOW`] (a longer input is cut to its last 500 bytes).
pub(crate) fn hash_window_parts(parts: &[&[u8]]) -> String {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut skip = total.saturating_sub(HASH_WINDOW);
    let mut hasher = Sha1::new();
    hasher.update(&[0u8; HASH_WINDOW][..HASH_WINDOW.saturating_sub(total)]);
    for part in parts {
        let cut = skip.min(part.len());
        skip -= cut;
        hasher.update(&part[cut..]);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Reading or writing a journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file exists but could not be read.
    #[error("journal {}: cannot read: {source}", path.display())]
    Read {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid journal.
    #[error("journal {}: corrupt: {reason}", path.display())]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Saving failed (the previous journal, if any, is intact).
    #[error("journal {}: cannot write: {source}", path.display())]
    Write {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// The journals of one LogstreamerInput: a directory, one file per stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalStore {
    dir: PathBuf,
}

impl JournalStore {
    /// A store in `dir` (created on the first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        JournalStore { dir: dir.into() }
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file of a stream: `<dir>/<safe_file_name(stream)>`.
    pub fn path_for(&self, stream: &str) -> PathBuf {
        self.dir.join(safe_file_name(stream))
    }

    /// Loads a stream's journal; `Ok(None)` when there is none.
    pub fn load(&self, stream: &str) -> Result<Option<Journal>, JournalError> {
        let path = self.path_for(stream);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(JournalError::Read { path, source }),
        };
        let journal: Journal = serde_json::from_slice(&text)
            .map_err(|e| JournalError::Corrupt { path: path.clone(), reason: e.to_string() })?;
        let hash_ok = journal.last_hash.len() == 40
            && journal.last_hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hash_ok {
            let reason =
                format!("last_hash {:?} is not 40 lowercase hex digits", journal.last_hash);
            return Err(JournalError::Corrupt { path, reason });
        }
        if journal.file_name.as_os_str().is_empty() {
            return Err(JournalError::Corrupt { path, reason: "file_name is empty".into() });
        }
        Ok(Some(journal))
    }

    /// [`load`](Self::load), logging an unreadable or corrupt journal as a
    /// warning and treating it as absent.
    pub fn load_or_warn(&self, stream: &str) -> Option<Journal> {
        self.load(stream).unwrap_or_else(|e| {
            tracing::warn!(stream, error = %e, "ignoring logstreamer journal");
            None
        })
    }

    /// Saves atomically ([`crate::state_file::write`]): a crash leaves
    /// either the old or the new journal.
    pub fn save(&self, stream: &str, journal: &Journal) -> Result<(), JournalError> {
        let path = self.path_for(stream);
        serde_json::to_vec(journal)
            .map_err(io::Error::other)
            .and_then(|bytes| crate::state_file::write(&path, &bytes, None))
            .map_err(|source| JournalError::Write { path, source })
    }
}

/// Longest encoded name kept as is; longer ones are shortened with a hash.
const MAX_NAME: usize = 200;

/// A file name for a stream: ASCII letters, digits, `_`, `-` and `.` are
/// kept (except a leading `.`), every other byte becomes `%XX`. The empty
/// name becomes `%`; names longer than 200 bytes once encoded keep 150
/// bytes followed by `~` and the SHA-1 of the stream name. The mapping is
/// injective, so two streams never share a journal, and never yields `.`,
/// `..`, a hidden file or a path separator.
pub fn safe_file_name(stream: &str) -> String {
    if stream.is_empty() {
        return "%".to_owned();
    }
    let mut out = String::with_capacity(stream.len());
    for (i, b) in stream.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > MAX_NAME {
        let digest: String =
            Sha1::digest(stream.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        out.truncate(150);
        out.push('~');
        out.push_str(&digest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seek: u64) -> Journal {
        Journal {
            seek,
            file_name: PathBuf::from("/logs/access.log"),
            last_hash: hash_window(b"abc"),
            inode: Some(42),
            device: Some(7),
            born: Some(1_700_000_000_000_000_000),
            after: None,
        }
    }

    #[test]
    fn hash_is_zero_padded_in_front_and_covers_the_last_500_bytes() {
        // Reference digests computed independently (Python hashlib).
        assert_eq!(hash_window(b""), "fc56d4b3c72a8bfe593373c740d558ec1340ac73");
        assert_eq!(hash_window(b"hello"), "ec4a5123f5dabe49b66e11a3ceb15921e478a36a");
        let data: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(hash_window(&data), "fcd153e40f27f19512a2ff6cad8d228ce8e708b4");
        assert_eq!(hash_window(&data), hash_window(&data[100..]));
        assert_ne!(hash_window(&data), hash_window(&data[101..]));
    }

    #[test]
    fn split_parts_hash_like_one_slice() {
        let data: Vec<u8> = (0..700u32).map(|i| (i * 7 % 256) as u8).collect();
        for cut in [0, 1, 199, 200, 350, 699, 700] {
            assert_eq!(
                hash_window_parts(&[&data[..cut], &data[cut..]]),
                hash_window(&data),
                "cut {cut}"
            );
        }
        assert_eq!(hash_window_parts(&[b"he", b"llo"]), hash_window(b"hello"));
    }

    #[test]
    fn round_trip_and_heka_format() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = JournalStore::new(dir.path().join("journals"));
        assert_eq!(store.load("web").expect("absent ok"), None);
        store.save("web", &sample(1969)).expect("save");
        assert_eq!(store.load("web").expect("load"), Some(sample(1969)));
        let chained = Journal { seek: 0, after: Some(Box::new(sample(77))), ..sample(0) };
        store.save("chained", &chained).expect("save");
        assert_eq!(store.load("chained").expect("load"), Some(chained));
        let text = fs::read_to_string(dir.path().join("journals/web")).expect("file");
        assert!(
            text.starts_with(r#"{"seek":1969,"file_name":"/logs/access.log","last_hash":""#),
            "{text}"
        );

        let heka = format!(
            r#"{{"seek":12,"file_name":"/var/log/error.log","last_hash":"{}"}}"#,
            hash_window(b"")
        );
        fs::write(store.path_for("heka"), heka).expect("write");
        let j = store.load("heka").expect("load").expect("present");
        assert_eq!((j.seek, j.inode, j.device), (12, None, None));
    }

    #[test]
    fn save_replaces_atomically_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = JournalStore::new(dir.path());
        // A temp file left by a crash mid-write must not matter.
        fs::write(dir.path().join(".web.tmp"), b"{garbage").expect("write");
        store.save("web", &sample(1)).expect("save");
        store.save("web", &sample(2)).expect("save again");
        assert_eq!(store.load("web").expect("load").map(|j| j.seek), Some(2));
        let names: Vec<String> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["web".to_owned()]);
    }

    #[cfg(unix)]
    #[test]
    fn failed_save_keeps_the_old_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = JournalStore::new(dir.path());
        store.save("web", &sample(5)).expect("save");
        // A directory where the temp file should go makes the write fail.
        fs::create_dir(dir.path().join(".web.tmp")).expect("mkdir");
        let err = store.save("web", &sample(6)).expect_err("cannot write");
        assert!(err.to_string().contains("cannot write"), "{err}");
        assert_eq!(store.load("web").expect("load").map(|j| j.seek), Some(5));
    }

    #[test]
    fn corrupt_journals_are_errors_then_treated_as_absent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = JournalStore::new(dir.path());
        for (name, text) in [
            ("empty", String::new()),
            ("truncated", r#"{"seek":12,"file_na"#.to_owned()),
            ("badhash", r#"{"seek":1,"file_name":"/x","last_hash":"zz"}"#.to_owned()),
            (
                "nofile",
                format!(r#"{{"seek":1,"file_name":"","last_hash":"{}"}}"#, hash_window(b"")),
            ),
            ("negative", r#"{"seek":-1,"file_name":"/x","last_hash":""}"#.to_owned()),
        ] {
            fs::write(store.path_for(name), text).expect("write");
            let err = store.load(name).expect_err(name);
            assert!(matches!(err, JournalError::Corrupt { .. }), "{name}: {err}");
            assert!(err.to_string().contains(name), "{err}");
            assert_eq!(store.load_or_warn(name), None);
        }
    }

    #[test]
    fn safe_names_are_distinct_and_harmless() {
        assert_eq!(safe_file_name("access-log"), "access-log");
        assert_eq!(safe_file_name("a/b"), "a%2Fb");
        assert_eq!(safe_file_name("a_b"), "a_b");
        assert_eq!(safe_file_name(".."), "%2E.");
        assert_eq!(safe_file_name(""), "%");
        assert_eq!(safe_file_name("é"), "%C3%A9");
        let long_a = "a".repeat(300);
        let long_b = format!("{}b", "a".repeat(299));
        let (a, b) = (safe_file_name(&long_a), safe_file_name(&long_b));
        assert_ne!(a, b);
        assert!(a.len() < 200 && a.contains('~'), "{a}");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = JournalStore::new(dir.path());
        store.save("../escape", &sample(3)).expect("save");
        assert!(dir.path().join("%2E.%2Fescape").is_file());
    }
}
