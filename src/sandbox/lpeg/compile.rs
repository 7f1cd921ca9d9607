//! Compiles a pattern tree into VM code.
//!
//! The shape follows the parsing-machine design described in LPeg's paper:
//! an ordered choice pushes a backtrack entry and commits after its first
//! alternative; `p^0` loops with a partial commit; `!p` and `&p` use
//! fail-twice and back-commit; grammars become called subroutines. On top,
//! it avoids backtrack entries when a one-byte test decides (head-fail
//! alternatives, alternatives with disjoint first bytes, loops over
//! single-byte classes become spans), turns captures over fixed-length
//! matches into single "full" entries, emits each distinct grammar once,
//! and turns calls followed by a return into jumps.

use std::collections::HashMap;
use std::rc::Rc;

use super::analysis::{First, Len, RuleInfo, first, fixed_len, has_captures, headfail};
use super::charset::Charset;
use super::error::{LpegError, Result};
use super::grammar::Grammar;
use super::program::{CapDef, Instr, Program};
use super::tree::{self, CapKind, Kind, Tree, charset_of};

/// Largest program (instructions).
const MAX_CODE: usize = 1 << 26;

/// Compiles `t`. `name_of` names the key of an open call for the error;
/// `mem` is told the native bytes about to be held whenever the code grows.
pub fn compile(
    t: &Tree,
    name_of: &dyn Fn(u32) -> String,
    mem: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<Program> {
    compile_as(t, name_of, mem, false)
}

/// The textbook translation, without any optimisation: the reference the
/// optimised code is checked against in tests.
#[cfg(test)]
pub fn compile_naive(t: &Tree) -> Result<Program> {
    compile_as(t, &|k| format!("{k}"), &mut |_| Ok(()), true)
}

fn compile_as(
    t: &Tree,
    name_of: &dyn Fn(u32) -> String,
    mem: &mut dyn FnMut(usize) -> Result<()>,
    naive: bool,
) -> Result<Program> {
    let mut c = Compiler {
        p: Program::default(),
        set_ids: HashMap::new(),
        cap_ids: HashMap::new(),
        frames: Vec::new(),
        done: HashMap::new(),
        name_of,
        mem,
        naive,
    };
    c.emit_tree(t)?;
    c.emit(Instr::End)?;
    let mut p = c.p;
    if !naive {
        optimize(&mut p.code);
    }
    Ok(p)
}

/// A grammar being emitted: its calls wait for the rule addresses.
struct GFrame {
    g: Rc<Grammar>,
    calls: Vec<(usize, u32)>,
}

struct Compiler<'a> {
    p: Program,
    set_ids: HashMap<Charset, u32>,
    cap_ids: HashMap<CapDef, u32>,
    frames: Vec<GFrame>,
    /// Entry address of each grammar already emitted.
    done: HashMap<*const Grammar, usize>,
    name_of: &'a dyn Fn(u32) -> String,
    mem: &'a mut dyn FnMut(usize) -> Result<()>,
    /// Emit the plain translation only (tests).
    naive: bool,
}

