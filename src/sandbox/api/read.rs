//! Reading: `read_message`, `read_next_field`, `read_config` and
//! `decode_message` (Heka §4.3).
//!
//! `read_message` reads the current pack in place; nothing is serialized.
//! Deliberate difference from Heka: `Timestamp` and INTEGER fields are Lua
//! integers (exact nanoseconds), DOUBLE fields Lua floats.

use mlua::{Lua, MultiValue, Table, Value};

use super::super::context::{Shared, borrow};
use super::super::guard::lua_error;
use crate::message::{Field, Message, Scalar, decode_into, uuid};

/// A non-negative index argument (`nil` = 0).
pub(crate) fn index_arg(
    lua: &Lua,
    v: &Value,
    func: &str,
    pos: usize,
    what: &str,
) -> mlua::Result<usize> {
    let n = match v {
        Value::Nil => return Ok(0),
        Value::Integer(i) => *i,
        Value::Number(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => *f as i64,
        other => {
            return Err(lua_error(
                lua,
                format!(
                    "bad argument #{pos} to '{func}' (number expected, got {})",
                    other.type_name()
                ),
            ));
        }
    };
    usize::try_from(n).map_err(|_| {
        lua_error(lua, format!("bad argument #{pos} to '{func}' ({what} must be >= 0)"))
    })
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

fn header(lua: &Lua, m: &Message, var: &[u8]) -> mlua::Result<Value> {
    let bytes = |b: &[u8]| lua.create_string(b).map(Value::String);
    Ok(match var {
        b"Type" => bytes(&m.msg_type)?,
        b"Logger" => bytes(&m.logger)?,
        b"Payload" => bytes(&m.payload)?,
        b"EnvVersion" => bytes(&m.env_version)?,
        b"Hostname" => bytes(&m.hostname)?,
        b"Uuid" => {
            let mut buf = [0; uuid::TEXT_LEN];
            bytes(uuid::format_into(&m.uuid, &mut buf).as_bytes())?
        }
        b"Timestamp" => Value::Integer(m.timestamp),
        b"Severity" => m.severity.map_or(Value::Nil, |s| Value::Integer(i64::from(s))),
        b"Pid" => m.pid.map_or(Value::Nil, |p| Value::Integer(i64::from(p))),
        _ => Value::Nil,
    })
}

/// `read_message(variable [, field_index [, array_index]])`.
pub(crate) fn read_message(
    lua: &Lua,
    ctx: &Shared,
    (var, fi, ai): (Value, Value, Value),
) -> mlua::Result<Value> {
    let Value::String(var) = var else {
        return Err(lua_error(
            lua,
            format!("bad argument #1 to 'read_message' (string expected, got {})", var.type_name()),
        ));
    };
    let fi = index_arg(lua, &fi, "read_message", 2, "field index")?;
    let ai = index_arg(lua, &ai, "read_message", 3, "array index")?;
    let var = var.as_bytes();
    let c = borrow(lua, ctx)?;
    let Some(pack) = c.current.pack() else { return Ok(Value::Nil) };
    let m = &pack.message;
    if let Some(name) = field_name(&var) {
        return match nth_field(m, name, fi).and_then(|f| f.value.get(ai)) {
            Some(s) => scalar_value(lua, s),
            None => Ok(Value::Nil),
        };
    }
    if &var[..] == b"raw" {
        let raw = pack.msg_bytes();
        return if raw.is_empty() {
            Ok(Value::Nil)
        } else {
            Ok(Value::String(lua.create_string(&*raw)?))
        };
    }
    header(lua, m, &var)
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
