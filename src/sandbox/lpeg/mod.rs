//! LPeg for sandboxed Lua, written in Rust: the `lpeg` module (patterns,
//! grammars, captures; LPeg 1.0's API) and the `re` module on top of it.
//!
//! Unlike the C library, every VM step is charged to the sandbox's
//! instruction budget and native memory that grows with the subject is
//! checked against its memory limit, so a long or hostile match is stopped
//! like any Lua code.
//!
//! For the sandbox host: [`open_lpeg`] and [`open_re`] return the module
//! tables (install them as `lpeg` and `re`, e.g. in `package.loaded`). The
//! limits come from the state's app data: `budget::InstructionBudget` is
//! charged in batches of [`BATCH_STEPS`] steps (a span charges one step
//! per byte), `limits::MemoryLimit` bounds the native buffers, and the
//! state's own memory limit bounds the Lua values captures create. Errors
//! carry LPeg's messages; running out of budget is `instruction_limit
//! exceeded`.
//!
//! Pipeline: Lua values -> `tree` (built by `pattern` with its
//! `ktable`, checked by `grammar` with `analysis`) -> `compile` ->
//! `program` run by `vm`, which records the `capture` list. `match` is a
//! C function (`fast`) that runs the VM and has `push` evaluate the
//! captures straight onto the Lua stack, in one protected call. `re`
//! parses its syntax (`re_syntax`) into the same trees and matches with
//! the same function.

mod analysis;
mod api;
mod capture;
mod charset;
mod compile;
mod error;
mod fast;
mod grammar;
mod ktable;
mod pattern;
mod program;
mod push;
mod re;
mod re_syntax;
mod tree;
mod vm;

pub use api::{VERSION, open_lpeg};
pub use error::LpegError;
pub use re::open_re;
pub use vm::BATCH as BATCH_STEPS;

#[cfg(test)]
mod tests;
