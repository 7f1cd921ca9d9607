//! The `lpeg` module table and the pattern userdata's methods and
//! operators, with LPeg 1.0's names, argument rules and messages.

use mlua::{
    AnyUserData, IntoLuaMulti, Lua, MetaMethod, MultiValue, Table, UserData, UserDataMethods,
    Value, Variadic,
};

use super::analysis::{Len, fixed_len, has_captures};
use super::charset::{CLASS_NAMES, Charset, class};
use super::error::{LpegError, Result};
use super::fast;
use super::pattern::{Pat, Pattern, push, to_pat};
use super::tree::{self, CapKind, Kind, MAX_BEHIND};
use super::vm::LpegState;

/// The version `lpeg.version()` reports: the API this module follows.
pub const VERSION: &str = "1.0.2";

fn new(lua: &Lua, p: Result<Pat>) -> mlua::Result<AnyUserData> {
    Ok(push(lua, p?)?)
}

fn int_arg(v: &Value, arg: usize, func: &'static str) -> Result<i64> {
    match v {
        Value::Integer(n) => Ok(*n),
        Value::Number(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => Ok(*x as i64),
        Value::Number(_) => Err(LpegError::arg(arg, func, "number has no integer representation")),
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| LpegError::arg(arg, func, "number expected, got string")),
        other => {
            Err(LpegError::arg(arg, func, format!("number expected, got {}", other.type_name())))
        }
    }
}

fn bytes_arg(lua: &Lua, v: &Value, arg: usize, func: &'static str) -> Result<mlua::LuaString> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())?
            .ok_or_else(|| LpegError::arg(arg, func, "string expected")),
        other => {
            Err(LpegError::arg(arg, func, format!("string expected, got {}", other.type_name())))
        }
    }
}

/// `init` as LPeg 1.0 reads it: 1-based, negative from the end, clamped.
pub(super) fn init_position(init: Option<i64>, len: usize) -> usize {
    let ii = init.unwrap_or(1);
    if ii > 0 {
        usize::try_from(ii - 1).map_or(len, |i| i.min(len))
    } else {
        usize::try_from(ii.unsigned_abs()).map_or(0, |back| len.saturating_sub(back))
    }
}

/// The arguments of `match` as the C function takes them: `p` as a
/// pattern (by `lpeg.P`'s rules), the subject as a string, `init` as an
/// integer (or nil), the extra arguments unchanged. With LPeg's errors.
fn lp_match_args(
    lua: &Lua,
    (p, subject, init, extra): (Value, Value, Value, Variadic<Value>),
) -> mlua::Result<(AnyUserData, mlua::LuaString, Option<i64>, Variadic<Value>)> {
    let init = match init {
        Value::Nil => None,
        v => Some(int_arg(&v, 3, "match")?),
    };
    let ud = match p {
        Value::UserData(ud) if ud.is::<Pattern>() => ud,
        other => new(lua, to_pat(lua, &other, 1, "match"))?,
    };
    let s = bytes_arg(lua, &subject, 2, "match")?;
    Ok((ud, s, init, extra))
}

/// Calls `lpeg.match` (the C function) with `args`.
pub fn call_match(lua: &Lua, args: impl IntoLuaMulti) -> mlua::Result<MultiValue> {
    let f = lua.app_data_ref::<LpegState>().and_then(|st| st.match_fn.get().cloned());
    match f {
        Some(f) => f.call(args),
        None => Err(mlua::Error::runtime("lpeg is not open in this state")),
    }
}

fn lp_type(_: &Lua, v: Value) -> mlua::Result<Option<&'static str>> {
    Ok(match v {
        Value::UserData(ud) if ud.is::<Pattern>() => Some("pattern"),
        _ => None,
    })
}

fn lp_setmaxstack(lua: &Lua, n: Value) -> mlua::Result<()> {
    let n = int_arg(&n, 1, "setmaxstack")?;
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n > 0 && n <= i32::MAX as usize / 16)
        .ok_or_else(|| LpegError::arg(1, "setmaxstack", "out of range"))?;
    if let Some(st) = lua.app_data_ref::<LpegState>() {
        st.maxstack.set(n);
    }
    Ok(())
}

