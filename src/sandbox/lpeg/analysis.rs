//! Static facts about pattern trees, used to check grammars and loops and to
//! choose cheaper VM code: can a pattern match the empty string, can it fail,
//! does it match a fixed number of bytes, which bytes can start a match.
//!
//! A `Call` is answered from the facts of its grammar's rules (`rules`);
//! outside a grammar `rules` is empty and calls cannot occur. Every answer is
//! conservative: when in doubt the fact that forbids an optimisation wins.

use super::charset::Charset;
use super::tree::{Kind, Node};

/// The length a pattern matches.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Len {
    /// Not known yet (only while a grammar's facts are being computed).
    Unknown,
    Fixed(u32),
    Variable,
}

/// Which bytes can start a match: if the pattern succeeds at a position
/// `i` before the end of the subject, the byte at `i` is in `set`, unless
/// `empty`. `at_end` says whether it may succeed at the end of the subject.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct First {
    pub set: Charset,
    pub empty: bool,
    pub at_end: bool,
}

impl First {
    /// No constraint at all (also: may run match-time code).
    pub const ANY: First = First { set: Charset::FULL, empty: true, at_end: true };
    const NONE: First = First { set: Charset::EMPTY, empty: false, at_end: false };
    const EMPTY: First = First { set: Charset::EMPTY, empty: true, at_end: true };

    /// True when a failed test of the current byte against `set` (which
    /// also fails at the end of the subject) proves the pattern fails.
    pub fn testable(&self) -> bool {
        !self.empty && !self.at_end
    }
}

/// The facts about one grammar rule.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RuleInfo {
    pub nullable: bool,
    pub nofail: bool,
    pub len: Len,
    pub first: First,
    pub has_captures: bool,
}

impl RuleInfo {
    /// The starting point of the fixpoint computation: the least of each fact.
    pub const BOTTOM: RuleInfo = RuleInfo {
        nullable: false,
        nofail: false,
        len: Len::Unknown,
        first: First::NONE,
        has_captures: false,
    };

    /// The facts of `body`, given the current facts of all rules.
    pub fn of(body: &Node, rules: &[RuleInfo]) -> RuleInfo {
        RuleInfo {
            nullable: nullable(body, rules),
            nofail: nofail(body, rules),
            len: fixed_len(body, rules),
            first: first(body, rules),
            has_captures: has_captures(body, rules),
        }
    }
}

fn rule(rules: &[RuleInfo], i: u32) -> Option<&RuleInfo> {
    rules.get(i as usize)
}

/// True when the pattern may match the empty string. Open calls count as
/// not nullable; the grammar that binds them checks again.
pub fn nullable(t: &Node, rules: &[RuleInfo]) -> bool {
    match &t.kind {
        Kind::True | Kind::Rep(_) | Kind::Opt(..) | Kind::Not(_) | Kind::And(_) => true,
        Kind::Behind(..) => true,
        Kind::False | Kind::Any(_) | Kind::Char(_) | Kind::Set(_) | Kind::Str(_) => false,
        Kind::Utf(..) | Kind::OpenCall(_) => false,
        Kind::Seq(v) => v.iter().all(|c| nullable(c, rules)),
        Kind::Choice(v) => v.iter().any(|c| nullable(c, rules)),
        Kind::Capture { body, .. } | Kind::RunTime { body, .. } => nullable(body, rules),
        Kind::Call(i) => rule(rules, *i).is_none_or(|r| r.nullable),
        Kind::Grammar(g) => g.info[0].nullable,
    }
}

/// True when the pattern never fails.
pub fn nofail(t: &Node, rules: &[RuleInfo]) -> bool {
    match &t.kind {
        Kind::True | Kind::Rep(_) | Kind::Opt(..) => true,
        Kind::Seq(v) => v.iter().all(|c| nofail(c, rules)),
        Kind::Choice(v) => v.iter().any(|c| nofail(c, rules)),
        Kind::Capture { body, .. } | Kind::And(body) => nofail(body, rules),
        Kind::Call(i) => rule(rules, *i).is_some_and(|r| r.nofail),
        Kind::Grammar(g) => g.info[0].nofail,
        _ => false,
    }
}

