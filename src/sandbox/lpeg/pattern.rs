//! Pattern values: the `Pattern` userdata, LPeg's conversion of plain Lua
//! values to patterns (the rules of `lpeg.P`), grammars built from tables,
//! and the combination of trees with their [`KTable`]s.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use mlua::{AnyUserData, Lua, Table, Value};

use super::compile::compile;
use super::error::{LpegError, Result};
use super::grammar::{Grammar, MAX_RULES, Rule, grammar_node};
use super::ktable::KTable;
use super::program::{Instr, Program};
use super::tree::{self, CapKind, Kind, Tree};
use crate::sandbox::budget;
use crate::sandbox::limits::check_memory;

/// Strings longer than this are checked against the memory limit before
/// being copied into a pattern.
const BIG: usize = 1 << 16;

/// The userdata behind every LPeg pattern.
pub struct Pattern {
    pub tree: Tree,
    pub klen: u32,
    program: RefCell<Option<Rc<Program>>>,
}

impl Pattern {
    /// The compiled program, compiled on first use.
    pub fn program(&self, lua: &Lua, ud: &AnyUserData) -> Result<Rc<Program>> {
        if let Some(p) = self.program.borrow().as_ref() {
            return Ok(p.clone());
        }
        let kt = KTable::of(ud, self.klen as usize)?;
        let name_of = |k: u32| val2str(lua, &kt.get(k).unwrap_or(Value::Nil));
        // Called as the code doubles: about half of it is new instructions,
        // charged to the budget like VM steps.
        let mut mem = |bytes: usize| {
            check_memory(lua, bytes)?;
            budget::charge(lua, (bytes / std::mem::size_of::<Instr>() / 2) as u64)?;
            Ok(())
        };
        let mut prog = compile(&self.tree, &name_of, &mut mem)?;
        prog.tonumber = kt
            .into_values()?
            .iter()
            .map(|v| matches!(v, Value::Function(f) if is_base_tonumber(f)))
            .collect();
        let prog = Rc::new(prog);
        *self.program.borrow_mut() = Some(prog.clone());
        super::fast::publish(ud, &prog)?;
        Ok(prog)
    }
}

/// A pattern matched with `prog` whatever its tree (for tests comparing
/// compilations).
#[cfg(test)]
pub fn push_with_program(lua: &Lua, prog: Program) -> Result<AnyUserData> {
    let ud = lua.create_userdata(Pattern {
        tree: tree::leaf(Kind::True),
        klen: 0,
        program: RefCell::new(None),
    })?;
    let prog = Rc::new(prog);
    *ud.borrow::<Pattern>()?.program.borrow_mut() = Some(prog.clone());
    super::fast::publish(&ud, &prog)?;
    Ok(ud)
}

/// Accounts for building `n` copies of a pattern: native memory against
/// the memory limit, work against the instruction budget.
fn charge_copies(lua: &Lua, n: u64) -> Result<()> {
    check_memory(lua, usize::try_from(n).unwrap_or(usize::MAX).saturating_mul(8))?;
    budget::charge(lua, n)?;
    Ok(())
}

/// True when `f` is the base library's `tonumber` (the same C function as
/// in a fresh state, whatever global name it has now).
fn is_base_tonumber(f: &mlua::Function) -> bool {
    static BASE: OnceLock<Option<usize>> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let lua = Lua::new();
        let f: mlua::Function = lua.globals().get("tonumber").ok()?;
        Some(f.to_pointer() as usize)
    });
    *base == Some(f.to_pointer() as usize)
}

/// LPeg's `val2str`: how rule names and group names appear in messages.
pub fn val2str(lua: &Lua, v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string_lossy(),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map_or_else(String::new, |s| s.to_string_lossy()),
        other => format!("(a {})", other.type_name()),
    }
}

/// A pattern being built in Rust: a tree and its ktable.
#[derive(Clone)]
pub struct Pat {
    pub tree: Tree,
    pub kt: KTable,
}

/// The two trees with `b`'s keys moved past `a`'s, and the joint ktable.
fn join(a: Pat, b: Pat) -> Result<(Tree, Tree, KTable)> {
    if b.kt.is_empty() || a.kt.same(&b.kt) {
        return Ok((a.tree, b.tree, a.kt));
    }
    if a.kt.is_empty() {
        return Ok((a.tree, b.tree, b.kt));
    }
    let tb = tree::shift_keys(&b.tree, a.kt.len() as u32)?;
    Ok((a.tree, tb, a.kt.concat(b.kt)?))
}

