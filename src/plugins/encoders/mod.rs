//! Encoders: serialise messages for outputs.

pub mod payload;
pub mod protobuf;
pub mod rst;
pub mod sandbox;
