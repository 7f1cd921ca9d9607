//! Inputs: read data from files and sockets.

pub mod logstreamer;
pub mod sandbox;
pub mod tcp;
