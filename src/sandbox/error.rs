//! Errors of the sandbox engine.
//!
//! [`SandboxError`] covers building, restoring and stopping a sandbox;
//! [`Terminated`] is what an entry-point call returns once the script has
//! failed for good (Heka: the sandbox state is `TERMINATED`).

use std::path::PathBuf;

/// Why a sandbox could not be created, restored, serialized or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The configuration is unusable (bad `script_type`, unknown `tz`, ...).
    #[error("sandbox configuration: {0}")]
    Config(String),
    /// The script file could not be read.
    #[error("cannot read script {path}: {source}")]
    ReadScript {
        /// The script path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The Lua state could not be built (only on allocation failure).
    #[error("cannot create the Lua state: {0}")]
    Lua(String),
    /// The script failed to load or its top level failed (syntax errors name
    /// the file and line). Nothing was started.
    #[error("{0}")]
    Load(String),
    /// Restoring preserved data failed; the sandbox is terminated.
    #[error("restoring preserved data: {0}")]
    Restore(String),
    /// The global data could not be serialized (e.g. a function as a table
    /// key); the preservation file was removed.
    #[error("serializing preserved data: {0}")]
    Serialize(String),
    /// Writing or reading the preservation file failed.
    #[error("preservation file {path}: {source}")]
    PreservationIo {
        /// The preservation file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sandbox was terminated earlier; the text is the termination error.
    #[error("sandbox terminated: {0}")]
    Terminated(String),
}

/// The sandbox stopped for good during (or before) an entry-point call.
///
/// `message` is Heka's termination text, e.g.
/// `process_message() instruction_limit exceeded` or
/// `process_message() /path/script.lua:7: attempt to index a nil value`.
/// When `aborted` is true the error text ended in `aborted` (the host
/// refused an injection while shutting down) or `shutting down` (an
/// [`InterruptHandle`](crate::sandbox::InterruptHandle) stopped the call):
/// as in Heka the Lua state is kept, so
/// [`Sandbox::stop`](crate::sandbox::Sandbox::stop) still preserves the
/// data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Terminated {
    /// The termination error text.
    pub message: String,
    /// True for Heka's `... aborted` errors, which keep the state alive.
    pub aborted: bool,
}

impl Terminated {
    /// A termination (the state is closed).
    pub fn new(message: impl Into<String>) -> Self {
        Terminated { message: message.into(), aborted: false }
    }
}
