//! Recursive-descent parser for Heka's matcher grammar (reference §3.1).
//!
//! ```text
//! spec := or { or }                  juxtaposed expressions: the last one wins
//! or   := and { '||' and }
//! and  := prim { '&&' prim }
//! prim := '(' or ')' | TRUE | FALSE | test
//! test := STRVAR relop STRING | STRVAR (=~|!~) REGEX
//!       | NUMVAR relop NUMBER | Timestamp relop RFC3339-STRING
//!       | FIELD relop (NUMBER|STRING) | FIELD == (TRUE|FALSE)
//!       | FIELD (==|!=) NIL | FIELD (=~|!~) REGEX
//! ```
//!
//! Type rules Heka enforces in its grammar are enforced here too (a string
//! on a numeric header, a regex with `==`, NIL outside a field test are
//! errors). The one extension: `Timestamp` may be compared to an RFC 3339
//! date string, converted to nanoseconds now and compared exactly.

use super::ast::{FieldRef, FieldRhs, Node, NumTest, NumVar, Relop, StrTest, Test};
use super::error::{ErrorKind, MatcherError};
use super::lexer::{Lexer, Tok, Token};
use super::pattern::Pattern;
use crate::message::time::parse_rfc3339;

/// Deepest parenthesis nesting accepted; bounds recursion when parsing and
/// evaluating.
pub(crate) const MAX_DEPTH: usize = 128;

/// Longest piece of source quoted in an error message.
const MAX_QUOTE: usize = 40;

