//! The capture list the VM records, the values it evaluates to, and the
//! match environment (subject, program, ktable, extra arguments).
//!
//! While matching, the VM only records where captures open and close (or,
//! for captures over a fixed-length match, one "full" entry); [`eval`]
//! turns the list into values. Strings cut from the subject stay as byte
//! ranges ([`Val::Str`]) until they are stored, so a table capture writes
//! them straight into its table.
//!
//! [`eval`]: super::eval

use std::borrow::Cow;
use std::cell::OnceCell;

use mlua::{Function, Lua, Table, Value};

use super::error::{LpegError, Result};
use super::program::Program;
use super::tree::CapKind;
use crate::sandbox::budget;
use crate::sandbox::limits::check_memory;

/// `len` of an entry that is still open.
pub const OPEN: u32 = u32::MAX;

/// One capture-list entry (16 bytes).
#[derive(Clone, Copy, Debug)]
pub struct Cap {
    /// Start (0-based), or the position of a `Close`.
    pub pos: u32,
    /// Length of a full capture, [`OPEN`], or 0 for `Close`.
    pub len: u32,
    /// Index into [`Program::caps`]; for `Runtime`, the first value's index.
    pub idx: u32,
    pub kind: CapKind,
    /// Number of values of a `Runtime` entry.
    pub count: u16,
}

impl Cap {
    pub fn is_open(&self) -> bool {
        self.len == OPEN
    }
}

/// The index of the innermost capture still open at the end of `caps`
/// (0 when there is none).
pub fn innermost_open(caps: &[Cap]) -> usize {
    let mut depth = 0u32;
    for (j, c) in caps.iter().enumerate().rev() {
        if c.kind == CapKind::Close {
            depth += 1;
        } else if c.is_open() {
            if depth == 0 {
                return j;
            }
            depth -= 1;
        }
    }
    0
}

/// The index after entry `i` and everything nested in it.
pub fn skip(caps: &[Cap], i: usize) -> usize {
    if !caps[i].is_open() {
        return i + 1;
    }
    let mut depth = 0u32;
    for (j, c) in caps.iter().enumerate().skip(i + 1) {
        if c.kind == CapKind::Close {
            if depth == 0 {
                return j + 1;
            }
            depth -= 1;
        } else if c.is_open() {
            depth += 1;
        }
    }
    caps.len()
}

/// Start, end and next index of entry `i`.
pub fn range(caps: &[Cap], i: usize) -> (u32, u32, usize) {
    let c = caps[i];
    if !c.is_open() {
        return (c.pos, c.pos + c.len, i + 1);
    }
    let next = skip(caps, i);
    let end = caps.get(next - 1).map_or(c.pos, |e| e.pos);
    (c.pos, end, next)
}

/// The name key of entry `c` when it is a named group.
pub fn named_group(prog: &Program, c: &Cap) -> Option<u32> {
    let key = prog.caps[c.idx as usize].key;
    (c.kind == CapKind::Group && key != 0).then_some(key)
}

/// Array and hash sizes for the table of the table capture at entry `i`:
/// one slot per nested capture, one key per named group.
pub fn table_sizes(prog: &Program, caps: &[Cap], i: usize) -> (usize, usize) {
    let (mut narr, mut nrec) = (0, 0);
    if caps[i].is_open() {
        let mut j = i + 1;
        while j < caps.len() && caps[j].kind != CapKind::Close {
            match named_group(prog, &caps[j]) {
                Some(_) => nrec += 1,
                None => narr += 1,
            }
            j = skip(caps, j);
        }
    }
    (narr, nrec)
}

/// A captured value; subject substrings become Lua strings only when used,
/// and table captures Lua tables (see [`super::tables`]).
#[derive(Debug, Clone)]
pub enum Val {
    Str(u32, u32),
    Int(i64),
    Lua(Value),
    /// A table capture not built yet.
    Tab(u32),
    /// The string at a ktable entry (`Cc` of a string).
    Const(u32),
}

/// What a match needs beyond the VM state.
pub struct Env<'a> {
    pub lua: &'a Lua,
    pub prog: &'a Program,
    pub subject: &'a [u8],
    /// The subject as a Lua value, passed to match-time captures.
    pub subject_value: &'a Value,
    /// The pattern, whose user value is its ktable.
    pub pattern: &'a mlua::AnyUserData,
    /// Extra arguments of `match`, for `Carg`.
    pub args: &'a [Value],
    /// The ktable, fetched on first use of a value the program does not
    /// cache.
    ktable: OnceCell<Option<Table>>,
}

impl<'a> Env<'a> {
    pub fn new(
        lua: &'a Lua,
        prog: &'a Program,
        subject: &'a [u8],
        subject_value: &'a Value,
        pattern: &'a mlua::AnyUserData,
        args: &'a [Value],
    ) -> Self {
        Env { lua, prog, subject, subject_value, pattern, args, ktable: OnceCell::new() }
    }

