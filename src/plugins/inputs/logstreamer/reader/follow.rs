//! How a [`StreamReader`] goes on at the end of its open file: truncation
//! (continue in a copy or start over), rotation by rename (follow the new
//! file), vanished or compressed files (find the copy, or place the stream
//! by the previous file), the switch grace, and the switch itself.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::super::journal::HASH_WINDOW;
use super::super::source::{FileId, OpenFile, Target};
use super::{ReadOutcome, StreamReader, context, journal_at};

/// What may follow the current file.
enum Next {
    /// Files to switch to, in preference order (may be empty).
    Files(Vec<PathBuf>),
    /// A copy of the current file (same bytes up to the read position),
    /// opened there: continue in it.
    Copy(PathBuf, OpenFile),
}

impl StreamReader {
    /// The open file returned no bytes: truncated? rotated? newer file?
    /// `None`: read again (moved to a copy).
    pub(super) fn at_end(&mut self) -> io::Result<Option<ReadOutcome>> {
        let cur = self.current.as_mut().unwrap_or_else(|| unreachable!("called with a file open"));
        if !cur.is_gz() && !cur.broken {
            let len = cur.metadata().map_err(|e| context(e, &cur.path))?.len();
            if len < cur.offset() || len < cur.len_seen {
                return self.truncated();
            }
            cur.len_seen = len;
        }
        let at_name = FileId::at(&cur.path);
        let moved = cur.id.is_some() && !FileId::same(at_name, cur.id);
        if moved && self.rescanned_for != Some(at_name) {
            self.rescanned_for = Some(at_name);
            self.run_rescanner();
        }
        let mut next = self.successors();
        if matches!(&next, Next::Files(f) if !f.is_empty())
            && self.rescanner.is_some()
            && !self.rescanned_for_switch
        {
            if !self.grace_over()? {
                return Ok(Some(ReadOutcome::Eof));
            }
            // About to leave this file: decide on a fresh list (files may
            // have been compressed or renamed since the last scan).
            self.rescanned_for_switch = true;
            self.run_rescanner();
            next = self.successors();
        }
        match next {
            Next::Copy(path, file) => {
                self.continue_in_copy(path, file, "file vanished; continuing in its copy");
                Ok(None)
            }
            Next::Files(files) if files.is_empty() || !self.grace_over()? => {
                Ok(Some(ReadOutcome::Eof))
            }
            Next::Files(files) => self.switch_to(files).map(Some),
        }
    }

    /// The current file shrank (copytruncate or a manual truncation).
    /// Continue in a listed copy holding the same bytes, otherwise read the
    /// file again from 0.
    pub(super) fn truncated(&mut self) -> io::Result<Option<ReadOutcome>> {
        self.run_rescanner();
        // At offset 0 any file "matches"; only a fresh list makes the newest
        // other file the copy.
        let fresh = self.current().offset() > 0 || self.rescanner.is_some();
        let newest_first: Vec<PathBuf> = self.files.iter().rev().cloned().collect();
        if let Some((path, file)) = self.find_copy(&newest_first).filter(|_| fresh) {
            self.continue_in_copy(path, file, "file truncated; continuing in its copy");
            return Ok(None);
        }
        let name = self.name.clone();
        let cur = self.current.as_mut().unwrap_or_else(|| unreachable!("called with a file open"));
        tracing::warn!(stream = %name, file = %cur.path.display(), offset = cur.offset(),
            "file truncated and no copy found: reading it again from 0 \
             (bytes written after the last read and before the truncation are lost)");
        cur.rewind().map_err(|e| context(e, &cur.path))?;
        let path = cur.path.clone();
        self.previous_end = None;
        self.previous_search = None;
        self.eof_since = None;
        Ok(Some(ReadOutcome::Switched { from: path.clone(), to: path }))
    }

    /// The first of `candidates` (another file) holding the same bytes as
    /// the current file up to the read position, opened there.
    fn find_copy(&self, candidates: &[PathBuf]) -> Option<(PathBuf, OpenFile)> {
        let cur = self.current();
        let offset = cur.offset();
        let hash = cur.window.hash_before(offset);
        candidates.iter().find_map(|path| {
            if self.given_up.contains(path) || FileId::same(FileId::at(path), cur.id) {
                return None;
            }
            match OpenFile::open(path, Target::Offset(offset), self.window_cap()) {
                Ok(Some(copy))
                    if !FileId::same(copy.id, cur.id)
                        && copy.window.hash_before(offset) == hash =>
                {
                    Some((path.clone(), copy))
                }
                _ => None,
            }
        })
    }

    /// Replaces the current file by a copy positioned at the same offset,
    /// without a [`ReadOutcome::Switched`]: the byte stream continues.
    fn continue_in_copy(&mut self, path: PathBuf, mut copy: OpenFile, why: &str) {
        let old = self.current.take().unwrap_or_else(|| unreachable!("called with a file open"));
        tracing::info!(stream = %self.name, from = %old.path.display(), to = %path.display(),
            offset = old.offset(), "{why}");
        // Same bytes up to the offset: the longer history stays valid.
        copy.window = old.window;
        self.note_opened(&path);
        self.current = Some(copy);
    }

