//! `cjson.encode`: a Lua value to JSON text, walking tables the way
//! lua-cjson documents it (raw access, no metamethods; positive integer
//! keys only → array, with the excessively-sparse rule; otherwise object).

use mlua::{Error, Lua, Result, Table, Value};

use super::{Config, DEPTH_CEILING, InvalidNumbers};
use crate::sandbox::budget;
use crate::sandbox::limits::{OutputLimit, check_output};
use crate::sandbox::modules::args::lua_type_name;
use crate::sandbox::modules::luatext::fmt_g;

/// Values encoded between two charges to the instruction budget.
const CHARGE_EVERY: u64 = 1024;

struct Encoder<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    out: Vec<u8>,
    /// `output_limit` in bytes (0 = none).
    limit: usize,
    max_depth: usize,
    steps: u64,
    scratch: String,
}

/// Encodes `v`; errors use lua-cjson's messages.
pub(crate) fn encode(lua: &Lua, cfg: &Config, v: &Value) -> Result<Vec<u8>> {
    let limit = lua.app_data_ref::<OutputLimit>().map_or(0, |l| l.0);
    let mut e = Encoder {
        lua,
        cfg,
        out: Vec::new(),
        limit,
        max_depth: cfg.encode_max_depth.get().min(DEPTH_CEILING),
        steps: 0,
        scratch: String::new(),
    };
    e.encode_root(v)?;
    budget::charge(lua, e.steps % CHARGE_EVERY)?;
    Ok(e.out)
}

/// An open table being written.
enum Frame {
    Array { table: Table, next: i64, max: i64 },
    Object { pairs: std::vec::IntoIter<(Value, Value)>, first: bool },
}

fn unsupported(v: &Value, why: &str) -> Error {
    Error::runtime(format!("Cannot serialise {}: {why}", lua_type_name(v)))
}

impl Encoder<'_> {
    fn check_limit(&self) -> Result<()> {
        if self.limit > 0 && self.out.len() > self.limit {
            check_output(self.lua, self.out.len())?;
        }
        Ok(())
    }

    fn number(&mut self, n: f64) -> Result<()> {
        if !n.is_finite() {
            let text: &[u8] = match self.cfg.encode_invalid.get() {
                InvalidNumbers::Refuse => {
                    return Err(Error::runtime("Cannot serialise number: must not be NaN or Inf"));
                }
                InvalidNumbers::Null => b"null",
                InvalidNumbers::Allow if n.is_nan() => b"NaN",
                InvalidNumbers::Allow if n > 0.0 => b"Infinity",
                InvalidNumbers::Allow => b"-Infinity",
            };
            self.out.extend_from_slice(text);
            return Ok(());
        }
        self.scratch.clear();
        fmt_g(n, self.cfg.precision.get(), &mut self.scratch);
        self.out.extend_from_slice(self.scratch.as_bytes());
        Ok(())
    }

    /// A JSON string: control characters, `"`, `/`, `\` and DEL escaped,
    /// every other byte (UTF-8 or not) passed through.
    fn string(&mut self, s: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        for &b in s {
            match b {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'/' => self.out.extend_from_slice(b"\\/"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0x08 => self.out.extend_from_slice(b"\\b"),
                0x0c => self.out.extend_from_slice(b"\\f"),
                0..=0x1f | 0x7f => {
                    self.out.extend_from_slice(b"\\u00");
                    self.out.push(HEX[usize::from(b >> 4)]);
                    self.out.push(HEX[usize::from(b & 15)]);
                }
                _ => self.out.push(b),
            }
        }
        self.out.push(b'"');
    }

    /// Writes a scalar, or opens a table: writes its bracket and pushes the
    /// frame that will write its contents.
    fn emit(&mut self, v: &Value, stack: &mut Vec<Frame>) -> Result<()> {
        self.steps += 1;
        if self.steps.is_multiple_of(CHARGE_EVERY) {
            budget::charge(self.lua, CHARGE_EVERY)?;
        }
        match v {
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Boolean(b) => self.out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Integer(i) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Value::Number(n) => self.number(*n)?,
            Value::String(s) => self.string(&s.as_bytes()),
            Value::Table(t) => {
                let depth = stack.len() + 1;
                if depth > self.max_depth {
                    return Err(Error::runtime(format!(
                        "Cannot serialise, excessive nesting ({depth})"
                    )));
                }
                stack.push(self.open_table(t)?);
            }
            other => return Err(unsupported(other, "type not supported")),
        }
        self.check_limit()
    }

    /// Classifies `t` (array when every key is a positive integer and it is
    /// not excessively sparse) and writes its opening bracket.
    fn open_table(&mut self, t: &Table) -> Result<Frame> {
        let (mut max, mut items, mut array) = (0i64, 0i64, true);
        let mut pairs = Vec::new();
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair?;
            match k {
                Value::Integer(i) if i >= 1 && array => {
                    max = max.max(i);
                    items += 1;
                }
                _ => array = false,
            }
            pairs.push((k, v));
        }
        let ratio = self.cfg.sparse_ratio.get();
        if array
            && ratio > 0
            && max > items.saturating_mul(ratio)
            && max > self.cfg.sparse_safe.get()
        {
            if !self.cfg.sparse_convert.get() {
                return Err(Error::runtime("Cannot serialise table: excessively sparse array"));
            }
            array = false;
        }
        if array && max > 0 {
            self.out.push(b'[');
            Ok(Frame::Array { table: t.clone(), next: 1, max })
        } else {
            self.out.push(b'{');
            Ok(Frame::Object { pairs: pairs.into_iter(), first: true })
        }
    }

    /// Encodes `root` without native recursion: one frame per open table.
    fn encode_root(&mut self, root: &Value) -> Result<()> {
        let mut stack = Vec::new();
        self.emit(root, &mut stack)?;
        loop {
            let step = match stack.last_mut() {
                None => return Ok(()),
                Some(Frame::Array { table, next, max }) => {
                    if *next > *max {
                        self.out.push(b']');
                        None
                    } else {
                        if *next > 1 {
                            self.out.push(b',');
                        }
                        let v: Value = table.raw_get(*next)?;
                        *next += 1;
                        Some(v)
                    }
                }
                Some(Frame::Object { pairs, first }) => match pairs.next() {
                    None => {
                        self.out.push(b'}');
                        None
                    }
                    Some((k, v)) => {
                        if !*first {
                            self.out.push(b',');
                        }
                        *first = false;
                        self.key(&k)?;
                        self.out.push(b':');
                        Some(v)
                    }
                },
            };
            match step {
                Some(v) => self.emit(&v, &mut stack)?,
                None => {
                    stack.pop();
                }
            }
        }
    }

    /// An object key: strings as they are, numbers as their JSON text.
    fn key(&mut self, k: &Value) -> Result<()> {
        match k {
            Value::String(s) => self.string(&s.as_bytes()),
            Value::Integer(i) => {
                self.out.push(b'"');
                self.out.extend_from_slice(i.to_string().as_bytes());
                self.out.push(b'"');
            }
            Value::Number(n) => {
                self.out.push(b'"');
                self.number(*n)?;
                self.out.push(b'"');
            }
            other => return Err(unsupported(other, "table key must be a number or string")),
        }
        self.check_limit()
    }
}
