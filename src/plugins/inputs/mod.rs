//! Input plugins: where data enters Sandpiper.

pub mod logstreamer;