impl Compiler<'_> {
    fn here(&self) -> usize {
        self.p.code.len()
    }

    fn emit(&mut self, i: Instr) -> Result<usize> {
        let code = &mut self.p.code;
        if code.len() == code.capacity() {
            let want = (code.capacity() * 2).max(32);
            if want > MAX_CODE {
                return Err(LpegError::TooComplex);
            }
            (self.mem)(want * std::mem::size_of::<Instr>() + self.p.lits.len())?;
            code.reserve_exact(want - code.len());
        }
        code.push(i);
        Ok(code.len() - 1)
    }

    /// Points the jump at `at` to `to`.
    fn patch(&mut self, at: usize, to: usize) {
        let ins = &mut self.p.code[at];
        *ins = ins.map_target(|_| to as u32);
    }

    fn set_id(&mut self, cs: &Charset) -> u32 {
        let sets = &mut self.p.sets;
        *self.set_ids.entry(*cs).or_insert_with(|| {
            sets.push(*cs);
            (sets.len() - 1) as u32
        })
    }

    fn cap_id(&mut self, d: CapDef) -> u32 {
        let caps = &mut self.p.caps;
        *self.cap_ids.entry(d).or_insert_with(|| {
            caps.push(d);
            (caps.len() - 1) as u32
        })
    }

    /// The rule facts of the innermost grammar being emitted.
    fn rule_info(&self) -> &[RuleInfo] {
        self.frames.last().map_or(&[], |f| &f.g.info)
    }

    /// A test that jumps (target patched later) unless the byte is in `cs`.
    fn emit_test(&mut self, cs: &Charset) -> Result<usize> {
        let ins = if cs.is_full() {
            Instr::TestAny(0)
        } else if let Some(b) = cs.only() {
            Instr::TestChar(b, 0)
        } else {
            Instr::TestSet(self.set_id(cs), 0)
        };
        self.emit(ins)
    }

    /// Emits code for `t`. Kept to a bare dispatch (as are the recursive
    /// helpers) so deep trees use little native stack per level.
    fn emit_tree(&mut self, t: &Tree) -> Result<()> {
        match &t.kind {
            Kind::Seq(v) => self.emit_seq(v),
            Kind::Choice(v) => self.emit_choice(v),
            Kind::Rep(b) => self.emit_rep(b),
            Kind::Opt(n, b) => self.emit_opt(*n, b),
            Kind::Not(b) => self.emit_not(b),
            Kind::And(b) => self.emit_and(b),
            Kind::Behind(n, b) => self.emit_behind(*n, b),
            Kind::Capture { kind, key, n, body } => self.emit_capture(*kind, *key, *n, body),
            Kind::RunTime { key, body } => self.emit_runtime(*key, body),
            Kind::Grammar(g) => self.emit_grammar(g),
            _ => self.emit_leaf(t),
        }
    }

    fn emit_leaf(&mut self, t: &Tree) -> Result<()> {
        let ins = match &t.kind {
            Kind::True => return Ok(()),
            Kind::False => Instr::Fail,
            Kind::Any(n) => Instr::Any(*n),
            Kind::Char(c) => Instr::Char(*c),
            Kind::Set(cs) => Instr::Set(self.set_id(cs)),
            Kind::Str(s) => {
                let off = u32::try_from(self.p.lits.len()).map_err(|_| LpegError::TooComplex)?;
                let len = u32::try_from(s.len()).map_err(|_| LpegError::TooComplex)?;
                self.p.lits.extend_from_slice(s);
                Instr::Str(off, len)
            }
            Kind::Utf(lo, hi) => Instr::Utf(*lo, *hi),
            Kind::OpenCall(k) => return Err(LpegError::OutsideGrammar((self.name_of)(*k))),
            Kind::Call(i) => {
                let at = self.emit(Instr::Call(0))?;
                let frame = self.frames.last_mut().ok_or(LpegError::TooComplex)?;
                frame.calls.push((at, *i));
                return Ok(());
            }
            _ => return Err(LpegError::TooComplex),
        };
        self.emit(ins)?;
        Ok(())
    }

    fn emit_seq(&mut self, parts: &[Tree]) -> Result<()> {
        for c in parts {
            self.emit_tree(c)?;
        }
        Ok(())
    }

    fn emit_and(&mut self, body: &Tree) -> Result<()> {
        let choice = self.emit(Instr::Choice(0))?;
        self.emit_tree(body)?;
        let commit = self.emit(Instr::BackCommit(0))?;
        let fail = self.emit(Instr::Fail)?;
        self.patch(choice, fail);
        let end = self.here();
        self.patch(commit, end);
        Ok(())
    }

    fn emit_behind(&mut self, n: u32, body: &Tree) -> Result<()> {
        self.emit(Instr::Behind(n))?;
        self.emit_tree(body)
    }

    fn emit_runtime(&mut self, key: u32, body: &Tree) -> Result<()> {
        let d = self.cap_id(CapDef { kind: CapKind::Cmt, key, n: 0 });
        self.emit(Instr::OpenCap(d))?;
        self.emit_tree(body)?;
        self.emit(Instr::CloseRunTime)?;
        Ok(())
    }

    fn emit_choice(&mut self, alts: &[Tree]) -> Result<()> {
        let info = self.rule_info();
        let firsts: Vec<First> = alts.iter().map(|a| first(a, info)).collect();
        let heads: Vec<bool> = alts.iter().map(|a| headfail(a, info)).collect();
        // rest[i]: what can start alternatives after i.
        let none = First { set: Charset::EMPTY, empty: false, at_end: false };
        let mut rest = vec![none; alts.len()];
        for i in (0..alts.len().saturating_sub(1)).rev() {
            rest[i] = First {
                set: firsts[i + 1].set.union(&rest[i + 1].set),
                empty: firsts[i + 1].empty || rest[i + 1].empty,
                at_end: firsts[i + 1].at_end || rest[i + 1].at_end,
            };
        }
        let mut exits = Vec::new();
        let last = alts.len() - 1;
        for (i, alt) in alts.iter().enumerate() {
            if i == last {
                self.emit_tree(alt)?;
                break;
            }
            let f = firsts[i];
            // A byte test can replace the backtrack entry when the
            // alternative can only fail on that byte, or when no later
            // alternative can match a byte that passes the test.
            let decided_by_test = !self.naive
                && f.testable()
                && (heads[i] || (!rest[i].empty && !f.set.intersects(&rest[i].set)));
            if decided_by_test {
                let test = self.emit_test(&f.set)?;
                self.emit_tree(alt)?;
                exits.push(self.emit(Instr::Jmp(0))?);
                let next = self.here();
                self.patch(test, next);
            } else {
                let choice = self.emit(Instr::Choice(0))?;
                self.emit_tree(alt)?;
                exits.push(self.emit(Instr::Commit(0))?);
                let next = self.here();
                self.patch(choice, next);
            }
        }
        let end = self.here();
        for e in exits {
            self.patch(e, end);
        }
        Ok(())
    }

    fn emit_rep(&mut self, body: &Tree) -> Result<()> {
        if self.naive {
            self.emit_choice_loop(body)?;
            return Ok(());
        }
        if let Some(cs) = charset_of(body) {
            let i = self.set_id(&cs);
            self.emit(Instr::Span(i))?;
            return Ok(());
        }
        if let Kind::Choice(alts) = &body.kind
            && let Some(cs) = charset_of(&alts[0])
        {
            return self.emit_span_loop(&cs, &alts[1..]);
        }
        let info = self.rule_info();
        let f = first(body, info);
        if f.testable() && headfail(body, info) {
            let top = self.here();
            let test = self.emit_test(&f.set)?;
            self.emit_tree(body)?;
            self.emit(Instr::Jmp(top as u32))?;
            let end = self.here();
            self.patch(test, end);
            return Ok(());
        }
        let test = if f.testable() { Some(self.emit_test(&f.set)?) } else { None };
        let end = self.emit_choice_loop(body)?;
        if let Some(t) = test {
            self.patch(t, end);
        }
        Ok(())
    }

    /// The plain `body^0` loop: a backtrack entry updated by a partial
    /// commit each round. Returns the address after the loop.
    fn emit_choice_loop(&mut self, body: &Tree) -> Result<usize> {
        let choice = self.emit(Instr::Choice(0))?;
        let top = self.here();
        self.emit_tree(body)?;
        self.emit(Instr::PartialCommit(top as u32))?;
        let end = self.here();
        self.patch(choice, end);
        Ok(end)
    }

    /// `(set + rest)^0`: runs of the set are consumed by one span, and
    /// `rest` is tried only where the set stops. Same matches as the plain
    /// loop, with far fewer steps over text that is mostly in the set.
    fn emit_span_loop(&mut self, cs: &Charset, rest: &[Tree]) -> Result<()> {
        let rest = match rest {
            [one] => one.clone(),
            more => tree::node(Kind::Choice(more.to_vec()))?,
        };
        let info = self.rule_info();
        let f = first(&rest, info);
        let by_test = f.testable() && headfail(&rest, info);
        let top = self.here();
        let span = self.set_id(cs);
        self.emit(Instr::Span(span))?;
        let test = if f.testable() { Some(self.emit_test(&f.set)?) } else { None };
        if by_test {
            self.emit_tree(&rest)?;
            self.emit(Instr::Jmp(top as u32))?;
        } else {
            let choice = self.emit(Instr::Choice(0))?;
            self.emit_tree(&rest)?;
            self.emit(Instr::Commit(top as u32))?;
            let end = self.here();
            self.patch(choice, end);
        }
        let end = self.here();
        if let Some(t) = test {
            self.patch(t, end);
        }
        Ok(())
    }

    fn emit_opt(&mut self, n: u32, body: &Tree) -> Result<()> {
        let info = self.rule_info();
        let f = first(body, info);
        let by_test = !self.naive && f.testable() && headfail(body, info);
        let mut exits = Vec::new();
        for _ in 0..n {
            if by_test {
                exits.push(self.emit_test(&f.set)?);
                self.emit_tree(body)?;
            } else {
                exits.push(self.emit(Instr::Choice(0))?);
                self.emit_tree(body)?;
                let commit = self.emit(Instr::Commit(0))?;
                let next = self.here();
                self.patch(commit, next);
            }
        }
        let end = self.here();
        for e in exits {
            self.patch(e, end);
        }
        Ok(())
    }

    fn emit_not(&mut self, body: &Tree) -> Result<()> {
        if let Some(cs) = charset_of(body).filter(|_| !self.naive) {
            let test = self.emit_test(&cs)?;
            self.emit(Instr::Fail)?;
            let end = self.here();
            self.patch(test, end);
            return Ok(());
        }
        let choice = self.emit(Instr::Choice(0))?;
        self.emit_tree(body)?;
        self.emit(Instr::FailTwice)?;
        let end = self.here();
        self.patch(choice, end);
        Ok(())
    }

    /// The length of a capture's body when one "full" entry can record it.
    fn full_capture_len(&self, body: &Tree) -> Option<u32> {
        if self.naive {
            return None;
        }
        let info = self.rule_info();
        match fixed_len(body, info) {
            Len::Fixed(len) if !has_captures(body, info) => Some(len),
            _ => None,
        }
    }

    fn emit_capture(&mut self, kind: CapKind, key: u32, n: u32, body: &Tree) -> Result<()> {
        let d = self.cap_id(CapDef { kind, key, n });
        let (open, close) = match self.full_capture_len(body) {
            Some(len) => (None, Instr::FullCap(d, len)),
            None => (Some(Instr::OpenCap(d)), Instr::CloseCap),
        };
        if let Some(open) = open {
            self.emit(open)?;
        }
        self.emit_tree(body)?;
        self.emit(close)?;
        Ok(())
    }

    fn emit_grammar(&mut self, g: &Rc<Grammar>) -> Result<()> {
        let id = Rc::as_ptr(g);
        if let Some(&entry) = self.done.get(&id) {
            self.emit(Instr::Call(entry as u32))?;
            return Ok(());
        }
        let call = self.emit(Instr::Call(0))?;
        let skip = self.emit(Instr::Jmp(0))?;
        self.frames.push(GFrame { g: g.clone(), calls: Vec::new() });
        let mut labels = Vec::with_capacity(g.rules.len());
        for r in &g.rules {
            labels.push(self.here());
            self.emit_tree(&r.body)?;
            self.emit(Instr::Ret)?;
        }
        let frame = self.frames.pop().ok_or(LpegError::TooComplex)?;
        for (at, rule) in frame.calls {
            let to = *labels.get(rule as usize).ok_or(LpegError::TooComplex)?;
            self.patch(at, to);
        }
        self.patch(call, labels[0]);
        let end = self.here();
        self.patch(skip, end);
        self.done.insert(id, labels[0]);
        Ok(())
    }
}

