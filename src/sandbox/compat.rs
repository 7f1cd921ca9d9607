//! Compatibility with Heka-era (Lua 5.1) scripts on Lua 5.4.
//!
//! - The 5.1 names `unpack`, `loadstring`, `math.pow`, `math.mod`,
//!   `string.gfind` and `table.getn` (shims run before the script).
//! - The module idiom `setfenv(1, M)` is rewritten to `local _ENV = M` when
//!   a script or module is loaded (same line count, so error lines match);
//!   other uses of `setfenv` are not supported.
//! - `load`/`loadstring` are a host loader that only accepts source text
//!   (never bytecode) and takes 5.1 reader functions and 5.4's `env`.
//! - `os.date` and `os.time` work in UTC, as Heka forced `TZ=UTC`.

use std::borrow::Cow;
use std::sync::LazyLock;

use mlua::{Function, Lua, MultiValue, Table, Value};
use regex::bytes::Regex;

use super::limits::check_memory;

static SETFENV: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\bsetfenv\s*\(\s*1\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)").ok());

/// Rewrites `setfenv(1, M)` to `local _ENV = M`.
pub fn rewrite_setfenv(src: &[u8]) -> Cow<'_, [u8]> {
    if !src.windows(7).any(|w| w == b"setfenv") {
        return Cow::Borrowed(src);
    }
    match SETFENV.as_ref() {
        Some(re) => re.replace_all(src, &b"local _ENV = $1"[..]),
        None => Cow::Borrowed(src),
    }
}

const SHIMS: &str = r#"
local date, sub, fmod, gmatch = os.date, string.sub, math.fmod, string.gmatch
unpack = table.unpack
math.pow = math.pow or function(x, y) return x ^ y end
math.mod = fmod
string.gfind = gmatch
table.getn = function(t) return #t end
os.date = function(format, time)
  format = format or "%c"
  if type(format) == "string" and sub(format, 1, 1) ~= "!" then format = "!" .. format end
  return date(format, time)
end
"#;

/// Installs the 5.1 shims, the text-only loader and the UTC `os.time`.
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    lua.load(SHIMS).set_name(super::guard::HOST_CHUNK).exec()?;
    let g = lua.globals();
    let load = lua.create_function(host_load)?;
    g.raw_set("load", load.clone())?;
    g.raw_set("loadstring", load)?;
    let os: Table = g.raw_get("os")?;
    os.raw_set("time", lua.create_function(os_time)?)?;
    Ok(())
}

/// `load(chunk [, chunkname [, mode [, env]]])`, text only. Returns the
/// function, or `nil, message` as Lua does.
fn host_load(
    lua: &Lua,
    (chunk, name, _mode, env): (Value, Option<mlua::LuaString>, Value, Value),
) -> mlua::Result<MultiValue> {
    let source: Vec<u8> = match chunk {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Function(reader) => read_all(lua, &reader)?,
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument #1 to 'load' (string expected, got {})",
                other.type_name()
            )));
        }
    };
    let chunk_name = match name {
        Some(n) => n.to_string_lossy().replace('\0', "?"),
        None => default_chunk_name(&source),
    };
    let mut chunk = lua.load(source).set_name(chunk_name).set_mode(mlua::chunk::ChunkMode::Text);
    if let Value::Table(env) = env {
        chunk = chunk.set_environment(env);
    }
    match chunk.into_function() {
        Ok(f) => Ok(MultiValue::from_vec(vec![Value::Function(f)])),
        Err(mlua::Error::SyntaxError { message, .. }) => {
            Ok(MultiValue::from_vec(vec![Value::Nil, Value::String(lua.create_string(message)?)]))
        }
        Err(e) => Err(e),
    }
}

fn read_all(lua: &Lua, reader: &Function) -> mlua::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        match reader.call::<Value>(())? {
            Value::Nil => return Ok(out),
            Value::String(s) if s.as_bytes().is_empty() => return Ok(out),
            Value::String(s) => {
                check_memory(lua, out.len() + s.as_bytes().len())?;
                out.extend_from_slice(&s.as_bytes());
            }
            _ => return Err(mlua::Error::runtime("reader function must return a string")),
        }
    }
}

