//! [`StreamReader`]: reads one logstream's files in order, follows
//! rotations (rename or copytruncate), and computes checkpoints that cover
//! exactly the bytes the caller has consumed.
//!
//! Decisions are only taken at the end of the open file: a reader never
//! leaves a file with unread bytes in its open handle, and it hands out the
//! bytes of one file per call so the caller can flush a partial record
//! before the next file's bytes arrive.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::journal::{HASH_WINDOW, Journal};
use super::resume::{StartDecision, resolve};
use super::source::{FileId, OpenFile, Target};

mod follow;

/// How many times in a row a file may fail to open before it is skipped.
pub const MAX_OPEN_ATTEMPTS: u32 = 5;

/// What one [`StreamReader::read`] call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// `n` bytes of the current file were written to the start of the
    /// buffer (`n > 0` unless the buffer was empty).
    Data {
        /// Number of bytes.
        n: usize,
    },
    /// No data now: the caller sleeps `check_data_interval` and reads again.
    Eof,
    /// The reader finished `from` and moved to `to`, whose bytes come next.
    /// `from == to` when the file was truncated and is read again from 0.
    /// The caller flushes (or drops) any partial record of `from` now.
    Switched {
        /// The finished file (its latest known name).
        from: PathBuf,
        /// The file now open, at offset 0.
        to: PathBuf,
    },
}

/// A position in a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The file being read (its latest known name; absolute).
    pub file: PathBuf,
    /// Offset of the next unread byte (decompressed offset for `.gz`).
    pub offset: u64,
}

/// Tuning of a [`StreamReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Without a journal, start at the end of the newest file. Only applies
    /// when the stream has files when the reader is created. Pass
    /// `settings.initial_tail` for streams found at startup and `false` for
    /// streams that appear later (all their lines are new).
    pub initial_tail: bool,
    /// The most bytes a caller may pass as `consumed_back` to
    /// [`StreamReader::checkpoint`] (its splitter buffer size). The reader
    /// keeps this many bytes plus 500 of the current file. Default 128 KiB.
    pub max_unconsumed: usize,
    /// Before leaving a finished file for a newer one, wait until the
    /// finished file has been idle (no new bytes, mtime this old) this long:
    /// a writer that has not reopened its log yet may still append to it.
    /// Default 1 s; zero switches at once.
    pub switch_grace: Duration,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            initial_tail: false,
            max_unconsumed: 128 * 1024,
            switch_grace: Duration::from_secs(1),
        }
    }
}

/// Lists a stream's files again, oldest first; `None` when the scan failed
/// (the previous list is kept).
pub type Rescanner = Box<dyn FnMut() -> Option<Vec<PathBuf>> + Send>;

/// A file chosen but not open yet (its open failed; retried on each read).
#[derive(Debug, Clone)]
struct Pending {
    path: PathBuf,
    target: Target,
}

/// Reads one logstream. See the module documentation of
/// [`logstreamer`](super) for the contract.
pub struct StreamReader {
    name: String,
    files: Vec<PathBuf>,
    /// Bumped by every rescan.
    generation: u64,
    options: ReaderOptions,
    start: StartDecision,
    /// Journal kept until the stream has files to resolve it against.
    waiting_journal: Option<Journal>,
    current: Option<OpenFile>,
    pending: Option<Pending>,
    /// The end of the last non-empty file finished, for checkpoints at
    /// offset 0 (see [`Journal::after`]).
    previous_end: Option<Journal>,
    /// Paths at or before the current file in the last list it was found
    /// in: never successors.
    known_before: HashSet<PathBuf>,
    eof_since: Option<Instant>,
    rescanner: Option<Rescanner>,
    /// The identity found at the current file's name when the rescanner
    /// last ran for a rotation (so it runs once per rotation).
    rescanned_for: Option<Option<FileId>>,
    /// The list generation last searched for a copy of a vanished file.
    copy_searched: Option<u64>,
    /// The list was refreshed for the coming switch (once per file end).
    rescanned_for_switch: bool,
    /// Cached [`locate_previous`](Self::locate_previous) result for a list
    /// generation.
    previous_search: Option<(u64, Option<usize>)>,
    open_failures: HashMap<PathBuf, u32>,
    given_up: HashSet<PathBuf>,
}