/// True when the pattern can fail only while checking its first byte, so a
/// test on that byte can replace a backtrack entry.
pub fn headfail(t: &Node, rules: &[RuleInfo]) -> bool {
    match &t.kind {
        Kind::Char(_) | Kind::Set(_) | Kind::Any(1) | Kind::False => true,
        Kind::Capture { body, .. } | Kind::And(body) => headfail(body, rules),
        Kind::Seq(v) => match v.split_first() {
            Some((h, rest)) => headfail(h, rules) && rest.iter().all(|c| nofail(c, rules)),
            None => false,
        },
        Kind::Choice(v) => v.iter().all(|c| headfail(c, rules)),
        _ => false,
    }
}

fn utf8_len(cp: u32) -> u32 {
    match cp {
        0..=0x7f => 1,
        0x80..=0x7ff => 2,
        0x800..=0xffff => 3,
        _ => 4,
    }
}

/// The number of bytes every match of the pattern consumes.
pub fn fixed_len(t: &Node, rules: &[RuleInfo]) -> Len {
    match &t.kind {
        Kind::Any(n) => Len::Fixed(*n),
        Kind::Char(_) | Kind::Set(_) => Len::Fixed(1),
        Kind::Str(s) => u32::try_from(s.len()).map_or(Len::Variable, Len::Fixed),
        Kind::Utf(lo, hi) if utf8_len(*lo) == utf8_len(*hi) => Len::Fixed(utf8_len(*lo)),
        Kind::True | Kind::False | Kind::Not(_) | Kind::And(_) | Kind::Behind(..) => Len::Fixed(0),
        Kind::Capture { body, .. } => fixed_len(body, rules),
        Kind::Seq(v) => {
            let mut total = 0u32;
            for c in v {
                match fixed_len(c, rules) {
                    Len::Fixed(n) => match total.checked_add(n) {
                        Some(t) => total = t,
                        None => return Len::Variable,
                    },
                    other => return other,
                }
            }
            Len::Fixed(total)
        }
        Kind::Choice(v) => {
            let mut acc: Option<u32> = None;
            let mut unknown = false;
            for c in v {
                match fixed_len(c, rules) {
                    Len::Fixed(n) if acc.is_none_or(|a| a == n) => acc = Some(n),
                    Len::Unknown => unknown = true,
                    _ => return Len::Variable,
                }
            }
            match (unknown, acc) {
                (true, _) => Len::Unknown,
                (false, Some(n)) => Len::Fixed(n),
                (false, None) => Len::Variable,
            }
        }
        Kind::Call(i) => rule(rules, *i).map_or(Len::Variable, |r| r.len),
        Kind::Grammar(g) => g.info[0].len,
        _ => Len::Variable,
    }
}

/// True when the pattern (or a rule it calls) has captures.
pub fn has_captures(t: &Node, rules: &[RuleInfo]) -> bool {
    match &t.kind {
        Kind::Capture { .. } | Kind::RunTime { .. } | Kind::OpenCall(_) => true,
        Kind::Call(i) => rule(rules, *i).is_none_or(|r| r.has_captures),
        Kind::Grammar(g) => g.info[0].has_captures,
        k => {
            let mut any = false;
            k.for_each_child(|c| any = any || has_captures(c, rules));
            any
        }
    }
}

