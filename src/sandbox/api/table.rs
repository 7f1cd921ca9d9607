//! Heka message tables → [`Message`], for `inject_message` (Heka §4.3).
//!
//! Hash form `{Type=…, Payload=…, Fields={name=value, …}}` and array form
//! `Fields={{name=…, value=…, value_type=…, representation=…}, …}`. A field
//! value is a string (STRING), number (DOUBLE — Heka compatible, whether the
//! Lua number is an integer or a float), boolean (BOOL), an array of one of
//! those, a table `{value=…, value_type=…, representation=…}` (`value_type`
//! 2 makes numbers INTEGER, 1 makes strings BYTES), or a userdata with an
//! output hook (its text becomes a STRING). Values are never nested deeper
//! than that, so there is no recursion to bound. Tables are read raw (no
//! metamethods run), and the message is written into the caller's buffers,
//! which keep their allocations across calls. The common shapes are read
//! first by the raw reader in `table_raw.rs`; this reader takes the rest
//! and is the reference for every rule and error message.

use std::io::Write as _;

use mlua::{Lua, LuaString, Table, Value};

use super::super::extensions::Extensions;
use super::super::guard::lua_error;
use super::write::timestamp;
use crate::message::{Field, FieldValue, Message};

/// What the table set, for the per-kind header rules.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Filled {
    pub timestamp: bool,
}

/// Field names already converted, by Lua string identity: scripts reuse
/// the same (interned) key strings for every message, so a hit skips the
/// UTF-8 check and the string conversion. Small and bounded; names beyond
/// the first [`NAME_CACHE_SIZE`] are converted each time.
/// It also keeps the Lua strings of the keys read from field tables.
#[derive(Default)]
pub(crate) struct NameCache {
    /// The Lua string is kept so its address cannot be reused.
    entries: Vec<(LuaString, String)>,
    keys: Option<Keys>,
}

/// Interned keys of field tables.
struct Keys {
    name: LuaString,
    value: LuaString,
    value_type: LuaString,
    representation: LuaString,
}

/// Entries kept by [`NameCache`].
pub(crate) const NAME_CACHE_SIZE: usize = 64;

impl NameCache {
    /// Writes the field name `s` into `out` (reusing its allocation).
    fn name_into(&mut self, lua: &Lua, s: &LuaString, out: &mut String) -> mlua::Result<()> {
        out.clear();
        let p = s.to_pointer();
        if let Some((_, n)) = self.entries.iter().find(|(k, _)| k.to_pointer() == p) {
            out.push_str(n);
            return Ok(());
        }
        match s.to_str() {
            Ok(n) => out.push_str(&n),
            Err(_) => return Err(lua_error(lua, "inject_message() field name is not valid UTF-8")),
        }
        if self.entries.len() < NAME_CACHE_SIZE {
            self.entries.push((s.clone(), out.clone()));
        }
        Ok(())
    }

    /// Drops every entry (the state is closing).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.keys = None;
    }

    fn keys(&mut self, lua: &Lua) -> mlua::Result<&Keys> {
        if self.keys.is_none() {
            self.keys = Some(Keys {
                name: lua.create_string("name")?,
                value: lua.create_string("value")?,
                value_type: lua.create_string("value_type")?,
                representation: lua.create_string("representation")?,
            });
        }
        self.keys.as_ref().ok_or_else(|| mlua::Error::runtime("field keys"))
    }
}

/// Fills `m` (cleared by the caller, with `severity = None`) from `t`,
/// taking field objects from `spare` (recycled, with their allocations)
/// before making new ones.
pub(crate) fn fill_message(
    lua: &Lua,
    ext: &Extensions,
    names: &mut NameCache,
    spare: &mut Vec<Field>,
    t: &Table,
    m: &mut Message,
) -> mlua::Result<Filled> {
    if let Some(filled) = super::table_raw::fill_message(lua, spare, t, m)? {
        return Ok(filled);
    }
    // A shape the raw reader leaves to this one: start over.
    spare.append(&mut m.fields);
    m.clear();
    m.severity = None;
    fill_general(lua, ext, names, spare, t, m)
}

