//! Outputs: write messages to the outside world.

pub mod file;
pub mod log;
pub mod null;
pub mod sandbox;
pub mod tcp;

/// A write buffer for an output that writes once it holds `flush_at`
/// bytes. Room for one more record is reserved up front, so the record that
/// fills the buffer does not make it grow to double its size; pages never
/// written to take no memory.
pub(crate) fn write_buffer(flush_at: usize) -> Vec<u8> {
    Vec::with_capacity(flush_at + RECORD_ROOM)
}

/// Room past the flush threshold reserved by [`write_buffer`].
const RECORD_ROOM: usize = 256 << 10;
