//! The backtracking matching machine.
//!
//! It runs a [`Program`] over a subject with a
//! bounded backtrack stack (`lpeg.setmaxstack`) and records captures in a
//! list that `push` turns into Lua values. Every instruction (and every byte
//! a span consumes) is charged to the sandbox's instruction budget in
//! batches, so a long native match is stopped like a long Lua loop.
//! Buffers are pooled per Lua state, so a match allocates nothing once warm.

use std::cell::{Cell, OnceCell, RefCell};

use mlua::Lua;

use super::capture::{Cap, OPEN, innermost_open};
use super::error::{LpegError, Result};
use super::program::{Instr, Program};
use super::tree::CapKind;
use crate::sandbox::budget;
use crate::sandbox::limits::check_memory;

/// Steps between two budget charges.
pub const BATCH: u32 = 1000;

/// Literals longer than this are charged by length (see `charge_literal`).
const LONG_LITERAL: u32 = 64;

/// LPeg's default backtrack stack limit.
pub const DEFAULT_MAXSTACK: usize = 400;

/// `Frame::pos` of a call's return frame.
const CALL: u32 = u32::MAX;

/// Largest buffers kept in the pool between matches (in entries).
const KEEP_ENTRIES: usize = 1 << 14;

/// A backtrack entry, or a return address when `pos == CALL`.
#[derive(Clone, Copy, Debug)]
struct Frame {
    pc: u32,
    pos: u32,
    cap: u32,
    dynv: u32,
}

/// The growable state of one match (the values of match-time captures
/// live on the Lua stack, see [`MatchTime`]).
#[derive(Default)]
pub struct Buffers {
    stack: Vec<Frame>,
    pub caps: Vec<Cap>,
}

impl Buffers {
    fn reset(&mut self) {
        self.stack.clear();
        self.caps.clear();
        self.stack.shrink_to(KEEP_ENTRIES);
        self.caps.shrink_to(KEEP_ENTRIES);
    }
}

/// Per-state matcher settings, the buffer pool and the `match` function
/// (Lua app data).
pub struct LpegState {
    pub maxstack: Cell<usize>,
    pool: RefCell<Vec<Buffers>>,
    /// `lpeg.match`, for `re`'s functions.
    pub match_fn: OnceCell<mlua::Function>,
}

impl Default for LpegState {
    fn default() -> Self {
        LpegState {
            maxstack: Cell::new(DEFAULT_MAXSTACK),
            pool: RefCell::new(Vec::new()),
            match_fn: OnceCell::new(),
        }
    }
}

/// Takes pooled buffers and the stack limit for a match.
pub fn take_buffers(lua: &Lua) -> (Buffers, usize) {
    match lua.app_data_ref::<LpegState>() {
        Some(st) => {
            let bufs = st.pool.borrow_mut().pop().unwrap_or_default();
            (bufs, st.maxstack.get())
        }
        None => (Buffers::default(), DEFAULT_MAXSTACK),
    }
}

/// Returns buffers to the pool.
pub fn give_back(lua: &Lua, mut bufs: Buffers) {
    bufs.reset();
    if let Some(st) = lua.app_data_ref::<LpegState>() {
        let mut pool = st.pool.borrow_mut();
        if pool.len() < 4 {
            pool.push(bufs);
        }
    }
}

/// Grows `v` by doubling, after checking the sandbox memory limit.
pub(super) fn grow<T>(lua: &Lua, v: &mut Vec<T>) -> Result<()> {
    if v.len() == v.capacity() {
        let want = (v.capacity() * 2).max(64);
        check_memory(lua, want * std::mem::size_of::<T>())?;
        v.reserve_exact(want - v.len());
    }
    Ok(())
}