/// [`fill_message`] through mlua's safe API, for every shape.
fn fill_general(
    lua: &Lua,
    ext: &Extensions,
    names: &mut NameCache,
    spare: &mut Vec<Field>,
    t: &Table,
    m: &mut Message,
) -> mlua::Result<Filled> {
    let mut filled = Filled::default();
    t.for_each::<Value, Value>(|k, v| {
        let Value::String(k) = k else { return Ok(()) };
        let key = k.as_bytes();
        match &key[..] {
            b"Uuid" => {
                if let Value::String(s) = &v
                    && s.as_bytes().len() == 16
                {
                    m.uuid.extend_from_slice(&s.as_bytes());
                }
            }
            b"Timestamp" => {
                m.timestamp =
                    timestamp(&v).map_err(|e| lua_error(lua, format!("inject_message() {e}")))?;
                filled.timestamp = true;
            }
            b"Type" => text(lua, "Type", &v, &mut m.msg_type)?,
            b"Logger" => text(lua, "Logger", &v, &mut m.logger)?,
            b"Payload" => text(lua, "Payload", &v, &mut m.payload)?,
            b"EnvVersion" => text(lua, "EnvVersion", &v, &mut m.env_version)?,
            b"Hostname" => text(lua, "Hostname", &v, &mut m.hostname)?,
            b"Severity" => m.severity = int32(lua, "Severity", &v)?,
            b"Pid" => m.pid = int32(lua, "Pid", &v)?,
            b"Fields" => match &v {
                Value::Table(f) => fields(lua, ext, names, spare, f, m)?,
                Value::Nil => {}
                other => {
                    return Err(lua_error(
                        lua,
                        format!(
                            "inject_message() Fields must be a table, got {}",
                            other.type_name()
                        ),
                    ));
                }
            },
            _ => {}
        }
        Ok(())
    })?;
    Ok(filled)
}

fn text(lua: &Lua, what: &str, v: &Value, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::String(s) => out.extend_from_slice(&s.as_bytes()),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Number(n) => super::payload::append_number(out, *n),
        Value::Nil => {}
        other => {
            return Err(lua_error(
                lua,
                format!("inject_message() {what} must be a string, got {}", other.type_name()),
            ));
        }
    }
    Ok(())
}

fn int32(lua: &Lua, what: &str, v: &Value) -> mlua::Result<Option<i32>> {
    let n = match v {
        Value::Nil => return Ok(None),
        Value::Integer(i) => i32::try_from(*i).ok(),
        Value::Number(f) if f.fract() == 0.0 => i32::try_from(*f as i64).ok(),
        _ => None,
    };
    n.map(Some).ok_or_else(|| lua_error(lua, format!("inject_message() {what} must be an integer")))
}

/// A field object to fill: a recycled one (its name, representation and
/// value buffers are reused) or a new one.
pub(super) fn recycled(spare: &mut Vec<Field>) -> Field {
    match spare.pop() {
        Some(mut f) => {
            f.representation.clear();
            f
        }
        None => Field::new(String::new(), FieldValue::Double(Vec::new())),
    }
}

