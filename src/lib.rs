//! Sandpiper: a Heka-style data processor.
//!
//! # Layout
//!
//! - [`message`]: Heka's Message and Field, protobuf codec, stream framing.
//! - [`matcher`]: the message matcher language, compiled once per plugin.
//! - [`config`]: TOML loading, `[hekad]` globals, plugin sections, validation.
//! - [`pipeline`]: pack pool, router, runners, timers, reports, shutdown.
//! - [`plugins`]: the plugin traits and every plugin, one file each.
//! - [`sandbox`]: the Lua engine with hard limits and Heka's Lua API.
//! - [`state_file`]: atomic writes of state that must survive a crash.
//! - [`tools`]: sub-commands (`check`, `cat`, `inject`, ...).

pub mod config;
pub mod matcher;
pub mod message;
pub mod pipeline;
pub mod plugins;
pub mod sandbox;
pub mod state_file;
pub mod tools;
