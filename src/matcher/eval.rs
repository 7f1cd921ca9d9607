//! Evaluating a compiled matcher against a message: the hot path.
//!
//! Runs for every message and every plugin, so nothing here allocates: the
//! UUID text is formatted into a stack buffer, fields are found by comparing
//! names in place, literals were prepared at compile time.
//!
//! Semantics follow Heka (reference §3.3): missing header strings read as
//! "", a missing Severity as 7 and a missing Pid as 0; a test on a missing
//! field or array element is true only for `== NIL`; a field is tested by
//! its own value type (STRING/BYTES as strings, INTEGER/DOUBLE as floats), a
//! literal of the other kind gives false; a BOOL field ignores the operator
//! and compares its value to the literal, anything but `TRUE` counting as
//! FALSE.

use super::ast::{FieldRef, FieldRhs, Node, NumTest, NumVar, StrTest, StrVar, Test};
use crate::message::{Message, Scalar, uuid};

impl Node {
    /// Evaluates the expression, short-circuiting `&&` and `||`.
    pub(crate) fn eval(&self, msg: &Message) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::Test(test) => test.eval(msg),
            Node::And(operands) => operands.iter().all(|n| n.eval(msg)),
            Node::Or(operands) => operands.iter().any(|n| n.eval(msg)),
        }
    }
}

impl Test {
    #[inline]
    fn eval(&self, msg: &Message) -> bool {
        match self {
            Test::Str(var, test) => match var {
                StrVar::Uuid => {
                    let mut buf = [0u8; uuid::TEXT_LEN];
                    test.eval(uuid::format_into(&msg.uuid, &mut buf).as_bytes())
                }
                StrVar::Type => test.eval(&msg.msg_type),
                StrVar::Logger => test.eval(&msg.logger),
                StrVar::Payload => test.eval(&msg.payload),
                StrVar::EnvVersion => test.eval(&msg.env_version),
                StrVar::Hostname => test.eval(&msg.hostname),
            },
            Test::Num(var, test) => test.eval(*var, msg),
            Test::Field(field, rhs) => match lookup(msg, field) {
                Some(value) => rhs.eval(value),
                None => matches!(rhs, FieldRhs::Nil { eq: true }),
            },
        }
    }
}

impl StrTest {
    #[inline]
    fn eval(&self, s: &[u8]) -> bool {
        match self {
            StrTest::Cmp(op, lit) => op.test(s, &lit[..]),
            StrTest::Match { negate, pattern } => pattern.is_match(s) != *negate,
        }
    }
}

impl NumTest {
    #[inline]
    fn eval(self, var: NumVar, msg: &Message) -> bool {
        let value: i64 = match var {
            NumVar::Timestamp => msg.timestamp,
            NumVar::Severity => i64::from(msg.severity()),
            NumVar::Pid => i64::from(msg.pid.unwrap_or(0)),
        };
        match self {
            // Heka converts to float64; so do we (timestamps lose precision).
            NumTest::Float(op, lit) => op.test(&(value as f64), &lit),
            NumTest::Nanos(op, lit) => op.test(&value, &lit),
        }
    }
}

impl FieldRhs {
    #[inline]
    fn eval(&self, value: Scalar<'_>) -> bool {
        match (value, self) {
            (_, FieldRhs::Nil { eq }) => !*eq,
            (Scalar::String(s) | Scalar::Bytes(s), rhs) => match rhs {
                FieldRhs::Str(test) => test.eval(s),
                // Heka compares the keyword's text: a string field holding
                // "TRUE" equals TRUE.
                FieldRhs::Bool(true) => s == b"TRUE",
                FieldRhs::Bool(false) => s == b"FALSE",
                FieldRhs::Num(..) | FieldRhs::Nil { .. } => false,
            },
            (Scalar::Integer(n), FieldRhs::Num(op, lit)) => op.test(&(n as f64), lit),
            (Scalar::Double(d), FieldRhs::Num(op, lit)) => op.test(&d, lit),
            (Scalar::Integer(_) | Scalar::Double(_), _) => false,
            // Heka's quirk: the operator is ignored and any literal other
            // than TRUE is treated as FALSE.
            (Scalar::Bool(b), rhs) => b == matches!(rhs, FieldRhs::Bool(true)),
        }
    }
}

/// Value `ai` of the `fi`-th field with the given name.
#[inline]
fn lookup<'m>(msg: &'m Message, field: &FieldRef) -> Option<Scalar<'m>> {
    msg.field_nth(&field.name, field.fi)?.value.get(field.ai)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::ast::Relop;
    use crate::message::{Field, FieldValue};

    #[test]
    fn bool_fields_ignore_the_operator() {
        let t = Scalar::Bool(true);
        let f = Scalar::Bool(false);
        assert!(FieldRhs::Bool(true).eval(t));
        assert!(!FieldRhs::Bool(false).eval(t));
        assert!(FieldRhs::Bool(false).eval(f));
        let string_lit = FieldRhs::Str(StrTest::Cmp(Relop::Ne, b"x".to_vec().into()));
        assert!(!string_lit.eval(t), "a string literal counts as FALSE");
        assert!(string_lit.eval(f));
        assert!(FieldRhs::Num(Relop::Gt, 5.0).eval(f));
        assert!(FieldRhs::Nil { eq: false }.eval(t));
        assert!(!FieldRhs::Nil { eq: true }.eval(t));
    }

    #[test]
    fn field_types_dispatch() {
        let num = FieldRhs::Num(Relop::Eq, 43.0);
        assert!(!num.eval(Scalar::String(b"43")));
        assert!(num.eval(Scalar::Integer(43)));
        assert!(num.eval(Scalar::Double(43.0)));
        let s = FieldRhs::Str(StrTest::Cmp(Relop::Eq, b"0".to_vec().into()));
        assert!(!s.eval(Scalar::Integer(0)));
        assert!(s.eval(Scalar::Bytes(b"0")));
        assert!(FieldRhs::Bool(true).eval(Scalar::String(b"TRUE")));
        assert!(!FieldRhs::Bool(true).eval(Scalar::Integer(1)));
    }

    #[test]
    fn missing_fields_only_equal_nil() {
        let mut msg = Message::default();
        msg.add_field(Field::new("empty", FieldValue::Integer(vec![])));
        let test = |name: &str, rhs: FieldRhs| {
            Test::Field(FieldRef { name: name.into(), fi: 0, ai: 0 }, rhs).eval(&msg)
        };
        for name in ["missing", "empty"] {
            assert!(test(name, FieldRhs::Nil { eq: true }));
            assert!(!test(name, FieldRhs::Nil { eq: false }));
            let ne = FieldRhs::Str(StrTest::Cmp(Relop::Ne, b"x".to_vec().into()));
            assert!(!test(name, ne));
            assert!(!test(name, FieldRhs::Num(Relop::Ne, 1.0)));
        }
    }
}
