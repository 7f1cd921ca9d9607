//! `preserve_data`: the globals a script created, written as a Lua script
//! in Heka's format (§4.5), and read back.
//!
//! ```lua
//! if _PRESERVATION_VERSION and _PRESERVATION_VERSION ~= 0 then return end
//! _G["count"] = 42
//! _G["t"] = {}
//! _G["t"]["r"] = 99.125
//! _G["alias"] = _G["t"]
//! ```
//!
//! Numbers are exact (integers stay integers, floats use their shortest
//! round-trip text, `0/0`, `1/0`, `-1/0`); strings may hold any bytes.
//! Skipped: functions, threads, light userdata, tables with a metatable,
//! `_G`, module tables, `_PRESERVATION_VERSION` and globals that existed
//! before the script ran. Userdata are written by their preservation hook
//! (or skipped without one). A key that is not a string, number or boolean
//! fails the whole serialization. Entries are sorted, so equal state gives
//! equal files.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::c_void;
use std::fmt::Write as _;

use mlua::{Lua, Table, Value};

use super::extensions::Extensions;
use super::modules::luatext::lua_quote;

/// Deepest table nesting that is serialized.
const MAX_DEPTH: usize = 1000;

/// The preservation script for the current globals.
pub(crate) fn serialize(
    lua: &Lua,
    initial_globals: &HashSet<Vec<u8>>,
    skip_tables: &HashSet<*const c_void>,
    ext: &Extensions,
) -> Result<String, String> {
    let g = lua.globals();
    let version = match g.raw_get::<Value>("_PRESERVATION_VERSION") {
        Ok(Value::Integer(i)) => i,
        Ok(Value::Number(f)) => f as i64,
        _ => 0,
    };
    let mut s = Serializer {
        out: format!(
            "if _PRESERVATION_VERSION and _PRESERVATION_VERSION ~= {version} then return end\n"
        ),
        seen: HashMap::new(),
        pending: VecDeque::new(),
        skip: skip_tables,
        globals: g.to_pointer(),
        ext,
    };
    let entries = sorted_entries(&g)?;
    for (k, v) in entries {
        if let Value::String(name) = &k {
            let name = name.as_bytes();
            if initial_globals.contains(&name[..]) || &name[..] == b"_PRESERVATION_VERSION" {
                continue;
            }
        }
        s.entry("_G", &k, v, 0)?;
    }
    while let Some((t, path, depth)) = s.pending.pop_front() {
        for (k, v) in sorted_entries(&t)? {
            s.entry(&path, &k, v, depth)?;
        }
    }
    Ok(s.out)
}

struct Serializer<'a> {
    out: String,
    seen: HashMap<*const c_void, String>,
    pending: VecDeque<(Table, String, usize)>,
    skip: &'a HashSet<*const c_void>,
    globals: *const c_void,
    ext: &'a Extensions,
}

impl Serializer<'_> {
    fn entry(
        &mut self,
        parent: &str,
        key: &Value,
        value: Value,
        depth: usize,
    ) -> Result<(), String> {
        let path = format!("{parent}[{}]", literal(key)?);
        match value {
            Value::Boolean(_) | Value::Integer(_) | Value::Number(_) | Value::String(_) => {
                let _ = writeln!(self.out, "{path} = {}", literal(&value)?);
            }
            Value::Table(t) => {
                let p = t.to_pointer();
                if p == self.globals || self.skip.contains(&p) || t.metatable().is_some() {
                    return Ok(());
                }
                if let Some(first) = self.seen.get(&p) {
                    let _ = writeln!(self.out, "{path} = {first}");
                    return Ok(());
                }
                if depth >= MAX_DEPTH {
                    return Err(format!("tables nested deeper than {MAX_DEPTH} at {parent}"));
                }
                let _ = writeln!(self.out, "{path} = {{}}");
                self.seen.insert(p, path.clone());
                self.pending.push_back((t, path, depth + 1));
            }
            Value::UserData(ud) => {
                if let Some(r) = self.ext.preservation_script(&ud, &path, &mut self.out) {
                    r.map_err(|e| format!("{path}: {e}"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn sorted_entries(t: &Table) -> Result<Vec<(Value, Value)>, String> {
    let mut v: Vec<(Value, Value)> =
        t.pairs::<Value, Value>().collect::<mlua::Result<_>>().map_err(|e| e.to_string())?;
    for (k, _) in &v {
        if !matches!(k, Value::String(_) | Value::Integer(_) | Value::Number(_) | Value::Boolean(_))
        {
            return Err(format!("unsupported key type: {}", k.type_name()));
        }
    }
    v.sort_by(|(a, _), (b, _)| key_order(a, b));
    Ok(v)
}

fn key_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Boolean(_) => 0,
            Value::Integer(_) | Value::Number(_) => 1,
            _ => 2,
        }
    }
    let num = |v: &Value| match v {
        Value::Integer(i) => *i as f64,
        Value::Number(f) => *f,
        _ => 0.0,
    };
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.as_bytes()[..].cmp(&y.as_bytes()[..]),
        _ => num(a).total_cmp(&num(b)),
    })
}

/// A Lua literal for a string, number or boolean.
fn literal(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) if *i == i64::MIN => "(-9223372036854775807 - 1)".to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(f) if f.is_nan() => "0/0".to_string(),
        Value::Number(f) if f.is_infinite() => if *f > 0.0 { "1/0" } else { "-1/0" }.to_string(),
        Value::Number(f) => format!("{f:?}"),
        Value::String(s) => quote(&s.as_bytes()),
        other => return Err(format!("unsupported type: {}", other.type_name())),
    })
}

/// A double-quoted Lua string literal for any bytes.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    lua_quote(bytes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_round_trip_exactly() {
        let lua = Lua::new();
        let all: Vec<u8> = (0..=255).collect();
        let s = lua.create_string(&all).unwrap();
        let q = quote(&all);
        let back: mlua::LuaString = lua.load(format!("return {q}")).eval().unwrap();
        assert_eq!(back.as_bytes()[..], s.as_bytes()[..]);
        for f in [0.1, -0.0, 1e300, 5e-324, 1.0 / 3.0, 3.0, f64::MAX, 1e16] {
            let lit = literal(&Value::Number(f)).unwrap();
            let back: Value = lua.load(format!("return {lit}")).eval().unwrap();
            match back {
                Value::Number(b) => assert_eq!(b.to_bits(), f.to_bits(), "{lit}"),
                other => panic!("{lit} read back as {other:?}"),
            }
        }
        for i in [0, -1, i64::MAX, i64::MIN] {
            let lit = literal(&Value::Integer(i)).unwrap();
            let back: Value = lua.load(format!("return {lit}")).eval().unwrap();
            assert_eq!(back, Value::Integer(i), "{lit}");
        }
        let nan: f64 = lua
            .load(format!("return {}", literal(&Value::Number(f64::NAN)).unwrap()))
            .eval()
            .unwrap();
        assert!(nan.is_nan());
    }
}
