//! Pattern trees: what `lpeg.P`, the operators and the capture functions
//! build, before [`compile`](super::compile) turns them into VM code.
//!
//! Trees are immutable and shared (`Rc`), so composing patterns is cheap.
//! Lua values a tree refers to (capture functions, names, constants) live in
//! the owning pattern's value table ("ktable") and are referred to by 1-based
//! index (`key`, 0 = none). Sequences and choices are n-ary and flattened,
//! and every node records its depth so that no recursive walk (analysis,
//! compilation, drop) can run away with the native stack.

use std::rc::Rc;

use super::charset::Charset;
use super::error::{LpegError, Result};
use super::grammar::Grammar;

/// Deepest tree accepted; deeper ones are "pattern too complex".
pub const MAX_DEPTH: u16 = 500;

/// Longest look-behind (LPeg's limit).
pub const MAX_BEHIND: u32 = 255;

/// A shared pattern tree.
pub type Tree = Rc<Node>;

/// One node and facts computed when it was built.
#[derive(Debug)]
pub struct Node {
    pub kind: Kind,
    /// 1 for leaves.
    pub depth: u16,
    /// True when the subtree refers to ktable entries (so shifting keys
    /// must rebuild it).
    pub has_keys: bool,
}

/// The kinds of capture; also tags the entries of the capture list.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum CapKind {
    /// Closes the last open capture (capture list only).
    Close,
    Position,
    Const,
    Backref,
    Arg,
    Simple,
    Table,
    Function,
    Query,
    String,
    Num,
    Subst,
    Fold,
    Group,
    /// An open match-time capture (capture list only).
    Cmt,
    /// Values returned by a match-time capture (capture list only).
    Runtime,
}

/// A node.
#[derive(Debug)]
pub enum Kind {
    True,
    False,
    /// Exactly `n >= 1` bytes.
    Any(u32),
    Char(u8),
    Set(Box<Charset>),
    /// A literal of two or more bytes.
    Str(Rc<[u8]>),
    /// One UTF-8 encoded code point in `lo..=hi`.
    Utf(u32, u32),
    Seq(Vec<Tree>),
    Choice(Vec<Tree>),
    /// `p^0`.
    Rep(Tree),
    /// `p^-n`.
    Opt(u32, Tree),
    Not(Tree),
    And(Tree),
    /// Look-behind over a body of this fixed length.
    Behind(u32, Tree),
    /// `key` is a ktable index (0 = none); `n` is the `Carg` index, the
    /// `/ number`, or the number of `Cc` values.
    Capture {
        kind: CapKind,
        key: u32,
        n: u32,
        body: Tree,
    },
    /// `Cmt(body, ktable[key])`.
    RunTime {
        key: u32,
        body: Tree,
    },
    /// `lpeg.V(ktable[key])`, not yet bound to a grammar.
    OpenCall(u32),
    /// A call to rule `i` of the innermost enclosing grammar.
    Call(u32),
    Grammar(Rc<Grammar>),
}

impl Kind {
    /// Calls `f` on each direct subtree.
    pub fn for_each_child(&self, mut f: impl FnMut(&Tree)) {
        match self {
            Kind::Seq(v) | Kind::Choice(v) => v.iter().for_each(f),
            Kind::Rep(b)
            | Kind::Opt(_, b)
            | Kind::Not(b)
            | Kind::And(b)
            | Kind::Behind(_, b)
            | Kind::Capture { body: b, .. }
            | Kind::RunTime { body: b, .. } => f(b),
            Kind::Grammar(g) => g.rules.iter().for_each(|r| f(&r.body)),
            _ => {}
        }
    }
}

/// Builds a node, computing its depth; fails when it is too deep.
pub fn node(kind: Kind) -> Result<Tree> {
    let mut depth = 0u16;
    let mut has_keys = match &kind {
        Kind::Capture { key, .. } => *key != 0,
        Kind::RunTime { .. } | Kind::OpenCall(_) => true,
        _ => false,
    };
    kind.for_each_child(|c| {
        depth = depth.max(c.depth);
        has_keys |= c.has_keys;
    });
    if depth >= MAX_DEPTH {
        return Err(LpegError::TooComplex);
    }
    Ok(Rc::new(Node { kind, depth: depth + 1, has_keys }))
}

/// A leaf node (cannot fail).
pub fn leaf(kind: Kind) -> Tree {
    Rc::new(Node { has_keys: matches!(kind, Kind::OpenCall(_)), kind, depth: 1 })
}

/// A pattern matching one byte of `cs`, in its simplest form.
pub fn set(cs: Charset) -> Tree {
    if cs.is_empty() {
        leaf(Kind::False)
    } else if cs.is_full() {
        leaf(Kind::Any(1))
    } else if let Some(b) = cs.only() {
        leaf(Kind::Char(b))
    } else {
        leaf(Kind::Set(Box::new(cs)))
    }
}

