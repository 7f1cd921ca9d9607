//! Evaluation of the capture list into Lua values: after a successful
//! match for the whole list, and when a match-time capture closes for the
//! captures nested in it. Each capture kind follows the LPeg manual; the
//! walk is recursive with a nesting limit (LPeg's "subcapture nesting too
//! deep") and small frames, so deep captures stay within the native stack.

use mlua::{MultiValue, Value};

use super::capture::{
    Cap, Env, Text, Val, decimal_integer, innermost_open, named_group, range, skip, table_sizes,
};
use super::error::{LpegError, Result};
use super::program::CapDef;
use super::tables::{Key, Tables};
use super::tree::CapKind;
use super::vm::BATCH;
use crate::sandbox::budget;
use crate::sandbox::limits::check_memory;

/// Deepest nesting of captures evaluated (LPeg's limit).
const MAX_NESTING: u32 = 200;

/// At most %0..%9 in a string capture.
const MAX_STRING_ITEMS: usize = 10;

/// Where a capture's children ended.
struct Span {
    next: usize,
    start: u32,
    end: u32,
    /// Values the children pushed.
    n: usize,
}

/// An item of a string capture: subject text or a capture to evaluate.
enum Item {
    Text(u32, u32),
    Cap(usize),
}

/// Evaluates (part of) a capture list.
pub struct Eval<'e, 'a> {
    env: &'e Env<'a>,
    caps: &'e [Cap],
    dynv: &'e [Value],
    out: &'e mut Vec<Val>,
    tables: &'e mut Tables,
    depth: u32,
    /// Steps not charged yet (the caller charges them at the end).
    pub steps: u64,
}

impl<'e, 'a> Eval<'e, 'a> {
    pub fn new(
        env: &'e Env<'a>,
        caps: &'e [Cap],
        dynv: &'e [Value],
        out: &'e mut Vec<Val>,
        tables: &'e mut Tables,
    ) -> Self {
        tables.clear();
        Eval { env, caps, dynv, out, tables, depth: 0, steps: 0 }
    }

    /// The Lua value of `v`.
    pub fn value(&self, v: Val) -> Result<Value> {
        let env = self.env;
        Ok(match v {
            Val::Str(a, b) => Value::String(env.lua.create_string(env.bytes(a, b))?),
            Val::Int(n) => Value::Integer(n),
            Val::Lua(v) => v,
            Val::Tab(t) => self.tables.build(env, t)?,
            Val::Const(k) => env.kvalue(k)?.into_owned(),
        })
    }

    /// Removes and converts the value at `out[i]`.
    pub fn take_value(&mut self, i: usize) -> Result<Value> {
        let v = self.take(i);
        self.value(v)
    }

    /// Counts `n` steps of work, charging the budget every batch so a
    /// costly evaluation is stopped while it runs.
    #[inline]
    fn tick(&mut self, n: u64) -> Result<()> {
        self.steps += n;
        if self.steps >= u64::from(BATCH) {
            budget::charge(self.env.lua, self.steps)?;
            self.steps = 0;
        }
        Ok(())
    }

    /// Pushes the values of the captures in `from..to`; returns how many.
    pub fn push_range(&mut self, from: usize, to: usize) -> Result<usize> {
        let mut i = from;
        let mut n = 0;
        while i < to {
            let (next, k) = self.push(i)?;
            n += k;
            i = next;
        }
        Ok(n)
    }

    #[inline]
    fn put(&mut self, v: Val) -> Result<()> {
        if self.out.len() == self.out.capacity() {
            let want = (self.out.capacity() * 2).max(16);
            check_memory(self.env.lua, want * std::mem::size_of::<Val>())?;
            self.out.reserve(want - self.out.len());
        }
        self.out.push(v);
        Ok(())
    }

    fn take(&mut self, i: usize) -> Val {
        std::mem::replace(&mut self.out[i], Val::Int(0))
    }

    /// What `tonumber` gives for `out[i]` when that is plainly a decimal
    /// integer (the common case in log grammars); `None` when only Lua's
    /// own conversion can tell.
    fn integer_at(&self, i: usize) -> Option<i64> {
        match &self.out[i] {
            Val::Str(a, b) => decimal_integer(self.env.bytes(*a, *b)),
            Val::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// Removes and converts the values from `base` on.
    fn take_values(&mut self, base: usize) -> Result<Vec<Value>> {
        let mut args = Vec::with_capacity(self.out.len().saturating_sub(base));
        for k in base..self.out.len() {
            args.push(self.take_value(k)?);
        }
        self.out.truncate(base);
        Ok(args)
    }

    fn def(&self, c: &Cap) -> CapDef {
        self.env.prog.caps[c.idx as usize]
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(LpegError::NestingTooDeep);
        }
        Ok(())
    }

    /// Pushes the values of the captures nested in entry `i`.
    fn children(&mut self, i: usize) -> Result<Span> {
        let c = self.caps[i];
        if !c.is_open() {
            return Ok(Span { next: i + 1, start: c.pos, end: c.pos + c.len, n: 0 });
        }
        self.enter()?;
        let mut j = i + 1;
        let mut n = 0;
        while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
            let (next, k) = self.push(j)?;
            n += k;
            j = next;
        }
        self.depth -= 1;
        let end = self.caps.get(j).map_or(c.pos, |e| e.pos);
        Ok(Span { next: j + 1, start: c.pos, end, n })
    }

