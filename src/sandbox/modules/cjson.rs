//! `cjson`: JSON for sandboxed scripts, compatible with lua-cjson 2.1 as
//! Heka's sandbox shipped it.
//!
//! Heka's changes are kept: the encode buffer is bounded by `output_limit`,
//! decode input by half of `memory_limit`; JSON `null` is dropped on decode
//! unless `cjson.decode_null(true)`; `cjson.new` and `encode_keep_buffer`
//! do not exist. Tables are walked here rather than through mlua's serde
//! support, which silently drops the keys of mixed and sparse tables.
//!
//! Both directions walk nested data with an explicit stack, never native
//! recursion. One divergence: nesting deeper than [`DEPTH_CEILING`] is
//! refused even if a script raises `encode_max_depth`/`decode_max_depth`,
//! so a cyclic or hostile structure cannot grow that stack without bound.

mod decode;
mod encode;

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Lua, MultiValue, Result, Table, Value};

use crate::sandbox::modules::args::{arg_error, check_integer, check_string};

/// The deepest nesting walked natively, whatever the configured depths.
pub const DEPTH_CEILING: usize = 1000;

/// What `encode` does with NaN and infinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvalidNumbers {
    /// Error "must not be NaN or Inf" (the default).
    Refuse,
    /// `NaN`, `Infinity`, `-Infinity`.
    Allow,
    /// `null`.
    Null,
}

/// The per-module settings (lua-cjson's `cfg`).
#[derive(Debug)]
pub(crate) struct Config {
    pub encode_max_depth: Cell<usize>,
    pub decode_max_depth: Cell<usize>,
    pub precision: Cell<usize>,
    pub sparse_convert: Cell<bool>,
    pub sparse_ratio: Cell<i64>,
    pub sparse_safe: Cell<i64>,
    pub encode_invalid: Cell<InvalidNumbers>,
    pub decode_invalid: Cell<bool>,
    pub decode_null: Cell<bool>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            encode_max_depth: Cell::new(1000),
            decode_max_depth: Cell::new(1000),
            precision: Cell::new(14),
            sparse_convert: Cell::new(false),
            sparse_ratio: Cell::new(2),
            sparse_safe: Cell::new(10),
            encode_invalid: Cell::new(InvalidNumbers::Refuse),
            decode_invalid: Cell::new(true),
            decode_null: Cell::new(false),
        }
    }
}

fn one_arg(args: &MultiValue, fname: &str) -> Result<Value> {
    if args.len() != 1 {
        return Err(arg_error(1, fname, "expected 1 argument"));
    }
    Ok(args.front().cloned().unwrap_or(Value::Nil))
}

/// An optional integer setting in `[min, max]`; `None` when absent.
fn int_option(
    args: &MultiValue,
    pos: usize,
    fname: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>> {
    match args.get(pos - 1) {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => {
            let n = check_integer(v, pos, fname)?;
            if n < min || n > max {
                return Err(arg_error(
                    pos,
                    fname,
                    format!("expected integer between {min} and {max}"),
                ));
            }
            Ok(Some(n))
        }
    }
}

/// An optional boolean setting; `None` when absent.
fn bool_option(args: &MultiValue, pos: usize, fname: &str) -> Result<Option<bool>> {
    match args.get(pos - 1) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(*b)),
        Some(v) => match check_string(v, pos, fname)?.as_slice() {
            b"on" => Ok(Some(true)),
            b"off" => Ok(Some(false)),
            other => Err(arg_error(
                pos,
                fname,
                format!("invalid option '{}'", String::from_utf8_lossy(other)),
            )),
        },
    }
}

/// Opens the `cjson` module and returns its table.
pub fn open(lua: &Lua) -> Result<Table> {
    let cfg = Rc::new(Config::default());
    let t = lua.create_table()?;

    let c = cfg.clone();
    t.set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            let v = one_arg(&args, "encode")?;
            let out = encode::encode(lua, &c, &v)?;
            lua.create_string(out)
        })?,
    )?;

    let c = cfg.clone();
    t.set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            let v = one_arg(&args, "decode")?;
            let text = check_string(&v, 1, "decode")?;
            decode::decode(lua, &c, &text)
        })?,
    )?;

    t.set("null", Value::NULL)?;
    t.set("_NAME", "cjson")?;
    t.set("_VERSION", "2.1.0")?;

    let c = cfg.clone();
    t.set(
        "decode_null",
        lua.create_function(move |_, args: MultiValue| {
            if let Some(b) = bool_option(&args, 1, "decode_null")? {
                c.decode_null.set(b);
            }
            Ok(c.decode_null.get())
        })?,
    )?;

    let c = cfg.clone();
    t.set(
        "encode_max_depth",
        lua.create_function(move |_, args: MultiValue| {
            if let Some(n) = int_option(&args, 1, "encode_max_depth", 1, i64::from(i32::MAX))? {
                c.encode_max_depth.set(n as usize);
            }
            Ok(c.encode_max_depth.get())
        })?,
    )?;

    let c = cfg.clone();
    t.set(
        "decode_max_depth",
        lua.create_function(move |_, args: MultiValue| {
            if let Some(n) = int_option(&args, 1, "decode_max_depth", 1, i64::from(i32::MAX))? {
                c.decode_max_depth.set(n as usize);
            }
            Ok(c.decode_max_depth.get())
        })?,
    )?;

    let c = cfg.clone();
    t.set(
        "encode_number_precision",
        lua.create_function(move |_, args: MultiValue| {
            if let Some(n) = int_option(&args, 1, "encode_number_precision", 1, 14)? {
                c.precision.set(n as usize);
            }
            Ok(c.precision.get())
        })?,
    )?;

    let c = cfg.clone();
    t.set(
        "encode_sparse_array",
        lua.create_function(move |_, args: MultiValue| {
            let fname = "encode_sparse_array";
            if let Some(b) = bool_option(&args, 1, fname)? {
                c.sparse_convert.set(b);
            }
            if let Some(n) = int_option(&args, 2, fname, 0, i64::from(i32::MAX))? {
                c.sparse_ratio.set(n);
            }
            if let Some(n) = int_option(&args, 3, fname, 0, i64::from(i32::MAX))? {
                c.sparse_safe.set(n);
            }
            Ok((c.sparse_convert.get(), c.sparse_ratio.get(), c.sparse_safe.get()))
        })?,
    )?;

    let c = cfg.clone();
    t.set(
        "encode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            let fname = "encode_invalid_numbers";
            match args.front() {
                None | Some(Value::Nil) => {}
                Some(Value::String(s)) if &*s.as_bytes() == b"null" => {
                    c.encode_invalid.set(InvalidNumbers::Null)
                }
                Some(_) => {
                    if let Some(b) = bool_option(&args, 1, fname)? {
                        c.encode_invalid.set(if b {
                            InvalidNumbers::Allow
                        } else {
                            InvalidNumbers::Refuse
                        });
                    }
                }
            }
            Ok(match c.encode_invalid.get() {
                InvalidNumbers::Refuse => Value::Boolean(false),
                InvalidNumbers::Allow => Value::Boolean(true),
                InvalidNumbers::Null => Value::String(lua.create_string("null")?),
            })
        })?,
    )?;

    let c = cfg;
    t.set(
        "decode_invalid_numbers",
        lua.create_function(move |_, args: MultiValue| {
            if let Some(b) = bool_option(&args, 1, "decode_invalid_numbers")? {
                c.decode_invalid.set(b);
            }
            Ok(c.decode_invalid.get())
        })?,
    )?;

    Ok(t)
}

#[cfg(test)]
mod tests;
