//! Evaluation of the capture list straight onto the Lua stack, for the
//! C-function `match` (see `fast`), with raw Lua API calls as C LPeg
//! does: every capture kind of the LPeg manual, with its messages, so a
//! log line's fields and tables are created with no mlua call in between.
//! Values of match-time captures are stack slots above `dyn_base`; the
//! extra arguments of `match` (for `Carg`) are slots too. String and
//! substitution captures build their text in a `luaL_Buffer`, under the
//! state's memory limit, and long pieces are charged to the budget.
//!
//! Everything here runs inside a protected call and holds no value with a
//! destructor, so a Lua error raised by a push (running out of memory) or
//! by a called function unwinds through it safely.
#![allow(unsafe_code)]

use std::ffi::c_int;

use mlua::{Lua, ffi};

use super::capture::{Cap, decimal_integer, innermost_open, named_group, range, skip, table_sizes};
use super::error::{LpegError, Result};
use super::program::Program;
use super::tree::CapKind;
use super::vm::BATCH;
use crate::sandbox::budget;

/// Deepest nesting of captures evaluated (LPeg's limit).
const MAX_NESTING: u32 = 200;

/// One match on the Lua stack: the state running the protected call, the
/// stack slots it uses, the program and the subject.
#[derive(Clone, Copy)]
pub struct MatchStack<'e> {
    pub state: *mut ffi::lua_State,
    pub lua: &'e Lua,
    pub prog: &'e Program,
    pub subject: &'e [u8],
    /// Stack index of the pattern's ktable, 0 when it has none.
    pub kt: c_int,
    /// Stack index below the first value of match-time captures.
    pub dyn_base: c_int,
    /// Stack index of `match`'s first extra argument (for `Carg`) and how
    /// many there are.
    pub args: (c_int, c_int),
}

impl MatchStack<'_> {
    /// Pushes ktable entry `key` (nil when the pattern has no ktable).
    ///
    /// # Safety
    /// A free stack slot.
    pub unsafe fn push_kvalue(&self, key: u32) {
        // SAFETY: raw read of the ktable at its checked index.
        unsafe {
            if self.kt != 0 {
                ffi::lua_rawgeti(self.state, self.kt, ffi::lua_Integer::from(key));
            } else {
                ffi::lua_pushnil(self.state);
            }
        }
    }
}

/// Evaluates (part of) a capture list onto the stack of `m.state`.
pub struct PushEval<'e> {
    m: MatchStack<'e>,
    caps: &'e [Cap],
    depth: u32,
    /// Steps not charged yet (the caller charges them at the end).
    pub steps: u64,
}

impl<'e> PushEval<'e> {
    pub fn new(m: MatchStack<'e>, caps: &'e [Cap]) -> Self {
        PushEval { m, caps, depth: 0, steps: 0 }
    }

    /// Pushes the values of the captures in `from..to`; returns how many.
    ///
    /// # Safety
    /// Inside a protected call on `state`, with the ktable and match-time
    /// values at the indexes given.
    pub unsafe fn push_range(&mut self, from: usize, to: usize) -> Result<usize> {
        let mut i = from;
        let mut n = 0;
        while i < to {
            // SAFETY: as for this function.
            let (next, k) = unsafe { self.push(i)? };
            n += k;
            i = next;
        }
        Ok(n)
    }

    /// Counts `n` steps of work, charging the budget every batch so a
    /// costly evaluation is stopped while it runs.
    #[inline]
    fn tick(&mut self, n: u64) -> Result<()> {
        self.steps += n;
        if self.steps >= u64::from(BATCH) {
            budget::charge(self.m.lua, self.steps)?;
            self.steps = 0;
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(LpegError::NestingTooDeep);
        }
        Ok(())
    }

    /// Makes room for `n` more values on the stack.
    fn room(&self, n: usize) -> Result<()> {
        let n = c_int::try_from(n).map_err(|_| LpegError::TooManyCaptures)?;
        // SAFETY: a valid state; checking the stack never raises.
        if unsafe { ffi::lua_checkstack(self.m.state, n) } == 0 {
            return Err(LpegError::TooManyCaptures);
        }
        Ok(())
    }

    fn key(&self, i: usize) -> u32 {
        self.m.prog.caps[self.caps[i].idx as usize].key
    }

