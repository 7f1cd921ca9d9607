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
//! store = JournalStore::new(settings.journal_directory)
//! for (name, files) in discover(&settings, plugin_name).streams:
//!     reader = StreamReader::new(name, files, store.load_or_warn(name), options)
//!     reader.set_rescanner(|| stream_files(&settings, plugin_name, name).ok())
//! loop:
//!     match reader.read(&mut buf):
//!         Data { n }        => splitter.push(&buf[..n]); deliver complete records
//!         Switched { .. }   => flush or drop the splitter's partial record
//!         Eof               => save; sleep check_data_interval
//!         Err(e)            => count/log e; sleep; go on
//!     save (every N records, on Eof, on stop):
//!         if let Some(j) = reader.checkpoint(splitter.buffered_len())? { store.save(name, &j) }
//!     every rescan_interval: reader.rescan(discover(..).streams[name]) (new streams → new readers)
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
//! journal re-reads exactly the undelivered bytes.
//!
//! For `.gz` files, offsets count decompressed bytes; resuming decompresses
//! and skips up to the offset. The journal's `last_hash` is the SHA-1 of the
//! 500 bytes before `seek`, zero-padded in front when fewer precede it
//! ([`hash_window`]); it is computed from bytes the reader kept, so it stays
//! right after the file is truncated, deleted or renamed.
//!
//! # Rotation
//!
//! A reader leaves a file only once its open handle is at the end, and
//! then only for a newer file in the stream order, or for a new file that
//! took the old one's name (rename rotation). A file that shrank below the
//! read position was truncated (copytruncate): reading continues in a
//! listed copy holding the same bytes, otherwise the file is read again
//! from 0 (and a warning says bytes may be lost). A deleted file keeps being
//! read through the open handle. Limits: truncation is only noticed at the
//! end of the file, so a file that regrows past the read position before
//! the reader looks is not seen as truncated; `.gz` files are expected to
//! be complete (corrupt data ends the file with an error).

mod config;
mod describe;
mod discovery;
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
pub use journal::{HASH_WINDOW, Journal, JournalError, JournalStore, hash_window, safe_file_name};
pub use priority::{MISSING_VALUE, sort_value};
pub use reader::{
    MAX_OPEN_ATTEMPTS, Position, ReadOutcome, ReaderOptions, Rescanner, StreamReader,
};
pub use resume::StartDecision;
pub use source::{FileId, is_gz};