impl StreamReader {
    /// A reader for stream `name` whose files are `files` (oldest first,
    /// as [`discover`](super::discover) returns them), resuming from
    /// `journal` when given. The start is resolved now (see
    /// [`StartDecision`]); an unmatched journal is logged as a warning.
    pub fn new(
        name: impl Into<String>,
        files: Vec<PathBuf>,
        journal: Option<Journal>,
        options: ReaderOptions,
    ) -> StreamReader {
        let mut reader = StreamReader {
            name: name.into(),
            files: absolute_all(files),
            generation: 0,
            options,
            start: StartDecision::NoFiles,
            waiting_journal: journal,
            current: None,
            pending: None,
            previous_end: None,
            known_before: HashSet::new(),
            eof_since: None,
            rescanner: None,
            rescanned_for: None,
            copy_searched: None,
            rescanned_for_switch: false,
            previous_search: None,
            open_failures: HashMap::new(),
            given_up: HashSet::new(),
        };
        let tail = reader.options.initial_tail;
        reader.resolve_start(tail);
        reader
    }

    /// Lets the reader list its stream's files itself when it sees a
    /// rotation, truncation or vanished file, instead of waiting for the
    /// next periodic [`rescan`](Self::rescan). Strongly advised: without
    /// it, two rotations between rescans can make the reader skip a file.
    pub fn set_rescanner(&mut self, rescanner: Rescanner) {
        self.rescanner = Some(rescanner);
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the reader started.
    pub fn start_decision(&self) -> &StartDecision {
        &self.start
    }

    /// The stream's files as last listed, oldest first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The next unread byte; `None` while no file is open.
    pub fn position(&self) -> Option<Position> {
        self.current.as_ref().map(|f| Position { file: f.path.clone(), offset: f.offset() })
    }

    /// The journal for the position `consumed_back` bytes before
    /// [`position`](Self::position), in the current file: the caller passes
    /// the bytes it has read but not yet delivered as complete records.
    /// At offset 0 the journal also carries [`Journal::after`].
    /// `Ok(None)` while no file is open (keep the previous journal).
    /// Errors (`InvalidInput`) when `consumed_back` exceeds the offset in
    /// the current file or [`ReaderOptions::max_unconsumed`].
    pub fn checkpoint(&self, consumed_back: u64) -> io::Result<Option<Journal>> {
        let Some(cur) = &self.current else { return Ok(None) };
        let seek = cur.offset().checked_sub(consumed_back).ok_or_else(|| {
            invalid(format!(
                "consumed_back {consumed_back} exceeds the offset {} in {}",
                cur.offset(),
                cur.path.display()
            ))
        })?;
        let mut journal = journal_at(cur, seek).ok_or_else(|| {
            invalid(format!(
                "consumed_back {consumed_back} exceeds the {} bytes the reader keeps \
                 (ReaderOptions::max_unconsumed)",
                self.options.max_unconsumed
            ))
        })?;
        if seek == 0 {
            journal.after = self.previous_end.clone().map(Box::new);
        }
        Ok(Some(journal))
    }

    /// Replaces the stream's file list after a directory scan (oldest
    /// first). The current file keeps being read; a stream that had no
    /// files starts with the oldest listed file (from its first byte, or
    /// from a journal given at creation).
    pub fn rescan(&mut self, files: Vec<PathBuf>) {
        self.files = absolute_all(files);
        self.generation += 1;
        self.open_failures.retain(|p, _| self.files.contains(p));
        self.given_up.retain(|p| self.files.contains(p));
        if self.current.is_some() {
            self.locate_current();
        } else if self.pending.is_none() {
            // Nothing open yet, or every earlier choice was skipped.
            self.resolve_start(false);
        }
    }

    /// Reads the next bytes of the stream into `buf`; see [`ReadOutcome`].
    ///
    /// Errors are per call (an unreadable or corrupt file, an I/O error):
    /// the caller counts them and calls again later; the reader never
    /// panics. A file that fails to open [`MAX_OPEN_ATTEMPTS`] times in a
    /// row is skipped with a warning.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<ReadOutcome> {
        if buf.is_empty() {
            return Ok(ReadOutcome::Data { n: 0 });
        }
        if self.current.is_none() {
            if self.pending.is_some() {
                self.open_pending()?;
            }
            if self.current.is_none() {
                return Ok(ReadOutcome::Eof);
            }
        }
        // Moving to a copy continues reading at once; bounded passes.
        for _ in 0..3 {
            let cur = self.current.as_mut().unwrap_or_else(|| unreachable!("checked above"));
            if !cur.broken {
                // Checked before reading too: after a copytruncate the
                // bytes at our offset may already be new ones.
                if !cur.is_gz() {
                    let len = cur.metadata().map_err(|e| context(e, &cur.path))?.len();
                    if len < cur.offset() || len < cur.len_seen {
                        match self.truncated()? {
                            Some(outcome) => return Ok(outcome),
                            None => continue,
                        }
                    }
                    cur.len_seen = len;
                }
                match cur.read(buf) {
                    Ok(0) => {}
                    Ok(n) => {
                        self.eof_since = None;
                        self.rescanned_for_switch = false;
                        return Ok(ReadOutcome::Data { n });
                    }
                    Err(e) => {
                        if cur.is_gz() {
                            // A broken gzip stream cannot be resumed: the
                            // rest of it is skipped, the reader moves on.
                            cur.broken = true;
                            tracing::warn!(stream = %self.name, file = %cur.path.display(),
                                error = %e, "corrupt gzip data; skipping the rest of the file");
                        }
                        return Err(context(e, &cur.path));
                    }
                }
            }
            match self.at_end()? {
                Some(outcome) => return Ok(outcome),
                None => continue,
            }
        }
        Ok(ReadOutcome::Eof)
    }

