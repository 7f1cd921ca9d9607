//! Outputs: write messages to the outside world.

pub mod file;
pub mod log;
pub mod null;
pub mod sandbox;
pub mod tcp;