fn fields(
    lua: &Lua,
    ext: &Extensions,
    names: &mut NameCache,
    spare: &mut Vec<Field>,
    t: &Table,
    m: &mut Message,
) -> mlua::Result<()> {
    if let Value::Table(_) = t.raw_get::<Value>(1)? {
        // Array form.
        for entry in t.sequence_values::<Value>() {
            let Value::Table(e) = entry? else {
                return Err(lua_error(lua, "inject_message() Fields array entries must be tables"));
            };
            let mut field = recycled(spare);
            match e.raw_get::<Value>(&names.keys(lua)?.name)? {
                Value::String(s) => names.name_into(lua, &s, &mut field.name)?,
                _ => return Err(lua_error(lua, "inject_message() field name must be a string")),
            }
            let value: Value = e.raw_get(&names.keys(lua)?.value)?;
            typed_field(lua, ext, names, &mut field, &e, value)?;
            m.fields.push(field);
        }
        return Ok(());
    }
    t.for_each::<Value, Value>(|k, v| {
        let mut field = recycled(spare);
        match k {
            Value::String(s) => names.name_into(lua, &s, &mut field.name)?,
            other => {
                return Err(lua_error(
                    lua,
                    format!(
                        "inject_message() field name must be a string, got {}",
                        other.type_name()
                    ),
                ));
            }
        }
        match v {
            Value::Table(vt) => match vt.raw_get::<Value>(&names.keys(lua)?.value)? {
                Value::Nil => array(lua, ext, &vt, None, &mut field.value)?,
                value => typed_field(lua, ext, names, &mut field, &vt, value)?,
            },
            other => scalar(lua, ext, &other, None, &mut field.value)?,
        }
        m.fields.push(field);
        Ok(())
    })
}

