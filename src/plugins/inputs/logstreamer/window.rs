//! The tail of what a reader has read from its current file, kept so that
//! a checkpoint hash can be computed for any position up to
//! `max_unconsumed` bytes back, even after the file was truncated, deleted
//! or is a gzip stream that cannot be re-read cheaply.

use std::collections::VecDeque;

use super::journal::{HASH_WINDOW, hash_window_parts};

/// The last `cap` bytes before offset `end` of one file.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    bytes: VecDeque<u8>,
    cap: usize,
    end: u64,
}

impl Window {
    /// An empty window at offset `end` keeping up to `cap` bytes.
    pub(crate) fn new(cap: usize, end: u64) -> Self {
        Window { bytes: VecDeque::new(), cap: cap.max(HASH_WINDOW), end }
    }

    /// Offset just after the last byte pushed: the next unread byte.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Offset of the oldest byte kept.
    fn start(&self) -> u64 {
        self.end - self.bytes.len() as u64
    }

    /// Forgets everything and sets the offset (after a truncation).
    pub(crate) fn reset(&mut self, end: u64) {
        self.bytes.clear();
        self.end = end;
    }

    /// Appends bytes just read.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.end += data.len() as u64;
        if data.len() >= self.cap {
            self.bytes.clear();
            self.bytes.extend(&data[data.len() - self.cap..]);
            return;
        }
        let overflow = (self.bytes.len() + data.len()).saturating_sub(self.cap);
        self.bytes.drain(..overflow);
        self.bytes.extend(data);
    }

    /// The [`hash_window`](super::journal::hash_window) of the bytes before
    /// `pos`, or `None` when `pos` is after `end` or the needed bytes are
    /// no longer kept. A window that starts at offset 0 serves every
    /// position in it (shorter prefixes are zero-padded by definition).
    pub(crate) fn hash_before(&self, pos: u64) -> Option<String> {
        let start = self.start();
        let from = pos.saturating_sub(HASH_WINDOW as u64);
        if pos > self.end || from < start {
            return None;
        }
        let lo = (from - start) as usize;
        let hi = (pos - start) as usize;
        let (a, b) = self.bytes.as_slices();
        let part_a = &a[lo.min(a.len())..hi.min(a.len())];
        let part_b = &b[lo.saturating_sub(a.len())..hi.saturating_sub(a.len())];
        Some(hash_window_parts(&[part_a, part_b]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::journal::hash_window;
    use super::*;

    #[test]
    fn hashes_any_kept_position_across_ring_wraps() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 256) as u8).collect();
        let mut w = Window::new(1200, 0);
        let mut at = 0;
        for chunk in [7usize, 300, 1, 999, 1500, 2193] {
            w.push(&data[at..at + chunk]);
            at += chunk;
            assert_eq!(w.end(), at as u64);
            for back in [0u64, 1, 200, 700] {
                let pos = at as u64 - back.min(at as u64);
                let lo = pos.saturating_sub(500) as usize;
                assert_eq!(
                    w.hash_before(pos),
                    Some(hash_window(&data[lo..pos as usize])),
                    "at {at} back {back}"
                );
            }
        }
        assert_eq!(w.hash_before(at as u64 - 701), None, "no longer kept");
        assert_eq!(w.hash_before(at as u64 + 1), None, "not read yet");
    }

    #[test]
    fn short_prefix_from_offset_zero_is_zero_padded() {
        let mut w = Window::new(600, 0);
        w.push(b"abc");
        assert_eq!(w.hash_before(3), Some(hash_window(b"abc")));
        assert_eq!(w.hash_before(0), Some(hash_window(b"")));
        w.reset(0);
        assert_eq!(w.hash_before(0), Some(hash_window(b"")));
        assert_eq!(w.hash_before(1), None);
    }

    #[test]
    fn window_opened_mid_file_needs_500_bytes() {
        let mut w = Window::new(600, 100);
        w.push(&[1u8; 300]);
        assert_eq!(w.hash_before(400), None, "bytes 0..100 were never seen");
        let mut w = Window::new(600, 500);
        w.push(&[2u8; 10]);
        assert_eq!(w.hash_before(500), None);
        assert_eq!(w.hash_before(510), None);
        let mut w = Window::new(600, 1000);
        w.push(&[3u8; 500]);
        assert_eq!(w.hash_before(1500), Some(hash_window(&[3u8; 500])));
    }
}