impl Pat {
    /// A pattern without Lua values.
    pub fn new(tree: Tree) -> Pat {
        Pat { tree, kt: KTable::Empty }
    }

    /// `self * other`.
    pub fn seq(self, other: Pat) -> Result<Pat> {
        let (a, b, kt) = join(self, other)?;
        Ok(Pat { tree: tree::seq(&a, &b)?, kt })
    }

    /// `self + other`.
    pub fn choice(self, other: Pat) -> Result<Pat> {
        let (a, b, kt) = join(self, other)?;
        Ok(Pat { tree: tree::choice(&a, &b)?, kt })
    }

    /// `self - other`.
    pub fn diff(self, other: Pat) -> Result<Pat> {
        let (a, b, kt) = join(self, other)?;
        Ok(Pat { tree: tree::diff(&a, &b)?, kt })
    }

    /// The same ktable around a new tree made from the old one.
    pub fn map(self, f: impl FnOnce(&Tree) -> Result<Tree>) -> Result<Pat> {
        Ok(Pat { tree: f(&self.tree)?, kt: self.kt })
    }

    /// `-self`.
    pub fn not(self) -> Result<Pat> {
        self.map(|t| tree::node(Kind::Not(t.clone())))
    }

    /// `#self`.
    pub fn and(self) -> Result<Pat> {
        self.map(|t| tree::node(Kind::And(t.clone())))
    }

    /// `self^n`.
    pub fn repeat(self, n: i64, lua: &Lua) -> Result<Pat> {
        charge_copies(lua, n.unsigned_abs())?;
        self.map(|t| tree::repeat(t, n))
    }

    /// `self` exactly `n` times (`re`'s `p^n`).
    pub fn times(self, n: i64, lua: &Lua) -> Result<Pat> {
        charge_copies(lua, n.unsigned_abs())?;
        let n = usize::try_from(n).map_err(|_| LpegError::TooComplex)?;
        self.map(|t| tree::times(t, n))
    }

    /// Adds `v` to the ktable; returns its key.
    pub fn add_value(&mut self, v: Value) -> Result<u32> {
        self.kt.push(v)
    }

    /// A capture of `kind` around this pattern, with an optional Lua value.
    pub fn capture(mut self, kind: CapKind, value: Option<Value>, n: u32) -> Result<Pat> {
        let key = match value {
            Some(v) => self.add_value(v)?,
            None => 0,
        };
        self.map(|body| tree::node(Kind::Capture { kind, key, n, body: body.clone() }))
    }

    /// `lpeg.Cmt(self, f)`.
    pub fn match_time(mut self, f: Value) -> Result<Pat> {
        let key = self.add_value(f)?;
        self.map(|body| tree::node(Kind::RunTime { key, body: body.clone() }))
    }

    /// An empty capture (`Cp`, `Carg`, `Cb`, `Cc`).
    pub fn empty_capture(kind: CapKind, values: Vec<Value>, n: u32) -> Result<Pat> {
        let mut p = Pat::new(tree::leaf(Kind::True));
        let key = match values.len() {
            0 => 0,
            _ => {
                let first = p.kt.len() as u32 + 1;
                for v in values {
                    p.add_value(v)?;
                }
                first
            }
        };
        p.map(|body| tree::node(Kind::Capture { kind, key, n, body: body.clone() }))
    }

    /// `lpeg.V(v)`.
    pub fn open_call(v: Value) -> Result<Pat> {
        let mut p = Pat::new(tree::leaf(Kind::True));
        let key = p.add_value(v)?;
        Ok(Pat { tree: tree::leaf(Kind::OpenCall(key)), kt: p.kt })
    }
}

/// The pattern in `ud`, if it is one.
pub fn load(ud: &AnyUserData) -> Result<Option<Pat>> {
    let (tree, klen) = match ud.borrow::<Pattern>() {
        Ok(p) => (p.tree.clone(), p.klen),
        Err(_) => return Ok(None),
    };
    Ok(Some(Pat { tree, kt: KTable::of(ud, klen as usize)? }))
}

