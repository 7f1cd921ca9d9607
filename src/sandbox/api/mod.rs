//! Heka's Lua API (§4.3): the Rust functions each sandbox kind gets.
//!
//! | function | input | decoder | filter | encoder | output |
//! |---|---|---|---|---|---|
//! | `require` (see `require.rs`), `read_config`, `decode_message` | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | `read_message`, `read_next_field` | – | ✓ | ✓ | ✓ | ✓ |
//! | `inject_message` | ✓ | ✓ | ✓ | ✓ | – |
//! | `inject_payload`, `add_to_payload` | – | ✓ | ✓ | ✓ | – |
//! | `write_message` | – | ✓ | – | ✓ | – |
//!
//! Numbers (a deliberate, documented choice on Lua 5.4): `read_message`
//! returns Lua integers for `Timestamp` (exact nanoseconds, where Heka gave a
//! double), `Severity`, `Pid` and INTEGER fields, and floats for DOUBLE
//! fields. `inject_message` stays Heka-compatible: every Lua number in a
//! field becomes DOUBLE unless the field says `value_type = 2` (INTEGER);
//! a `Timestamp` given as a float is rounded to whole nanoseconds.

mod inject;
mod payload;
pub(crate) mod read;
mod table;
mod write;

use mlua::{Lua, MultiValue, Value};

use super::config::SandboxKind;
use super::context::Shared;

pub(crate) use table::NameCache;

/// Installs the API functions of `kind` as globals.
pub(crate) fn register(lua: &Lua, ctx: &Shared, kind: SandboxKind) -> mlua::Result<()> {
    let g = lua.globals();
    let c = ctx.clone();
    g.raw_set(
        "read_config",
        lua.create_function(move |lua, a: MultiValue| read::read_config(lua, &c, a))?,
    )?;
    let c = ctx.clone();
    g.raw_set(
        "decode_message",
        lua.create_function(move |lua, a: MultiValue| read::decode_message(lua, &c, a))?,
    )?;
    if kind != SandboxKind::Input {
        let c = ctx.clone();
        g.raw_set(
            "read_message",
            lua.create_function(move |lua, a: (Value, Value, Value)| {
                read::read_message(lua, &c, a)
            })?,
        )?;
        let c = ctx.clone();
        g.raw_set(
            "read_next_field",
            lua.create_function(move |lua, ()| read::read_next_field(lua, &c))?,
        )?;
    }
    if kind != SandboxKind::Output {
        let c = ctx.clone();
        g.raw_set(
            "inject_message",
            lua.create_function(move |lua, a: MultiValue| inject::inject_message(lua, &c, a))?,
        )?;
    }
    if matches!(kind, SandboxKind::Decoder | SandboxKind::Filter | SandboxKind::Encoder) {
        let c = ctx.clone();
        g.raw_set(
            "inject_payload",
            lua.create_function(move |lua, a: MultiValue| payload::inject_payload(lua, &c, a))?,
        )?;
        let c = ctx.clone();
        g.raw_set(
            "add_to_payload",
            lua.create_function(move |lua, a: MultiValue| payload::add_to_payload(lua, &c, a))?,
        )?;
    }
    if matches!(kind, SandboxKind::Decoder | SandboxKind::Encoder) {
        let c = ctx.clone();
        g.raw_set(
            "write_message",
            lua.create_function(move |lua, a: MultiValue| write::write_message(lua, &c, a))?,
        )?;
    }
    Ok(())
}
