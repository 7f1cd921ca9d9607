//! Reading: `read_message` (its lookup; the Lua function is a raw C
//! function in `read_message.rs`), `read_next_field`, `read_config` and
//! `decode_message` (Heka §4.3).
//!
//! `read_message` reads the current pack in place; nothing is serialized.
//! Deliberate difference from Heka: `Timestamp` and INTEGER fields are Lua
//! integers (exact nanoseconds), DOUBLE fields Lua floats.

use mlua::{Lua, MultiValue, Table, Value};

use super::super::context::{Shared, borrow};
use super::super::guard::lua_error;
use super::super::modules::args::{Arg, with_arg};
use crate::message::{Field, Message, Pack, Scalar, decode_into, encode_into, uuid};

/// A non-negative index argument (`nil` = 0).
pub(crate) fn index_arg(
    lua: &Lua,
    v: &Value,
    func: &str,
    pos: usize,
    what: &str,
) -> mlua::Result<usize> {
    with_arg(v, |a| index_value(a, func, pos, what)).map_err(|msg| lua_error(lua, msg))
}

/// [`index_arg`] of an [`Arg`]; the error is the text without position.
pub(crate) fn index_value(a: Arg, func: &str, pos: usize, what: &str) -> Result<usize, String> {
    let n = match a {
        Arg::Nil => return Ok(0),
        Arg::Integer(i) => i,
        Arg::Number(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
        other => {
            return Err(format!(
                "bad argument #{pos} to '{func}' (number expected, got {})",
                other.type_name()
            ));
        }
    };
    usize::try_from(n).map_err(|_| format!("bad argument #{pos} to '{func}' ({what} must be >= 0)"))
}

/// The field name in `Fields[name]`.
pub(crate) fn field_name(var: &[u8]) -> Option<&[u8]> {
    var.strip_prefix(b"Fields[")?.strip_suffix(b"]")
}

/// A field value as a Lua value (empty bytes → nil, as Heka).
pub(crate) fn scalar_value(lua: &Lua, s: Scalar<'_>) -> mlua::Result<Value> {
    Ok(match s {
        Scalar::String(b) => Value::String(lua.create_string(b)?),
        Scalar::Bytes([]) => Value::Nil,
        Scalar::Bytes(b) => Value::String(lua.create_string(b)?),
        Scalar::Integer(i) => Value::Integer(i),
        Scalar::Double(d) => Value::Number(d),
        Scalar::Bool(b) => Value::Boolean(b),
    })
}

fn nth_field<'m>(m: &'m Message, name: &[u8], fi: usize) -> Option<&'m Field> {
    m.fields.iter().filter(|f| f.name.as_bytes() == name).nth(fi)
}

/// What `read_message` returns, borrowed from the message (or a buffer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Read<'m> {
    Nil,
    /// A Lua string.
    Bytes(&'m [u8]),
    Integer(i64),
    Number(f64),
    Boolean(bool),
}

impl<'m> From<Scalar<'m>> for Read<'m> {
    /// Empty bytes are nil, as Heka.
    fn from(s: Scalar<'m>) -> Self {
        match s {
            Scalar::String(b) => Read::Bytes(b),
            Scalar::Bytes([]) => Read::Nil,
            Scalar::Bytes(b) => Read::Bytes(b),
            Scalar::Integer(i) => Read::Integer(i),
            Scalar::Double(d) => Read::Number(d),
            Scalar::Bool(b) => Read::Boolean(b),
        }
    }
}

/// `read_message(var, fi, ai)` on `pack`. The text UUID is written into
/// `uuid_text`, and `raw` holds a fresh encoding when the pack has no
/// trusted protobuf bytes.
pub(crate) fn read<'m>(
    pack: &'m Pack,
    var: &[u8],
    fi: usize,
    ai: usize,
    uuid_text: &'m mut [u8; uuid::TEXT_LEN],
    raw: &'m mut Vec<u8>,
) -> Read<'m> {
    let m = &pack.message;
    if let Some(name) = field_name(var) {
        return nth_field(m, name, fi).and_then(|f| f.value.get(ai)).map_or(Read::Nil, Read::from);
    }
    let bytes = |b: &'m [u8]| Read::Bytes(b);
    match var {
        b"Type" => bytes(&m.msg_type),
        b"Logger" => bytes(&m.logger),
        b"Payload" => bytes(&m.payload),
        b"EnvVersion" => bytes(&m.env_version),
        b"Hostname" => bytes(&m.hostname),
        b"Uuid" => bytes(uuid::format_into(&m.uuid, uuid_text).as_bytes()),
        b"Timestamp" => Read::Integer(m.timestamp),
        b"Severity" => m.severity.map_or(Read::Nil, |s| Read::Integer(i64::from(s))),
        b"Pid" => m.pid.map_or(Read::Nil, |p| Read::Integer(i64::from(p))),
        b"raw" => {
            let b = match pack.trusted_bytes() {
                Some(b) => b,
                None => {
                    raw.clear();
                    encode_into(m, raw);
                    raw
                }
            };
            if b.is_empty() { Read::Nil } else { Read::Bytes(b) }
        }
        _ => Read::Nil,
    }
}