/// Wraps a pattern in a new userdata.
pub fn push(lua: &Lua, p: Pat) -> Result<AnyUserData> {
    let ud = lua.create_userdata(Pattern {
        tree: p.tree,
        klen: p.kt.len() as u32,
        program: RefCell::new(None),
    })?;
    if let Some(t) = p.kt.into_table(lua)? {
        ud.set_user_value(t)?;
    }
    Ok(ud)
}

/// Converts a Lua value to a pattern by `lpeg.P`'s rules; `arg` and `func`
/// name the argument in errors.
pub fn to_pat(lua: &Lua, v: &Value, arg: usize, func: &'static str) -> Result<Pat> {
    Ok(match v {
        Value::UserData(ud) => match load(ud)? {
            Some(p) => p,
            None => return Err(not_a_pattern(v, arg, func)),
        },
        Value::String(s) => {
            let bytes = s.as_bytes();
            if bytes.len() > BIG {
                check_memory(lua, bytes.len())?;
            }
            Pat::new(tree::literal(&bytes))
        }
        Value::Integer(n) => Pat::new(tree::count(*n)?),
        Value::Number(n) => Pat::new(tree::count(*n as i64)?),
        Value::Boolean(b) => Pat::new(tree::leaf(if *b { Kind::True } else { Kind::False })),
        Value::Table(t) => grammar(lua, t)?,
        Value::Function(_) => Pat::new(tree::leaf(Kind::True)).match_time(v.clone())?,
        _ => return Err(not_a_pattern(v, arg, func)),
    })
}

fn not_a_pattern(v: &Value, arg: usize, func: &'static str) -> LpegError {
    LpegError::arg(arg, func, format!("pattern expected, got {}", v.type_name()))
}

/// A grammar from a Lua table (`lpeg.P{...}`).
fn grammar(lua: &Lua, t: &Table) -> Result<Pat> {
    let first: Value = t.raw_get(1)?;
    let (init_key, init) = match first {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => {
            let rule: Value = t.raw_get(first.clone())?;
            (first, rule)
        }
        other => (Value::Integer(1), other),
    };
    let init = match &init {
        Value::UserData(ud) => load(ud)?,
        _ => None,
    };
    let init = match init {
        Some(p) => p,
        None if t.raw_get::<Value>(init_key.clone())?.is_nil() => {
            return Err(LpegError::NoInitialRule);
        }
        None => return Err(LpegError::InitialNotPattern(val2str(lua, &init_key))),
    };
    let mut rules = vec![(init_key.clone(), init)];
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        if k == Value::Integer(1) || k == init_key {
            continue;
        }
        let p = match &v {
            Value::UserData(ud) => load(ud)?,
            _ => None,
        };
        match p {
            Some(p) => rules.push((k, p)),
            None => return Err(LpegError::RuleNotPattern(val2str(lua, &k))),
        }
        if rules.len() > MAX_RULES {
            return Err(LpegError::TooManyRules);
        }
    }
    build_grammar(lua, rules)
}

/// A grammar from named rules; the first is the initial rule.
pub fn build_grammar(lua: &Lua, rules: Vec<(Value, Pat)>) -> Result<Pat> {
    if rules.len() > MAX_RULES {
        return Err(LpegError::TooManyRules);
    }
    let positions = lua.create_table()?;
    let mut kt = KTable::Empty;
    let mut bodies = Vec::with_capacity(rules.len());
    for (i, (key, p)) in rules.into_iter().enumerate() {
        positions.raw_set(key.clone(), i as i64)?;
        let body = tree::shift_keys(&p.tree, kt.len() as u32)?;
        if kt.is_empty() {
            kt = p.kt;
        } else if !p.kt.is_empty() {
            kt = kt.concat(p.kt)?;
        }
        bodies.push(Rule { name: val2str(lua, &key), body });
    }
    let g = Grammar::build(bodies, &mut |key| {
        let name = kt.get(key)?;
        match positions.raw_get::<Option<i64>>(name.clone())? {
            Some(i) => Ok(i as usize),
            None => Err(LpegError::UndefinedRule(val2str(lua, &name))),
        }
    })?;
    Ok(Pat { tree: grammar_node(g)?, kt })
}