    /// Resolves the start against the current list (at creation, or when
    /// the first files of an empty stream appear).
    fn resolve_start(&mut self, initial_tail: bool) {
        let cap = self.window_cap();
        let resolved = resolve(&self.files, self.waiting_journal.as_ref(), initial_tail, cap);
        for problem in &resolved.problems {
            tracing::warn!(stream = %self.name, problem = %problem, "checking logstreamer files");
        }
        match &resolved.decision {
            StartDecision::NoFiles => return,
            StartDecision::Unmatched { .. } => {
                tracing::warn!(stream = %self.name, start = %resolved.decision, "journal not found in any file");
            }
            decision => tracing::info!(stream = %self.name, start = %decision, "logstream start"),
        }
        if let Some(journal) = self.waiting_journal.take() {
            // A resumed offset-0 position keeps its predecessor.
            self.previous_end = journal.after.map(|after| *after);
        }
        match resolved.opened {
            Some((index, file)) => {
                self.note_opened(&self.files[index].clone());
                self.current = Some(file);
            }
            None => {
                let target = match &resolved.decision {
                    StartDecision::Tail { .. } => Target::End,
                    _ => Target::Offset(0),
                };
                let path = resolved.decision.start().map(|(p, _)| p.to_path_buf());
                self.pending = path.map(|path| Pending { path, target });
            }
        }
        self.start = resolved.decision;
    }

    /// Opens the pending file; after repeated failures skips to the next.
    fn open_pending(&mut self) -> io::Result<()> {
        let Some(pending) = self.pending.clone() else { return Ok(()) };
        let cap = self.window_cap();
        let opened = OpenFile::open(&pending.path, pending.target, cap).and_then(|f| match f {
            Some(f) => Ok(f),
            // Shorter than the target: it shrank; start it over.
            None => OpenFile::open(&pending.path, Target::Offset(0), cap)?
                .ok_or_else(|| invalid("file shrank while opening".to_owned())),
        });
        match opened {
            Ok(file) => {
                self.note_opened(&pending.path);
                self.current = Some(file);
                self.pending = None;
                Ok(())
            }
            Err(e) => {
                if self.count_failure(&pending.path) || e.kind() == io::ErrorKind::NotFound {
                    let next = match self.files.iter().position(|p| *p == pending.path) {
                        Some(i) => self.files.get(i + 1),
                        None => self.files.iter().find(|p| !self.given_up.contains(*p)),
                    };
                    self.pending =
                        next.cloned().map(|path| Pending { path, target: Target::Offset(0) });
                }
                Err(context(e, &pending.path))
            }
        }
    }

