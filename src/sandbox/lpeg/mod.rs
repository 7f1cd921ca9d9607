//! LPeg for sandboxed Lua, written in Rust: the `lpeg` module (patterns,
//! grammars, captures; LPeg 1.0's API) and the `re` module on top of it.
//!
//! Unlike the C library, every VM step is charged to the sandbox's
//! instruction budget and native memory that grows with the subject is
//! checked against its memory limit, so a long or hostile match is stopped
//! like any Lua code.
//!
//! Pipeline: Lua values -> [`tree`] (built by [`pattern`], checked by
//! [`grammar`] with [`analysis`]) -> [`compile`] -> [`program`] run by
//! [`vm`], which records the [`capture`] list that [`eval`] evaluates.

mod analysis;
mod api;
mod capture;
mod charset;
mod compile;
mod error;
mod eval;
mod grammar;
mod pattern;
mod program;
mod re;
mod re_syntax;
mod tree;
mod vm;

pub use api::{VERSION, open_lpeg};
pub use error::LpegError;
pub use re::open_re;

#[cfg(test)]
mod tests;