/// Decodes one UTF-8 sequence (no overlongs, at most 4 bytes).
fn utf8_at(s: &[u8]) -> Option<(u32, usize)> {
    let b0 = *s.first()?;
    let (len, mut cp) = match b0 {
        0..=0x7f => return Some((u32::from(b0), 1)),
        0xc2..=0xdf => (2, u32::from(b0 & 0x1f)),
        0xe0..=0xef => (3, u32::from(b0 & 0x0f)),
        0xf0..=0xf4 => (4, u32::from(b0 & 0x07)),
        _ => return None,
    };
    for k in 1..len {
        let b = *s.get(k)?;
        if b & 0xc0 != 0x80 {
            return None;
        }
        cp = (cp << 6) | u32::from(b & 0x3f);
    }
    let min = [0, 0, 0x80, 0x800, 0x10000][len];
    (cp >= min).then_some((cp, len))
}

/// Runs `prog` over `subject` from `init`, match-time captures run by
/// `rt`; returns the end of the match and the steps of the last, partial
/// batch, which the caller charges (with any capture evaluation) in one
/// go.
pub(super) fn run<R: MatchTime>(
    lua: &Lua,
    prog: &Program,
    subject: &[u8],
    bufs: &mut Buffers,
    maxstack: usize,
    init: usize,
    rt: &mut R,
) -> Result<(Option<usize>, u64)> {
    let mut m = Machine { lua, prog, subject, bufs, maxstack, rt };
    let (res, left) = m.steps(init)?;
    Ok((res, u64::from(BATCH - left)))
}

/// How match-time captures run and where the values they return are kept
/// (their count is part of each backtrack entry). The C-function `match`
/// runs them on the Lua stack (`fast`), so the VM itself stays safe code.
pub(super) trait MatchTime {
    /// How many values match-time captures hold now.
    fn dyn_len(&self) -> u32;
    /// Drops the values past the first `n` (on backtracking).
    fn dyn_truncate(&mut self, n: u32);
    /// Calls the function of the match-time capture opened at
    /// `caps[open]`, closing at `pos`, with the values of the captures
    /// nested in it; keeps the values it returns after the first. `None`
    /// when the function makes the match fail.
    fn call(&mut self, caps: &[Cap], open: usize, pos: usize) -> Result<Option<Resumed>>;
}

/// Where a match goes on after a match-time capture, and the values the
/// capture keeps (`count` of them from index `first`).
pub(super) struct Resumed {
    pub pos: usize,
    pub first: u32,
    pub count: usize,
}

/// The position a match-time capture's function returned as `n`, checked
/// against the current position `pos` and the subject length `len`.
pub(super) fn returned_position(n: i64, pos: usize, len: usize) -> Result<usize> {
    let p = usize::try_from(n - 1).map_err(|_| LpegError::InvalidPosition)?;
    if p < pos || p > len {
        return Err(LpegError::InvalidPosition);
    }
    Ok(p)
}

struct Machine<'e, R> {
    lua: &'e Lua,
    prog: &'e Program,
    subject: &'e [u8],
    bufs: &'e mut Buffers,
    maxstack: usize,
    rt: &'e mut R,
}

