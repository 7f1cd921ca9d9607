//! Splits a matcher expression into tokens (reference §3.2).
//!
//! - Whitespace is space and tab; a newline (or NUL) ends the expression,
//!   anything after it is ignored, as in Heka.
//! - Words are ASCII letters; each must be a known variable or keyword.
//! - `Fields[name][fi][ai]` is one token: the name is anything up to the
//!   first `]`, the optional indices are decimal digits.
//! - Numbers start with a digit or `.` and run over `[0-9.e+-]`; there is no
//!   leading minus.
//! - Strings are single- or double-quoted; `\<quote>` is the quote, any
//!   other `\x` stays as the two characters.
//! - Regular expressions are `/.../`; `\/` is `/`, other escapes stay.
//!
//! Heka turned a lexical error after a complete expression into a silent
//! end of input; here every lexical error is reported.

use super::ast::{FieldRef, NumVar, Relop, StrVar};
use super::error::{ErrorKind, MatcherError};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Rel(Relop),
    /// `=~` (false) or `!~` (true).
    Match(bool),
    StrVar(StrVar),
    NumVar(NumVar),
    Field(FieldRef),
    True,
    False,
    Nil,
    Str(String),
    Num(f64),
    /// Regex source with `\/` already turned into `/`.
    Regex(String),
    Eof,
}

/// A token and where it is in the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Known words and what they are.
const WORDS: [(&str, Tok); 12] = [
    ("Uuid", Tok::StrVar(StrVar::Uuid)),
    ("Type", Tok::StrVar(StrVar::Type)),
    ("Logger", Tok::StrVar(StrVar::Logger)),
    ("Payload", Tok::StrVar(StrVar::Payload)),
    ("EnvVersion", Tok::StrVar(StrVar::EnvVersion)),
    ("Hostname", Tok::StrVar(StrVar::Hostname)),
    ("Timestamp", Tok::NumVar(NumVar::Timestamp)),
    ("Severity", Tok::NumVar(NumVar::Severity)),
    ("Pid", Tok::NumVar(NumVar::Pid)),
    ("TRUE", Tok::True),
    ("FALSE", Tok::False),
    ("NIL", Tok::Nil),
];

/// The word introducing a field reference.
const FIELDS: &str = "Fields";