/// Parses and compiles an expression.
pub(crate) fn parse(src: &str) -> Result<Node, MatcherError> {
    let mut lexer = Lexer::new(src);
    let tok = lexer.next_token()?;
    let mut parser = Parser { src, lexer, tok, depth: 0 };
    if parser.tok.tok == Tok::Eof {
        return Err(MatcherError::new(parser.tok.start, ErrorKind::Empty));
    }
    loop {
        let node = parser.or_expr()?;
        if parser.tok.tok == Tok::Eof {
            return Ok(node);
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    /// The current (not yet consumed) token.
    tok: Token,
    depth: usize,
}

impl Parser<'_> {
    /// Consumes the current token and returns it.
    fn bump(&mut self) -> Result<Token, MatcherError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn or_expr(&mut self) -> Result<Node, MatcherError> {
        let mut operands = vec![self.and_expr()?];
        while self.tok.tok == Tok::Or {
            self.bump()?;
            operands.push(self.and_expr()?);
        }
        Ok(Node::or(operands))
    }

    fn and_expr(&mut self) -> Result<Node, MatcherError> {
        let mut operands = vec![self.primary()?];
        while self.tok.tok == Tok::And {
            self.bump()?;
            operands.push(self.primary()?);
        }
        Ok(Node::and(operands))
    }

    fn primary(&mut self) -> Result<Node, MatcherError> {
        let t = self.bump()?;
        let test = match t.tok {
            Tok::LParen => {
                if self.depth == MAX_DEPTH {
                    return Err(MatcherError::new(t.start, ErrorKind::TooDeep(MAX_DEPTH)));
                }
                self.depth += 1;
                let node = self.or_expr()?;
                self.depth -= 1;
                let close = self.bump()?;
                if close.tok != Tok::RParen {
                    return Err(self.expected(&close, "')'"));
                }
                return Ok(node);
            }
            Tok::True => return Ok(Node::Const(true)),
            Tok::False => return Ok(Node::Const(false)),
            Tok::StrVar(var) => Test::Str(var, self.string_test()?),
            Tok::NumVar(var) => Test::Num(var, self.numeric_test(var)?),
            Tok::Field(field) => self.field_test(field)?,
            Tok::Nil => return Err(MatcherError::new(t.start, ErrorKind::MisplacedNil)),
            _ => return Err(self.expected(&t, "a test, '(', TRUE or FALSE")),
        };
        Ok(Node::Test(Box::new(test)))
    }

    /// The operator and literal after a string header variable.
    fn string_test(&mut self) -> Result<StrTest, MatcherError> {
        let op = self.bump()?;
        match op.tok {
            Tok::Rel(rel) => {
                let lit = self.bump()?;
                match lit.tok {
                    Tok::Str(s) => Ok(StrTest::Cmp(rel, s.into_bytes().into_boxed_slice())),
                    Tok::Nil => Err(MatcherError::new(lit.start, ErrorKind::MisplacedNil)),
                    _ => Err(self.expected(&lit, "a quoted string")),
                }
            }
            Tok::Match(negate) => self.regex(negate),
            _ => Err(self.expected(&op, "an operator (==, !=, <, <=, >, >=, =~, !~)")),
        }
    }

    /// The operator and literal after a numeric header variable.
    fn numeric_test(&mut self, var: NumVar) -> Result<NumTest, MatcherError> {
        let op = self.bump()?;
        let Tok::Rel(rel) = op.tok else {
            return Err(self.expected(&op, "a comparison operator (==, !=, <, <=, >, >=)"));
        };
        let lit = self.bump()?;
        match lit.tok {
            Tok::Num(x) => Ok(NumTest::Float(rel, x)),
            Tok::Str(s) if var == NumVar::Timestamp => match parse_rfc3339(&s) {
                Some(ns) => Ok(NumTest::Nanos(rel, ns)),
                None => Err(MatcherError::new(lit.start, ErrorKind::InvalidTimestamp(s))),
            },
            Tok::Nil => Err(MatcherError::new(lit.start, ErrorKind::MisplacedNil)),
            _ if var == NumVar::Timestamp => {
                Err(self.expected(&lit, "a number or an RFC 3339 date string"))
            }
            _ => Err(self.expected(&lit, "a number")),
        }
    }

    /// The operator and literal after `Fields[...]`.
    fn field_test(&mut self, field: FieldRef) -> Result<Test, MatcherError> {
        let op = self.bump()?;
        let rhs = match op.tok {
            Tok::Rel(rel) => {
                let lit = self.bump()?;
                match (lit.tok, rel) {
                    (Tok::Num(x), _) => FieldRhs::Num(rel, x),
                    (Tok::Str(s), _) => {
                        FieldRhs::Str(StrTest::Cmp(rel, s.into_bytes().into_boxed_slice()))
                    }
                    (Tok::Nil, Relop::Eq | Relop::Ne) => FieldRhs::Nil { eq: rel == Relop::Eq },
                    (Tok::Nil, _) => {
                        return Err(MatcherError::new(lit.start, ErrorKind::MisplacedNil));
                    }
                    (Tok::True, Relop::Eq) => FieldRhs::Bool(true),
                    (Tok::False, Relop::Eq) => FieldRhs::Bool(false),
                    (tok, _) => {
                        let expected = match rel {
                            Relop::Eq => "a number, a quoted string, TRUE, FALSE or NIL",
                            Relop::Ne => "a number, a quoted string or NIL",
                            _ => "a number or a quoted string",
                        };
                        let lit = Token { tok, ..lit };
                        return Err(self.expected(&lit, expected));
                    }
                }
            }
            Tok::Match(negate) => FieldRhs::Str(self.regex(negate)?),
            _ => return Err(self.expected(&op, "an operator (==, !=, <, <=, >, >=, =~, !~)")),
        };
        Ok(Test::Field(field, rhs))
    }

    /// The regular expression after `=~` / `!~`.
    fn regex(&mut self, negate: bool) -> Result<StrTest, MatcherError> {
        let lit = self.bump()?;
        let Tok::Regex(src) = &lit.tok else {
            return Err(self.expected(&lit, "a regular expression /.../"));
        };
        let pattern = Pattern::compile(src)
            .map_err(|e| MatcherError::new(lit.start, ErrorKind::InvalidRegex(e.to_string())))?;
        Ok(StrTest::Match { negate, pattern })
    }

    /// "expected X, found Y" with Y quoted from the source.
    fn expected(&self, token: &Token, expected: &'static str) -> MatcherError {
        let found = if token.tok == Tok::Eof {
            "end of expression".to_owned()
        } else {
            let text = &self.src[token.start..token.end];
            match text.char_indices().nth(MAX_QUOTE) {
                Some((cut, _)) => format!("'{}...'", &text[..cut]),
                None => format!("'{text}'"),
            }
        };
        MatcherError::new(token.start, ErrorKind::Expected { expected, found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> MatcherError {
        parse(src).unwrap_err()
    }

    fn expected(src: &str) -> (usize, &'static str, String) {
        let e = err(src);
        match e.kind() {
            ErrorKind::Expected { expected, found } => (e.offset(), *expected, found.clone()),
            other => panic!("{src}: {other:?}"),
        }
    }

    #[test]
    fn empty_expressions() {
        for src in ["", "   ", "\t", "\nTRUE", "\0"] {
            assert_eq!(err(src).kind(), &ErrorKind::Empty, "{src:?}");
        }
    }

    #[test]
    fn type_errors_name_the_token() {
        assert_eq!(expected("Pid == 'test='"), (7, "a number", "''test=''".into()));
        assert_eq!(
            expected("Pid =~ /6/"),
            (4, "a comparison operator (==, !=, <, <=, >, >=)", "'=~'".into())
        );
        assert_eq!(expected("Type == /test/"), (8, "a quoted string", "'/test/'".into()));
        assert_eq!(
            expected("Type =~ 'test'"),
            (8, "a regular expression /.../", "''test''".into())
        );
        assert_eq!(expected("Type == 5"), (8, "a quoted string", "'5'".into()));
        assert_eq!(expected("Pid =~ 6").0, 4);
        assert_eq!(expected("Fields[x] != TRUE").1, "a number, a quoted string or NIL");
        assert_eq!(expected("Fields[x] < FALSE").1, "a number or a quoted string");
        assert_eq!(expected("Fields[x] TRUE").1, "an operator (==, !=, <, <=, >, >=, =~, !~)");
        assert_eq!(expected("Type TRUE").0, 5);
        assert_eq!(
            expected("Severity == 6 &&"),
            (16, "a test, '(', TRUE or FALSE", "end of expression".into())
        );
        assert_eq!(expected("Timestamp == Pid").1, "a number or an RFC 3339 date string");
        assert_eq!(expected("Severity == 'x'").1, "a number");
    }

    #[test]
    fn nil_only_in_field_equality() {
        for (src, offset) in
            [("NIL", 0), ("Type == NIL", 8), ("Fields[test] > NIL", 15), ("Pid != NIL", 7)]
        {
            let e = err(src);
            assert_eq!((e.kind(), e.offset()), (&ErrorKind::MisplacedNil, offset), "{src}");
        }
        assert!(parse("Fields[test] == NIL").is_ok());
        assert!(parse("Fields[test] != NIL").is_ok());
    }

    #[test]
    fn parentheses_must_balance() {
        let src = "Type == 'test' && (Severity==7 || Payload == 'Test Payload'";
        assert_eq!(expected(src), (src.len(), "')'", "end of expression".into()));
        assert_eq!(expected("(TRUE FALSE)"), (6, "')'", "'FALSE'".into()));
        assert_eq!(expected("TRUE)").0, 4);
        assert_eq!(expected("()").2, "')'");
    }

    #[test]
    fn long_tokens_are_shortened_in_messages() {
        let src = format!("Pid == /{}/", "a".repeat(100));
        let (offset, _, found) = expected(&src);
        assert_eq!(offset, 7);
        assert!(found.len() < 50, "{found}");
        assert!(found.ends_with("...'"), "{found}");
    }

    #[test]
    fn invalid_regex_and_timestamps() {
        let e = err(r"Type =~ /\ytest/");
        assert_eq!(e.offset(), 8);
        assert!(matches!(e.kind(), ErrorKind::InvalidRegex(_)), "{e}");
        let e = err("Timestamp > 'yesterday'");
        assert_eq!((e.offset(), e.kind()), (12, &ErrorKind::InvalidTimestamp("yesterday".into())));
        assert!(parse("Timestamp > '2024-01-15T00:00:00Z'").is_ok());
        assert!(parse("Severity > '2024-01-15T00:00:00Z'").is_err());
    }

    #[test]
    fn juxtaposed_expressions_keep_the_last() {
        assert!(matches!(parse("TRUE FALSE").unwrap(), Node::Const(false)));
        assert!(matches!(parse("FALSE TRUE").unwrap(), Node::Const(true)));
        assert!(matches!(parse("TRUE FALSE || TRUE").unwrap(), Node::Const(true)));
        assert!(matches!(parse("FALSE || TRUE FALSE").unwrap(), Node::Const(false)));
        // Earlier expressions must still be valid.
        assert!(parse("Type == 5 TRUE").is_err());
        assert!(parse("Type == 'a' == 'b'").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}TRUE{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(matches!(parse(&ok).unwrap(), Node::Const(true)));
        let deep = format!("{}TRUE{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        let e = err(&deep);
        assert_eq!((e.offset(), e.kind()), (MAX_DEPTH, &ErrorKind::TooDeep(MAX_DEPTH)));
        let huge = "(".repeat(100_000);
        assert_eq!(err(&huge).kind(), &ErrorKind::TooDeep(MAX_DEPTH));
    }
}
