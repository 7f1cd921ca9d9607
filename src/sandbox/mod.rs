//! The Lua engine: hardened Lua 5.4 states with memory, instruction and
//! output limits, Heka's Lua API, state preservation and native modules.
//! It depends on [`crate::message`] only.
//!
//! # How a plugin adapter drives a sandbox
//!
//! 1. Build a [`SandboxConfig`]: [`SandboxPluginConfig`] holds the TOML keys
//!    every sandbox plugin shares (flatten it into the adapter's config) and
//!    [`SandboxPluginConfig::to_sandbox_config`] resolves paths and Heka's
//!    per-kind rules with a [`SandboxEnv`].
//! 2. Implement [`SandboxHost`] (a pack source and a router) and create the
//!    [`Sandbox`] *on the thread that will drive it* (`Sandbox` is `!Send`):
//!    [`Sandbox::new`] loads the script, runs its top level and restores
//!    preserved data. Encoders and outputs can pass [`NoHost`];
//!    [`CollectHost`] suits tools and tests.
//! 3. Call the entry point of the kind:
//!    - filters and outputs: [`Sandbox::process_message`] with the routed
//!      [`PackRef`](crate::message::PackRef) → [`ProcessStatus`];
//!    - decoders: [`Sandbox::decode`] with the
//!      [`PackMut`](crate::message::PackMut) → [`DecodeOutcome`], packs to
//!      forward appended to an output vector;
//!    - encoders: [`Sandbox::encode`] → [`EncodeOutcome`], bytes in a
//!      reused buffer;
//!    - inputs: [`Sandbox::run_input`];
//!    - on ticks: [`Sandbox::timer_event`].
//!
//!    Every call returns `Err(`[`Terminated`]`)` once the script has failed
//!    for good; [`Sandbox::terminated`] keeps the text and [`Sandbox::stats`]
//!    the usage figures Heka reports.
//! 4. Stop with [`Sandbox::stop`], which writes the preservation file
//!    (`preserve_data`). For an in-place reload, move the state with
//!    [`Sandbox::preservation_data`] and [`Sandbox::restore`].
//!
//! Native modules (`cjson`, `circular_buffer`, `lpeg`, ...) are wired in
//! through [`Extensions`]: one line per module opener, output hook and
//! preservation hook (see `extensions.rs`).

mod api;
pub mod budget;
mod compat;
mod config;
mod context;
mod entry;
mod error;
mod extensions;
mod guard;
mod host;
mod instance;
mod lifecycle;
pub mod limits;
pub mod lpeg;
pub mod modules;
mod outcome;
mod preserve;
mod raw;
mod require;
mod state;
mod stats;

pub use config::{
    DEFAULT_DURATION_SAMPLE_DENOMINATOR, DEFAULT_INSTRUCTION_LIMIT, DEFAULT_MAX_PROCESS_INJECT,
    DEFAULT_MAX_TIMER_INJECT, DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, SandboxConfig,
    SandboxEnv, SandboxKind, SandboxPluginConfig, preservation_path,
};
pub(crate) use config::{default_instruction_limit, default_memory_limit, default_output_limit};
pub use error::{SandboxError, Terminated};
pub use extensions::{
    BUILTIN_MODULES, BUILTIN_OUTPUT_HOOKS, BUILTIN_PRESERVATION_HOOKS, Extensions, ModuleOpener,
    NativeModule, OutputHook, PreservationHook,
};
pub use guard::{InterruptHandle, NOT_ENOUGH_MEMORY, SHUTTING_DOWN, error_text};
pub use host::{CollectHost, NoHost, SandboxHost};
pub use instance::Sandbox;
pub use outcome::{DecodeOutcome, EncodeOutcome, ProcessStatus};
pub use stats::SandboxStats;

#[cfg(test)]
mod tests;
