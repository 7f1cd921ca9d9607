//! Argument checks shared by the native modules, with Lua's own wording
//! (`bad argument #2 to 'add' (number expected, got nil)`) so scripts see
//! the errors they saw under Heka.
//!
//! The number checks work on an [`Arg`], a borrowed view of one argument,
//! so that the mlua functions (from a [`Value`]) and the raw C functions
//! (from the Lua stack, `sandbox/raw.rs`) share one implementation.

use mlua::{Error, Result, Value};

/// One Lua argument as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    /// `nil` or absent.
    Nil,
    Boolean(bool),
    Integer(i64),
    Number(f64),
    String(&'a [u8]),
    /// Any other type, with Lua's name for it (`lua_typename`: `table`,
    /// `userdata`) and mlua's (`Value::type_name`: `lightuserdata`,
    /// `error`).
    Other {
        lua: &'static str,
        mlua: &'static str,
    },
}

impl Arg<'_> {
    /// Lua's name for the type (`lua_typename`); integers and floats are
    /// both `number`.
    pub fn lua_type_name(&self) -> &'static str {
        match self {
            Arg::Nil => "nil",
            Arg::Boolean(_) => "boolean",
            Arg::Integer(_) | Arg::Number(_) => "number",
            Arg::String(_) => "string",
            Arg::Other { lua, .. } => lua,
        }
    }

    /// mlua's name for the type (`Value::type_name`), which tells
    /// `integer` from `number`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Arg::Integer(_) => "integer",
            Arg::Other { mlua, .. } => mlua,
            other => other.lua_type_name(),
        }
    }
}

/// Calls `f` with the [`Arg`] view of `v`.
pub fn with_arg<R>(v: &Value, f: impl FnOnce(Arg<'_>) -> R) -> R {
    match v {
        Value::Nil => f(Arg::Nil),
        Value::Boolean(b) => f(Arg::Boolean(*b)),
        Value::Integer(i) => f(Arg::Integer(*i)),
        Value::Number(n) => f(Arg::Number(*n)),
        Value::String(s) => f(Arg::String(&s.as_bytes())),
        other => f(Arg::Other { lua: lua_type_name(other), mlua: other.type_name() }),
    }
}

/// Lua's name for the type of `v` (`lua_typename`): light userdata and
/// errors are plain `userdata`, integers and floats are `number`.
pub fn lua_type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// `bad argument #pos to 'fname' (msg)`.
pub fn arg_error(pos: usize, fname: &str, msg: impl std::fmt::Display) -> Error {
    Error::runtime(format!("bad argument #{pos} to '{fname}' ({msg})"))
}

fn type_error(pos: usize, fname: &str, expected: &str, got: &Arg) -> Error {
    let got = if matches!(got, Arg::Nil) { "no value" } else { got.lua_type_name() };
    arg_error(pos, fname, format!("{expected} expected, got {got}"))
}

/// A number argument; numeric strings are converted as Lua does.
pub fn check_number(v: &Value, pos: usize, fname: &str) -> Result<f64> {
    with_arg(v, |a| number_arg(a, pos, fname))
}

/// [`check_number`] of an [`Arg`].
pub fn number_arg(a: Arg, pos: usize, fname: &str) -> Result<f64> {
    match a {
        Arg::Integer(i) => Ok(i as f64),
        Arg::Number(n) => Ok(n),
        Arg::String(s) => std::str::from_utf8(s)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .ok_or_else(|| type_error(pos, fname, "number", &a)),
        _ => Err(type_error(pos, fname, "number", &a)),
    }
}

/// An integer argument: an integer, or a float with an exact integer value.
pub fn check_integer(v: &Value, pos: usize, fname: &str) -> Result<i64> {
    with_arg(v, |a| integer_arg(a, pos, fname))
}

/// [`check_integer`] of an [`Arg`].
pub fn integer_arg(a: Arg, pos: usize, fname: &str) -> Result<i64> {
    match a {
        Arg::Integer(i) => Ok(i),
        _ => {
            let n = number_arg(a, pos, fname)?;
            if n.fract() == 0.0 && n >= -(2f64.powi(63)) && n < 2f64.powi(63) {
                Ok(n as i64)
            } else {
                Err(arg_error(pos, fname, "number has no integer representation"))
            }
        }
    }
}

/// A timestamp in nanoseconds: integers exactly, floats (`1e9`) truncated.
pub fn check_ns(v: &Value, pos: usize, fname: &str) -> Result<i64> {
    with_arg(v, |a| ns_arg(a, pos, fname))
}

/// [`check_ns`] of an [`Arg`].
pub fn ns_arg(a: Arg, pos: usize, fname: &str) -> Result<i64> {
    match a {
        Arg::Integer(i) => Ok(i),
        _ => {
            let n = number_arg(a, pos, fname)?;
            if n.is_nan() {
                return Err(arg_error(pos, fname, "time must be a number"));
            }
            // `as` saturates at the i64 range.
            Ok(n as i64)
        }
    }
}

/// A string argument (numbers are converted, as `luaL_checkstring` does).
pub fn check_string(v: &Value, pos: usize, fname: &str) -> Result<Vec<u8>> {
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Integer(i) => Ok(i.to_string().into_bytes()),
        Value::Number(n) => {
            Ok(crate::sandbox::modules::luatext::lua_number_string(*n).into_bytes())
        }
        _ => Err(with_arg(v, |a| type_error(pos, fname, "string", &a))),
    }
}

