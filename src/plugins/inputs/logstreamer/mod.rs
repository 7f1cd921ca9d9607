//! LogstreamerInput's file handling: find logstreams, read their files in
//! order across rotations, and checkpoint so that no line is lost or read
//! twice across restarts. The pipeline glue (splitter, router) sits on top.
//!
//! # Pieces
//!
//! - [`LogstreamerInputConfig`] → [`LogstreamerInputConfig::validate`] →
//!   [`LogstreamerSettings`].
//! - [`discover`]: stream name → files, oldest first.
//! - [`JournalStore`]: one [`Journal`] per stream, saved atomically.
//! - [`StreamReader`]: one per stream.
//! - [`describe`]: a dry run for the CLI.
//!
//! # Using a [`StreamReader`]
//!
//! ```text
//! settings = config.validate(base_dir)?            // errors name the key
//! store = JournalStore::new(&settings.journal_directory)
//! at startup, for (name, files) in discover(&settings, plugin_name)?.streams:
//!     options = ReaderOptions { initial_tail: settings.initial_tail, max_unconsumed: <splitter buffer size>, .. }
//!     reader = StreamReader::new(name, files, store.load_or_warn(name), options)
//!     reader.set_rescanner(Box::new(move || stream_files(&settings, plugin_name, name).ok()))
//! per stream, loop:
//!     match reader.read(&mut buf):
//!         Ok(Data { n })      => splitter.push(&buf[..n]); deliver complete records
//!         Ok(Switched { .. }) => flush (or drop) the splitter's partial record
//!         Ok(Eof)             => save; sleep check_data_interval
//!         Err(e)              => count and log e; sleep; go on (never fatal)
//!     save (every N records, on Eof, on stop):
//!         if let Some(j) = reader.checkpoint(splitter.buffered_len())?
//!             and j != last saved: store.save(name, &j)
//! every rescan_interval: discover again; reader.rescan(files) for known
//!     streams; new streams get a reader with initial_tail = false (their
//!     lines are new)
//! ```
//!
//! # Positions and checkpoints
//!
//! [`StreamReader::position`] is the offset of the next unread byte in the
//! current file. [`StreamReader::checkpoint`]`(consumed_back)` is the
//! journal for `offset - consumed_back` in the *current* file, where
//! `consumed_back` is the number of bytes the caller has read but not yet
//! delivered as complete records. Each call to `read` returns bytes of one
//! file, and on [`ReadOutcome::Switched`] the caller empties its buffer, so
//! `consumed_back` never reaches into a previous file. Resuming from such a
//! journal re-reads exactly the undelivered bytes. A journal at byte 0 of a
//! file also records the end of the previous file ([`Journal::after`]), the
//! only reliable witness when the file is compressed or deleted meanwhile.
//!
//! For `.gz` files, offsets count decompressed bytes; resuming decompresses
//! and skips up to the offset. The journal's `last_hash` is the SHA-1 of the
//! 500 bytes before `seek`, zero-padded in front when fewer precede it
//! ([`hash_window`]); it is computed from bytes the reader kept, so it stays
//! right after the file is truncated, deleted or renamed.
//!
//! # Rotation
//!
//! A reader leaves a file only once its open handle is at the end, and then
//! only for a newer file in the stream order or a new file that took the old
//! one's name (rename rotation), after [`ReaderOptions::switch_grace`]. Just
//! before leaving it lists the stream again (rescanner), so renames and
//! compressions since the last scan are seen. A file that vanished while
//! open is read to its end through the handle; its compressed or copied
//! version is recognised by hash and not read twice. A file that shrank
//! (below the read position or below a size seen before) was truncated
//! (copytruncate): reading continues in the copy holding the same bytes,
//! otherwise the file is read again from 0 with a warning.
//!
//! Limits (each logged when it happens, none silent):
//! - a truncation is seen at the next read; if the file regrew past both the
//!   read position and the largest size seen, it goes unnoticed;
//! - a file truncated before the reader saw any of its bytes or its size,
//!   with no rescanner, loses the copy's bytes;
//! - without a rescanner, several rotations between two periodic rescans
//!   can skip a file;
//! - a journal whose bytes are in no file any more restarts the stream at
//!   its oldest file ([`StartDecision::Unmatched`]);
//! - `.gz` files must be complete: corrupt data ends that file with an
//!   error and the reader moves on;
//! - copies are recognised by the 500 bytes before the position; below 500
//!   bytes into a file, two files with the same first bytes look alike.

mod config;
mod describe;
mod discovery;
mod input;
mod journal;
mod priority;
mod reader;
mod resume;
mod source;
mod window;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod simulation;

pub use config::{
    ConfigError, ConfigErrors, LogstreamerInputConfig, LogstreamerSettings, MISSING_KEY, NamePart,
    PriorityKey,
};
pub use describe::describe;
pub use discovery::{Discovery, DiscoveryError, SkippedFile, discover, discover_at, stream_files};
pub use input::{LogstreamerInput, SPEC, describe_all};
pub use journal::{HASH_WINDOW, Journal, JournalError, JournalStore, hash_window, safe_file_name};
pub use priority::{MISSING_VALUE, sort_value};
pub use reader::{
    MAX_OPEN_ATTEMPTS, Position, ReadOutcome, ReaderOptions, Rescanner, StreamReader,
};
pub use resume::StartDecision;
pub use source::{FileId, is_gz};