/// `{value=…, value_type=…, representation=…}` into `field` (named).
fn typed_field(
    lua: &Lua,
    ext: &Extensions,
    names: &mut NameCache,
    field: &mut Field,
    t: &Table,
    value: Value,
) -> mlua::Result<()> {
    let keys = names.keys(lua)?;
    let vt = match t.raw_get::<Value>(&keys.value_type)? {
        Value::Nil => None,
        Value::Integer(i) => Some(i),
        Value::Number(f) if f.fract() == 0.0 => Some(f as i64),
        _ => return Err(lua_error(lua, "inject_message() value_type must be an integer")),
    };
    match t.raw_get::<Value>(&keys.representation)? {
        Value::Nil => {}
        Value::String(s) => field.representation.push_str(&s.to_string_lossy()),
        _ => return Err(lua_error(lua, "inject_message() representation must be a string")),
    }
    match value {
        Value::Table(arr) => array(lua, ext, &arr, vt, &mut field.value),
        other => scalar(lua, ext, &other, vt, &mut field.value),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    String,
    Bytes,
    Integer,
    Double,
    Bool,
}

fn kind_of(lua: &Lua, v: &Value, vt: Option<i64>) -> mlua::Result<Kind> {
    let k = match (v, vt) {
        (Value::String(_) | Value::UserData(_), None | Some(0)) => Kind::String,
        (Value::String(_), Some(1)) => Kind::Bytes,
        (Value::Integer(_) | Value::Number(_), None | Some(3)) => Kind::Double,
        (Value::Integer(_) | Value::Number(_), Some(2)) => Kind::Integer,
        (Value::Boolean(_), None | Some(4)) => Kind::Bool,
        (Value::String(_) | Value::Integer(_) | Value::Number(_) | Value::Boolean(_), Some(n)) => {
            return Err(lua_error(
                lua,
                format!("inject_message() value_type {n} does not fit a {} value", v.type_name()),
            ));
        }
        (other, _) => {
            return Err(lua_error(
                lua,
                format!("inject_message() unsupported type: {}", other.type_name()),
            ));
        }
    };
    Ok(k)
}

/// Makes `out` an empty array of kind `k`, keeping its buffers when it is
/// already of that kind (a recycled field). String and bytes arrays keep
/// their first element's buffer too: [`push`] refills it.
pub(super) fn reset(k: Kind, out: &mut FieldValue) {
    match (k, &mut *out) {
        (Kind::String, FieldValue::String(v)) | (Kind::Bytes, FieldValue::Bytes(v)) => {
            v.truncate(1);
            if let Some(first) = v.first_mut() {
                first.clear();
            }
        }
        (Kind::Integer, FieldValue::Integer(v)) => v.clear(),
        (Kind::Double, FieldValue::Double(v)) => v.clear(),
        (Kind::Bool, FieldValue::Bool(v)) => v.clear(),
        _ => {
            *out = match k {
                Kind::String => FieldValue::String(Vec::with_capacity(1)),
                Kind::Bytes => FieldValue::Bytes(Vec::with_capacity(1)),
                Kind::Integer => FieldValue::Integer(Vec::with_capacity(1)),
                Kind::Double => FieldValue::Double(Vec::with_capacity(1)),
                Kind::Bool => FieldValue::Bool(Vec::with_capacity(1)),
            }
        }
    }
}

/// Appends one string value, reusing a cleared buffer left by [`reset`].
pub(super) fn push_bytes(a: &mut Vec<Vec<u8>>, len: &mut usize, bytes: &[u8]) {
    if *len < a.len() {
        a[*len].extend_from_slice(bytes);
    } else {
        a.push(bytes.to_vec());
    }
    *len += 1;
}

/// Appends `v` (already known to be of kind `k`'s Lua type) to `out`;
/// `used` counts the string values written so far (buffers past it are
/// left from a recycled field and are refilled, not reallocated).
fn push(
    lua: &Lua,
    ext: &Extensions,
    out: &mut FieldValue,
    used: &mut usize,
    v: &Value,
) -> mlua::Result<bool> {
    match (out, v) {
        (FieldValue::String(a) | FieldValue::Bytes(a), Value::String(s)) => {
            push_bytes(a, used, &s.as_bytes())
        }
        (FieldValue::String(a), Value::UserData(ud)) => {
            let mut text = Vec::new();
            match ext.write_output(ud, &mut text) {
                Some(r) => r?,
                None => return Err(lua_error(lua, "inject_message() unsupported type: userdata")),
            }
            push_bytes(a, used, &text);
        }
        (FieldValue::Double(a), Value::Integer(i)) => a.push(*i as f64),
        (FieldValue::Double(a), Value::Number(f)) => a.push(*f),
        (FieldValue::Integer(a), Value::Integer(i)) => a.push(*i),
        (FieldValue::Integer(a), Value::Number(f)) => a.push(*f as i64),
        (FieldValue::Bool(a), Value::Boolean(b)) => a.push(*b),
        _ => return Ok(false),
    }
    Ok(true)
}

/// Drops string buffers a recycled field had beyond the values written.
pub(super) fn finish(out: &mut FieldValue, used: usize) {
    if let FieldValue::String(a) | FieldValue::Bytes(a) = out {
        a.truncate(used);
    }
}

fn scalar(
    lua: &Lua,
    ext: &Extensions,
    v: &Value,
    vt: Option<i64>,
    out: &mut FieldValue,
) -> mlua::Result<()> {
    reset(kind_of(lua, v, vt)?, out);
    let mut used = 0;
    push(lua, ext, out, &mut used, v)?;
    finish(out, used);
    Ok(())
}

fn array(
    lua: &Lua,
    ext: &Extensions,
    t: &Table,
    vt: Option<i64>,
    out: &mut FieldValue,
) -> mlua::Result<()> {
    let first: Value = t.raw_get(1)?;
    if first.is_nil() {
        return Err(lua_error(lua, "inject_message() unsupported type: nil"));
    }
    reset(kind_of(lua, &first, vt)?, out);
    let mut used = 0;
    for v in t.sequence_values::<Value>() {
        let v = v?;
        if !push(lua, ext, out, &mut used, &v)? {
            return Err(lua_error(lua, "inject_message() array has mixed types"));
        }
    }
    finish(out, used);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both readers on `code` (a table expression): the general one's
    /// result, and whether the raw one handled the table (then with the
    /// same message).
    fn both_readers(lua: &Lua, code: &str) -> (mlua::Result<(Message, bool)>, bool) {
        let ext = crate::sandbox::extensions::test_support::extensions();
        let t: Table = lua.load(code).eval().unwrap();
        let empty = || {
            let mut m = Message::new();
            m.clear();
            m.severity = None;
            m
        };
        let mut general = empty();
        let expected =
            fill_general(lua, &ext, &mut NameCache::default(), &mut vec![], &t, &mut general)
                .map(|f| (general, f.timestamp));
        let mut raw = empty();
        let handled = match super::super::table_raw::fill_message(lua, &mut vec![], &t, &mut raw) {
            Ok(Some(f)) => {
                let (m, ts) = expected.as_ref().expect("the raw reader took an invalid table");
                assert_eq!((&raw, f.timestamp), (m, *ts), "{code}");
                true
            }
            Ok(None) => false,
            Err(e) => panic!("{code}: {e}"),
        };
        (expected, handled)
    }

    #[test]
    fn raw_reader_reads_common_shapes_as_the_general_reader_does() {
        let lua = Lua::new();
        let handled = [
            r#"{Type = "t", Payload = "p", Logger = 7, Hostname = 1.5, EnvVersion = "0.8",
                Uuid = "0123456789abcdef", Timestamp = 12, Severity = 3, Pid = 4.0}"#,
            r#"{Timestamp = 1.6, Uuid = "short", Type = nil, [1] = "ignored", [true] = 1}"#,
            r#"{Fields = {s = "x", n = 1, d = 2.5, b = true, empty = ""}}"#,
            r#"{Fields = {status = {value = 200, value_type = 2, representation = "code"},
                          size = {value = 1.5e3, representation = "B"},
                          raw = {value = "\0\255", value_type = 1},
                          flag = {value = false, value_type = 4},
                          d = {value = 3, value_type = 3.0, other = "ignored"}}}"#,
            r#"{Fields = {["\195\169t\195\169"] = "utf-8 name"}, Severity = -2147483648}"#,
            r#"{Fields = {}}"#,
        ];
        for code in handled {
            let (expected, raw) = both_readers(&lua, code);
            assert!(expected.is_ok(), "{code}: {expected:?}");
            assert!(raw, "the raw reader left {code} to the general one");
        }
        // Left to the general reader: other shapes, and every error.
        let general = [
            r#"{Fields = {{name = "a", value = 1}}}"#,
            r#"{Fields = {a = {1, 2}}}"#,
            r#"{Fields = {a = {value = {1, 2}}}}"#,
            r#"{Timestamp = "2014-02-10T16:46:41Z"}"#,
            r#"{Fields = {a = print}}"#,
            r#"{Fields = {[1] = "x"}}"#,
            r#"{Fields = {["\255"] = "x"}}"#,
            r#"{Fields = {a = {value = "x", value_type = 2}}}"#,
            r#"{Fields = {a = {value = 1, value_type = "2"}}}"#,
            r#"{Fields = {a = {value = 1, representation = 5}}}"#,
            r#"{Fields = "x"}"#,
            r#"{Severity = 2^40}"#,
            r#"{Pid = 1.5}"#,
            r#"{Type = true}"#,
            r#"{Timestamp = 0/0}"#,
        ];
        for code in general {
            let (_, raw) = both_readers(&lua, code);
            assert!(!raw, "the raw reader took {code}");
        }
    }

    #[test]
    fn recycled_fields_keep_nothing_of_their_last_message() {
        let lua = Lua::new();
        let ext = crate::sandbox::extensions::test_support::extensions();
        let mut names = NameCache::default();
        // Spares as `Pack::clear` leaves them: names, values and
        // representations of an earlier message.
        let mut spare = vec![
            Field::new("old_ints", FieldValue::Integer(vec![7, 8, 9])).with_representation("B"),
            Field::new("old_strs", FieldValue::String(vec![b"aaaa".to_vec(), b"bb".to_vec()])),
            Field::new("old_bytes", FieldValue::Bytes(vec![vec![1, 2, 3]])),
        ];
        let t: Table = lua
            .load(
                r#"{Fields = {{name = "s", value = "x"}, {name = "n", value = {1.5, 2}},
                                 {name = "i", value = 4, value_type = 2}}}"#,
            )
            .eval()
            .unwrap();
        let mut m = Message::new();
        fill_message(&lua, &ext, &mut names, &mut spare, &t, &mut m).unwrap();
        assert!(spare.is_empty(), "all three spares were reused");
        assert_eq!(
            m.fields,
            vec![
                Field::string("s", "x"),
                Field::new("n", FieldValue::Double(vec![1.5, 2.0])),
                Field::integer("i", 4),
            ]
        );
    }
}
