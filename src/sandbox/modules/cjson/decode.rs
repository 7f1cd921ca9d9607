//! `cjson.decode`: JSON text to Lua values, with lua-cjson's tokens and
//! error texts (`Expected value but found invalid token at character 1`).
//!
//! Numbers that look like integers and fit an i64 become Lua integers,
//! everything else floats. As in lua-cjson, "invalid" numbers (`NaN`,
//! `Infinity`, hexadecimal, leading zeros) are accepted unless
//! `decode_invalid_numbers(false)`. Strings are bytes: escapes are decoded,
//! everything else (invalid UTF-8 included) is passed through.

use mlua::{Error, Lua, LuaString, Result, Table, Value};

use super::{Config, DEPTH_CEILING};
use crate::sandbox::budget;
use crate::sandbox::limits::MemoryLimit;

/// Tokens read between two charges to the instruction budget.
const CHARGE_EVERY: u64 = 1024;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    /// The decoded bytes are in `Parser::scratch`.
    Str,
    Num(Value),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(msg) => msg,
        }
    }
}

/// An open array or object.
enum Frame {
    Array { table: Table, index: i64 },
    Object { table: Table, key: LuaString },
}

struct Parser<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
    keep_null: bool,
    invalid_numbers: bool,
    steps: u64,
    scratch: Vec<u8>,
}