impl<R: MatchTime> Machine<'_, R> {
    /// Charges a spent batch; kept out of line so the loop stays tight.
    #[cold]
    #[inline(never)]
    fn refuel(&self) -> Result<u32> {
        budget::charge(self.lua, u64::from(BATCH))?;
        Ok(BATCH)
    }

    /// Comparing a long literal costs a step per 32 bytes beyond the first.
    #[cold]
    #[inline(never)]
    fn charge_literal(&self, n: u32) -> Result<()> {
        budget::charge(self.lua, u64::from(n / 32))?;
        Ok(())
    }

    #[inline]
    fn push_frame(&mut self, pc: usize, pos: u32) -> Result<()> {
        let dynv = self.rt.dyn_len();
        let stack = &mut self.bufs.stack;
        if stack.len() >= self.maxstack {
            return Err(LpegError::StackOverflow(self.maxstack));
        }
        grow(self.lua, stack)?;
        stack.push(Frame { pc: pc as u32, pos, cap: self.bufs.caps.len() as u32, dynv });
        Ok(())
    }

    #[inline]
    fn push_cap(&mut self, c: Cap) -> Result<()> {
        grow(self.lua, &mut self.bufs.caps)?;
        self.bufs.caps.push(c);
        Ok(())
    }

    /// Pops to the last backtrack entry and restores its state.
    fn backtrack(&mut self) -> Option<(usize, usize)> {
        while let Some(f) = self.bufs.stack.pop() {
            if f.pos != CALL {
                self.bufs.caps.truncate(f.cap as usize);
                self.rt.dyn_truncate(f.dynv);
                return Some((f.pc as usize, f.pos as usize));
            }
        }
        None
    }

    /// The interpreter loop; returns the end of the match and the steps
    /// left in the current batch.
    fn steps(&mut self, init: usize) -> Result<(Option<usize>, u32)> {
        let mut left = BATCH;
        let prog = self.prog;
        let code = &prog.code[..];
        let s = self.subject;
        let len = s.len();
        let mut pc = 0usize;
        let mut pos = init;
        loop {
            if left == 0 {
                left = self.refuel()?;
            }
            left -= 1;
            match code[pc] {
                Instr::Any(n) => {
                    if len - pos >= n as usize {
                        pos += n as usize;
                        pc += 1;
                        continue;
                    }
                }
                Instr::Char(c) => {
                    if pos < len && s[pos] == c {
                        pos += 1;
                        pc += 1;
                        continue;
                    }
                }
                Instr::Set(i) => {
                    if pos < len && prog.sets[i as usize].contains(s[pos]) {
                        pos += 1;
                        pc += 1;
                        continue;
                    }
                }
                Instr::Str(off, n) => {
                    if n > LONG_LITERAL {
                        self.charge_literal(n)?;
                    }
                    let lit = &prog.lits[off as usize..(off + n) as usize];
                    if s[pos..].starts_with(lit) {
                        pos += n as usize;
                        pc += 1;
                        continue;
                    }
                }
                Instr::Utf(lo, hi) => {
                    if let Some((cp, n)) = utf8_at(&s[pos..])
                        && (lo..=hi).contains(&cp)
                    {
                        pos += n;
                        pc += 1;
                        continue;
                    }
                }
                Instr::Span(i) => {
                    let set = &prog.sets[i as usize];
                    loop {
                        let lim = len.min(pos + left as usize);
                        let run =
                            s[pos..lim].iter().position(|&b| !set.contains(b)).unwrap_or(lim - pos);
                        pos += run;
                        left -= run as u32;
                        if pos < lim || lim == len {
                            break;
                        }
                        left = self.refuel()?;
                    }
                    pc += 1;
                    continue;
                }
                Instr::TestAny(t) => {
                    pc = if pos < len { pc + 1 } else { t as usize };
                    continue;
                }
                Instr::TestChar(c, t) => {
                    pc = if pos < len && s[pos] == c { pc + 1 } else { t as usize };
                    continue;
                }
                Instr::TestSet(i, t) => {
                    let hit = pos < len && prog.sets[i as usize].contains(s[pos]);
                    pc = if hit { pc + 1 } else { t as usize };
                    continue;
                }
                Instr::Behind(n) => {
                    if pos >= n as usize {
                        pos -= n as usize;
                        pc += 1;
                        continue;
                    }
                }
                Instr::Choice(t) => {
                    self.push_frame(t as usize, pos as u32)?;
                    pc += 1;
                    continue;
                }
                Instr::Commit(t) => {
                    self.bufs.stack.pop();
                    pc = t as usize;
                    continue;
                }
                Instr::PartialCommit(t) => {
                    let (ncap, ndyn) = (self.bufs.caps.len() as u32, self.rt.dyn_len());
                    if let Some(top) = self.bufs.stack.last_mut() {
                        top.pos = pos as u32;
                        top.cap = ncap;
                        top.dynv = ndyn;
                    }
                    pc = t as usize;
                    continue;
                }
                Instr::BackCommit(t) => {
                    if let Some(f) = self.bufs.stack.pop() {
                        pos = f.pos as usize;
                        self.bufs.caps.truncate(f.cap as usize);
                        self.rt.dyn_truncate(f.dynv);
                    }
                    pc = t as usize;
                    continue;
                }
                Instr::FailTwice => {
                    self.bufs.stack.pop();
                }
                Instr::Fail => {}
                Instr::Jmp(t) => {
                    pc = t as usize;
                    continue;
                }
                Instr::Call(t) => {
                    self.push_frame(pc + 1, CALL)?;
                    pc = t as usize;
                    continue;
                }
                Instr::Ret => {
                    pc = self.bufs.stack.pop().map_or(code.len() - 1, |f| f.pc as usize);
                    continue;
                }
                Instr::OpenCap(d) => {
                    let kind = prog.caps[d as usize].kind;
                    self.push_cap(Cap { pos: pos as u32, len: OPEN, idx: d, kind, count: 0 })?;
                    pc += 1;
                    continue;
                }
                Instr::FullCap(d, n) => {
                    let kind = prog.caps[d as usize].kind;
                    let start = (pos as u32).saturating_sub(n);
                    self.push_cap(Cap { pos: start, len: n, idx: d, kind, count: 0 })?;
                    pc += 1;
                    continue;
                }
                Instr::CloseCap => {
                    match self.bufs.caps.last_mut().filter(|c| c.is_open()) {
                        // Nothing nested: make the open entry a full one.
                        Some(last) => last.len = (pos as u32).saturating_sub(last.pos),
                        None => self.push_cap(Cap {
                            pos: pos as u32,
                            len: 0,
                            idx: 0,
                            kind: CapKind::Close,
                            count: 0,
                        })?,
                    }
                    pc += 1;
                    continue;
                }
                Instr::CloseRunTime => {
                    if let Some(np) = self.match_time(pos)? {
                        pos = np;
                        pc += 1;
                        continue;
                    }
                }
                Instr::End => return Ok((Some(pos), left)),
            }
            match self.backtrack() {
                Some((p, q)) => {
                    pc = p;
                    pos = q;
                }
                None => return Ok((None, left)),
            }
        }
    }

    /// Runs the function of the match-time capture closing at `pos`; returns
    /// the new position, or `None` when the function makes the match fail.
    fn match_time(&mut self, pos: usize) -> Result<Option<usize>> {
        let open = innermost_open(&self.bufs.caps);
        let c = self.bufs.caps[open];
        let Some(Resumed { pos: newpos, first, count }) =
            self.rt.call(&self.bufs.caps, open, pos)?
        else {
            return Ok(None);
        };
        self.bufs.caps.truncate(open);
        if count > 0 {
            let count = u16::try_from(count).map_err(|_| LpegError::TooManyResults)?;
            self.push_cap(Cap {
                pos: c.pos,
                len: (newpos as u32).saturating_sub(c.pos),
                idx: first,
                kind: CapKind::Runtime,
                count,
            })?;
        }
        Ok(Some(newpos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_decoding() {
        assert_eq!(utf8_at(b"a"), Some((97, 1)));
        assert_eq!(utf8_at("ж".as_bytes()), Some((0x436, 2)));
        assert_eq!(utf8_at("专".as_bytes()), Some((0x4e13, 3)));
        assert_eq!(utf8_at("😀".as_bytes()), Some((0x1f600, 4)));
        assert_eq!(utf8_at(b"\xc0\x80"), None, "overlong");
        assert_eq!(utf8_at(b"\xe0\x80\x80"), None, "overlong");
        assert_eq!(utf8_at(b"\xf4\x9f\xbf"), None, "truncated");
        assert_eq!(utf8_at(b"\xff"), None);
        assert_eq!(utf8_at(b""), None);
    }
}
