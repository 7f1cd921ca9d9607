//! Deciding where a stream starts: verify the journal's file and hash,
//! find the journaled bytes in another file when the file was rotated or
//! truncated while Sandpiper was stopped, or fall back (loudly) to the
//! oldest file; without a journal, the oldest file or (with
//! `initial_tail`) the end of the newest.

use std::fmt;
use std::path::{Path, PathBuf};

use super::journal::Journal;
use super::source::{FileId, OpenFile, Target};

/// Where a stream reader started, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartDecision {
    /// The stream has no files yet; it starts with the first one to appear.
    NoFiles,
    /// No journal: the oldest file from its first byte.
    Beginning {
        /// The oldest file.
        file: PathBuf,
    },
    /// No journal and `initial_tail`: the end of the newest file.
    Tail {
        /// The newest file.
        file: PathBuf,
        /// Its length when opened.
        offset: u64,
    },
    /// The journal's file still holds the journaled bytes.
    Journal {
        /// The file.
        file: PathBuf,
        /// The journal's `seek`.
        offset: u64,
    },
    /// The journaled bytes were found in another file (rotated, renamed,
    /// compressed or copied while stopped).
    Relocated {
        /// The journal's `file_name`.
        journal_file: PathBuf,
        /// Where the bytes are now.
        file: PathBuf,
        /// The journal's `seek`.
        offset: u64,
    },
    /// The journal is at byte 0 of a file; its `after` position (the end of
    /// the previous file) was found, and reading goes on with that file's
    /// successors.
    AfterPrevious {
        /// The journal's `file_name`.
        journal_file: PathBuf,
        /// The previous file, opened at its end.
        previous: PathBuf,
        /// Its end offset.
        offset: u64,
    },
    /// No file holds the journaled bytes: restarted at the oldest file.
    /// Lines may be lost (the file is gone) or read twice.
    Unmatched {
        /// The journal's `file_name`.
        journal_file: PathBuf,
        /// The journal's `seek`.
        seek: u64,
        /// The oldest file, read from its first byte.
        file: PathBuf,
    },
}

impl StartDecision {
    /// The file and offset reading starts at, if any.
    pub fn start(&self) -> Option<(&Path, u64)> {
        match self {
            StartDecision::NoFiles => None,
            StartDecision::Beginning { file } | StartDecision::Unmatched { file, .. } => {
                Some((file, 0))
            }
            StartDecision::Tail { file, offset }
            | StartDecision::Journal { file, offset }
            | StartDecision::Relocated { file, offset, .. }
            | StartDecision::AfterPrevious { previous: file, offset, .. } => Some((file, *offset)),
        }
    }
}

impl fmt::Display for StartDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartDecision::NoFiles => {
                write!(f, "no files yet; the first file to appear is read from its start")
            }
            StartDecision::Beginning { file } => {
                write!(f, "{} at byte 0 (no journal: oldest file)", file.display())
            }
            StartDecision::Tail { file, offset } => {
                write!(
                    f,
                    "{} at byte {offset} (no journal, initial_tail: end of newest file)",
                    file.display()
                )
            }
            StartDecision::Journal { file, offset } => {
                write!(f, "{} at byte {offset} (journal verified)", file.display())
            }
            StartDecision::Relocated { journal_file, file, offset } => write!(
                f,
                "{} at byte {offset} (journal named {}; its bytes were found here)",
                file.display(),
                journal_file.display()
            ),
            StartDecision::AfterPrevious { journal_file, previous, offset } => write!(
                f,
                "{} at byte {offset}, its end (journal at byte 0 of {}, the file after it)",
                previous.display(),
                journal_file.display()
            ),
            StartDecision::Unmatched { journal_file, seek, file } => write!(
                f,
                "{} at byte 0 (WARNING: journal position {} byte {seek} matches no file; \
                 lines may be lost or repeated)",
                file.display(),
                journal_file.display()
            ),
        }
    }
}

