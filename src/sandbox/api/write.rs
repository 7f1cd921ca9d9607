//! `write_message(variable, value [, representation [, field_index
//! [, array_index]]])` for decoders and encoders (Heka §4.3).
//!
//! Decoders change their pack in place; encoders copy the message on the
//! first write (copy-on-write) so the routed pack stays untouched. Every
//! failure raises `write_message() failed: <why>` (Heka's text, plus the
//! reason Heka only logged). Difference from Heka: a number may be written
//! into an existing INTEGER field (Heka refused it).

use mlua::{Lua, MultiValue, Value};

use super::super::context::{Current, Shared, borrow};
use super::super::guard::lua_error;
use super::read::{field_name, index_arg};
use crate::message::{Field, FieldValue, Message, PackMut, uuid};

/// The Lua function.
pub(crate) fn write_message(lua: &Lua, ctx: &Shared, mut args: MultiValue) -> mlua::Result<()> {
    if !(2..=5).contains(&args.len()) {
        return Err(lua_error(lua, "write_message() incorrect number of arguments"));
    }
    let args = &*args.make_contiguous();
    let Value::String(var) = &args[0] else {
        return Err(lua_error(lua, "bad argument #1 to 'write_message' (string expected)"));
    };
    let rep = match args.get(2) {
        None | Some(Value::Nil) => String::new(),
        Some(Value::String(s)) => s.to_string_lossy(),
        Some(_) => {
            return Err(lua_error(lua, "bad argument #3 to 'write_message' (string expected)"));
        }
    };
    let fi = index_arg(lua, args.get(3).unwrap_or(&Value::Nil), "write_message", 4, "field index")?;
    let ai = index_arg(lua, args.get(4).unwrap_or(&Value::Nil), "write_message", 5, "array index")?;
    let ai_given = matches!(args.get(4), Some(v) if !v.is_nil());
    let mut c = borrow(lua, ctx)?;
    if let Current::Shared(p) = &c.current {
        let copy = PackMut::from_message(p.message.clone());
        c.current = Current::Owned(copy);
    }
    let Current::Owned(pack) = &mut c.current else {
        return Err(lua_error(lua, "write_message() failed: no message"));
    };
    let target = Target { fi, ai, ai_given, rep };
    let r = write(&mut pack.message, &var.as_bytes(), &args[1], target);
    pack.invalidate_bytes();
    r.map_err(|why| lua_error(lua, format!("write_message() failed: {why}")))
}

struct Target {
    fi: usize,
    ai: usize,
    ai_given: bool,
    rep: String,
}

fn write(m: &mut Message, var: &[u8], value: &Value, t: Target) -> Result<(), String> {
    if let Some(name) = field_name(var) {
        let name = std::str::from_utf8(name).map_err(|_| "field name is not UTF-8".to_string())?;
        return write_field(m, name, value, t);
    }
    // Rewrites the header in place, keeping its buffer.
    let text = |dst: &mut Vec<u8>| -> Result<(), String> {
        match value {
            Value::String(s) => {
                dst.clear();
                dst.extend_from_slice(&s.as_bytes());
            }
            Value::Nil => dst.clear(),
            other => {
                return Err(format!("{} expects a string, got {}", show(var), other.type_name()));
            }
        }
        Ok(())
    };
    match var {
        b"Type" => text(&mut m.msg_type)?,
        b"Logger" => text(&mut m.logger)?,
        b"Payload" => text(&mut m.payload)?,
        b"EnvVersion" => text(&mut m.env_version)?,
        b"Hostname" => text(&mut m.hostname)?,
        b"Uuid" => {
            let Value::String(s) = value else { return Err("Uuid expects a string".into()) };
            let parsed = s.to_str().ok().and_then(|s| uuid::parse(&s));
            m.uuid =
                parsed.ok_or_else(|| format!("invalid Uuid '{}'", s.to_string_lossy()))?.to_vec();
        }
        b"Timestamp" => m.timestamp = timestamp(value)?,
        b"Severity" => m.severity = Some(small_int(value, "Severity")?),
        b"Pid" => m.pid = Some(small_int(value, "Pid")?),
        _ => return Err(format!("unknown variable '{}'", show(var))),
    }
    Ok(())
}

fn show(var: &[u8]) -> String {
    String::from_utf8_lossy(var).into_owned()
}

/// A Timestamp from a number (ns, floats rounded) or text (integer ns, or a
/// date read as UTC).
pub(crate) fn timestamp(v: &Value) -> Result<i64, String> {
    match v {
        Value::Integer(i) => Ok(*i),
        Value::Number(f) if f.is_finite() => Ok(f.round() as i64),
        Value::String(s) => {
            let s = s.to_str().map_err(|_| "Timestamp text is not UTF-8".to_string())?;
            parse_time(s.trim()).ok_or_else(|| format!("cannot parse Timestamp '{}'", &*s))
        }
        other => Err(format!("Timestamp expects a number or string, got {}", other.type_name())),
    }
}

