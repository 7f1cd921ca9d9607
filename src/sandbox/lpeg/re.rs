//! The `re` module: LPeg's regex-like syntax through `re.compile`,
//! `re.match`, `re.find`, `re.gsub` and `re.updatelocale`. The syntax is
//! parsed in Rust ([`re_syntax`](super::re_syntax)) into the same pattern
//! trees the `lpeg` functions build; compiled patterns are memoized per
//! source text in weak tables, like LPeg's own `re`.

use mlua::{Lua, LuaString, MultiValue, Table, Value};

use super::api::call_match;
use super::error::{LpegError, Result};
use super::pattern::{Pat, build_grammar, load, push};
use super::re_syntax::compile_str;
use super::tree::{self, CapKind, Kind};
use super::vm::LpegState;

/// `re.compile(p [, defs])` as a Lua value (patterns pass through).
fn compile_value(lua: &Lua, p: &Value, defs: Option<&Table>, equal: &Value) -> Result<Value> {
    match p {
        Value::UserData(ud) if load(ud)?.is_some() => Ok(p.clone()),
        Value::String(s) => {
            let pat = compile_str(lua, &s.as_bytes(), defs, equal)?;
            Ok(Value::UserData(push(lua, pat)?))
        }
        other => {
            Err(LpegError::arg(1, "compile", format!("string expected, got {}", other.type_name())))
        }
    }
}

/// `p`'s compiled pattern from `memo`, compiling it (through `build`) once.
fn memoized(
    lua: &Lua,
    memo: &Table,
    p: &Value,
    build: impl FnOnce(Pat) -> Result<Pat>,
    equal: &Value,
) -> Result<mlua::AnyUserData> {
    if let Value::UserData(ud) = memo.raw_get::<Value>(p.clone())? {
        return Ok(ud);
    }
    let base = match compile_value(lua, p, None, equal)? {
        Value::UserData(ud) => load(&ud)?.ok_or_else(|| LpegError::arg(2, "re", "pattern"))?,
        _ => return Err(LpegError::arg(2, "re", "pattern expected")),
    };
    let ud = push(lua, build(base)?)?;
    memo.raw_set(p.clone(), &ud)?;
    Ok(ud)
}

/// A table whose values the collector may drop.
fn weak_table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.set("__mode", "v")?;
    t.set_metatable(Some(mt))?;
    Ok(t)
}

/// `=name`'s test: does the subject at `i` repeat the group's text?
fn equal_capture(_: &Lua, (s, i, c): (LuaString, i64, Value)) -> mlua::Result<Option<i64>> {
    let Value::String(c) = c else {
        return Ok(None);
    };
    let (s, c) = (s.as_bytes(), c.as_bytes());
    let at = usize::try_from(i - 1).unwrap_or(usize::MAX);
    Ok(s.get(at..).filter(|rest| rest.starts_with(&c)).map(|_| i + c.len() as i64))
}

/// Builds the `re` module table. Patterns it returns are `lpeg` patterns,
/// so `open_lpeg` need not have been called first.
pub fn open_re(lua: &Lua) -> mlua::Result<Table> {
    if lua.app_data_ref::<LpegState>().is_none() {
        lua.set_app_data(LpegState::default());
    }
    let equal = Value::Function(lua.create_function(equal_capture)?);
    let (mem, fmem, gmem) = (weak_table(lua)?, weak_table(lua)?, weak_table(lua)?);
    let t = lua.create_table()?;

    let eq = equal.clone();
    t.set(
        "compile",
        lua.create_function(move |lua, (p, defs): (Value, Option<Table>)| {
            Ok(compile_value(lua, &p, defs.as_ref(), &eq)?)
        })?,
    )?;

    let (eq, memo) = (equal.clone(), mem.clone());
    t.set(
        "match",
        lua.create_function(move |lua, (s, p, i): (Value, Value, Option<i64>)| {
            let ud = memoized(lua, &memo, &p, Ok, &eq)?;
            call_match(lua, (ud, s, i))
        })?,
    )?;

    let (eq, memo) = (equal.clone(), fmem.clone());
    t.set(
        "find",
        lua.create_function(move |lua, (s, p, i): (Value, Value, Option<i64>)| {
            let ud = memoized(lua, &memo, &p, |base| find_pattern(lua, base), &eq)?;
            let found = call_match(lua, (ud, s, i))?;
            Ok(match (found.front().cloned().unwrap_or(Value::Nil), found.get(1)) {
                (Value::Integer(a), Some(Value::Integer(e))) => {
                    MultiValue::from_vec(vec![Value::Integer(a), Value::Integer(e - 1)])
                }
                _ => MultiValue::from_vec(vec![Value::Nil]),
            })
        })?,
    )?;

    let (eq, memo) = (equal.clone(), gmem.clone());
    t.set(
        "gsub",
        lua.create_function(move |lua, (s, p, rep): (Value, Value, Value)| {
            let per_pattern = match memo.raw_get::<Value>(p.clone())? {
                Value::Table(t) => t,
                _ => {
                    let t = weak_table(lua)?;
                    memo.raw_set(p.clone(), &t)?;
                    t
                }
            };
            let ud = match per_pattern.raw_get::<Value>(rep.clone())? {
                Value::UserData(ud) => ud,
                _ => {
                    let scratch = lua.create_table()?;
                    let ud = memoized(
                        lua,
                        &scratch,
                        &p,
                        |base| gsub_pattern(lua, base, rep.clone()),
                        &eq,
                    )?;
                    per_pattern.raw_set(rep.clone(), &ud)?;
                    ud
                }
            };
            call_match(lua, (ud, s))
        })?,
    )?;

    let memos = [mem, fmem, gmem];
    t.set(
        "updatelocale",
        lua.create_function(move |_, ()| {
            // The sandbox always runs in the "C" locale: only the caches
            // need resetting.
            for m in &memos {
                m.clear()?;
            }
            Ok(())
        })?,
    )?;
    Ok(t)
}

/// `{ {}p{} / . <self> }` without its captures: where `p` first matches.
fn find_pattern(lua: &Lua, base: Pat) -> Result<Pat> {
    let quiet = base.capture(CapKind::Num, None, 0)?;
    let pos = || Pat::empty_capture(CapKind::Position, Vec::new(), 0);
    let hit = pos()?.seq(quiet)?.seq(pos()?)?;
    let key = Value::Integer(1);
    let skip = Pat::new(tree::leaf(Kind::Any(1))).seq(Pat::open_call(key.clone())?)?;
    build_grammar(lua, vec![(key, hit.choice(skip)?)])
}

/// `{~ (p -> rep / .)* ~}`.
fn gsub_pattern(lua: &Lua, base: Pat, rep: Value) -> Result<Pat> {
    let (kind, n) = match &rep {
        Value::Function(_) => (CapKind::Function, 0),
        Value::Table(_) => (CapKind::Query, 0),
        Value::String(_) => (CapKind::String, 0),
        other => return Err(LpegError::BadDivisor(other.type_name())),
    };
    let replaced = base.capture(kind, Some(rep), n)?;
    let body = replaced.choice(Pat::new(tree::leaf(Kind::Any(1))))?;
    body.repeat(0, lua)?.capture(CapKind::Subst, None, 0)
}