    /// Records a failed open; true when the file is now given up.
    fn count_failure(&mut self, path: &Path) -> bool {
        let count = self.open_failures.entry(path.to_path_buf()).or_insert(0);
        *count += 1;
        if *count >= MAX_OPEN_ATTEMPTS {
            tracing::warn!(stream = %self.name, file = %path.display(),
                "file failed to open {MAX_OPEN_ATTEMPTS} times; skipping it (its lines are lost)");
            self.given_up.insert(path.to_path_buf());
            return true;
        }
        false
    }

    /// Bookkeeping after a file was opened: its predecessors in the list
    /// are done.
    fn note_opened(&mut self, path: &Path) {
        self.open_failures.remove(path);
        self.eof_since = None;
        self.rescanned_for = None;
        self.copy_searched = None;
        self.rescanned_for_switch = false;
        self.previous_search = None;
        match self.files.iter().position(|p| p == path) {
            Some(i) => self.known_before = self.files[..=i].iter().cloned().collect(),
            None => {
                self.known_before.insert(path.to_path_buf());
            }
        }
    }

    fn window_cap(&self) -> usize {
        self.options.max_unconsumed.saturating_add(HASH_WINDOW)
    }

    fn current(&self) -> &OpenFile {
        self.current.as_ref().unwrap_or_else(|| unreachable!("only called with a file open"))
    }
}

/// The journal for offset `seek` of an open file, if its window covers it.
fn journal_at(file: &OpenFile, seek: u64) -> Option<Journal> {
    Some(Journal {
        seek,
        file_name: file.path.clone(),
        last_hash: file.window.hash_before(seek)?,
        inode: file.id.map(|i| i.inode),
        device: file.id.map(|i| i.device),
        born: file.id.and_then(|i| i.born),
        after: None,
    })
}

fn absolute_all(files: Vec<PathBuf>) -> Vec<PathBuf> {
    files.into_iter().map(|p| std::path::absolute(&p).unwrap_or(p)).collect()
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Adds the file name to an I/O error, keeping its kind.
fn context(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("name", &self.name)
            .field("position", &self.position())
            .field("files", &self.files.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn empty_stream_waits_then_starts_at_the_first_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r = StreamReader::new("s", vec![], None, ReaderOptions::default());
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf).expect("read"), ReadOutcome::Eof);
        assert_eq!(r.checkpoint(0).expect("no file"), None);
        let path = dir.path().join("a.log");
        fs::write(&path, b"hello\n").expect("write");
        r.rescan(vec![path.clone()]);
        assert_eq!(r.read(&mut buf).expect("read"), ReadOutcome::Data { n: 6 });
        assert_eq!(r.position(), Some(Position { file: path, offset: 6 }));
    }

    #[test]
    fn reader_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<StreamReader>();
    }

    #[test]
    fn checkpoint_refuses_to_go_back_too_far() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.log");
        fs::write(&path, vec![b'x'; 3000]).expect("write");
        let opts = ReaderOptions { max_unconsumed: 1000, ..ReaderOptions::default() };
        let mut r = StreamReader::new("s", vec![path], None, opts);
        let mut buf = [0u8; 3000];
        assert_eq!(r.read(&mut buf).expect("read"), ReadOutcome::Data { n: 3000 });
        assert!(r.checkpoint(1000).expect("within window").is_some());
        let err = r.checkpoint(1001).expect_err("beyond window");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("max_unconsumed"), "{err}");
        assert!(r.checkpoint(3001).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_file_errors_then_is_skipped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("a.log.1");
        let good = dir.path().join("a.log");
        fs::write(&bad, b"secret\n").expect("write");
        fs::write(&good, b"public\n").expect("write");
        fs::set_permissions(&bad, fs::Permissions::from_mode(0o000)).expect("chmod");
        if fs::File::open(&bad).is_ok() {
            return; // running as root: permissions are not enforced
        }
        let opts = ReaderOptions { switch_grace: Duration::ZERO, ..ReaderOptions::default() };
        let mut r = StreamReader::new("s", vec![bad.clone(), good.clone()], None, opts);
        let mut buf = [0u8; 64];
        for _ in 0..MAX_OPEN_ATTEMPTS {
            let err = r.read(&mut buf).expect_err("unreadable");
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
            assert!(err.to_string().contains("a.log.1"), "{err}");
        }
        assert_eq!(r.read(&mut buf).expect("read"), ReadOutcome::Data { n: 7 });
        assert_eq!(&buf[..7], b"public\n");
    }
}