fn lp_p(lua: &Lua, v: Value) -> mlua::Result<Value> {
    match v {
        Value::UserData(ud) if ud.is::<Pattern>() => Ok(Value::UserData(ud)),
        Value::Nil => Err(LpegError::arg(1, "P", "value expected").into()),
        other => Ok(Value::UserData(new(lua, to_pat(lua, &other, 1, "P"))?)),
    }
}

fn lp_b(lua: &Lua, v: Value) -> mlua::Result<AnyUserData> {
    let p = to_pat(lua, &v, 1, "B")?;
    let n = match fixed_len(&p.tree, &[]) {
        Len::Fixed(n) => n,
        _ => return Err(LpegError::arg(1, "B", "pattern may not have fixed length").into()),
    };
    if has_captures(&p.tree, &[]) {
        return Err(LpegError::arg(1, "B", "pattern have captures").into());
    }
    if n > MAX_BEHIND {
        return Err(LpegError::arg(1, "B", "pattern too long to look behind").into());
    }
    new(lua, p.map(|t| tree::node(Kind::Behind(n, t.clone()))))
}

fn lp_r(lua: &Lua, ranges: Variadic<Value>) -> mlua::Result<AnyUserData> {
    let mut cs = Charset::EMPTY;
    for (i, r) in ranges.iter().enumerate() {
        let s = bytes_arg(lua, r, i + 1, "R")?;
        match &s.as_bytes()[..] {
            [lo, hi] => cs = cs.union(&Charset::range(*lo, *hi)),
            _ => return Err(LpegError::arg(i + 1, "R", "range must have two characters").into()),
        }
    }
    new(lua, Ok(Pat::new(tree::set(cs))))
}

fn lp_s(lua: &Lua, v: Value) -> mlua::Result<AnyUserData> {
    let s = bytes_arg(lua, &v, 1, "S")?;
    new(lua, Ok(Pat::new(tree::set(Charset::from_bytes(&s.as_bytes())))))
}

fn lp_utfr(lua: &Lua, (from, to): (Value, Value)) -> mlua::Result<AnyUserData> {
    let from = int_arg(&from, 1, "utfR")?;
    let to = int_arg(&to, 2, "utfR")?;
    if from > to {
        return Err(LpegError::arg(2, "utfR", "empty range").into());
    }
    let (from, to) = match (u32::try_from(from), u32::try_from(to)) {
        (Ok(a), Ok(b)) if b <= 0x10ffff => (a, b),
        _ => return Err(LpegError::arg(2, "utfR", "invalid code point").into()),
    };
    let t = if to <= 0x7f {
        tree::set(Charset::range(from as u8, to as u8))
    } else {
        tree::leaf(Kind::Utf(from, to))
    };
    new(lua, Ok(Pat::new(t)))
}

fn lp_v(lua: &Lua, v: Value) -> mlua::Result<AnyUserData> {
    if v.is_nil() {
        return Err(LpegError::arg(1, "V", "non-nil value expected").into());
    }
    new(lua, Pat::open_call(v))
}

/// `lpeg.locale([t])`: the character classes of the "C" locale.
fn lp_locale(lua: &Lua, t: Option<Table>) -> mlua::Result<Table> {
    let t = match t {
        Some(t) => t,
        None => lua.create_table()?,
    };
    for name in CLASS_NAMES {
        let cs = class(name).unwrap_or_default();
        t.set(name, new(lua, Ok(Pat::new(tree::set(cs))))?)?;
    }
    Ok(t)
}

fn lp_c(lua: &Lua, v: Value) -> mlua::Result<AnyUserData> {
    new(lua, to_pat(lua, &v, 1, "C").and_then(|p| p.capture(CapKind::Simple, None, 0)))
}

fn lp_cs(lua: &Lua, v: Value) -> mlua::Result<AnyUserData> {
    new(lua, to_pat(lua, &v, 1, "Cs").and_then(|p| p.capture(CapKind::Subst, None, 0)))
}

fn lp_ct(lua: &Lua, v: Value) -> mlua::Result<AnyUserData> {
    new(lua, to_pat(lua, &v, 1, "Ct").and_then(|p| p.capture(CapKind::Table, None, 0)))
}

