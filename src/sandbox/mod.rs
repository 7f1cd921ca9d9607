//! The Lua engine: hardened Lua 5.4 states with memory, instruction and
//! output limits, Heka's Lua API, state preservation and native modules.
//!
//! The entry point is [`Sandbox`]; plugin adapters build a
//! [`SandboxConfig`] (usually from [`SandboxPluginConfig`]), implement
//! [`SandboxHost`] to receive injected messages, and call the entry point of
//! their kind: [`Sandbox::process_message`] (filters, outputs),
//! [`Sandbox::decode`], [`Sandbox::encode`], [`Sandbox::run_input`],
//! [`Sandbox::timer_event`], then [`Sandbox::stop`].

mod api;
pub mod budget;
mod compat;
mod config;
mod context;
mod error;
mod extensions;
mod guard;
mod host;
mod instance;
mod lifecycle;
pub mod limits;
mod outcome;
mod preserve;
mod require;
mod state;
mod stats;

pub use config::{
    DEFAULT_DURATION_SAMPLE_DENOMINATOR, DEFAULT_INSTRUCTION_LIMIT, DEFAULT_MAX_PROCESS_INJECT,
    DEFAULT_MAX_TIMER_INJECT, DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, SandboxConfig,
    SandboxEnv, SandboxKind, SandboxPluginConfig, preservation_path,
};
pub use error::{SandboxError, Terminated};
pub use extensions::{
    BUILTIN_MODULES, BUILTIN_OUTPUT_HOOKS, BUILTIN_PRESERVATION_HOOKS, Extensions, ModuleOpener,
    NativeModule, OutputHook, PreservationHook,
};
pub use guard::{NOT_ENOUGH_MEMORY, error_text};
pub use host::{CollectHost, NoHost, SandboxHost};
pub use instance::Sandbox;
pub use outcome::{DecodeOutcome, EncodeOutcome, ProcessStatus};
pub use stats::SandboxStats;

#[cfg(test)]
mod tests;