    fn bytes(&self, a: u32, b: u32) -> &'e [u8] {
        let (a, b) = (a as usize, b as usize);
        self.m.subject.get(a..b.max(a)).unwrap_or_default()
    }

    /// # Safety
    /// A free stack slot.
    unsafe fn push_str(&self, a: u32, b: u32) {
        let bytes = self.bytes(a, b);
        // SAFETY: Lua copies the bytes.
        unsafe { ffi::lua_pushlstring(self.m.state, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// Pushes the values of entry `i`; returns the next index and the count.
    unsafe fn push(&mut self, i: usize) -> Result<(usize, usize)> {
        self.tick(1)?;
        // SAFETY (whole body): raw calls on the protected state; room for
        // the values pushed at each level is checked here.
        unsafe {
            self.room(4)?;
            let c = self.caps[i];
            match c.kind {
                CapKind::Position => {
                    ffi::lua_pushinteger(self.m.state, i64::from(c.pos) + 1);
                    Ok((i + 1, 1))
                }
                CapKind::Const => self.constant(i),
                CapKind::Arg => self.argument(i),
                CapKind::Backref => self.backref(i),
                CapKind::Simple => self.simple(i),
                CapKind::Group if self.key(i) == 0 => self.nested_or_whole(i),
                CapKind::Table => self.table(i),
                CapKind::Function => self.function(i),
                CapKind::Query => self.query(i),
                CapKind::Num => self.numbered(i),
                CapKind::String => self.string(i),
                CapKind::Subst => self.subst(i),
                CapKind::Fold => self.fold(i),
                CapKind::Runtime => {
                    let first = self.m.dyn_base + c.idx as c_int;
                    self.room(usize::from(c.count))?;
                    for k in 1..=c_int::from(c.count) {
                        ffi::lua_pushvalue(self.m.state, first + k);
                    }
                    Ok((i + 1, usize::from(c.count)))
                }
                // Named groups only give values to tables and back
                // references; open match-time captures and closes start
                // nothing.
                CapKind::Group | CapKind::Cmt | CapKind::Close => Ok((skip(self.caps, i), 0)),
            }
        }
    }

    /// Pushes the values nested in entry `i`; returns the next index, the
    /// end of `i`'s match and the count.
    unsafe fn children(&mut self, i: usize) -> Result<(usize, u32, usize)> {
        let c = self.caps[i];
        if !c.is_open() {
            return Ok((i + 1, c.pos + c.len, 0));
        }
        self.enter()?;
        let mut j = i + 1;
        let mut n = 0;
        while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
            // SAFETY: as for `push`.
            let (next, k) = unsafe { self.push(j)? };
            n += k;
            j = next;
        }
        self.depth -= 1;
        let end = self.caps.get(j).map_or(c.pos, |e| e.pos);
        Ok((j + 1, end, n))
    }

    /// Pushes the nested values of entry `i`, or its whole match if none.
    unsafe fn nested_or_whole(&mut self, i: usize) -> Result<(usize, usize)> {
        // SAFETY: as for `push` (which checked a slot for the whole match).
        unsafe {
            let (next, end, n) = self.children(i)?;
            if n == 0 {
                self.room(1)?;
                self.push_str(self.caps[i].pos, end);
                return Ok((next, 1));
            }
            Ok((next, n))
        }
    }

    unsafe fn constant(&mut self, i: usize) -> Result<(usize, usize)> {
        let d = self.m.prog.caps[self.caps[i].idx as usize];
        // SAFETY: room checked for all the values.
        unsafe {
            self.room(d.n as usize)?;
            for k in d.key..d.key + d.n {
                self.m.push_kvalue(k);
            }
        }
        Ok((skip(self.caps, i), d.n as usize))
    }

    /// The whole match, then the nested values.
    unsafe fn simple(&mut self, i: usize) -> Result<(usize, usize)> {
        let c = self.caps[i];
        // SAFETY: as for `push`; the whole match moves below the nested
        // values it was pushed after.
        unsafe {
            if !c.is_open() {
                self.push_str(c.pos, c.pos + c.len);
                return Ok((i + 1, 1));
            }
            let base = ffi::lua_gettop(self.m.state);
            let (next, end, n) = self.children(i)?;
            self.room(1)?;
            self.push_str(c.pos, end);
            if n > 0 {
                ffi::lua_rotate(self.m.state, base + 1, 1);
            }
            Ok((next, n + 1))
        }
    }

    unsafe fn table(&mut self, i: usize) -> Result<(usize, usize)> {
        let (narr, nrec) = table_sizes(self.m.prog, self.caps, i);
        let size = |n: usize| c_int::try_from(n).unwrap_or(c_int::MAX);
        // SAFETY: as for `push`; each entry is stored as soon as its
        // values are pushed, so the stack holds the table plus one entry.
        unsafe {
            ffi::lua_createtable(self.m.state, size(narr), size(nrec));
            let t = ffi::lua_gettop(self.m.state);
            if !self.caps[i].is_open() {
                return Ok((i + 1, 1));
            }
            self.enter()?;
            let mut j = i + 1;
            let mut len: ffi::lua_Integer = 0;
            while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
                match named_group(self.m.prog, &self.caps[j]) {
                    Some(key) => {
                        self.m.push_kvalue(key);
                        let (next, _) = self.nested_or_whole(j)?;
                        ffi::lua_settop(self.m.state, t + 2);
                        ffi::lua_rawset(self.m.state, t);
                        j = next;
                    }
                    None => {
                        let (next, k) = self.push(j)?;
                        let k = k as ffi::lua_Integer;
                        for m in (1..=k).rev() {
                            ffi::lua_rawseti(self.m.state, t, len + m);
                        }
                        len += k;
                        j = next;
                    }
                }
            }
            self.depth -= 1;
            Ok((j + 1, 1))
        }
    }

    /// The subject text a function capture at entry `i` passes as its only
    /// value, when that is plain text: its whole match (an entry with
    /// nothing nested is a full one), or the one simple capture nested in
    /// it.
    fn single_text(&self, i: usize) -> Option<(u32, u32)> {
        let c = self.caps[i];
        if !c.is_open() {
            return Some((c.pos, c.pos + c.len));
        }
        let inner = self.caps.get(i + 1)?;
        let close = self.caps.get(i + 2)?;
        (inner.kind == CapKind::Simple && !inner.is_open() && close.kind == CapKind::Close)
            .then_some((inner.pos, inner.pos + inner.len))
    }

    unsafe fn function(&mut self, i: usize) -> Result<(usize, usize)> {
        let key = self.key(i);
        let is_tonumber = (key as usize).checked_sub(1).and_then(|k| self.m.prog.tonumber.get(k));
        if is_tonumber == Some(&true)
            && let Some((a, b)) = self.single_text(i)
            && let Some(n) = decimal_integer(self.bytes(a, b))
        {
            // SAFETY: `push` checked the slot.
            unsafe { ffi::lua_pushinteger(self.m.state, n) };
            return Ok((skip(self.caps, i), 1));
        }
        // SAFETY: as for `push`; the call may raise, unwinding to the
        // protected call.
        unsafe {
            let base = ffi::lua_gettop(self.m.state);
            self.m.push_kvalue(key);
            let (next, k) = self.nested_or_whole(i)?;
            ffi::lua_call(self.m.state, k as c_int, ffi::LUA_MULTRET);
            Ok((next, (ffi::lua_gettop(self.m.state) - base) as usize))
        }
    }

    unsafe fn query(&mut self, i: usize) -> Result<(usize, usize)> {
        // SAFETY: as for `push`; the index may call a metamethod, which
        // may raise.
        unsafe {
            let base = ffi::lua_gettop(self.m.state);
            self.m.push_kvalue(self.key(i));
            let (next, _) = self.nested_or_whole(i)?;
            ffi::lua_settop(self.m.state, base + 2);
            ffi::lua_gettable(self.m.state, base + 1);
            ffi::lua_replace(self.m.state, base + 1);
            if ffi::lua_type(self.m.state, base + 1) == ffi::LUA_TNIL {
                ffi::lua_settop(self.m.state, base);
                return Ok((next, 0));
            }
            Ok((next, 1))
        }
    }

    unsafe fn numbered(&mut self, i: usize) -> Result<(usize, usize)> {
        let want = self.m.prog.caps[self.caps[i].idx as usize].n as c_int;
        if want == 0 {
            return Ok((skip(self.caps, i), 0));
        }
        // SAFETY: as for `push`.
        unsafe {
            let base = ffi::lua_gettop(self.m.state);
            let (next, n) = self.nested_or_whole(i)?;
            if want as usize > n {
                return Err(LpegError::NoCapture(want as u32));
            }
            ffi::lua_pushvalue(self.m.state, base + want);
            ffi::lua_replace(self.m.state, base + 1);
            ffi::lua_settop(self.m.state, base + 1);
            Ok((next, 1))
        }
    }

    unsafe fn argument(&mut self, i: usize) -> Result<(usize, usize)> {
        let n = self.m.prog.caps[self.caps[i].idx as usize].n;
        let (first, count) = self.m.args;
        match c_int::try_from(n) {
            Ok(k) if k >= 1 && k <= count => {
                // SAFETY: an extra argument's slot; `push` checked room.
                unsafe { ffi::lua_pushvalue(self.m.state, first + k - 1) };
                Ok((skip(self.caps, i), 1))
            }
            _ => Err(LpegError::AbsentArg(n)),
        }
    }

    unsafe fn backref(&mut self, i: usize) -> Result<(usize, usize)> {
        // SAFETY: as for `push`.
        unsafe {
            let group = self.find_group(i, self.key(i))?;
            self.enter()?;
            let (_, n) = self.nested_or_whole(group)?;
            self.depth -= 1;
            Ok((skip(self.caps, i), n))
        }
    }

    /// The most recent complete, outermost group named `ktable[key]` before
    /// entry `i`.
    unsafe fn find_group(&mut self, i: usize, key: u32) -> Result<usize> {
        let mut j = i;
        while j > 0 {
            j -= 1;
            let c = self.caps[j];
            if c.kind == CapKind::Close {
                j = innermost_open(&self.caps[..j]);
            } else if c.is_open() {
                // An enclosing capture: keep looking before it.
                continue;
            }
            if let Some(gkey) = named_group(self.m.prog, &self.caps[j])
                // SAFETY: as for `push`.
                && (gkey == key || unsafe { self.same_key(gkey, key) })
            {
                self.tick((i - j) as u64)?;
                return Ok(j);
            }
        }
        // SAFETY: as for `push`.
        Err(LpegError::BackRefNotFound(unsafe { self.key_text(key) }))
    }

    /// Whether ktable entries `a` and `b` are equal (raw equality).
    unsafe fn same_key(&self, a: u32, b: u32) -> bool {
        // SAFETY: two pushes within `push`'s room, popped again.
        unsafe {
            self.m.push_kvalue(a);
            self.m.push_kvalue(b);
            let same = ffi::lua_rawequal(self.m.state, -1, -2) != 0;
            ffi::lua_settop(self.m.state, -3);
            same
        }
    }

    /// The text of ktable entry `key` in messages (as `pattern::val2str`).
    unsafe fn key_text(&self, key: u32) -> String {
        // SAFETY: one push within `push`'s room, popped again; a number is
        // converted on that copy.
        unsafe {
            self.m.push_kvalue(key);
            let text = match ffi::lua_type(self.m.state, -1) {
                ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {
                    let mut len = 0;
                    let p = ffi::lua_tolstring(self.m.state, -1, &mut len);
                    String::from_utf8_lossy(std::slice::from_raw_parts(p.cast(), len)).into_owned()
                }
                t => format!("(a {})", type_name(t)),
            };
            ffi::lua_settop(self.m.state, -2);
            text
        }
    }

    /// Appends subject text to `b`; a long piece is charged to the budget
    /// (a step per 64 bytes).
    unsafe fn add_text(&mut self, b: &mut ffi::luaL_Buffer, from: u32, to: u32) -> Result<()> {
        // Growing the buffer takes up to three slots (its box, the box's
        // metatable).
        self.room(4)?;
        let bytes = self.bytes(from, to);
        if bytes.len() >= LONG_TEXT {
            budget::charge(self.m.lua, (bytes.len() / 64) as u64)?;
        }
        // SAFETY: the buffer's box is on top of the stack (every caller
        // restores the stack to it); Lua copies the bytes.
        unsafe { ffi::luaL_addlstring(b, bytes.as_ptr().cast(), bytes.len()) };
        Ok(())
    }

    /// Appends the value on top of the stack (just above the buffer's
    /// box) to `b`: a string or a number, else an `invalid <what> value`.
    unsafe fn add_value(&mut self, b: &mut ffi::luaL_Buffer, what: &'static str) -> Result<()> {
        self.room(4)?;
        // SAFETY: as above, with the value above the box.
        unsafe {
            match ffi::lua_type(self.m.state, -1) {
                ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {
                    let len = ffi::lua_rawlen(self.m.state, -1);
                    if len >= LONG_TEXT {
                        budget::charge(self.m.lua, (len / 64) as u64)?;
                    }
                    ffi::luaL_addvalue(b);
                    Ok(())
                }
                t => Err(LpegError::InvalidValue { what, ty: type_name(t) }),
            }
        }
    }

    /// `Cs`: the match with each nested capture's first value (if any, and
    /// not false or nil) in place of the text it matched.
    unsafe fn subst(&mut self, i: usize) -> Result<(usize, usize)> {
        let c = self.caps[i];
        self.room(2)?;
        // SAFETY: as for `push`; the buffer lives in this frame, unmoved,
        // and the stack is back at its box before each buffer call.
        unsafe {
            let mut b = std::mem::zeroed::<ffi::luaL_Buffer>();
            ffi::luaL_buffinit(self.m.state, &mut b);
            let (mut cur, mut j) = (c.pos, i + 1);
            if c.is_open() {
                self.enter()?;
                while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
                    let (start, end, _) = range(self.caps, j);
                    let start = start.max(cur);
                    self.add_text(&mut b, cur, start)?;
                    let top = ffi::lua_gettop(self.m.state);
                    let (next, k) = self.push(j)?;
                    let kept = k > 0 && ffi::lua_toboolean(self.m.state, top + 1) != 0;
                    if kept {
                        ffi::lua_settop(self.m.state, top + 1);
                        self.add_value(&mut b, "replacement")?;
                    } else {
                        ffi::lua_settop(self.m.state, top);
                        self.add_text(&mut b, start, end)?;
                    }
                    cur = end.max(start);
                    j = next;
                }
                self.depth -= 1;
                let end = self.caps.get(j).map_or(cur, |e| e.pos);
                self.add_text(&mut b, cur, end)?;
            } else {
                self.add_text(&mut b, c.pos, c.pos + c.len)?;
                j = i;
            }
            ffi::luaL_pushresult(&mut b);
            Ok((j + 1, 1))
        }
    }

    /// Collects the items of a string capture: the text of entry `i`, then
    /// its nested captures, descending into simple captures.
    fn collect_items(&self, i: usize, items: &mut Items) -> usize {
        let (start, end, next) = range(self.caps, i);
        items.push(Item::Text(start, end));
        if self.caps[i].is_open() {
            let mut k = i + 1;
            while k + 1 < next {
                if self.caps[k].kind == CapKind::Simple {
                    k = self.collect_items(k, items);
                } else {
                    items.push(Item::Cap(k));
                    k = skip(self.caps, k);
                }
            }
        }
        next
    }

    /// `p / "format"`: the format with `%n` replaced by item `n`.
    unsafe fn string(&mut self, i: usize) -> Result<(usize, usize)> {
        let mut items = Items::default();
        let next = self.collect_items(i, &mut items);
        self.room(3)?;
        // SAFETY: as for `subst`; the format string stays on the stack
        // below the buffer's box, so its bytes stay valid.
        unsafe {
            self.m.push_kvalue(self.key(i));
            let fmt_at = ffi::lua_gettop(self.m.state);
            let mut len = 0;
            let p = ffi::lua_tolstring(self.m.state, fmt_at, &mut len);
            if p.is_null() {
                let ty = type_name(ffi::lua_type(self.m.state, fmt_at));
                return Err(LpegError::InvalidValue { what: "replacement", ty });
            }
            let fmt = std::slice::from_raw_parts(p.cast::<u8>(), len);
            let mut b = std::mem::zeroed::<ffi::luaL_Buffer>();
            ffi::luaL_buffinit(self.m.state, &mut b);
            let mut k = 0;
            while k < fmt.len() {
                self.room(4)?;
                let run = fmt[k..].iter().position(|&c| c == b'%').unwrap_or(fmt.len() - k);
                ffi::luaL_addlstring(&mut b, fmt[k..].as_ptr().cast(), run);
                k += run + 1;
                match fmt.get(k) {
                    Some(d) if d.is_ascii_digit() => {
                        k += 1;
                        let n = usize::from(d - b'0');
                        match items.get(n) {
                            None => return Err(LpegError::InvalidCaptureIndex(n)),
                            Some(Item::Text(a, z)) => self.add_text(&mut b, a, z)?,
                            Some(Item::Cap(j)) => {
                                self.enter()?;
                                let top = ffi::lua_gettop(self.m.state);
                                let (_, got) = self.push(j)?;
                                if got > 0 {
                                    ffi::lua_settop(self.m.state, top + 1);
                                    self.add_value(&mut b, "capture")?;
                                } else {
                                    ffi::lua_settop(self.m.state, top);
                                }
                                self.depth -= 1;
                            }
                        }
                    }
                    // LPeg 1.0: '%' before any other character stands for it.
                    Some(other) => {
                        ffi::luaL_addlstring(&mut b, std::ptr::from_ref(other).cast(), 1);
                        k += 1;
                    }
                    None if k == fmt.len() => ffi::luaL_addlstring(&mut b, c"%".as_ptr(), 1),
                    None => {}
                }
            }
            ffi::luaL_pushresult(&mut b);
            ffi::lua_replace(self.m.state, fmt_at);
            Ok((next, 1))
        }
    }

    /// `Cf`: the first capture's value folded with each later capture's
    /// values by the function.
    unsafe fn fold(&mut self, i: usize) -> Result<(usize, usize)> {
        let c = self.caps[i];
        let first = i + 1;
        if !c.is_open() || self.caps.get(first).is_none_or(|f| f.kind == CapKind::Close) {
            return Err(LpegError::NoFoldInitial);
        }
        let key = self.key(i);
        self.enter()?;
        // SAFETY: as for `push`; the accumulator stays at `base + 1`, each
        // call's function and arguments above it.
        unsafe {
            let base = ffi::lua_gettop(self.m.state);
            let (mut j, n) = self.push(first)?;
            if n == 0 {
                return Err(LpegError::NoFoldInitial);
            }
            ffi::lua_settop(self.m.state, base + 1);
            while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
                self.room(2)?;
                self.m.push_kvalue(key);
                ffi::lua_pushvalue(self.m.state, base + 1);
                let (next, k) = self.push(j)?;
                let nargs = c_int::try_from(k + 1).map_err(|_| LpegError::TooManyCaptures)?;
                ffi::lua_call(self.m.state, nargs, 1);
                ffi::lua_replace(self.m.state, base + 1);
                j = next;
            }
            self.depth -= 1;
            Ok((j + 1, 1))
        }
    }
}

