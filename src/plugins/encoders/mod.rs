//! Encoders: serialise messages for outputs.

pub mod payload;
pub mod protobuf;
pub mod rst;
