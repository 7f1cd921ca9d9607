//! The capture list the VM records, and how to walk it.
//!
//! While matching, the VM only records where captures open and close (or,
//! for captures over a fixed-length match, one "full" entry); `push` turns
//! the list into Lua values on the stack.

use super::program::Program;
use super::tree::CapKind;

/// `len` of an entry that is still open.
pub const OPEN: u32 = u32::MAX;

/// One capture-list entry (16 bytes).
#[derive(Clone, Copy, Debug)]
pub struct Cap {
    /// Start (0-based), or the position of a `Close`.
    pub pos: u32,
    /// Length of a full capture, [`OPEN`], or 0 for `Close`.
    pub len: u32,
    /// Index into [`Program::caps`]; for `Runtime`, the first value's index.
    pub idx: u32,
    pub kind: CapKind,
    /// Number of values of a `Runtime` entry.
    pub count: u16,
}

impl Cap {
    pub fn is_open(&self) -> bool {
        self.len == OPEN
    }
}

/// The index of the innermost capture still open at the end of `caps`
/// (0 when there is none).
pub fn innermost_open(caps: &[Cap]) -> usize {
    let mut depth = 0u32;
    for (j, c) in caps.iter().enumerate().rev() {
        if c.kind == CapKind::Close {
            depth += 1;
        } else if c.is_open() {
            if depth == 0 {
                return j;
            }
            depth -= 1;
        }
    }
    0
}

/// The index after entry `i` and everything nested in it.
pub fn skip(caps: &[Cap], i: usize) -> usize {
    if !caps[i].is_open() {
        return i + 1;
    }
    let mut depth = 0u32;
    for (j, c) in caps.iter().enumerate().skip(i + 1) {
        if c.kind == CapKind::Close {
            if depth == 0 {
                return j + 1;
            }
            depth -= 1;
        } else if c.is_open() {
            depth += 1;
        }
    }
    caps.len()
}

/// Start, end and next index of entry `i`.
pub fn range(caps: &[Cap], i: usize) -> (u32, u32, usize) {
    let c = caps[i];
    if !c.is_open() {
        return (c.pos, c.pos + c.len, i + 1);
    }
    let next = skip(caps, i);
    let end = caps.get(next - 1).map_or(c.pos, |e| e.pos);
    (c.pos, end, next)
}

/// The name key of entry `c` when it is a named group.
pub fn named_group(prog: &Program, c: &Cap) -> Option<u32> {
    let key = prog.caps[c.idx as usize].key;
    (c.kind == CapKind::Group && key != 0).then_some(key)
}

/// Array and hash sizes for the table of the table capture at entry `i`:
/// one slot per nested capture, one key per named group.
pub fn table_sizes(prog: &Program, caps: &[Cap], i: usize) -> (usize, usize) {
    let (mut narr, mut nrec) = (0, 0);
    if caps[i].is_open() {
        let mut j = i + 1;
        while j < caps.len() && caps[j].kind != CapKind::Close {
            match named_group(prog, &caps[j]) {
                Some(_) => nrec += 1,
                None => narr += 1,
            }
            j = skip(caps, j);
        }
    }
    (narr, nrec)
}

/// Lua's conversion of `s` when it is an optionally signed decimal integer
/// of at most 18 digits, with optional surrounding spaces (so no overflow,
/// and exactly the integer `tonumber` returns).
pub fn decimal_integer(s: &[u8]) -> Option<i64> {
    let is_space = |b: &u8| *b == b' ' || (9..=13).contains(b);
    let start = s.iter().position(|b| !is_space(b))?;
    let end = s.iter().rposition(|b| !is_space(b))? + 1;
    let t = &s[start..end];
    let (neg, digits) = match t.first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_integers_only() {
        assert_eq!(decimal_integer(b"123"), Some(123));
        assert_eq!(decimal_integer(b" -45\t"), Some(-45));
        assert_eq!(decimal_integer(b"+7"), Some(7));
        assert_eq!(decimal_integer(b"999999999999999999"), Some(999_999_999_999_999_999));
        for other in [&b"1234567890123456789"[..], b"1.0", b"0x10", b"1e3", b"", b" ", b"-", b"1 2"]
        {
            assert_eq!(decimal_integer(other), None, "{other:?}");
        }
    }
}