    /// Runs the rescanner, if any, and applies its list.
    pub(super) fn run_rescanner(&mut self) {
        let Some(rescanner) = self.rescanner.as_mut() else { return };
        match rescanner() {
            Some(files) => self.rescan(files),
            None => tracing::warn!(stream = %self.name, "rescan failed; keeping the file list"),
        }
    }

    /// Finds the current file in the list by identity, updating its name
    /// after a rename. Returns its index.
    pub(super) fn locate_current(&mut self) -> Option<usize> {
        let cur = self.current.as_mut()?;
        let index = if cur.id.is_some() && !FileId::same(FileId::at(&cur.path), cur.id) {
            let found = self.files.iter().position(|p| FileId::same(FileId::at(p), cur.id));
            if let Some(i) = found {
                cur.path = self.files[i].clone();
            }
            found
        } else {
            self.files.iter().position(|p| *p == cur.path)
        };
        if let Some(i) = index {
            self.known_before = self.files[..=i].iter().cloned().collect();
        }
        index
    }

    /// What comes after the current file (which is at its end).
    fn successors(&mut self) -> Next {
        let located = self.locate_current();
        let cur = self.current();
        let other_file_at = |path: &Path| {
            let id = FileId::at(path);
            id.is_some() && !FileId::same(id, cur.id)
        };
        let mut files: Vec<PathBuf> = match located {
            Some(i) => {
                let mut later = self.files[i + 1..].to_vec();
                // Renamed away and the list does not show its successor
                // yet: a new file at the name it was opened under is one.
                if later.is_empty()
                    && cur.opened_path != cur.path
                    && other_file_at(&cur.opened_path)
                {
                    later.push(cur.opened_path.clone());
                }
                later
            }
            None => {
                // Gone or replaced: first look for a copy of it (rotated
                // and compressed, copied): its bytes continue the stream.
                if cur.offset() > 0 && self.copy_searched != Some(self.generation) {
                    self.copy_searched = Some(self.generation);
                    let newest_first: Vec<PathBuf> = self.files.iter().rev().cloned().collect();
                    if let Some((path, file)) = self.find_copy(&newest_first) {
                        return Next::Copy(path, file);
                    }
                }
                if let Some(i) = self.locate_previous() {
                    // The file read before this one is still listed: what
                    // follows it (minus this file, now gone) comes next.
                    self.files[i + 1..].to_vec()
                } else {
                    let cur = self.current();
                    let id = FileId::at(&cur.path);
                    if id.is_some() && !FileId::same(id, cur.id) {
                        // Rotated by rename and not in the list: the new
                        // file that took its name comes next.
                        vec![cur.path.clone()]
                    } else {
                        // Deleted or renamed out of the stream: the files
                        // it had not passed yet.
                        self.files
                            .iter()
                            .filter(|p| !self.known_before.contains(*p))
                            .cloned()
                            .collect()
                    }
                }
            }
        };
        files.retain(|p| !self.given_up.contains(p));
        Next::Files(files)
    }

    /// The index of the file read before the current one (by identity,
    /// else by the hash at its end), searched once per list generation.
    fn locate_previous(&mut self) -> Option<usize> {
        if let Some((generation, found)) = self.previous_search
            && generation == self.generation
        {
            return found;
        }
        let found = self.previous_end.as_ref().and_then(|prev| {
            let id = prev.file_id();
            if id.is_some()
                && let Some(i) = self.files.iter().position(|p| FileId::same(FileId::at(p), id))
            {
                return Some(i);
            }
            (0..self.files.len()).rev().find(|&i| {
                let opened = OpenFile::open(&self.files[i], Target::Offset(prev.seek), HASH_WINDOW);
                matches!(opened, Ok(Some(f)) if f.window.hash_before(prev.seek).as_deref() == Some(&prev.last_hash))
            })
        });
        self.previous_search = Some((self.generation, found));
        found
    }

    /// Whether the finished file has been idle for `switch_grace`.
    fn grace_over(&mut self) -> io::Result<bool> {
        let grace = self.options.switch_grace;
        if grace.is_zero() {
            return Ok(true);
        }
        let since = *self.eof_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= grace {
            return Ok(true);
        }
        let cur = self.current();
        let modified =
            cur.metadata().and_then(|m| m.modified()).map_err(|e| context(e, &cur.path))?;
        let age = SystemTime::now().duration_since(modified).unwrap_or(Duration::ZERO);
        Ok(age >= grace)
    }

    /// Opens the first usable candidate and makes it current.
    fn switch_to(&mut self, candidates: Vec<PathBuf>) -> io::Result<ReadOutcome> {
        let cap = self.window_cap();
        for path in candidates {
            let cur_id = self.current().id;
            match OpenFile::open(&path, Target::Offset(0), cap) {
                Ok(Some(file)) if !FileId::same(file.id, cur_id) => {
                    let old = self.current.replace(file).unwrap_or_else(|| unreachable!("open"));
                    if old.offset() > 0 {
                        self.previous_end = journal_at(&old, old.offset());
                    }
                    self.note_opened(&path);
                    tracing::debug!(stream = %self.name, from = %old.path.display(),
                        to = %path.display(), "next file");
                    return Ok(ReadOutcome::Switched { from: old.path, to: path });
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    self.count_failure(&path);
                    return Err(context(e, &path));
                }
            }
        }
        Ok(ReadOutcome::Eof)
    }
}
