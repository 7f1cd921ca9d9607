//! The instruction set of the matching VM and a compiled program.
//!
//! Jump targets are absolute instruction indexes. "Test" instructions look
//! at the current byte without consuming it and jump when it does not fit.

use super::charset::Charset;
use super::tree::CapKind;

/// One VM instruction (12 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instr {
    /// Consume `n` bytes.
    Any(u32),
    Char(u8),
    /// Consume a byte of `sets[i]`.
    Set(u32),
    /// Consume the literal `lits[off..off + len]`.
    Str(u32, u32),
    /// Consume one UTF-8 code point in `lo..=hi`.
    Utf(u32, u32),
    /// Consume as many bytes of `sets[i]` as there are.
    Span(u32),
    TestAny(u32),
    TestChar(u8, u32),
    TestSet(u32, u32),
    /// Move back `n` bytes (fail if there are fewer).
    Behind(u32),
    /// Push a backtrack entry resuming at the target.
    Choice(u32),
    /// Pop the backtrack entry and jump.
    Commit(u32),
    /// Update the top backtrack entry to the current state and jump.
    PartialCommit(u32),
    /// Pop the backtrack entry, restore its position and captures, jump.
    BackCommit(u32),
    /// Pop an entry, then fail.
    FailTwice,
    Fail,
    Jmp(u32),
    Call(u32),
    Ret,
    /// Open capture `caps[i]`.
    OpenCap(u32),
    /// Capture `caps[i]` over the last `len` bytes.
    FullCap(u32, u32),
    CloseCap,
    /// Close a match-time capture: run its function now.
    CloseRunTime,
    End,
}

impl Instr {
    /// The instruction with its jump target `t` (if it has one) replaced
    /// by `f(t)`.
    pub fn map_target(self, f: impl FnOnce(u32) -> u32) -> Instr {
        match self {
            Instr::Choice(t) => Instr::Choice(f(t)),
            Instr::Commit(t) => Instr::Commit(f(t)),
            Instr::PartialCommit(t) => Instr::PartialCommit(f(t)),
            Instr::BackCommit(t) => Instr::BackCommit(f(t)),
            Instr::Jmp(t) => Instr::Jmp(f(t)),
            Instr::Call(t) => Instr::Call(f(t)),
            Instr::TestAny(t) => Instr::TestAny(f(t)),
            Instr::TestChar(c, t) => Instr::TestChar(c, f(t)),
            Instr::TestSet(s, t) => Instr::TestSet(s, f(t)),
            other => other,
        }
    }
}

/// The static part of a capture instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CapDef {
    pub kind: CapKind,
    /// Ktable index of the capture's Lua value (0 = none).
    pub key: u32,
    /// `Carg` index, `/ number`, or number of `Cc` values.
    pub n: u32,
}

/// A compiled pattern.
#[derive(Debug, Default)]
pub struct Program {
    pub code: Vec<Instr>,
    pub sets: Vec<Charset>,
    pub lits: Vec<u8>,
    pub caps: Vec<CapDef>,
    /// Ktable entries that are the base library's `tonumber`, which a
    /// function capture over one string may apply without calling Lua.
    pub tonumber: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_stay_small() {
        assert!(std::mem::size_of::<Instr>() <= 12);
        let p = Program { code: vec![Instr::End], ..Program::default() };
        assert_eq!(p.code.len(), 1);
    }
}