/// A pattern matching `bytes` literally.
pub fn literal(bytes: &[u8]) -> Tree {
    match bytes {
        [] => leaf(Kind::True),
        [b] => leaf(Kind::Char(*b)),
        _ => leaf(Kind::Str(bytes.into())),
    }
}

/// `lpeg.P(n)`: `n` bytes, or (negative) fewer than `-n` bytes left.
pub fn count(n: i64) -> Result<Tree> {
    let bytes = |n: i64| u32::try_from(n).map_err(|_| LpegError::TooComplex);
    Ok(match n {
        0 => leaf(Kind::True),
        n if n > 0 => leaf(Kind::Any(bytes(n)?)),
        n => node(Kind::Not(leaf(Kind::Any(bytes(n.saturating_neg())?))))?,
    })
}

/// The byte set a pattern matches, when it is a single-byte class.
pub fn charset_of(t: &Node) -> Option<Charset> {
    match &t.kind {
        Kind::Char(b) => Some(Charset::single(*b)),
        Kind::Set(cs) => Some(**cs),
        Kind::Any(1) => Some(Charset::FULL),
        Kind::False => Some(Charset::EMPTY),
        _ => None,
    }
}

fn literal_bytes(t: &Node) -> Option<&[u8]> {
    match &t.kind {
        Kind::Char(b) => Some(std::slice::from_ref(b)),
        Kind::Str(s) => Some(s),
        _ => None,
    }
}

/// Longest literal built by merging adjacent ones in a sequence.
const MERGE_LIMIT: usize = 64;

/// Appends `t` to a flattened sequence, merging short adjacent literals.
fn push_seq(items: &mut Vec<Tree>, t: &Tree) {
    let prev = items.last().and_then(|l| literal_bytes(l));
    if let (Some(prev), Some(next)) = (prev, literal_bytes(t))
        && prev.len() + next.len() <= MERGE_LIMIT
    {
        let merged = literal(&[prev, next].concat());
        if let Some(slot) = items.last_mut() {
            *slot = merged;
        }
        return;
    }
    items.push(t.clone());
}

/// `a * b`.
pub fn seq(a: &Tree, b: &Tree) -> Result<Tree> {
    if matches!(a.kind, Kind::False) || matches!(b.kind, Kind::True) {
        return Ok(a.clone());
    }
    if matches!(a.kind, Kind::True) {
        return Ok(b.clone());
    }
    let mut items = Vec::new();
    for part in [a, b] {
        match &part.kind {
            Kind::Seq(v) => v.iter().for_each(|t| push_seq(&mut items, t)),
            _ => push_seq(&mut items, part),
        }
    }
    if items.len() == 1 {
        return Ok(items.swap_remove(0));
    }
    node(Kind::Seq(items))
}

/// `a + b` (ordered choice).
pub fn choice(a: &Tree, b: &Tree) -> Result<Tree> {
    if let (Some(x), Some(y)) = (charset_of(a), charset_of(b)) {
        return Ok(set(x.union(&y)));
    }
    if matches!(b.kind, Kind::False) || super::analysis::nofail(a, &[]) {
        return Ok(a.clone());
    }
    if matches!(a.kind, Kind::False) {
        return Ok(b.clone());
    }
    let mut items = Vec::new();
    for part in [a, b] {
        match &part.kind {
            Kind::Choice(v) => items.extend(v.iter().cloned()),
            _ => items.push(part.clone()),
        }
    }
    node(Kind::Choice(items))
}

/// `a - b`.
pub fn diff(a: &Tree, b: &Tree) -> Result<Tree> {
    if let (Some(x), Some(y)) = (charset_of(a), charset_of(b)) {
        return Ok(set(x.difference(&y)));
    }
    seq(&node(Kind::Not(b.clone()))?, a)
}

/// `p^n`.
pub fn repeat(p: &Tree, n: i64) -> Result<Tree> {
    if n >= 0 {
        if super::analysis::nullable(p, &[]) {
            return Err(LpegError::EmptyLoopBody);
        }
        let n = usize::try_from(n).map_err(|_| LpegError::TooComplex)?;
        let rep = node(Kind::Rep(p.clone()))?;
        if n == 0 {
            return Ok(rep);
        }
        let mut items = Vec::with_capacity(n + 1);
        for _ in 0..n {
            push_seq(&mut items, p);
        }
        items.push(rep);
        node(Kind::Seq(items))
    } else {
        let n = u32::try_from(n.saturating_neg()).map_err(|_| LpegError::TooComplex)?;
        node(Kind::Opt(n, p.clone()))
    }
}

/// `p` exactly `n` times in a row (`re`'s `p^n`).
pub fn times(p: &Tree, n: usize) -> Result<Tree> {
    match n {
        0 => return Ok(leaf(Kind::True)),
        1 => return Ok(p.clone()),
        _ => {}
    }
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        match &p.kind {
            Kind::Seq(v) => v.iter().for_each(|t| push_seq(&mut items, t)),
            _ => push_seq(&mut items, p),
        }
    }
    if items.len() == 1 {
        return Ok(items.swap_remove(0));
    }
    node(Kind::Seq(items))
}

