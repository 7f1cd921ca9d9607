//! Evaluation of the capture list straight onto the Lua stack, for the
//! C-function `match` (see `fast`): what [`super::eval`] does with mlua
//! values, done with raw Lua API calls as C LPeg does, so a log line's
//! fields and tables are created with no mlua call in between.
//!
//! Only the capture kinds of [`supported`] are evaluated here (the ones
//! log grammars use); a program with any other kind is matched by the
//! mlua path. Values of match-time captures are stack slots above
//! `dyn_base`.
//!
//! Everything here runs inside a protected call and holds no value with a
//! destructor, so a Lua error raised by a push (running out of memory) or
//! by a called function unwinds through it safely.
#![allow(unsafe_code)]

use std::ffi::c_int;

use mlua::{Lua, ffi};

use super::capture::{Cap, decimal_integer, named_group, skip, table_sizes};
use super::error::{LpegError, Result};
use super::program::Program;
use super::tree::CapKind;
use super::vm::BATCH;
use crate::sandbox::budget;

/// Deepest nesting of captures evaluated (LPeg's limit).
const MAX_NESTING: u32 = 200;

/// True when captures of `kind` can be evaluated here.
pub fn supported(kind: CapKind) -> bool {
    matches!(
        kind,
        CapKind::Close
            | CapKind::Position
            | CapKind::Const
            | CapKind::Simple
            | CapKind::Table
            | CapKind::Function
            | CapKind::Query
            | CapKind::Num
            | CapKind::Group
            | CapKind::Cmt
            | CapKind::Runtime
    )
}

/// Evaluates (part of) a capture list onto the stack of `state`.
pub struct PushEval<'e> {
    pub state: *mut ffi::lua_State,
    pub lua: &'e Lua,
    pub prog: &'e Program,
    pub subject: &'e [u8],
    pub caps: &'e [Cap],
    /// Stack index of the pattern's ktable, 0 when it has none.
    pub kt: c_int,
    /// Stack index below the first value of match-time captures.
    pub dyn_base: c_int,
    depth: u32,
    /// Steps not charged yet (the caller charges them at the end).
    pub steps: u64,
}

