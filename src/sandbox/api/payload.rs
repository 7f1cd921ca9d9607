//! The payload buffer: `add_to_payload(...)` and
//! `inject_payload(type, name, ...)` (Heka §4.3).
//!
//! Values are written as Heka's lua_sandbox wrote them: strings as they
//! are, `nil` as `nil`, booleans as `true`/`false`, integral numbers
//! without a decimal point, other numbers with at most 8 decimals,
//! `nan`/`inf`/`-inf`, and userdata through their output hook. The buffer
//! never grows past `output_limit` (`output_limit exceeded`, catchable as
//! in Heka; the buffer keeps what it had before the call).

use mlua::{Lua, MultiValue, Value};

use super::super::context::{Shared, borrow};
use super::super::extensions::Extensions;
use super::super::guard::lua_error;
use super::super::limits::OUTPUT_LIMIT_EXCEEDED;
use super::inject;

/// Appends a float the way Heka's output did.
pub(crate) fn append_number(out: &mut Vec<u8>, d: f64) {
    use std::io::Write;
    if d.is_nan() {
        out.extend_from_slice(b"nan");
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" });
    } else if d.fract() == 0.0 && d.abs() < 1e15 {
        let _ = write!(out, "{}", d as i64);
    } else if d.abs() >= 1e15 {
        let _ = write!(out, "{d:e}");
    } else {
        let start = out.len();
        let _ = write!(out, "{d:.8}");
        while out.len() > start && out.last() == Some(&b'0') {
            out.pop();
        }
        if out.last() == Some(&b'.') {
            out.pop();
        }
    }
}

/// Appends one `add_to_payload` argument; `Ok(false)` for an unsupported
/// type.
fn append_value(ext: &Extensions, out: &mut Vec<u8>, v: &Value) -> mlua::Result<bool> {
    use std::io::Write;
    match v {
        Value::String(s) => out.extend_from_slice(&s.as_bytes()),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Number(n) => append_number(out, *n),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"nil"),
        Value::UserData(ud) => match ext.write_output(ud, out) {
            Some(r) => r?,
            None => return Ok(false),
        },
        _ => return Ok(false),
    }
    Ok(true)
}

/// Appends `args` (from argument number `first_pos` on) to the payload
/// buffer, all or nothing.
fn append_args(
    lua: &Lua,
    ctx: &Shared,
    func: &str,
    args: &[Value],
    first_pos: usize,
) -> mlua::Result<()> {
    let mut c = borrow(lua, ctx)?;
    let c = &mut *c;
    let before = c.payload.len();
    for (i, v) in args.iter().enumerate() {
        let ok = match append_value(&c.extensions, &mut c.payload, v) {
            Ok(ok) => ok,
            Err(e) => {
                c.payload.truncate(before);
                return Err(e);
            }
        };
        if !ok {
            c.payload.truncate(before);
            return Err(lua_error(
                lua,
                format!("bad argument #{} to '{func}' (unsupported type)", first_pos + i),
            ));
        }
    }
    if c.output_limit > 0 && c.payload.len() > c.output_limit {
        c.payload.truncate(before);
        return Err(lua_error(lua, OUTPUT_LIMIT_EXCEEDED));
    }
    let len = c.payload.len();
    c.note_output(len);
    Ok(())
}

/// `add_to_payload(...)`.
pub(crate) fn add_to_payload(lua: &Lua, ctx: &Shared, mut args: MultiValue) -> mlua::Result<()> {
    if args.is_empty() {
        return Err(lua_error(
            lua,
            "bad argument #0 to 'add_to_payload' (must have at least one argument)",
        ));
    }
    append_args(lua, ctx, "add_to_payload", args.make_contiguous(), 1)
}

/// `inject_payload([type [, name [, ...]]])`.
pub(crate) fn inject_payload(lua: &Lua, ctx: &Shared, mut args: MultiValue) -> mlua::Result<()> {
    let args = &*args.make_contiguous();
    let text_arg = |i: usize, default: &str| -> mlua::Result<String> {
        match args.get(i) {
            None | Some(Value::Nil) => Ok(default.to_string()),
            Some(Value::String(s)) if s.as_bytes().is_empty() => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.to_string_lossy()),
            Some(other) => Err(lua_error(
                lua,
                format!(
                    "bad argument #{} to 'inject_payload' (string expected, got {})",
                    i + 1,
                    other.type_name()
                ),
            )),
        }
    };
    let payload_type = text_arg(0, "txt")?;
    let payload_name = text_arg(1, "")?;
    if args.len() > 2 {
        append_args(lua, ctx, "inject_payload", &args[2..], 3)?;
    }
    inject::inject_payload_buffer(lua, ctx, &payload_type, &payload_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(d: f64) -> String {
        let mut v = Vec::new();
        append_number(&mut v, d);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers_print_like_heka() {
        assert_eq!(fmt(5.0), "5");
        assert_eq!(fmt(-3.0), "-3");
        assert_eq!(fmt(0.1), "0.1");
        assert_eq!(fmt(1.0 / 3.0), "0.33333333");
        assert_eq!(fmt(99.125), "99.125");
        assert_eq!(fmt(f64::NAN), "nan");
        assert_eq!(fmt(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt(1e300), "1e300");
        assert_eq!(fmt(1392050801000000000.0), "1.392050801e18");
    }
}