/// `read_next_field()` → `value_type, name, value, representation, count`,
/// all nil after the last field.
pub(crate) fn read_next_field(
    lua: &Lua,
    ctx: &Shared,
) -> mlua::Result<(Value, Value, Value, Value, Value)> {
    let mut c = borrow(lua, ctx)?;
    let i = c.next_field;
    let Some(f) = c.current.message().and_then(|m| m.fields.get(i)) else {
        return Ok((Value::Nil, Value::Nil, Value::Nil, Value::Nil, Value::Nil));
    };
    let out = (
        Value::Integer(f.value.value_type() as i64),
        Value::String(lua.create_string(&f.name)?),
        match f.value.get(0) {
            Some(s) => scalar_value(lua, s)?,
            None => Value::Nil,
        },
        Value::String(lua.create_string(&f.representation)?),
        Value::Integer(f.value.len() as i64),
    );
    c.next_field = i + 1;
    Ok(out)
}

/// `read_config(name)`: strings, booleans and numbers of the `config`
/// table; anything else is nil.
pub(crate) fn read_config(lua: &Lua, ctx: &Shared, args: MultiValue) -> mlua::Result<Value> {
    if args.len() != 1 {
        return Err(lua_error(lua, "read_config() must have a single argument"));
    }
    let Some(Value::String(name)) = args.front() else {
        return Err(lua_error(lua, "bad argument #1 to 'read_config' (string expected)"));
    };
    let c = borrow(lua, ctx)?;
    let Ok(key) = name.to_str() else { return Ok(Value::Nil) };
    Ok(match c.config.get(&*key) {
        Some(toml::Value::String(s)) => Value::String(lua.create_string(s)?),
        Some(toml::Value::Integer(i)) => Value::Integer(*i),
        Some(toml::Value::Float(f)) => Value::Number(*f),
        Some(toml::Value::Boolean(b)) => Value::Boolean(*b),
        _ => Value::Nil,
    })
}

/// `decode_message(protobuf)` → a message table in array form.
pub(crate) fn decode_message(lua: &Lua, ctx: &Shared, args: MultiValue) -> mlua::Result<Table> {
    let s = match (args.len(), args.front()) {
        (1, Some(Value::String(s))) => s.clone(),
        _ => return Err(lua_error(lua, "decode_message() must have a single string argument")),
    };
    let mut c = borrow(lua, ctx)?;
    let m = &mut c.scratch;
    decode_into(&s.as_bytes(), m)
        .map_err(|e| lua_error(lua, format!("decode_message() failed: {e}")))?;
    message_table(lua, m)
}

/// The array-form table of a message (what `decode_message` returns).
pub(crate) fn message_table(lua: &Lua, m: &Message) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 10)?;
    t.raw_set("Uuid", lua.create_string(&m.uuid)?)?;
    t.raw_set("Timestamp", m.timestamp)?;
    for (key, v) in [
        ("Type", &m.msg_type),
        ("Logger", &m.logger),
        ("Payload", &m.payload),
        ("EnvVersion", &m.env_version),
        ("Hostname", &m.hostname),
    ] {
        if !v.is_empty() {
            t.raw_set(key, lua.create_string(v)?)?;
        }
    }
    if let Some(s) = m.severity {
        t.raw_set("Severity", s)?;
    }
    if let Some(p) = m.pid {
        t.raw_set("Pid", p)?;
    }
    if !m.fields.is_empty() {
        let fields = lua.create_table_with_capacity(m.fields.len(), 0)?;
        for f in &m.fields {
            let ft = lua.create_table_with_capacity(0, 4)?;
            ft.raw_set("name", lua.create_string(&f.name)?)?;
            ft.raw_set("value_type", f.value.value_type() as i64)?;
            ft.raw_set("representation", lua.create_string(&f.representation)?)?;
            let values = lua.create_table_with_capacity(f.value.len(), 0)?;
            for i in 0..f.value.len() {
                if let Some(s) = f.value.get(i) {
                    // Empty BYTES values stay as "" inside arrays.
                    let v = match s {
                        Scalar::Bytes(b) => Value::String(lua.create_string(b)?),
                        other => scalar_value(lua, other)?,
                    };
                    values.raw_push(v)?;
                }
            }
            ft.raw_set("value", values)?;
            fields.raw_push(ft)?;
        }
        t.raw_set("Fields", fields)?;
    }
    Ok(t)
}