/// The decision plus, when a file could be opened, that file positioned at
/// the start offset and its index in `files`.
pub(crate) struct Resolved {
    pub decision: StartDecision,
    pub opened: Option<(usize, OpenFile)>,
    /// Problems met while checking candidates (unreadable files...).
    pub problems: Vec<String>,
}

/// Resolves the start of a stream whose files are `files` (oldest first).
///
/// With a journal, candidates are tried in this order, each needing at
/// least `seek` bytes and the same 500-byte hash before `seek`:
/// 1. the file with the journal's identity (inode), under any name;
/// 2. the file at the journal's `file_name`;
/// 3. every file, newest first.
///
/// The identity goes first because after a rotation the new file at
/// `file_name` can share the hash (short or identical prefixes). At `seek`
/// 0 the hash proves nothing: the journal's `after` position (the end of
/// the previous file) is tried first, then only the journal's identity
/// (or, for a Heka journal without one, its `file_name`), then the oldest
/// file.
pub(crate) fn resolve(
    files: &[PathBuf],
    journal: Option<&Journal>,
    initial_tail: bool,
    window_cap: usize,
) -> Resolved {
    let mut problems = Vec::new();
    let Some(oldest) = files.first() else {
        return Resolved { decision: StartDecision::NoFiles, opened: None, problems };
    };
    let Some(journal) = journal else {
        let (index, target) =
            if initial_tail { (files.len() - 1, Target::End) } else { (0, Target::Offset(0)) };
        let path = &files[index];
        let opened = open_logged(path, target, window_cap, &mut problems).map(|f| (index, f));
        let decision = match (target, &opened) {
            (Target::End, Some((_, f))) => {
                StartDecision::Tail { file: path.clone(), offset: f.offset() }
            }
            (Target::End, None) => StartDecision::Tail { file: path.clone(), offset: 0 },
            (Target::Offset(_), _) => StartDecision::Beginning { file: path.clone() },
        };
        return Resolved { decision, opened, problems };
    };

    // At offset 0 the end of the previous file, with its strong hash, is
    // the better witness (an inode number alone may have been reused).
    if let Some(after) = journal.after.as_deref().filter(|_| journal.seek == 0)
        && let Some((index, f)) = locate(files, after, window_cap, &mut problems)
    {
        let decision = StartDecision::AfterPrevious {
            journal_file: journal.file_name.clone(),
            previous: files[index].clone(),
            offset: after.seek,
        };
        return Resolved { decision, opened: Some((index, f)), problems };
    }
    if let Some((index, f)) = locate(files, journal, window_cap, &mut problems) {
        let path = &files[index];
        let decision = if *path == journal.file_name {
            StartDecision::Journal { file: path.clone(), offset: journal.seek }
        } else {
            StartDecision::Relocated {
                journal_file: journal.file_name.clone(),
                file: path.clone(),
                offset: journal.seek,
            }
        };
        return Resolved { decision, opened: Some((index, f)), problems };
    }
    let opened = open_logged(oldest, Target::Offset(0), window_cap, &mut problems).map(|f| (0, f));
    let decision = StartDecision::Unmatched {
        journal_file: journal.file_name.clone(),
        seek: journal.seek,
        file: oldest.clone(),
    };
    Resolved { decision, opened, problems }
}

/// Finds the file holding the journaled position (see [`resolve`]).
fn locate(
    files: &[PathBuf],
    journal: &Journal,
    window_cap: usize,
    problems: &mut Vec<String>,
) -> Option<(usize, OpenFile)> {
    let id = journal.file_id();
    let weak = journal.seek == 0;
    let mut order: Vec<usize> = Vec::with_capacity(files.len() + 2);
    if id.is_some() {
        order.extend((0..files.len()).rev().filter(|&i| FileId::same(FileId::at(&files[i]), id)));
    }
    if !weak || id.is_none() {
        order.extend(files.iter().position(|p| *p == journal.file_name));
    }
    if !weak {
        order.extend((0..files.len()).rev());
    }
    let mut tried = vec![false; files.len()];
    for index in order {
        if std::mem::replace(&mut tried[index], true) {
            continue;
        }
        let Some(f) =
            open_logged(&files[index], Target::Offset(journal.seek), window_cap, problems)
        else {
            continue;
        };
        let same_file = id.is_none() || FileId::same(f.id, id);
        if (!weak || same_file)
            && f.window.hash_before(journal.seek).as_deref() == Some(&journal.last_hash)
        {
            return Some((index, f));
        }
    }
    None
}