/// An optional boolean: `nil`/absent gives `default`.
pub fn opt_boolean(v: &Value, pos: usize, fname: &str, default: bool) -> Result<bool> {
    match v {
        Value::Nil => Ok(default),
        Value::Boolean(b) => Ok(*b),
        _ => Err(with_arg(v, |a| type_error(pos, fname, "boolean", &a))),
    }
}

/// A 64-bit hash of a bloom filter / HyperLogLog key: strings hash their
/// bytes, numbers the bytes of their float value (so `1` and `1.0` are the
/// same key). Any other type is an argument error.
pub fn hash_key(v: &Value, pos: usize, fname: &str) -> Result<u64> {
    use crate::sandbox::modules::xxh64::xxh64;
    match v {
        Value::String(s) => Ok(xxh64(&s.as_bytes(), 0)),
        Value::Integer(i) => Ok(xxh64(&(*i as f64).to_le_bytes(), 0)),
        Value::Number(n) => {
            // -0.0 and 0.0 are equal in Lua, so they must hash alike.
            let n = if *n == 0.0 { 0.0 } else { *n };
            Ok(xxh64(&n.to_le_bytes(), 0))
        }
        _ => Err(arg_error(
            pos,
            fname,
            format!("string or number expected, got {}", lua_type_name(v)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_errors() {
        let lua = mlua::Lua::new();
        let s = Value::String(lua.create_string("12.5").unwrap());
        assert_eq!(check_number(&s, 1, "f").unwrap(), 12.5);
        assert_eq!(check_integer(&Value::Number(3.0), 1, "f").unwrap(), 3);
        let e = check_integer(&Value::Number(3.5), 2, "f").unwrap_err().to_string();
        assert!(e.contains("bad argument #2 to 'f' (number has no integer representation)"), "{e}");
        let e = check_number(&Value::Nil, 1, "add").unwrap_err().to_string();
        assert!(e.contains("bad argument #1 to 'add' (number expected, got no value)"), "{e}");
        assert_eq!(check_ns(&Value::Number(1e9), 1, "f").unwrap(), 1_000_000_000);
        assert_eq!(check_ns(&Value::Integer(-5), 1, "f").unwrap(), -5);
    }

    #[test]
    fn keys_hash_by_value() {
        let lua = mlua::Lua::new();
        let one_i = hash_key(&Value::Integer(1), 1, "add").unwrap();
        let one_f = hash_key(&Value::Number(1.0), 1, "add").unwrap();
        let one_s = hash_key(&Value::String(lua.create_string("1").unwrap()), 1, "add").unwrap();
        assert_eq!(one_i, one_f);
        assert_ne!(one_i, one_s);
        assert_eq!(
            hash_key(&Value::Number(-0.0), 1, "add").unwrap(),
            hash_key(&Value::Integer(0), 1, "add").unwrap()
        );
        assert!(hash_key(&Value::Boolean(true), 1, "add").is_err());
    }
}