/// Hands out tokens one at a time.
pub(crate) struct Lexer<'a> {
    /// The source up to the first newline or NUL.
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let end = src.find(['\n', '\0']).unwrap_or(src.len());
        Lexer { src: &src[..end], pos: 0 }
    }

    /// The next token; `Eof` for ever once the end is reached.
    pub(crate) fn next_token(&mut self) -> Result<Token, MatcherError> {
        let bytes = self.src.as_bytes();
        while matches!(bytes.get(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = bytes.get(start) else {
            return Ok(Token { tok: Tok::Eof, start, end: start });
        };
        let next = bytes.get(start + 1).copied();
        let (tok, len) = match (c, next) {
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            (b'=', Some(b'=')) => (Tok::Rel(Relop::Eq), 2),
            (b'=', Some(b'~')) => (Tok::Match(false), 2),
            (b'!', Some(b'=')) => (Tok::Rel(Relop::Ne), 2),
            (b'!', Some(b'~')) => (Tok::Match(true), 2),
            (b'>', Some(b'=')) => (Tok::Rel(Relop::Ge), 2),
            (b'>', _) => (Tok::Rel(Relop::Gt), 1),
            (b'<', Some(b'=')) => (Tok::Rel(Relop::Le), 2),
            (b'<', _) => (Tok::Rel(Relop::Lt), 1),
            (b'&', Some(b'&')) => (Tok::And, 2),
            (b'|', Some(b'|')) => (Tok::Or, 2),
            (b'=' | b'!' | b'&' | b'|', _) => {
                let suggestion = match c {
                    b'=' => "'==' or '=~'",
                    b'!' => "'!=' or '!~'",
                    b'&' => "'&&'",
                    _ => "'||'",
                };
                let kind = ErrorKind::BadOperator { found: char::from(c), suggestion };
                return Err(MatcherError::new(start, kind));
            }
            (b'\'' | b'"', _) => {
                let (text, end) = self.quoted(start, char::from(c))?;
                return self.token(Tok::Str(text), start, end);
            }
            (b'/', _) => {
                let (text, end) = self.quoted(start, '/')?;
                return self.token(Tok::Regex(text), start, end);
            }
            (b'0'..=b'9' | b'.', _) => return self.number(start),
            (b'-', Some(b'0'..=b'9' | b'.')) => {
                return Err(MatcherError::new(start, ErrorKind::NegativeNumber));
            }
            (c, _) if c.is_ascii_alphabetic() => return self.word(start),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(MatcherError::new(start, ErrorKind::UnexpectedChar(ch)));
            }
        };
        self.pos = start + len;
        Ok(Token { tok, start, end: self.pos })
    }

    fn token(&mut self, tok: Tok, start: usize, end: usize) -> Result<Token, MatcherError> {
        self.pos = end;
        Ok(Token { tok, start, end })
    }

    /// The text of a string (`'`/`"`) or regex (`/`) literal starting at
    /// `start`, and the offset just past its closing quote.
    fn quoted(&self, start: usize, quote: char) -> Result<(String, usize), MatcherError> {
        let body = start + 1;
        let mut out = String::new();
        let mut chars = self.src[body..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                return Ok((out, body + i + 1));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, e)) if e == quote => out.push(quote),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => break,
            }
        }
        let kind =
            if quote == '/' { ErrorKind::UnterminatedRegex } else { ErrorKind::UnterminatedString };
        Err(MatcherError::new(start, kind))
    }

    fn number(&mut self, start: usize) -> Result<Token, MatcherError> {
        let text = scan(self.src, start, |b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'+' | b'-'));
        let end = start + text.len();
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => self.token(Tok::Num(x), start, end),
            _ => Err(MatcherError::new(start, ErrorKind::BadNumber(text.to_owned()))),
        }
    }

    fn word(&mut self, start: usize) -> Result<Token, MatcherError> {
        let word = scan(self.src, start, |b| b.is_ascii_alphabetic());
        let end = start + word.len();
        if word == FIELDS {
            return self.field(start, end);
        }
        if let Some((_, tok)) = WORDS.iter().find(|(w, _)| *w == word) {
            return self.token(tok.clone(), start, end);
        }
        let hint =
            WORDS.iter().map(|(w, _)| *w).chain([FIELDS]).find(|w| w.eq_ignore_ascii_case(word));
        let kind = ErrorKind::UnknownVariable { name: word.to_owned(), hint };
        Err(MatcherError::new(start, kind))
    }

    /// `[name]`, then up to two `[digits]`, after the word `Fields`.
    fn field(&mut self, start: usize, mut pos: usize) -> Result<Token, MatcherError> {
        let bytes = self.src.as_bytes();
        if bytes.get(pos) != Some(&b'[') {
            return Err(MatcherError::new(pos, ErrorKind::FieldsWithoutName));
        }
        let Some(len) = self.src[pos + 1..].find(']') else {
            return Err(MatcherError::new(pos, ErrorKind::UnterminatedField));
        };
        if len == 0 {
            return Err(MatcherError::new(pos, ErrorKind::EmptyFieldName));
        }
        let name = &self.src[pos + 1..pos + 1 + len];
        pos += len + 2;
        let mut indices = [0usize; 2];
        for index in &mut indices {
            if bytes.get(pos) != Some(&b'[') {
                break;
            }
            let digits = scan(self.src, pos + 1, |b| b.is_ascii_digit());
            let close = pos + 1 + digits.len();
            match self.src[close..].chars().next() {
                None => return Err(MatcherError::new(pos, ErrorKind::UnterminatedField)),
                Some(']') => {}
                Some(c) => return Err(MatcherError::new(close, ErrorKind::BadIndex(c))),
            }
            if digits.is_empty() {
                return Err(MatcherError::new(pos, ErrorKind::EmptyIndex));
            }
            *index =
                digits.parse().map_err(|_| MatcherError::new(pos + 1, ErrorKind::IndexTooLarge))?;
            pos = close + 1;
        }
        if bytes.get(pos) == Some(&b'[') {
            return Err(MatcherError::new(pos, ErrorKind::TooManyIndices));
        }
        let field = FieldRef { name: name.into(), fi: indices[0], ai: indices[1] };
        self.token(Tok::Field(field), start, pos)
    }
}