impl<'e> PushEval<'e> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        state: *mut ffi::lua_State,
        lua: &'e Lua,
        prog: &'e Program,
        subject: &'e [u8],
        caps: &'e [Cap],
        kt: c_int,
        dyn_base: c_int,
    ) -> Self {
        PushEval { state, lua, prog, subject, caps, kt, dyn_base, depth: 0, steps: 0 }
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

    #[inline]
    fn tick(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps >= u64::from(BATCH) {
            budget::charge(self.lua, self.steps)?;
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
        if unsafe { ffi::lua_checkstack(self.state, n) } == 0 {
            return Err(LpegError::TooManyCaptures);
        }
        Ok(())
    }

    fn key(&self, i: usize) -> u32 {
        self.prog.caps[self.caps[i].idx as usize].key
    }

    fn bytes(&self, a: u32, b: u32) -> &'e [u8] {
        let (a, b) = (a as usize, b as usize);
        self.subject.get(a..b.max(a)).unwrap_or_default()
    }

    /// # Safety
    /// A free stack slot.
    unsafe fn push_str(&self, a: u32, b: u32) {
        let bytes = self.bytes(a, b);
        // SAFETY: Lua copies the bytes.
        unsafe { ffi::lua_pushlstring(self.state, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// # Safety
    /// A free stack slot.
    unsafe fn push_kvalue(&self, key: u32) {
        // SAFETY: raw read of the ktable at its checked index.
        unsafe {
            if self.kt != 0 {
                ffi::lua_rawgeti(self.state, self.kt, ffi::lua_Integer::from(key));
            } else {
                ffi::lua_pushnil(self.state);
            }
        }
    }

    /// Pushes the values of entry `i`; returns the next index and the count.
    unsafe fn push(&mut self, i: usize) -> Result<(usize, usize)> {
        self.tick()?;
        // SAFETY (whole body): raw calls on the protected state; room for
        // the values pushed at each level is checked here.
        unsafe {
            self.room(4)?;
            let c = self.caps[i];
            match c.kind {
                CapKind::Position => {
                    ffi::lua_pushinteger(self.state, i64::from(c.pos) + 1);
                    Ok((i + 1, 1))
                }
                CapKind::Const => self.constant(i),
                CapKind::Simple => self.simple(i),
                CapKind::Group if self.key(i) == 0 => self.nested_or_whole(i),
                CapKind::Table => self.table(i),
                CapKind::Function => self.function(i),
                CapKind::Query => self.query(i),
                CapKind::Num => self.numbered(i),
                CapKind::Runtime => {
                    let first = self.dyn_base + c.idx as c_int;
                    self.room(usize::from(c.count))?;
                    for k in 1..=c_int::from(c.count) {
                        ffi::lua_pushvalue(self.state, first + k);
                    }
                    Ok((i + 1, usize::from(c.count)))
                }
                // Named groups only give values to tables; open match-time
                // captures and closes start nothing.
                CapKind::Group | CapKind::Cmt | CapKind::Close => Ok((skip(self.caps, i), 0)),
                kind => Err(LpegError::Lua(mlua::Error::runtime(format!(
                    "lpeg: {kind:?} capture on the C-function path"
                )))),
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
        let d = self.prog.caps[self.caps[i].idx as usize];
        // SAFETY: room checked for all the values.
        unsafe {
            self.room(d.n as usize)?;
            for k in d.key..d.key + d.n {
                self.push_kvalue(k);
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
            let base = ffi::lua_gettop(self.state);
            let (next, end, n) = self.children(i)?;
            self.room(1)?;
            self.push_str(c.pos, end);
            if n > 0 {
                ffi::lua_rotate(self.state, base + 1, 1);
            }
            Ok((next, n + 1))
        }
    }

    unsafe fn table(&mut self, i: usize) -> Result<(usize, usize)> {
        let (narr, nrec) = table_sizes(self.prog, self.caps, i);
        let size = |n: usize| c_int::try_from(n).unwrap_or(c_int::MAX);
        // SAFETY: as for `push`; each entry is stored as soon as its
        // values are pushed, so the stack holds the table plus one entry.
        unsafe {
            ffi::lua_createtable(self.state, size(narr), size(nrec));
            let t = ffi::lua_gettop(self.state);
            if !self.caps[i].is_open() {
                return Ok((i + 1, 1));
            }
            self.enter()?;
            let mut j = i + 1;
            let mut len: ffi::lua_Integer = 0;
            while j < self.caps.len() && self.caps[j].kind != CapKind::Close {
                match named_group(self.prog, &self.caps[j]) {
                    Some(key) => {
                        self.push_kvalue(key);
                        let (next, _) = self.nested_or_whole(j)?;
                        ffi::lua_settop(self.state, t + 2);
                        ffi::lua_rawset(self.state, t);
                        j = next;
                    }
                    None => {
                        let (next, k) = self.push(j)?;
                        let k = k as ffi::lua_Integer;
                        for m in (1..=k).rev() {
                            ffi::lua_rawseti(self.state, t, len + m);
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
        if self.prog.tonumber.get(key as usize - 1) == Some(&true)
            && let Some((a, b)) = self.single_text(i)
            && let Some(n) = decimal_integer(self.bytes(a, b))
        {
            // SAFETY: `push` checked the slot.
            unsafe { ffi::lua_pushinteger(self.state, n) };
            return Ok((skip(self.caps, i), 1));
        }
        // SAFETY: as for `push`; the call may raise, unwinding to the
        // protected call.
        unsafe {
            let base = ffi::lua_gettop(self.state);
            self.push_kvalue(key);
            let (next, k) = self.nested_or_whole(i)?;
            ffi::lua_call(self.state, k as c_int, ffi::LUA_MULTRET);
            Ok((next, (ffi::lua_gettop(self.state) - base) as usize))
        }
    }

    unsafe fn query(&mut self, i: usize) -> Result<(usize, usize)> {
        // SAFETY: as for `push`; the index may call a metamethod, which
        // may raise.
        unsafe {
            let base = ffi::lua_gettop(self.state);
            self.push_kvalue(self.key(i));
            let (next, _) = self.nested_or_whole(i)?;
            ffi::lua_settop(self.state, base + 2);
            ffi::lua_gettable(self.state, base + 1);
            ffi::lua_replace(self.state, base + 1);
            if ffi::lua_type(self.state, base + 1) == ffi::LUA_TNIL {
                ffi::lua_settop(self.state, base);
                return Ok((next, 0));
            }
            Ok((next, 1))
        }
    }

    unsafe fn numbered(&mut self, i: usize) -> Result<(usize, usize)> {
        let want = self.prog.caps[self.caps[i].idx as usize].n as c_int;
        if want == 0 {
            return Ok((skip(self.caps, i), 0));
        }
        // SAFETY: as for `push`.
        unsafe {
            let base = ffi::lua_gettop(self.state);
            let (next, n) = self.nested_or_whole(i)?;
            if want as usize > n {
                return Err(LpegError::NoCapture(want as u32));
            }
            ffi::lua_pushvalue(self.state, base + want);
            ffi::lua_replace(self.state, base + 1);
            ffi::lua_settop(self.state, base + 1);
            Ok((next, 1))
        }
    }
}