/// Returns `t` with every ktable key raised by `by`.
pub fn shift_keys(t: &Tree, by: u32) -> Result<Tree> {
    if by == 0 || !t.has_keys {
        return Ok(t.clone());
    }
    let up = |k: u32| if k == 0 { 0 } else { k + by };
    let sh = |c: &Tree| shift_keys(c, by);
    let kind = match &t.kind {
        Kind::Seq(v) => Kind::Seq(v.iter().map(sh).collect::<Result<_>>()?),
        Kind::Choice(v) => Kind::Choice(v.iter().map(sh).collect::<Result<_>>()?),
        Kind::Rep(b) => Kind::Rep(sh(b)?),
        Kind::Opt(n, b) => Kind::Opt(*n, sh(b)?),
        Kind::Not(b) => Kind::Not(sh(b)?),
        Kind::And(b) => Kind::And(sh(b)?),
        Kind::Behind(n, b) => Kind::Behind(*n, sh(b)?),
        Kind::Capture { kind, key, n, body } => {
            Kind::Capture { kind: *kind, key: up(*key), n: *n, body: sh(body)? }
        }
        Kind::RunTime { key, body } => Kind::RunTime { key: up(*key), body: sh(body)? },
        Kind::OpenCall(k) => Kind::OpenCall(up(*k)),
        Kind::Grammar(g) => Kind::Grammar(Rc::new(g.map_bodies(sh)?)),
        _ => return Ok(t.clone()),
    };
    node(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(b: u8) -> Tree {
        leaf(Kind::Char(b))
    }

    #[test]
    fn sequences_flatten_and_merge_literals() {
        let ab = seq(&ch(b'a'), &ch(b'b')).unwrap();
        assert!(matches!(&ab.kind, Kind::Str(s) if &s[..] == b"ab"));
        let x = seq(&ab, &count(2).unwrap()).unwrap();
        let y = seq(&x, &literal(b"cd")).unwrap();
        match &y.kind {
            Kind::Seq(v) => assert_eq!(v.len(), 3),
            k => panic!("unexpected {k:?}"),
        }
        assert_eq!(y.depth, 2);
        assert!(matches!(seq(&leaf(Kind::True), &ab).unwrap().kind, Kind::Str(_)));
    }

    #[test]
    fn choices_of_sets_are_sets() {
        let t = choice(&ch(b'a'), &set(Charset::range(b'0', b'9'))).unwrap();
        match &t.kind {
            Kind::Set(cs) => assert!(cs.contains(b'a') && cs.contains(b'5')),
            k => panic!("unexpected {k:?}"),
        }
        let d = diff(&leaf(Kind::Any(1)), &ch(b'z')).unwrap();
        assert!(matches!(&d.kind, Kind::Set(cs) if !cs.contains(b'z')));
        let nofail = choice(&leaf(Kind::True), &ch(b'a')).unwrap();
        assert!(matches!(nofail.kind, Kind::True));
    }

    #[test]
    fn loops_over_empty_bodies_are_refused() {
        assert!(matches!(repeat(&leaf(Kind::True), 0), Err(LpegError::EmptyLoopBody)));
        assert!(repeat(&leaf(Kind::True), -3).is_ok());
        let r = repeat(&ch(b'a'), 2).unwrap();
        assert!(matches!(&r.kind, Kind::Seq(v) if v.len() == 2));
    }

    #[test]
    fn exact_repetitions_stay_flat() {
        let t = times(&set(Charset::range(b'0', b'9')), 3).unwrap();
        assert!(matches!(&t.kind, Kind::Seq(v) if v.len() == 3));
        assert_eq!(t.depth, 2);
        let lit = times(&literal(b"ab"), 100).unwrap();
        assert!(matches!(&lit.kind, Kind::Seq(v) if v.len() < 10), "literals merge");
        assert!(matches!(times(&ch(b'x'), 0).unwrap().kind, Kind::True));
    }

    #[test]
    fn depth_is_bounded() {
        let mut t = ch(b'a');
        let mut err = None;
        for _ in 0..600 {
            match node(Kind::And(t.clone())) {
                Ok(n) => t = n,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert!(matches!(err, Some(LpegError::TooComplex)));
    }

    #[test]
    fn shifting_rebuilds_only_keyed_paths() {
        let cap =
            node(Kind::Capture { kind: CapKind::Function, key: 1, n: 0, body: ch(b'a') }).unwrap();
        let plain = literal(b"xy");
        let s = seq(&plain, &cap).unwrap();
        let shifted = shift_keys(&s, 3).unwrap();
        match &shifted.kind {
            Kind::Seq(v) => {
                assert!(Rc::ptr_eq(&v[0], &plain));
                assert!(matches!(v[1].kind, Kind::Capture { key: 4, .. }));
            }
            k => panic!("unexpected {k:?}"),
        }
    }
}