/// The end of a chain of jumps starting at `t`.
fn final_target(code: &[Instr], mut t: usize) -> usize {
    for _ in 0..code.len() {
        match code[t] {
            Instr::Jmp(x) => t = x as usize,
            _ => break,
        }
    }
    t
}

/// Peephole pass: jump threading, jumps to returns/ends/fails become those
/// instructions, then calls followed by a return become jumps (tail calls).
fn optimize(code: &mut [Instr]) {
    for i in 0..code.len() {
        let to = |t: u32| final_target(code, t as usize) as u32;
        code[i] = match code[i] {
            Instr::Jmp(t) => {
                let d = to(t);
                match code[d as usize] {
                    ins @ (Instr::Ret | Instr::End | Instr::Fail) => ins,
                    _ => Instr::Jmp(d),
                }
            }
            other => other.map_target(to),
        };
    }
    for i in 1..code.len() {
        if let (Instr::Call(t), Instr::Ret) = (code[i - 1], code[i]) {
            code[i - 1] = Instr::Jmp(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::lpeg::tree::{choice, leaf, literal, repeat, seq, set};

    fn code(t: &Tree) -> Vec<Instr> {
        compile(t, &|k| format!("{k}"), &mut |_| Ok(())).unwrap().code
    }

    #[test]
    fn set_loops_become_spans() {
        let digits = set(Charset::range(b'0', b'9'));
        let c = code(&repeat(&digits, 0).unwrap());
        assert_eq!(c, vec![Instr::Span(0), Instr::End]);
    }

    #[test]
    fn headfail_choices_use_tests_not_backtracking() {
        let t = choice(
            &seq(&literal(b"a"), &repeat(&literal(b"b"), 0).unwrap()).unwrap(),
            &literal(b"xy"),
        )
        .unwrap();
        let c = code(&t);
        assert!(!c.iter().any(|i| matches!(i, Instr::Choice(_))), "{c:?}");
        assert!(matches!(c[0], Instr::TestChar(b'a', _)));
    }

    #[test]
    fn overlapping_choices_backtrack() {
        let t = choice(&literal(b"ab"), &literal(b"ac")).unwrap();
        let c = code(&t);
        assert!(matches!(c[0], Instr::Choice(_)), "{c:?}");
    }

    #[test]
    fn loops_over_a_set_or_more_use_a_span() {
        let escaped = seq(&literal(b"\\"), &leaf(Kind::Any(1))).unwrap();
        let body = choice(&set(Charset::range(b'a', b'z')), &escaped).unwrap();
        let c = code(&repeat(&body, 0).unwrap());
        // The escape needs a backtrack entry ("\\" at the end of the
        // subject fails after consuming), but plain runs are one span.
        assert!(matches!(c[0], Instr::Span(_)), "{c:?}");
        assert!(matches!(c[1], Instr::TestChar(b'\\', _)), "{c:?}");
        assert_eq!(c.len(), 7, "{c:?}");
    }

    #[test]
    fn open_calls_outside_grammars_fail() {
        let e = compile(&leaf(Kind::OpenCall(1)), &|_| "x".into(), &mut |_| Ok(())).unwrap_err();
        assert_eq!(e.to_string(), "rule 'x' used outside a grammar");
    }

    #[test]
    fn memory_hook_can_refuse() {
        let t = repeat(&literal(b"ab"), -100_000).unwrap();
        let e = compile(&t, &|_| String::new(), &mut |n| {
            if n > 1 << 20 {
                Err(LpegError::Lua(mlua::Error::MemoryError("too big".into())))
            } else {
                Ok(())
            }
        });
        assert!(matches!(e, Err(LpegError::Lua(mlua::Error::MemoryError(_)))));
    }
}
