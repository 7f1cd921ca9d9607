//! Sub-commands of the `sandpiper` binary: the daemon itself (`run`),
//! `check`, `cat` (heka-cat), `inject` (heka-inject).

pub mod cat;
pub mod check;
pub mod inject;
pub mod run;

/// How a tool ended: the process exit code.
pub type ExitCode = i32;