fn parse_time(s: &str) -> Option<i64> {
    if let Ok(ns) = s.parse::<i64>() {
        return Some(ns);
    }
    if let Some(ns) = crate::message::time::parse_rfc3339(s) {
        return Some(ns);
    }
    let utc = jiff::tz::TimeZone::UTC;
    let dt = s.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        s.parse::<jiff::civil::Date>().ok().map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    })?;
    let ts = utc.to_timestamp(dt).ok()?;
    i64::try_from(ts.as_nanosecond()).ok()
}

fn small_int(v: &Value, what: &str) -> Result<i32, String> {
    let n = match v {
        Value::Integer(i) => Some(*i),
        Value::Number(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()),
        _ => None,
    };
    n.and_then(|n| i32::try_from(n).ok()).ok_or_else(|| format!("{what} expects an integer"))
}

fn new_value(value: &Value) -> Result<FieldValue, String> {
    Ok(match value {
        Value::String(s) => FieldValue::String(vec![s.as_bytes().to_vec()]),
        Value::Integer(i) => FieldValue::Double(vec![*i as f64]),
        Value::Number(f) => FieldValue::Double(vec![*f]),
        Value::Boolean(b) => FieldValue::Bool(vec![*b]),
        other => return Err(format!("unsupported value type {}", other.type_name())),
    })
}

fn write_field(m: &mut Message, name: &str, value: &Value, t: Target) -> Result<(), String> {
    let positions: Vec<usize> =
        m.fields.iter().enumerate().filter(|(_, f)| f.name == name).map(|(i, _)| i).collect();
    if value.is_nil() {
        let Some(&pos) = positions.get(t.fi) else {
            return Err(format!("field '{name}' index {} not found", t.fi));
        };
        if t.ai_given {
            remove_element(&mut m.fields[pos].value, t.ai)?;
            if !m.fields[pos].value.is_empty() {
                return Ok(());
            }
        }
        m.fields.remove(pos);
        return Ok(());
    }
    if t.fi == positions.len() {
        if t.ai != 0 {
            return Err(format!("new field '{name}' must use array index 0"));
        }
        m.fields.push(Field {
            name: name.to_string(),
            representation: t.rep,
            value: new_value(value)?,
        });
        return Ok(());
    }
    let Some(&pos) = positions.get(t.fi) else {
        return Err(format!("field index {} out of range for '{name}'", t.fi));
    };
    let field = &mut m.fields[pos];
    set_element(&mut field.value, t.ai, value)?;
    field.representation = t.rep;
    Ok(())
}

fn put<T>(v: &mut Vec<T>, ai: usize, x: T) -> Result<(), String> {
    match ai.cmp(&v.len()) {
        std::cmp::Ordering::Less => v[ai] = x,
        std::cmp::Ordering::Equal => v.push(x),
        std::cmp::Ordering::Greater => return Err(format!("array index {ai} out of range")),
    }
    Ok(())
}

fn set_element(fv: &mut FieldValue, ai: usize, value: &Value) -> Result<(), String> {
    match (fv, value) {
        (FieldValue::String(v) | FieldValue::Bytes(v), Value::String(s)) => {
            put(v, ai, s.as_bytes().to_vec())
        }
        (FieldValue::Double(v), Value::Integer(i)) => put(v, ai, *i as f64),
        (FieldValue::Double(v), Value::Number(f)) => put(v, ai, *f),
        (FieldValue::Integer(v), Value::Integer(i)) => put(v, ai, *i),
        (FieldValue::Integer(v), Value::Number(f)) if f.fract() == 0.0 => put(v, ai, *f as i64),
        (FieldValue::Bool(v), Value::Boolean(b)) => put(v, ai, *b),
        (fv, value) => Err(format!(
            "cannot write a {} into a {} field",
            value.type_name(),
            fv.value_type().name()
        )),
    }
}

fn remove_element(fv: &mut FieldValue, ai: usize) -> Result<(), String> {
    if ai >= fv.len() {
        return Err(format!("array index {ai} out of range"));
    }
    match fv {
        FieldValue::String(v) | FieldValue::Bytes(v) => drop(v.remove(ai)),
        FieldValue::Integer(v) => drop(v.remove(ai)),
        FieldValue::Double(v) => drop(v.remove(ai)),
        FieldValue::Bool(v) => drop(v.remove(ai)),
    }
    Ok(())
}