/// The bytes that can start a match (see [`First`]).
pub fn first(t: &Node, rules: &[RuleInfo]) -> First {
    let of = |set: Charset| First { set, empty: false, at_end: false };
    match &t.kind {
        Kind::Any(_) => of(Charset::FULL),
        Kind::Char(b) => of(Charset::single(*b)),
        Kind::Set(cs) => of(**cs),
        Kind::Str(s) => of(s.first().map_or(Charset::EMPTY, |b| Charset::single(*b))),
        Kind::Utf(lo, hi) => of(utf8_lead_bytes(*lo, *hi)),
        Kind::False => First::NONE,
        // `!set` before the end needs a byte outside the set.
        Kind::Not(b) => match super::tree::charset_of(b) {
            Some(cs) => First { set: Charset::FULL.difference(&cs), empty: false, at_end: true },
            None => First::EMPTY,
        },
        Kind::And(b) => first(b, rules),
        Kind::True | Kind::Behind(..) => First::EMPTY,
        Kind::RunTime { .. } | Kind::OpenCall(_) => First::ANY,
        Kind::Rep(b) | Kind::Opt(_, b) => First { set: first(b, rules).set, ..First::EMPTY },
        Kind::Capture { body, .. } => first(body, rules),
        Kind::Seq(v) => {
            let mut acc = First::EMPTY;
            let mut parts = v.iter();
            for c in parts.by_ref() {
                let f = first(c, rules);
                if f == First::ANY {
                    return First::ANY;
                }
                acc.set = acc.set.union(&f.set);
                acc.at_end &= f.at_end;
                if !f.empty {
                    acc.empty = false;
                    break;
                }
            }
            // Matching at the end needs every later part to match there too.
            if acc.at_end {
                acc.at_end = parts.all(|c| first(c, rules).at_end);
            }
            acc
        }
        Kind::Choice(v) => v.iter().fold(First::NONE, |acc, c| {
            let f = first(c, rules);
            First {
                set: acc.set.union(&f.set),
                empty: acc.empty || f.empty,
                at_end: acc.at_end || f.at_end,
            }
        }),
        Kind::Call(i) => rule(rules, *i).map_or(First::ANY, |r| r.first),
        Kind::Grammar(g) => g.info[0].first,
    }
}

/// The lead bytes of UTF-8 encodings of code points in `lo..=hi`.
fn utf8_lead_bytes(lo: u32, hi: u32) -> Charset {
    let lead = |cp: u32| -> u8 {
        let byte = match utf8_len(cp) {
            1 => cp,
            2 => 0xc0 | (cp >> 6),
            3 => 0xe0 | (cp >> 12),
            _ => 0xf0 | (cp >> 18),
        };
        u8::try_from(byte).unwrap_or(0xff)
    };
    Charset::range(lead(lo), lead(hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::lpeg::tree::{self, count, leaf, literal, node, repeat, seq, set};

    #[test]
    fn basic_facts() {
        let a = literal(b"a");
        let ab = literal(b"ab");
        let star = repeat(&a, 0).unwrap();
        assert!(nullable(&star, &[]) && nofail(&star, &[]));
        assert!(!nullable(&ab, &[]) && !nofail(&ab, &[]));
        assert!(headfail(&a, &[]) && !headfail(&ab, &[]));
        let s = seq(&a, &star).unwrap();
        assert!(headfail(&s, &[]));
        assert_eq!(fixed_len(&ab, &[]), Len::Fixed(2));
        assert_eq!(fixed_len(&s, &[]), Len::Variable);
        assert_eq!(fixed_len(&count(-3).unwrap(), &[]), Len::Fixed(0));
        let f = first(&s, &[]);
        assert!(f.testable() && f.set.contains(b'a') && !f.set.contains(b'b'));
        let eos = count(-1).unwrap();
        let end_or_x = first(&tree::choice(&literal(b"x"), &eos).unwrap(), &[]);
        assert!(!end_or_x.empty && end_or_x.at_end && !end_or_x.testable());
        assert!(end_or_x.set.contains(b'x') && !end_or_x.set.contains(b'y'));
    }

    #[test]
    fn first_of_sequences_with_predicates() {
        let not_a = node(Kind::Not(literal(b"a"))).unwrap();
        let digits = set(Charset::range(b'0', b'9'));
        let s = seq(&not_a, &digits).unwrap();
        let f = first(&s, &[]);
        assert!(f.testable() && f.set.contains(b'5') && !f.set.contains(b'a'));
        let rt = node(Kind::RunTime { key: 1, body: leaf(Kind::True) }).unwrap();
        assert_eq!(first(&seq(&rt, &digits).unwrap(), &[]), First::ANY);
    }

    #[test]
    fn utf8_ranges() {
        let t = leaf(Kind::Utf(0x410, 0x44f));
        assert_eq!(fixed_len(&t, &[]), Len::Fixed(2));
        assert!(first(&t, &[]).set.contains(0xd0));
        assert_eq!(fixed_len(&leaf(Kind::Utf(0, 0x10ffff)), &[]), Len::Variable);
    }
}