/// The run of bytes from `start` satisfying `pred` (ASCII only, so the
/// result is on char boundaries).
fn scan(src: &str, start: usize, pred: impl Fn(u8) -> bool) -> &str {
    let len = src.as_bytes()[start..].iter().take_while(|&&b| pred(b)).count();
    &src[start..start + len]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Result<Vec<Tok>, MatcherError> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            if t.tok == Tok::Eof {
                return Ok(out);
            }
            out.push(t.tok);
        }
    }

    fn err(src: &str) -> (usize, ErrorKind) {
        let e = lex(src).unwrap_err();
        (e.offset(), e.kind().clone())
    }

    fn field(name: &str, fi: usize, ai: usize) -> Tok {
        Tok::Field(FieldRef { name: name.into(), fi, ai })
    }

    #[test]
    fn operators_and_words() {
        let toks = lex("( ) && || == != > >= < <= =~ !~ Type Pid TRUE FALSE NIL").unwrap();
        assert_eq!(
            toks,
            vec![
                Tok::LParen,
                Tok::RParen,
                Tok::And,
                Tok::Or,
                Tok::Rel(Relop::Eq),
                Tok::Rel(Relop::Ne),
                Tok::Rel(Relop::Gt),
                Tok::Rel(Relop::Ge),
                Tok::Rel(Relop::Lt),
                Tok::Rel(Relop::Le),
                Tok::Match(false),
                Tok::Match(true),
                Tok::StrVar(StrVar::Type),
                Tok::NumVar(NumVar::Pid),
                Tok::True,
                Tok::False,
                Tok::Nil,
            ]
        );
        assert_eq!(lex("Severity>=6").unwrap().len(), 3);
        assert_eq!(lex("Type=='x'&&Pid<2").unwrap().len(), 7);
    }

    #[test]
    fn token_spans_are_byte_offsets() {
        let mut lexer = Lexer::new("é");
        assert!(lexer.next_token().is_err());
        let mut lexer = Lexer::new("  Type\t== 'é'");
        let t = lexer.next_token().unwrap();
        assert_eq!((t.start, t.end), (2, 6));
        let t = lexer.next_token().unwrap();
        assert_eq!((t.start, t.end), (7, 9));
        let t = lexer.next_token().unwrap();
        assert_eq!((t.start, t.end, t.tok), (10, 14, Tok::Str("é".into())));
        assert_eq!(lexer.next_token().unwrap().tok, Tok::Eof);
        assert_eq!(lexer.next_token().unwrap().tok, Tok::Eof);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(lex(r#"'te\'st'"#).unwrap(), vec![Tok::Str("te'st".into())]);
        assert_eq!(lex(r#""te\"st""#).unwrap(), vec![Tok::Str("te\"st".into())]);
        assert_eq!(lex(r#"'te\"st'"#).unwrap(), vec![Tok::Str(r#"te\"st"#.into())]);
        assert_eq!(lex(r"'a\nb'").unwrap(), vec![Tok::Str(r"a\nb".into())]);
        assert_eq!(lex(r"'a\\'").unwrap(), vec![Tok::Str(r"a\\".into())]);
        assert_eq!(lex(r"'a\\\''").unwrap(), vec![Tok::Str(r"a\\'".into())]);
        assert_eq!(lex(r#"'te"st'"#).unwrap(), vec![Tok::Str("te\"st".into())]);
        assert_eq!(lex("''").unwrap(), vec![Tok::Str(String::new())]);
        assert_eq!(err("'test\""), (0, ErrorKind::UnterminatedString));
        assert_eq!(
            err(r"x == 'a\'"),
            (0, ErrorKind::UnknownVariable { name: "x".into(), hint: None })
        );
        assert_eq!(err(r"Type == 'a\'"), (8, ErrorKind::UnterminatedString));
    }

    #[test]
    fn regex_escapes() {
        assert_eq!(lex(r"/a\/b/").unwrap(), vec![Tok::Regex("a/b".into())]);
        assert_eq!(lex(r"/a\.b\d/").unwrap(), vec![Tok::Regex(r"a\.b\d".into())]);
        assert_eq!(lex(r"/\\/").unwrap(), vec![Tok::Regex(r"\\".into())]);
        assert_eq!(err("/test"), (0, ErrorKind::UnterminatedRegex));
        assert_eq!(err(r"/test\/"), (0, ErrorKind::UnterminatedRegex));
    }

    #[test]
    fn numbers() {
        assert_eq!(
            lex("6 99.9 .5 1e3 2.5e-1 7.").unwrap(),
            [6.0, 99.9, 0.5, 1e3, 0.25, 7.0].map(Tok::Num)
        );
        assert_eq!(err("1.2.3"), (0, ErrorKind::BadNumber("1.2.3".into())));
        assert_eq!(err("Severity > 6-"), (11, ErrorKind::BadNumber("6-".into())));
        assert_eq!(err("1e400"), (0, ErrorKind::BadNumber("1e400".into())));
        assert_eq!(err("Severity > -1"), (11, ErrorKind::NegativeNumber));
    }

    #[test]
    fn fields() {
        assert_eq!(lex("Fields[foo]").unwrap(), vec![field("foo", 0, 0)]);
        assert_eq!(lex("Fields[foo][1]").unwrap(), vec![field("foo", 1, 0)]);
        assert_eq!(lex("Fields[a b.c'd[][007][12]").unwrap(), vec![field("a b.c'd[", 7, 12)]);
        assert_eq!(lex("Fields[é]==").unwrap(), vec![field("é", 0, 0), Tok::Rel(Relop::Eq)]);
        assert_eq!(err("Fields"), (6, ErrorKind::FieldsWithoutName));
        assert_eq!(err("Fields [x]"), (6, ErrorKind::FieldsWithoutName));
        assert_eq!(err("Fields[]"), (6, ErrorKind::EmptyFieldName));
        assert_eq!(err("Fields[test][]"), (12, ErrorKind::EmptyIndex));
        assert_eq!(err("Fields[test][a]"), (13, ErrorKind::BadIndex('a')));
        assert_eq!(err("Fields[test][0][]"), (15, ErrorKind::EmptyIndex));
        assert_eq!(err("Fields[test][0][a]"), (16, ErrorKind::BadIndex('a')));
        assert_eq!(err("Fields[test][0][0][]"), (18, ErrorKind::TooManyIndices));
        assert_eq!(err("Fields[test][xxxx"), (13, ErrorKind::BadIndex('x')));
        assert_eq!(err("Fields[test][12"), (12, ErrorKind::UnterminatedField));
        assert_eq!(err("Fields[test"), (6, ErrorKind::UnterminatedField));
        assert_eq!(err("Fields[0][99999999999999999999999]"), (10, ErrorKind::IndexTooLarge));
    }

    #[test]
    fn words_must_be_known() {
        assert_eq!(
            err("bogus"),
            (0, ErrorKind::UnknownVariable { name: "bogus".into(), hint: None })
        );
        assert_eq!(
            err("type"),
            (0, ErrorKind::UnknownVariable { name: "type".into(), hint: Some("Type") })
        );
        assert_eq!(
            err("fields"),
            (0, ErrorKind::UnknownVariable { name: "fields".into(), hint: Some("Fields") })
        );
        assert_eq!(
            err("TRUEFALSE"),
            (0, ErrorKind::UnknownVariable { name: "TRUEFALSE".into(), hint: None })
        );
    }

    #[test]
    fn bad_characters_and_operators() {
        assert_eq!(
            err("Type = 'x'"),
            (5, ErrorKind::BadOperator { found: '=', suggestion: "'==' or '=~'" })
        );
        assert_eq!(
            err("TRUE & TRUE"),
            (5, ErrorKind::BadOperator { found: '&', suggestion: "'&&'" })
        );
        assert_eq!(
            err("TRUE | TRUE"),
            (5, ErrorKind::BadOperator { found: '|', suggestion: "'||'" })
        );
        assert_eq!(
            err("!TRUE"),
            (0, ErrorKind::BadOperator { found: '!', suggestion: "'!=' or '!~'" })
        );
        assert_eq!(err("TRUE\r"), (4, ErrorKind::UnexpectedChar('\r')));
        assert_eq!(err("  ü"), (2, ErrorKind::UnexpectedChar('ü')));
    }

    #[test]
    fn newline_or_nul_ends_the_expression() {
        assert_eq!(lex("TRUE\nFALSE").unwrap(), vec![Tok::True]);
        assert_eq!(lex("TRUE\0FALSE").unwrap(), vec![Tok::True]);
        assert_eq!(lex("TRUE\n'unterminated").unwrap(), vec![Tok::True]);
        assert_eq!(err("Type == 'a\nb'"), (8, ErrorKind::UnterminatedString));
        assert_eq!(err("Type =~ /a\nb/"), (8, ErrorKind::UnterminatedRegex));
        assert_eq!(err("Fields[a\n]"), (6, ErrorKind::UnterminatedField));
    }
}
