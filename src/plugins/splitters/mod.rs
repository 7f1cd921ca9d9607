//! Splitters: find record boundaries in byte streams.

pub mod heka_framing;
pub mod null;
pub mod regex;
pub mod token;