fn lp_cg(lua: &Lua, (v, name): (Value, Value)) -> mlua::Result<AnyUserData> {
    let name = (!name.is_nil()).then_some(name);
    new(lua, to_pat(lua, &v, 1, "Cg").and_then(|p| p.capture(CapKind::Group, name, 0)))
}

fn function_arg(f: Value, func: &'static str) -> Result<Value> {
    match f {
        Value::Function(_) => Ok(f),
        other => {
            Err(LpegError::arg(2, func, format!("function expected, got {}", other.type_name())))
        }
    }
}

fn lp_cf(lua: &Lua, (v, f): (Value, Value)) -> mlua::Result<AnyUserData> {
    let f = function_arg(f, "Cf")?;
    new(lua, to_pat(lua, &v, 1, "Cf").and_then(|p| p.capture(CapKind::Fold, Some(f), 0)))
}

fn lp_cmt(lua: &Lua, (v, f): (Value, Value)) -> mlua::Result<AnyUserData> {
    let f = function_arg(f, "Cmt")?;
    new(lua, to_pat(lua, &v, 1, "Cmt").and_then(|p| p.match_time(f)))
}

fn lp_cp(lua: &Lua, _: ()) -> mlua::Result<AnyUserData> {
    new(lua, Pat::empty_capture(CapKind::Position, Vec::new(), 0))
}

fn lp_carg(lua: &Lua, n: Value) -> mlua::Result<AnyUserData> {
    let n = int_arg(&n, 1, "Carg")?;
    let n = u32::try_from(n)
        .ok()
        .filter(|&n| n > 0 && n <= i16::MAX as u32)
        .ok_or_else(|| LpegError::arg(1, "Carg", "invalid argument index"))?;
    new(lua, Pat::empty_capture(CapKind::Arg, Vec::new(), n))
}

fn lp_cb(lua: &Lua, name: Value) -> mlua::Result<AnyUserData> {
    new(lua, Pat::empty_capture(CapKind::Backref, vec![name], 0))
}

fn lp_cc(lua: &Lua, values: Variadic<Value>) -> mlua::Result<AnyUserData> {
    if values.is_empty() {
        return new(lua, Ok(Pat::new(tree::leaf(Kind::True))));
    }
    let n = values.len() as u32;
    new(lua, Pat::empty_capture(CapKind::Const, values.into_iter().collect(), n))
}

/// `p / v`: string, number, table or function capture.
fn lp_div(lua: &Lua, (p, v): (Value, Value)) -> mlua::Result<AnyUserData> {
    let p = to_pat(lua, &p, 1, "div")?;
    let r = match v {
        Value::Function(_) => p.capture(CapKind::Function, Some(v), 0),
        Value::Table(_) => p.capture(CapKind::Query, Some(v), 0),
        Value::String(_) => p.capture(CapKind::String, Some(v), 0),
        Value::Integer(_) | Value::Number(_) => {
            let n = int_arg(&v, 2, "div")?;
            match u32::try_from(n).ok().filter(|&n| n <= i16::MAX as u32) {
                Some(n) => p.capture(CapKind::Num, None, n),
                None => Err(LpegError::arg(1, "div", "invalid number")),
            }
        }
        other => Err(LpegError::BadDivisor(other.type_name())),
    };
    new(lua, r)
}

fn binop(
    lua: &Lua,
    (a, b): (Value, Value),
    func: &'static str,
    op: fn(Pat, Pat) -> Result<Pat>,
) -> mlua::Result<AnyUserData> {
    let a = to_pat(lua, &a, 1, func)?;
    let b = to_pat(lua, &b, 2, func)?;
    new(lua, op(a, b))
}

fn lp_pow(lua: &Lua, (p, n): (Value, Value)) -> mlua::Result<AnyUserData> {
    let n = int_arg(&n, 2, "pow")?;
    let p = to_pat(lua, &p, 1, "pow")?;
    new(lua, p.repeat(n, lua))
}

fn lp_unm(lua: &Lua, (p, _): (Value, Value)) -> mlua::Result<AnyUserData> {
    new(lua, to_pat(lua, &p, 1, "unm").and_then(Pat::not))
}

