//! The compiled form of a matcher: a tree of `&&`/`||` nodes over tests.
//!
//! Everything a test needs at run time is prepared here at compile time:
//! numbers are parsed, regular expressions compiled (or reduced to a prefix,
//! suffix or equality test), RFC 3339 dates turned into nanoseconds. Chains
//! of `&&` or `||` are flattened into one node so that a long expression
//! does not make a deep tree; constant `TRUE`/`FALSE` operands are folded
//! away (tests have no side effects, so this never changes a result).

use super::pattern::Pattern;

/// A relational operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relop {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Relop {
    /// Applies the operator (`false` for unordered values such as NaN,
    /// except `!=`).
    #[inline]
    pub(crate) fn test<T: PartialOrd + ?Sized>(self, left: &T, right: &T) -> bool {
        match self {
            Relop::Eq => left == right,
            Relop::Ne => left != right,
            Relop::Lt => left < right,
            Relop::Le => left <= right,
            Relop::Gt => left > right,
            Relop::Ge => left >= right,
        }
    }
}

/// A string header variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrVar {
    Uuid,
    Type,
    Logger,
    Payload,
    EnvVersion,
    Hostname,
}

/// A numeric header variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumVar {
    Timestamp,
    Severity,
    Pid,
}

/// `Fields[name][fi][ai]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldRef {
    pub(crate) name: Box<str>,
    pub(crate) fi: usize,
    pub(crate) ai: usize,
}

/// A test on a string value.
#[derive(Debug, Clone)]
pub(crate) enum StrTest {
    /// Byte-wise comparison with a string literal.
    Cmp(Relop, Box<[u8]>),
    /// `=~` (negate false) or `!~` (negate true).
    Match { negate: bool, pattern: Pattern },
}

/// A test on a numeric header variable.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NumTest {
    /// Heka's comparison: both sides as `f64`.
    Float(Relop, f64),
    /// `Timestamp` against an RFC 3339 date: exact nanoseconds.
    Nanos(Relop, i64),
}

/// The right-hand side of a `Fields[...]` test.
#[derive(Debug, Clone)]
pub(crate) enum FieldRhs {
    /// A string literal or a regular expression.
    Str(StrTest),
    /// A numeric literal.
    Num(Relop, f64),
    /// `== TRUE` / `== FALSE`.
    Bool(bool),
    /// `== NIL` (eq true) / `!= NIL` (eq false).
    Nil { eq: bool },
}

/// One comparison.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Str(StrVar, StrTest),
    Num(NumVar, NumTest),
    Field(FieldRef, FieldRhs),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Const(bool),
    Test(Box<Test>),
    /// All operands true; evaluated left to right, stopping at the first false.
    And(Box<[Node]>),
    /// Any operand true; evaluated left to right, stopping at the first true.
    Or(Box<[Node]>),
}

impl Node {
    /// `a && b && ...`, flattened and with constants folded.
    pub(crate) fn and(operands: Vec<Node>) -> Node {
        Self::junction(operands, false)
    }

    /// `a || b || ...`, flattened and with constants folded.
    pub(crate) fn or(operands: Vec<Node>) -> Node {
        Self::junction(operands, true)
    }

    /// `is_or` false: `&&`, whose absorbing constant is FALSE; true: `||`,
    /// whose absorbing constant is TRUE.
    fn junction(operands: Vec<Node>, is_or: bool) -> Node {
        let mut kept = Vec::with_capacity(operands.len());
        for node in operands {
            match node {
                Node::Const(b) if b == is_or => return Node::Const(b),
                Node::Const(_) => {}
                Node::And(inner) if !is_or => kept.extend(inner.into_vec()),
                Node::Or(inner) if is_or => kept.extend(inner.into_vec()),
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => Node::Const(!is_or),
            1 => kept.pop().unwrap_or_else(|| unreachable!("length checked")),
            _ if is_or => Node::Or(kept.into_boxed_slice()),
            _ => Node::And(kept.into_boxed_slice()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_node() -> Node {
        Node::Test(Box::new(Test::Num(NumVar::Severity, NumTest::Float(Relop::Eq, 6.0))))
    }

    #[test]
    fn relop_orders_bytes_and_floats() {
        assert!(Relop::Lt.test(b"0.7".as_slice(), b"0.8".as_slice()));
        assert!(Relop::Gt.test(b"b".as_slice(), b"abc".as_slice()));
        assert!(Relop::Le.test(b"".as_slice(), b"".as_slice()));
        assert!(!Relop::Eq.test(&f64::NAN, &f64::NAN));
        assert!(Relop::Ne.test(&f64::NAN, &f64::NAN));
        assert!(Relop::Ge.test(&6.0, &6.0));
    }

    #[test]
    fn constants_fold_and_chains_flatten() {
        assert!(matches!(Node::and(vec![Node::Const(true), Node::Const(true)]), Node::Const(true)));
        assert!(matches!(Node::and(vec![test_node(), Node::Const(false)]), Node::Const(false)));
        assert!(matches!(Node::or(vec![test_node(), Node::Const(true)]), Node::Const(true)));
        assert!(matches!(Node::or(vec![Node::Const(false)]), Node::Const(false)));
        assert!(matches!(Node::and(vec![Node::Const(true), test_node()]), Node::Test(_)));
        let nested = Node::and(vec![test_node(), Node::and(vec![test_node(), test_node()])]);
        match nested {
            Node::And(ops) => assert_eq!(ops.len(), 3),
            other => panic!("not flattened: {other:?}"),
        }
        let mixed = Node::or(vec![test_node(), Node::and(vec![test_node(), test_node()])]);
        match mixed {
            Node::Or(ops) => assert!(matches!(ops[1], Node::And(_))),
            other => panic!("wrong shape: {other:?}"),
        }
    }
}
