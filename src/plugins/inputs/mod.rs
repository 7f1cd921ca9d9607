//! Inputs: read data from files and sockets.

pub mod tcp;
