//! Filters: process routed messages and inject new ones.

pub mod counter;
pub mod sandbox;
