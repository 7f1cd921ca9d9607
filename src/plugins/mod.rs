//! Plugins: inputs (and, later, splitters, decoders, filters, encoders and
//! outputs), each built on the message model.

pub mod inputs;