/// Decodes `text`.
pub(crate) fn decode(lua: &Lua, cfg: &Config, text: &[u8]) -> Result<Value> {
    if let Some(limit) = lua.app_data_ref::<MemoryLimit>()
        && limit.0 > 0
        && text.len() > limit.0 / 2
    {
        return Err(Error::MemoryError("not enough memory".into()));
    }
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Err(Error::runtime("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut p = Parser {
        lua,
        data: text,
        pos: 0,
        depth: 0,
        max_depth: cfg.decode_max_depth.get().min(DEPTH_CEILING),
        keep_null: cfg.decode_null.get(),
        invalid_numbers: cfg.decode_invalid.get(),
        steps: 0,
        scratch: Vec::new(),
    };
    let (tok, at) = p.next()?;
    let v = p.value(tok, at)?;
    let (tok, at) = p.next()?;
    if tok != Tok::End {
        return Err(expected("the end", &tok, at));
    }
    budget::charge(lua, p.steps % CHARGE_EVERY)?;
    Ok(v)
}

fn expected(what: &str, found: &Tok, at: usize) -> Error {
    Error::runtime(format!("Expected {what} but found {} at character {}", found.name(), at + 1))
}

/// lua-cjson's test for numbers outside the JSON grammar that strtod
/// would still read: a leading `+`, hexadecimal, leading zeros, inf, nan.
fn is_invalid_number(s: &[u8]) -> bool {
    let s = match s.first() {
        Some(b'+') => return true,
        Some(b'-') => &s[1..],
        _ => s,
    };
    match s.first() {
        None => false,
        Some(b'0') => matches!(s.get(1), Some(b'x' | b'X' | b'0'..=b'9')),
        Some(&c) if c <= b'9' => false,
        Some(_) => starts_with_ci(s, b"inf") || starts_with_ci(s, b"nan"),
    }
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn count_while(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&b| f(b)).count()
}

/// Reads the longest number at the start of `s` as C's `strtod` does
/// (decimal, hexadecimal, inf/infinity, nan). Returns the value and the
/// bytes used, or `None` if no number starts there.
fn scan_number(s: &[u8]) -> Option<(Value, usize)> {
    let (neg, sign_len) = match s.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let rest = &s[sign_len..];
    let signed = |x: f64| if neg { -x } else { x };
    if starts_with_ci(rest, b"infinity") {
        return Some((Value::Number(signed(f64::INFINITY)), sign_len + 8));
    }
    if starts_with_ci(rest, b"inf") {
        return Some((Value::Number(signed(f64::INFINITY)), sign_len + 3));
    }
    if starts_with_ci(rest, b"nan") {
        return Some((Value::Number(f64::NAN), sign_len + 3));
    }
    if starts_with_ci(rest, b"0x")
        && let Some((v, used)) = scan_hex(&rest[2..], neg)
    {
        return Some((v, sign_len + 2 + used));
    }
    let int_len = count_while(rest, |b| b.is_ascii_digit());
    let mut len = int_len;
    let mut frac_len = 0;
    if rest.get(len) == Some(&b'.') {
        frac_len = count_while(&rest[len + 1..], |b| b.is_ascii_digit());
        len += 1 + frac_len;
    }
    if int_len + frac_len == 0 {
        return None;
    }
    let is_int = len == int_len;
    let mut has_exp = false;
    if matches!(rest.get(len), Some(b'e' | b'E')) {
        let mut e = len + 1;
        if matches!(rest.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let digits = count_while(&rest[e.min(rest.len())..], |b| b.is_ascii_digit());
        if digits > 0 {
            len = e + digits;
            has_exp = true;
        }
    }
    let text = std::str::from_utf8(&s[..sign_len + len]).ok()?;
    if is_int
        && !has_exp
        && let Ok(i) = text.parse::<i64>()
    {
        return Some((Value::Integer(i), sign_len + len));
    }
    let x: f64 = text.parse().ok()?;
    Some((Value::Number(x), sign_len + len))
}

/// The digits after `0x`: hexadecimal integer, fraction and binary exponent.
fn scan_hex(s: &[u8], neg: bool) -> Option<(Value, usize)> {
    let int_len = count_while(s, |b| b.is_ascii_hexdigit());
    let mut len = int_len;
    let mut frac_len = 0;
    if s.get(len) == Some(&b'.') {
        frac_len = count_while(&s[len + 1..], |b| b.is_ascii_hexdigit());
        len += 1 + frac_len;
    }
    if int_len + frac_len == 0 {
        return None;
    }
    let digit = |b: u8| f64::from(char::from(b).to_digit(16).unwrap_or(0));
    let mut mantissa = 0f64;
    for &b in s[..int_len].iter() {
        mantissa = mantissa * 16.0 + digit(b);
    }
    let mut exp: i32 = 0;
    for &b in s[int_len..len].iter().filter(|b| b.is_ascii_hexdigit()) {
        mantissa = mantissa * 16.0 + digit(b);
        exp = exp.saturating_sub(4);
    }
    let is_int = len == int_len;
    let mut has_exp = false;
    if matches!(s.get(len), Some(b'p' | b'P')) {
        let mut e = len + 1;
        let eneg = s.get(e) == Some(&b'-');
        if matches!(s.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let digits = count_while(&s[e.min(s.len())..], |b| b.is_ascii_digit());
        if digits > 0 {
            let p: i32 = std::str::from_utf8(&s[e..e + digits]).ok()?.parse().unwrap_or(i32::MAX);
            exp = exp.saturating_add(if eneg { -p } else { p });
            len = e + digits;
            has_exp = true;
        }
    }
    if is_int
        && !has_exp
        && int_len <= 16
        && let Ok(u) = u64::from_str_radix(std::str::from_utf8(&s[..int_len]).ok()?, 16)
        && let Ok(i) = i64::try_from(if neg { -i128::from(u) } else { i128::from(u) })
    {
        return Some((Value::Integer(i), len));
    }
    let x = mantissa * 2f64.powi(exp);
    Some((Value::Number(if neg { -x } else { x }), len))
}

impl Parser<'_> {
    /// The next token and its 0-based position.
    fn next(&mut self) -> Result<(Tok, usize)> {
        self.steps += 1;
        if self.steps.is_multiple_of(CHARGE_EVERY) {
            budget::charge(self.lua, CHARGE_EVERY)?;
        }
        self.pos +=
            count_while(&self.data[self.pos..], |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        let at = self.pos;
        let rest = &self.data[at..];
        let Some(&c) = rest.first() else {
            return Ok((Tok::End, at));
        };
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            self.pos += 1;
            return Ok((tok, at));
        }
        if c == b'"' {
            return Ok(self.string(at));
        }
        let number_start = c == b'-' || c.is_ascii_digit();
        if number_start || (self.invalid_numbers && is_invalid_number(rest)) {
            if !self.invalid_numbers && is_invalid_number(rest) {
                return Ok((Tok::Error("invalid number"), at));
            }
            return Ok(match scan_number(rest) {
                Some((v, used)) => {
                    self.pos += used;
                    (Tok::Num(v), at)
                }
                None => (Tok::Error("invalid number"), at),
            });
        }
        for (word, tok) in
            [(&b"true"[..], Tok::Bool(true)), (b"false", Tok::Bool(false)), (b"null", Tok::Null)]
        {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok((tok, at));
            }
        }
        Ok((Tok::Error("invalid token"), at))
    }

    /// A string token starting at the quote at `at`; its bytes go to
    /// `scratch`. Errors are positioned at the offending backslash.
    fn string(&mut self, at: usize) -> (Tok, usize) {
        self.scratch.clear();
        let mut i = at + 1;
        loop {
            let Some(&b) = self.data.get(i) else {
                self.pos = i;
                return (Tok::Error("unexpected end of string"), i);
            };
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return (Tok::Str, at);
                }
                0 => {
                    self.pos = i;
                    return (Tok::Error("unexpected end of string"), i);
                }
                b'\\' => {
                    let simple = match self.data.get(i + 1) {
                        Some(b'"') => Some(b'"'),
                        Some(b'\\') => Some(b'\\'),
                        Some(b'/') => Some(b'/'),
                        Some(b'b') => Some(8),
                        Some(b'f') => Some(12),
                        Some(b'n') => Some(b'\n'),
                        Some(b'r') => Some(b'\r'),
                        Some(b't') => Some(b'\t'),
                        _ => None,
                    };
                    if let Some(ch) = simple {
                        self.scratch.push(ch);
                        i += 2;
                    } else if self.data.get(i + 1) == Some(&b'u') {
                        match self.unicode_escape(i) {
                            Some(used) => i += used,
                            None => {
                                self.pos = i;
                                return (Tok::Error("invalid unicode escape code"), i);
                            }
                        }
                    } else {
                        self.pos = i;
                        return (Tok::Error("invalid escape code"), i);
                    }
                }
                _ => {
                    self.scratch.push(b);
                    i += 1;
                }
            }
        }
    }

    /// `\uXXXX` (or a surrogate pair of them) at `i` as UTF-8 in `scratch`;
    /// the bytes used, or `None` if malformed.
    fn unicode_escape(&mut self, i: usize) -> Option<usize> {
        let hex4 = |at: usize| -> Option<u32> {
            let h = self.data.get(at..at + 4)?;
            if !h.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
        };
        let first = hex4(i + 2)?;
        let (cp, used) = match first {
            0xD800..=0xDBFF => {
                if self.data.get(i + 6..i + 8) != Some(b"\\u") {
                    return None;
                }
                let low = hex4(i + 8)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                (0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00), 12)
            }
            0xDC00..=0xDFFF => return None,
            cp => (cp, 6),
        };
        let ch = char::from_u32(cp)?;
        let mut buf = [0u8; 4];
        self.scratch.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Some(used)
    }

    /// A scalar value, `None` for `[` and `{`.
    fn scalar(&mut self, tok: &Tok) -> Result<Option<Value>> {
        Ok(Some(match tok {
            Tok::Str => Value::String(self.lua.create_string(&self.scratch)?),
            Tok::Num(v) => v.clone(),
            Tok::Bool(b) => Value::Boolean(*b),
            Tok::Null if self.keep_null => Value::NULL,
            Tok::Null => Value::Nil,
            _ => return Ok(None),
        }))
    }

    fn descend(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(Error::runtime(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.pos
            )));
        }
        Ok(())
    }

    /// Reads `"key" :` given the key's token; returns the key.
    fn object_key(&mut self, tok: &Tok, at: usize) -> Result<LuaString> {
        if *tok != Tok::Str {
            return Err(expected("object key string", tok, at));
        }
        let key = self.lua.create_string(&self.scratch)?;
        let (tok, at) = self.next()?;
        if tok != Tok::Colon {
            return Err(expected("colon", &tok, at));
        }
        Ok(key)
    }

    /// The value starting with `tok`, without native recursion: one frame
    /// per open array or object.
    fn value(&mut self, mut tok: Tok, mut at: usize) -> Result<Value> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // Read one value, or open a container and go on with its first item.
            let mut value = match self.scalar(&tok)? {
                Some(v) => v,
                None if tok == Tok::ObjBegin || tok == Tok::ArrBegin => {
                    self.descend()?;
                    let table = self.lua.create_table()?;
                    let is_object = tok == Tok::ObjBegin;
                    (tok, at) = self.next()?;
                    let close = if is_object { Tok::ObjEnd } else { Tok::ArrEnd };
                    if tok == close {
                        self.depth -= 1;
                        Value::Table(table)
                    } else {
                        if is_object {
                            let key = self.object_key(&tok, at)?;
                            stack.push(Frame::Object { table, key });
                            (tok, at) = self.next()?;
                        } else {
                            stack.push(Frame::Array { table, index: 1 });
                        }
                        continue;
                    }
                }
                None => return Err(expected("value", &tok, at)),
            };
            // Store it in its container; close every container that ends here.
            loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok(value);
                };
                let (close, expect) = match frame {
                    Frame::Array { table, index } => {
                        table.raw_set(*index, value)?;
                        *index += 1;
                        (Tok::ArrEnd, "comma or array end")
                    }
                    Frame::Object { table, key } => {
                        table.raw_set(key.clone(), value)?;
                        (Tok::ObjEnd, "comma or object end")
                    }
                };
                (tok, at) = self.next()?;
                if tok == close {
                    self.depth -= 1;
                    value = match stack.pop() {
                        Some(Frame::Array { table, .. } | Frame::Object { table, .. }) => {
                            Value::Table(table)
                        }
                        None => unreachable!("the frame was just read"),
                    };
                    continue;
                }
                if tok != Tok::Comma {
                    return Err(expected(expect, &tok, at));
                }
                (tok, at) = self.next()?;
                if let Some(Frame::Object { key, .. }) = stack.last_mut() {
                    let (t, a) = (tok.clone(), at);
                    *key = self.object_key(&t, a)?;
                    (tok, at) = self.next()?;
                }
                break;
            }
        }
    }
}
