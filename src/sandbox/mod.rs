//! The Lua engine: hardened Lua 5.4 states with memory, instruction and
//! output limits, Heka's Lua API, state preservation and native modules.

pub mod budget;
pub mod limits;
pub mod lpeg;