    /// Pushes the nested values of entry `i`, or its whole match if none.
    fn nested_or_whole(&mut self, i: usize) -> Result<(usize, usize)> {
        let sp = self.children(i)?;
        if sp.n == 0 {
            self.put(Val::Str(sp.start, sp.end))?;
            return Ok((sp.next, 1));
        }
        Ok((sp.next, sp.n))
    }

    /// Pushes the values of entry `i`; returns the next index and the count.
    /// A bare dispatch (as are the recursive helpers), so deeply nested
    /// captures use little native stack per level.
    fn push(&mut self, i: usize) -> Result<(usize, usize)> {
        self.tick(1)?;
        match self.caps[i].kind {
            CapKind::Position => self.position(i),
            CapKind::Const => self.constant(i),
            CapKind::Arg => self.argument(i),
            CapKind::Backref => self.backref(i),
            CapKind::Simple => self.simple(i),
            CapKind::Group => self.group(i),
            CapKind::Table => self.table(i),
            CapKind::Function => self.function(i),
            CapKind::Query => self.query(i),
            CapKind::String => self.string(i),
            CapKind::Num => self.numbered(i),
            CapKind::Subst => self.subst(i),
            CapKind::Fold => self.fold(i),
            CapKind::Runtime => self.runtime(i),
            // Open match-time captures and closes do not start a capture.
            CapKind::Cmt | CapKind::Close => Ok((skip(self.caps, i), 0)),
        }
    }

    fn position(&mut self, i: usize) -> Result<(usize, usize)> {
        self.put(Val::Int(i64::from(self.caps[i].pos) + 1))?;
        Ok((i + 1, 1))
    }

    fn constant(&mut self, i: usize) -> Result<(usize, usize)> {
        let d = self.def(&self.caps[i]);
        for k in d.key..d.key + d.n {
            if self.env.prog.string(k).is_some() {
                self.put(Val::Const(k))?;
            } else {
                let v = self.env.kvalue(k)?.into_owned();
                self.put(Val::Lua(v))?;
            }
        }
        Ok((skip(self.caps, i), d.n as usize))
    }

    fn argument(&mut self, i: usize) -> Result<(usize, usize)> {
        let d = self.def(&self.caps[i]);
        let v = (d.n as usize)
            .checked_sub(1)
            .and_then(|k| self.env.args.get(k))
            .cloned()
            .ok_or(LpegError::AbsentArg(d.n))?;
        self.put(Val::Lua(v))?;
        Ok((skip(self.caps, i), 1))
    }

    fn backref(&mut self, i: usize) -> Result<(usize, usize)> {
        let group = self.find_group(i, self.def(&self.caps[i]).key)?;
        self.enter()?;
        let (_, n) = self.nested_or_whole(group)?;
        self.depth -= 1;
        Ok((skip(self.caps, i), n))
    }

    fn simple(&mut self, i: usize) -> Result<(usize, usize)> {
        let slot = self.out.len();
        let pos = self.caps[i].pos;
        self.put(Val::Str(pos, pos))?;
        let sp = self.children(i)?;
        self.out[slot] = Val::Str(sp.start, sp.end);
        Ok((sp.next, sp.n + 1))
    }

    /// Named groups only give values to tables and back references.
    fn group(&mut self, i: usize) -> Result<(usize, usize)> {
        if self.def(&self.caps[i]).key == 0 {
            self.nested_or_whole(i)
        } else {
            Ok((skip(self.caps, i), 0))
        }
    }

    fn runtime(&mut self, i: usize) -> Result<(usize, usize)> {
        let c = self.caps[i];
        let a = c.idx as usize;
        let vals = self.dynv.get(a..a + usize::from(c.count)).unwrap_or_default();
        for v in vals {
            self.put(Val::Lua(v.clone()))?;
        }
        Ok((i + 1, vals.len()))
    }

