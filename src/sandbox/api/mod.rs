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
mod read_message;
mod table;
mod table_raw;
mod write;

use mlua::{FromLuaMulti, IntoLuaMulti, Lua};

use super::config::SandboxKind;
use super::context::Shared;

pub(crate) use table::NameCache;

/// Installs the API functions of `kind` as globals.
pub(crate) fn register(lua: &Lua, ctx: &Shared, kind: SandboxKind) -> mlua::Result<()> {
    set(lua, ctx, "read_config", read::read_config)?;
    set(lua, ctx, "decode_message", read::decode_message)?;
    if kind != SandboxKind::Input {
        lua.globals().raw_set("read_message", read_message::function(lua, ctx)?)?;
        set(lua, ctx, "read_next_field", |lua, c, ()| read::read_next_field(lua, c))?;
    }
    if kind != SandboxKind::Output {
        set(lua, ctx, "inject_message", inject::inject_message)?;
    }
    if matches!(kind, SandboxKind::Decoder | SandboxKind::Filter | SandboxKind::Encoder) {
        set(lua, ctx, "inject_payload", payload::inject_payload)?;
        set(lua, ctx, "add_to_payload", payload::add_to_payload)?;
    }
    if matches!(kind, SandboxKind::Decoder | SandboxKind::Encoder) {
        set(lua, ctx, "write_message", write::write_message)?;
    }
    Ok(())
}

/// Sets the global `name` to `f`, called with the sandbox's context.
fn set<A: FromLuaMulti + 'static, R: IntoLuaMulti + 'static>(
    lua: &Lua,
    ctx: &Shared,
    name: &str,
    f: fn(&Lua, &Shared, A) -> mlua::Result<R>,
) -> mlua::Result<()> {
    let c = ctx.clone();
    lua.globals().raw_set(name, lua.create_function(move |lua, a: A| f(lua, &c, a))?)
}
