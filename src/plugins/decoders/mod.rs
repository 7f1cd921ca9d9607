//! Decoders: turn raw records into structured messages.

pub mod multi;
pub mod payload_regex;
pub mod protobuf;
pub mod sandbox;
pub mod scribble;
pub mod template;