/// Appends and values shorter than this are not charged.
const LONG_TEXT: usize = 4096;

/// At most %0..%9 in a string capture.
const MAX_STRING_ITEMS: usize = 10;

/// An item of a string capture: subject text or a capture to evaluate.
#[derive(Clone, Copy)]
enum Item {
    Text(u32, u32),
    Cap(usize),
}

/// The first [`MAX_STRING_ITEMS`] items (a fixed array: nothing to drop
/// if a Lua error unwinds past it).
struct Items {
    items: [Item; MAX_STRING_ITEMS],
    len: usize,
}

impl Default for Items {
    fn default() -> Self {
        Items { items: [Item::Text(0, 0); MAX_STRING_ITEMS], len: 0 }
    }
}

impl Items {
    fn push(&mut self, item: Item) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = item;
            self.len += 1;
        }
    }

    fn get(&self, n: usize) -> Option<Item> {
        self.items[..self.len].get(n).copied()
    }
}

/// Lua's name of a type tag.
fn type_name(t: c_int) -> &'static str {
    match t {
        ffi::LUA_TNIL | ffi::LUA_TNONE => "nil",
        ffi::LUA_TBOOLEAN => "boolean",
        ffi::LUA_TNUMBER => "number",
        ffi::LUA_TSTRING => "string",
        ffi::LUA_TTABLE => "table",
        ffi::LUA_TFUNCTION => "function",
        ffi::LUA_TTHREAD => "thread",
        _ => "userdata",
    }
}