    /// The most recent complete, outermost group named `ktable[key]` before
    /// entry `i`.
    fn find_group(&mut self, i: usize, key: u32) -> Result<usize> {
        let env = self.env;
        let want = env.kvalue(key)?;
        let mut j = i;
        let start = i;
        while j > 0 {
            j -= 1;
            let c = self.caps[j];
            if c.kind == CapKind::Close {
                j = innermost_open(&self.caps[..j]);
            } else if c.is_open() {
                // An enclosing capture: keep looking before it.
                continue;
            }
            let g = self.caps[j];
            if g.kind == CapKind::Group {
                let gkey = self.def(&g).key;
                if gkey != 0 && (gkey == key || *env.kvalue(gkey)? == *want) {
                    self.tick((start - j) as u64)?;
                    return Ok(j);
                }
            }
        }
        Err(LpegError::BackRefNotFound(super::pattern::val2str(env.lua, &want)))
    }

    fn table(&mut self, i: usize) -> Result<(usize, usize)> {
        let (narr, nrec) = table_sizes(self.env.prog, self.caps, i);
        let t = self.tables.open(self.env.lua, narr, nrec)?;
        let mut j = i + 1;
        if self.caps[i].is_open() {
            self.enter()?;
            let mut len: i64 = 0;
            while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
                let base = self.out.len();
                let named = named_group(self.env.prog, &self.caps[j]);
                let (next, k) = match named {
                    Some(_) => self.nested_or_whole(j)?,
                    None => self.push(j)?,
                };
                self.store(t, base, k, named, &mut len)?;
                j = next;
            }
            self.depth -= 1;
        } else {
            j = i;
        }
        self.put(Val::Tab(t))?;
        Ok((j + 1, 1))
    }

    /// Moves the `k` values from `base` into table `t`: the first under the
    /// group name, or all of them after position `len`.
    fn store(
        &mut self,
        t: u32,
        base: usize,
        k: usize,
        name: Option<u32>,
        len: &mut i64,
    ) -> Result<()> {
        let lua = self.env.lua;
        match name {
            Some(key) => {
                let v = self.take(base);
                self.tables.set(lua, t, Key::Name(key), v)?;
            }
            None => {
                for idx in base..base + k {
                    *len += 1;
                    let v = self.take(idx);
                    self.tables.set(lua, t, Key::Index(*len), v)?;
                }
            }
        }
        self.out.truncate(base);
        Ok(())
    }

    fn function(&mut self, i: usize) -> Result<(usize, usize)> {
        let env = self.env;
        let key = self.def(&self.caps[i]).key;
        let fv = env.kvalue(key)?;
        let Value::Function(f) = &*fv else {
            return Err(LpegError::Lua(mlua::Error::runtime(format!(
                "attempt to call a {} value",
                fv.type_name()
            ))));
        };
        let base = self.out.len();
        let (next, k) = self.nested_or_whole(i)?;
        if k == 1
            && env.prog.tonumber.get(key as usize - 1) == Some(&true)
            && let Some(n) = self.integer_at(base)
        {
            self.out[base] = Val::Int(n);
            return Ok((next, 1));
        }
        let rets: MultiValue = if k == 1 {
            // The common `patt / f` over one value: no argument vector.
            let v = self.take(base);
            self.out.truncate(base);
            match v {
                Val::Str(a, b) => match std::str::from_utf8(env.bytes(a, b)) {
                    Ok(s) => f.call(s)?,
                    Err(_) => f.call(self.value(Val::Str(a, b))?)?,
                },
                Val::Int(n) => f.call(n)?,
                Val::Lua(v) => f.call(v)?,
                v @ (Val::Tab(_) | Val::Const(_)) => f.call(self.value(v)?)?,
            }
        } else {
            f.call(MultiValue::from_vec(self.take_values(base)?))?
        };
        let n = rets.len();
        for v in rets {
            self.put(Val::Lua(v))?;
        }
        Ok((next, n))
    }

    fn query(&mut self, i: usize) -> Result<(usize, usize)> {
        let t = match self.env.kvalue(self.def(&self.caps[i]).key)?.into_owned() {
            Value::Table(t) => t,
            v => {
                return Err(LpegError::InvalidValue { what: "query", ty: v.type_name() });
            }
        };
        let base = self.out.len();
        let (next, _) = self.nested_or_whole(i)?;
        let first = self.take(base);
        self.out.truncate(base);
        let v: Value = t.get(self.value(first)?)?;
        if v.is_nil() {
            return Ok((next, 0));
        }
        self.put(Val::Lua(v))?;
        Ok((next, 1))
    }

    fn numbered(&mut self, i: usize) -> Result<(usize, usize)> {
        let want = self.def(&self.caps[i]).n as usize;
        if want == 0 {
            return Ok((skip(self.caps, i), 0));
        }
        let base = self.out.len();
        let (next, n) = self.nested_or_whole(i)?;
        if want > n {
            return Err(LpegError::NoCapture(want as u32));
        }
        let v = self.take(base + want - 1);
        self.out.truncate(base);
        self.put(v)?;
        Ok((next, 1))
    }

    fn subst(&mut self, i: usize) -> Result<(usize, usize)> {
        let c = self.caps[i];
        let mut buf = Text::new(self.env.lua);
        let (mut cur, mut j) = (c.pos, i + 1);
        if c.is_open() {
            self.enter()?;
            while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
                let (start, end, _) = range(self.caps, j);
                let base = self.out.len();
                let (next, k) = self.push(j)?;
                let start = start.max(cur);
                buf.extend(self.env.bytes(cur, start))?;
                match self.out.get(base) {
                    Some(v)
                        if k > 0 && !matches!(v, Val::Lua(Value::Nil | Value::Boolean(false))) =>
                    {
                        self.env.append(&mut buf, v, "replacement")?;
                    }
                    _ => buf.extend(self.env.bytes(start, end))?,
                }
                self.out.truncate(base);
                cur = end.max(start);
                j = next;
            }
            self.depth -= 1;
            let end = self.caps.get(j).map_or(cur, |e| e.pos);
            buf.extend(self.env.bytes(cur, end))?;
        } else {
            buf.extend(self.env.bytes(c.pos, c.pos + c.len))?;
            j = i;
        }
        self.put(Val::Lua(buf.into_lua()?))?;
        Ok((j + 1, 1))
    }

    /// Collects the items of a string capture: the text of entry `i`, then
    /// its nested captures, descending into simple captures.
    fn collect_items(&self, i: usize, items: &mut Vec<Item>) -> usize {
        let (start, end, next) = range(self.caps, i);
        if items.len() < MAX_STRING_ITEMS {
            items.push(Item::Text(start, end));
        }
        if self.caps[i].is_open() {
            let mut k = i + 1;
            while k + 1 < next {
                if self.caps[k].kind == CapKind::Simple {
                    k = self.collect_items(k, items);
                } else {
                    if items.len() < MAX_STRING_ITEMS {
                        items.push(Item::Cap(k));
                    }
                    k = skip(self.caps, k);
                }
            }
        }
        next
    }

    fn string(&mut self, i: usize) -> Result<(usize, usize)> {
        let fmt = match self.env.kvalue(self.def(&self.caps[i]).key)?.into_owned() {
            Value::String(s) => s,
            v => {
                return Err(LpegError::InvalidValue { what: "replacement", ty: v.type_name() });
            }
        };
        let mut items = Vec::new();
        let next = self.collect_items(i, &mut items);
        let fmt = fmt.as_bytes();
        let mut buf = Text::new(self.env.lua);
        let mut k = 0;
        while k < fmt.len() {
            let b = fmt[k];
            k += 1;
            if b != b'%' {
                buf.push(b)?;
                continue;
            }
            match fmt.get(k) {
                Some(d) if d.is_ascii_digit() => {
                    k += 1;
                    let n = usize::from(d - b'0');
                    match items.get(n) {
                        None => return Err(LpegError::InvalidCaptureIndex(n)),
                        Some(Item::Text(a, b)) => buf.extend(self.env.bytes(*a, *b))?,
                        Some(Item::Cap(j)) => {
                            self.enter()?;
                            let base = self.out.len();
                            let (_, got) = self.push(*j)?;
                            if got > 0 {
                                self.env.append(&mut buf, &self.out[base], "capture")?;
                            }
                            self.out.truncate(base);
                            self.depth -= 1;
                        }
                    }
                }
                // LPeg 1.0: '%' before any other character stands for it.
                Some(other) => {
                    buf.push(*other)?;
                    k += 1;
                }
                None => buf.push(b'%')?,
            }
        }
        self.put(Val::Lua(buf.into_lua()?))?;
        Ok((next, 1))
    }

    fn fold(&mut self, i: usize) -> Result<(usize, usize)> {
        let c = self.caps[i];
        let first = i + 1;
        if !c.is_open() || self.caps.get(first).is_none_or(|f| f.kind == CapKind::Close) {
            return Err(LpegError::NoFoldInitial);
        }
        let f = self.env.function(self.def(&c).key)?;
        self.enter()?;
        let base = self.out.len();
        let (mut j, n) = self.push(first)?;
        if n == 0 {
            return Err(LpegError::NoFoldInitial);
        }
        self.out.truncate(base + 1);
        while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
            let (next, _) = self.push(j)?;
            // The accumulator first, then the values of this capture.
            let args = self.take_values(base)?;
            let rets: MultiValue = f.call(MultiValue::from_vec(args))?;
            self.put(Val::Lua(rets.into_iter().next().unwrap_or(Value::Nil)))?;
            j = next;
        }
        self.depth -= 1;
        Ok((j + 1, 1))
    }
}
