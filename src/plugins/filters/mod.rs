//! Filters: process routed messages and inject new ones.

pub mod counter;
pub mod sandbox;
pub mod sandbox_manager;
pub mod script_watch;
