//! Sub-commands of the `sandpiper` binary: the daemon itself (`run`),
//! `check`, `cat` (heka-cat), `inject` (heka-inject), `sbmgr` (heka-sbmgr),
//! `test` (run one sandbox script on sample input).

pub mod cat;
pub mod check;
pub mod flood;
pub mod inject;
pub mod run;
pub mod sbmgr;
pub mod test;

/// How a tool ended: the process exit code.
pub type ExitCode = i32;