/// `=[string "first line..."]`, like Lua's name for a string chunk.
fn default_chunk_name(source: &[u8]) -> String {
    let first = source.split(|b| *b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(first).replace('\0', "?");
    let short: String = text.chars().take(40).collect();
    let dots = if short.len() < text.len() || first.len() < source.len() { "..." } else { "" };
    format!("=[string \"{short}{dots}\"]")
}

/// `os.time([t])` in UTC; out-of-range fields are normalized like `mktime`.
fn os_time(_: &Lua, t: Option<Table>) -> mlua::Result<i64> {
    let Some(t) = t else {
        return Ok(crate::message::time::now_ns().div_euclid(1_000_000_000));
    };
    let field = |name: &str, default: Option<i64>| -> mlua::Result<i64> {
        match t.raw_get::<Value>(name)? {
            Value::Integer(i) => Ok(i),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(n as i64),
            Value::Nil => default.ok_or_else(|| {
                mlua::Error::runtime(format!("field '{name}' missing in date table"))
            }),
            _ => Err(mlua::Error::runtime(format!("field '{name}' is not an integer"))),
        }
    };
    let (year, month, day) = (field("year", None)?, field("month", None)?, field("day", None)?);
    let (hour, min, sec) =
        (field("hour", Some(12))?, field("min", Some(0))?, field("sec", Some(0))?);
    let months = year.saturating_mul(12).saturating_add(month - 1);
    let days = days_from_civil(months.div_euclid(12), months.rem_euclid(12) + 1) + day - 1;
    Ok(days * 86_400 + hour * 3_600 + min * 60 + sec)
}

/// Days from 1970-01-01 to the first day of `month` (1–12) of `year`, in
/// the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64) -> i64 {
    // Count from March so the leap day ends a year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setfenv_idiom_becomes_local_env() {
        let src = b"local M = {}\nsetfenv(1, M)\nfunction f() end\n";
        let out = rewrite_setfenv(src);
        assert_eq!(&out[..], b"local M = {}\nlocal _ENV = M\nfunction f() end\n");
        assert!(matches!(rewrite_setfenv(b"x = 1"), Cow::Borrowed(_)));
        assert_eq!(&rewrite_setfenv(b"setfenv( 1 ,mod )")[..], b"local _ENV = mod");
    }

    #[test]
    fn os_time_is_utc_and_normalizes() {
        let lua = Lua::new();
        install(&lua).unwrap();
        let t: i64 = lua
            .load("return os.time{year=2014, month=2, day=10, hour=16, min=46, sec=41}")
            .eval()
            .unwrap();
        assert_eq!(t, 1_392_050_801);
        let n: i64 = lua
            .load("return os.time{year=2013, month=14, day=10, hour=16, min=46, sec=41}")
            .eval()
            .unwrap();
        assert_eq!(n, t, "month 14 of 2013 is February 2014");
        let epoch: i64 =
            lua.load("return os.time{year=1970, month=1, day=1, hour=0}").eval().unwrap();
        assert_eq!(epoch, 0);
        let d: String = lua.load("return os.date('%Y-%m-%d %H:%M:%S', 1392050801)").eval().unwrap();
        assert_eq!(d, "2014-02-10 16:46:41");
        assert!(lua.load("return os.time{year=2014}").exec().is_err());
    }

    #[test]
    fn shims_cover_lua51_names() {
        let lua = Lua::new();
        install(&lua).unwrap();
        let r: (i64, f64, f64, i64, String) = lua
            .load(
                "local a, b = unpack({1, 2})
                 local s = '' for w in string.gfind('a b', '%a') do s = s .. w end
                 return a + b, math.pow(2, 10), math.mod(7, 3), table.getn({1, 2, 3}), s",
            )
            .eval()
            .unwrap();
        assert_eq!(r, (3, 1024.0, 1.0, 3, "ab".to_string()));
    }

    #[test]
    fn loader_refuses_bytecode_and_accepts_readers_and_env() {
        let lua = Lua::new();
        install(&lua).unwrap();
        let (f, msg): (Value, String) =
            lua.load(r#"return load("\27Lua\84\0\25\147\13\10\26\10")"#).eval().unwrap();
        assert!(f.is_nil());
        assert!(msg.contains("binary chunk"), "{msg}");
        let v: i64 = lua
            .load(
                "local parts = {'return ', 'x ', '+ 1'} local i = 0
                 local f = load(function() i = i + 1 return parts[i] end, 'r', 't', {x = 41})
                 return f()",
            )
            .eval()
            .unwrap();
        assert_eq!(v, 42);
        let (f, msg): (Value, String) = lua.load("return loadstring('return +')").eval().unwrap();
        assert!(f.is_nil() && msg.contains("[string \"return +\"]:1:"), "{msg}");
    }
}