fn lp_len(lua: &Lua, (p, _): (Value, Value)) -> mlua::Result<AnyUserData> {
    new(lua, to_pat(lua, &p, 1, "len").and_then(Pat::and))
}

impl UserData for Pattern {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // `match` is replaced by the C function when the module opens
        // (`fast::create`); this entry only reserves its place.
        methods.add_function("match", |lua, args: MultiValue| call_match(lua, args));
        // LPeg's patterns index the module, so `p:C()` etc. work.
        methods.add_function("P", |lua, v: Value| lp_p(lua, v));
        methods.add_function("B", lp_b);
        methods.add_function("C", lp_c);
        methods.add_function("Cs", lp_cs);
        methods.add_function("Ct", lp_ct);
        methods.add_function("Cg", lp_cg);
        methods.add_function("Cf", lp_cf);
        methods.add_function("Cmt", lp_cmt);
        methods
            .add_meta_function(MetaMethod::Add, |lua, args| binop(lua, args, "add", Pat::choice));
        methods.add_meta_function(MetaMethod::Sub, |lua, args| binop(lua, args, "sub", Pat::diff));
        methods.add_meta_function(MetaMethod::Mul, |lua, args| binop(lua, args, "mul", Pat::seq));
        methods.add_meta_function(MetaMethod::Pow, lp_pow);
        methods.add_meta_function(MetaMethod::Div, lp_div);
        methods.add_meta_function(MetaMethod::Unm, lp_unm);
        methods.add_meta_function(MetaMethod::Len, lp_len);
    }
}

/// Builds the `lpeg` module table for `lua` and prepares the matcher state.
pub fn open_lpeg(lua: &Lua) -> mlua::Result<Table> {
    if lua.app_data_ref::<LpegState>().is_none() {
        lua.set_app_data(LpegState::default());
    }
    let t = lua.create_table()?;
    let sample = new(lua, Ok(Pat::new(tree::leaf(Kind::True))))?;
    let compile = lua.create_function(|lua, ud: AnyUserData| {
        ud.borrow::<Pattern>()?.program(lua, &ud)?;
        Ok(())
    })?;
    let args = lua.create_function(lp_match_args)?;
    let match_fn = fast::create(lua, args, compile, sample)?;
    if let Some(st) = lua.app_data_ref::<LpegState>() {
        let _ = st.match_fn.set(match_fn.clone());
    }
    t.set("match", match_fn)?;
    t.set("type", lua.create_function(lp_type)?)?;
    t.set("version", lua.create_function(|_, ()| Ok(VERSION))?)?;
    t.set("setmaxstack", lua.create_function(lp_setmaxstack)?)?;
    t.set("P", lua.create_function(lp_p)?)?;
    t.set("B", lua.create_function(lp_b)?)?;
    t.set("R", lua.create_function(lp_r)?)?;
    t.set("S", lua.create_function(lp_s)?)?;
    t.set("V", lua.create_function(lp_v)?)?;
    t.set("utfR", lua.create_function(lp_utfr)?)?;
    t.set("locale", lua.create_function(lp_locale)?)?;
    t.set("C", lua.create_function(lp_c)?)?;
    t.set("Carg", lua.create_function(lp_carg)?)?;
    t.set("Cb", lua.create_function(lp_cb)?)?;
    t.set("Cc", lua.create_function(lp_cc)?)?;
    t.set("Cf", lua.create_function(lp_cf)?)?;
    t.set("Cg", lua.create_function(lp_cg)?)?;
    t.set("Cmt", lua.create_function(lp_cmt)?)?;
    t.set("Cp", lua.create_function(lp_cp)?)?;
    t.set("Cs", lua.create_function(lp_cs)?)?;
    t.set("Ct", lua.create_function(lp_ct)?)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_positions_follow_lpeg_1_0() {
        assert_eq!(init_position(None, 5), 0);
        assert_eq!(init_position(Some(3), 5), 2);
        assert_eq!(init_position(Some(10), 5), 5);
        assert_eq!(init_position(Some(-2), 5), 3);
        assert_eq!(init_position(Some(-10), 5), 0);
        assert_eq!(init_position(Some(0), 5), 5);
    }
}