/// Opens a file, recording an error as a problem.
fn open_logged(
    path: &Path,
    target: Target,
    window_cap: usize,
    problems: &mut Vec<String>,
) -> Option<OpenFile> {
    match OpenFile::open(path, target, window_cap) {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("{}: {e}", path.display()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::journal::hash_window;
    use super::*;
    use std::fs;

    fn journal_for(path: &Path, data: &[u8], seek: usize, with_id: bool) -> Journal {
        let id = if with_id { FileId::at(path) } else { None };
        Journal {
            seek: seek as u64,
            file_name: path.to_path_buf(),
            last_hash: hash_window(&data[seek.saturating_sub(500)..seek]),
            inode: id.map(|i| i.inode),
            device: id.map(|i| i.device),
            born: id.and_then(|i| i.born),
            after: None,
        }
    }

    #[test]
    fn no_journal_starts_at_oldest_or_tails_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.1");
        let b = dir.path().join("a");
        fs::write(&a, b"old\n").expect("write");
        fs::write(&b, b"newer\n").expect("write");
        let files = vec![a.clone(), b.clone()];
        let r = resolve(&files, None, false, 1000);
        assert_eq!(r.decision, StartDecision::Beginning { file: a });
        assert_eq!(r.opened.map(|(i, f)| (i, f.offset())), Some((0, 0)));
        let r = resolve(&files, None, true, 1000);
        assert_eq!(r.decision, StartDecision::Tail { file: b, offset: 6 });
        assert_eq!(resolve(&[], None, true, 1000).decision, StartDecision::NoFiles);
    }

    #[test]
    fn identity_beats_a_new_file_with_the_same_prefix() {
        // Rotation while stopped: the new file at the journal's name starts
        // with the same 100 bytes, so only the inode tells them apart.
        let dir = tempfile::tempdir().expect("tempdir");
        let cur = dir.path().join("x.log");
        let rotated = dir.path().join("x.log.1");
        let header = vec![b'h'; 100];
        fs::write(&cur, [header.clone(), b"old tail\n".to_vec()].concat()).expect("write");
        let journal = journal_for(&cur, &header, 100, true);
        fs::rename(&cur, &rotated).expect("rotate");
        fs::write(&cur, [header.clone(), b"new\n".to_vec()].concat()).expect("write");
        let files = vec![rotated.clone(), cur.clone()];
        let r = resolve(&files, Some(&journal), false, 1000);
        assert_eq!(
            r.decision,
            StartDecision::Relocated { journal_file: cur.clone(), file: rotated, offset: 100 }
        );
        // A Heka journal without identity takes the file at file_name.
        let heka = Journal { inode: None, device: None, born: None, ..journal };
        let r = resolve(&files, Some(&heka), false, 1000);
        assert_eq!(r.decision, StartDecision::Journal { file: cur, offset: 100 });
    }

    #[test]
    fn unmatched_journal_restarts_at_oldest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.1");
        let b = dir.path().join("a");
        fs::write(&a, vec![b'a'; 800]).expect("write");
        fs::write(&b, vec![b'b'; 800]).expect("write");
        let journal = Journal {
            seek: 600,
            file_name: dir.path().join("gone"),
            last_hash: hash_window(&[b'c'; 500]),
            inode: None,
            device: None,
            born: None,
            after: None,
        };
        let r = resolve(&[a.clone(), b], Some(&journal), true, 1000);
        assert_eq!(
            r.decision,
            StartDecision::Unmatched {
                journal_file: journal.file_name.clone(),
                seek: 600,
                file: a
            }
        );
        assert_eq!(r.opened.map(|(i, f)| (i, f.offset())), Some((0, 0)));
        assert!(r.decision.to_string().contains("WARNING"));
    }
}
