//! Filters: process routed messages and inject new ones.

pub mod counter;
pub mod sandbox;
pub mod script_watch;