    /// The ktable entry `key`, from the program's cache when it has one.
    pub fn kvalue(&self, key: u32) -> Result<Cow<'a, Value>> {
        let Some(i) = (key as usize).checked_sub(1) else {
            return Ok(Cow::Owned(Value::Nil));
        };
        let prog: &'a Program = self.prog;
        match prog.consts.get(i) {
            Some(Some(v)) => Ok(Cow::Borrowed(v)),
            _ => Ok(Cow::Owned(match self.ktable()? {
                Some(t) => t.raw_get(key)?,
                None => Value::Nil,
            })),
        }
    }

    /// The pattern's ktable, fetched on first use.
    pub fn ktable(&self) -> Result<Option<&Table>> {
        if self.ktable.get().is_none() {
            let t = match self.pattern.user_value::<Value>()? {
                Value::Table(t) => Some(t),
                _ => None,
            };
            // Nothing else fills it in between.
            let _ = self.ktable.set(t);
        }
        Ok(self.ktable.get().and_then(Option::as_ref))
    }

    /// The function at ktable entry `key`.
    pub fn function(&self, key: u32) -> Result<Function> {
        match self.kvalue(key)?.into_owned() {
            Value::Function(f) => Ok(f),
            v => Err(LpegError::Lua(mlua::Error::runtime(format!(
                "attempt to call a {} value",
                v.type_name()
            )))),
        }
    }

    pub(super) fn bytes(&self, a: u32, b: u32) -> &[u8] {
        let (a, b) = (a as usize, b as usize);
        self.subject.get(a..b.max(a)).unwrap_or_default()
    }

    /// Appends the text of `v` (a string or number) to `buf`.
    pub(super) fn append(&self, buf: &mut Text, v: &Val, what: &'static str) -> Result<()> {
        match v {
            Val::Str(a, b) => buf.extend(self.bytes(*a, *b))?,
            Val::Int(n) => {
                let mut digits = [0u8; 20];
                let mut w = &mut digits[..];
                let _ = std::io::Write::write_fmt(&mut w, format_args!("{n}"));
                let len = 20 - w.len();
                buf.extend(&digits[..len])?
            }
            Val::Lua(Value::String(s)) => buf.extend(&s.as_bytes())?,
            Val::Lua(v @ (Value::Integer(_) | Value::Number(_))) => {
                if let Some(s) = self.lua.coerce_string(v.clone())? {
                    buf.extend(&s.as_bytes())?;
                }
            }
            Val::Lua(v) => {
                return Err(LpegError::InvalidValue { what, ty: v.type_name() });
            }
            Val::Tab(_) => return Err(LpegError::InvalidValue { what, ty: "table" }),
            Val::Const(k) => buf.extend(self.prog.string(*k).unwrap_or_default())?,
        }
        Ok(())
    }
}

/// Text built by substitution and string captures. Large growth is checked
/// against the memory limit and charged to the instruction budget (one
/// step per 64 bytes), so a capture that copies the subject many times
/// over cannot escape either limit.
pub struct Text<'l> {
    lua: &'l Lua,
    buf: Vec<u8>,
}

/// Appends shorter than this are neither checked nor charged.
const SMALL_TEXT: usize = 4096;

impl<'l> Text<'l> {
    pub fn new(lua: &'l Lua) -> Self {
        Text { lua, buf: Vec::new() }
    }

    pub fn extend(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() >= SMALL_TEXT {
            budget::charge(self.lua, (bytes.len() / 64) as u64)?;
        }
        let need = self.buf.len() + bytes.len();
        if need > self.buf.capacity() && need >= SMALL_TEXT {
            check_memory(self.lua, need.max(self.buf.capacity() * 2))?;
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    pub fn push(&mut self, b: u8) -> Result<()> {
        self.extend(std::slice::from_ref(&b))
    }

    /// The text as a Lua string.
    pub fn into_lua(self) -> Result<Value> {
        Ok(Value::String(self.lua.create_string(&self.buf)?))
    }
}

/// Lua's conversion of `s` when it is an optionally signed decimal integer
/// of at most 18 digits, with optional surrounding spaces (so no overflow,
/// and exactly the integer `tonumber` returns).
pub fn decimal_integer(s: &[u8]) -> Option<i64> {
    let is_space = |b: &u8| *b == b' ' || (9..=13).contains(b);
    let start = s.iter().position(|b| !is_space(b))?;
    let end = s.iter().rposition(|b| !is_space(b))? + 1;
    let t = &s[start..end];
    let (neg, digits) = match t.first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_integers_only() {
        assert_eq!(decimal_integer(b"123"), Some(123));
        assert_eq!(decimal_integer(b" -45\t"), Some(-45));
        assert_eq!(decimal_integer(b"+7"), Some(7));
        assert_eq!(decimal_integer(b"999999999999999999"), Some(999_999_999_999_999_999));
        for other in [&b"1234567890123456789"[..], b"1.0", b"0x10", b"1e3", b"", b" ", b"-", b"1 2"]
        {
            assert_eq!(decimal_integer(other), None, "{other:?}");
        }
    }
}
