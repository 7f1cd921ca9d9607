//! Why a matcher expression does not compile, and at which byte offset.
//!
//! Heka reports every failure as "syntax error: last token ... pos ..."; we
//! keep the "syntax error" wording but say what is wrong, so a config error
//! can be fixed without reading the grammar.

use thiserror::Error;

/// A matcher expression that does not compile.
///
/// Displays as `syntax error at offset 5: unknown variable 'Invalid'`; the
/// offset is a byte offset into the expression text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("syntax error at offset {offset}: {kind}")]
pub struct MatcherError {
    offset: usize,
    kind: ErrorKind,
}

impl MatcherError {
    pub(crate) fn new(offset: usize, kind: ErrorKind) -> Self {
        MatcherError { offset, kind }
    }

    /// Byte offset in the expression where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

/// What is wrong with a matcher expression.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing to evaluate (empty, blank, or a newline first).
    #[error("empty expression")]
    Empty,
    /// A character that starts no token.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// A lone `=`, `!`, `&` or `|`.
    #[error("'{found}' is not an operator (did you mean {suggestion}?)")]
    BadOperator {
        /// The character found.
        found: char,
        /// The operators it may have been meant as.
        suggestion: &'static str,
    },
    /// A `-` before a number: Heka has no negative literals.
    #[error("negative numbers are not supported")]
    NegativeNumber,
    /// A number that does not parse as a finite float (e.g. `1.2.3`).
    #[error("malformed number '{0}'")]
    BadNumber(String),
    /// A word that is not a variable or keyword.
    #[error("unknown variable '{name}'{}", hint.map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default())]
    UnknownVariable {
        /// The word found.
        name: String,
        /// A known name spelled with other letter case.
        hint: Option<&'static str>,
    },
    /// `Fields` not followed by `[name]`.
    #[error("'Fields' must be followed by [name]")]
    FieldsWithoutName,
    /// `Fields[]`.
    #[error("empty field name in Fields[]")]
    EmptyFieldName,
    /// `Fields[name][]` or `Fields[name][0][]`.
    #[error("empty index in Fields[...][]")]
    EmptyIndex,
    /// A field or array index with a non-digit in it.
    #[error("field and array indices must be decimal digits, found {0:?}")]
    BadIndex(char),
    /// A field or array index too large for this machine.
    #[error("index too large")]
    IndexTooLarge,
    /// `Fields[name][0][0][..]`.
    #[error("at most two indices may follow Fields[name]")]
    TooManyIndices,
    /// A `[` of a field reference with no `]`.
    #[error("unterminated Fields[...] reference")]
    UnterminatedField,
    /// A quote with no closing quote before the end of the line.
    #[error("unterminated string")]
    UnterminatedString,
    /// A `/` with no closing `/` before the end of the line.
    #[error("unterminated regular expression")]
    UnterminatedRegex,
    /// A regular expression the regex engine refuses.
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
    /// A string compared to `Timestamp` that is not an RFC 3339 date.
    #[error("'{0}' is not an RFC 3339 timestamp")]
    InvalidTimestamp(String),
    /// `NIL` used outside `Fields[..] == NIL` / `Fields[..] != NIL`.
    #[error("NIL can only be used as Fields[name] == NIL or Fields[name] != NIL")]
    MisplacedNil,
    /// Parentheses nested too deeply.
    #[error("parentheses nested deeper than {0} levels")]
    TooDeep(usize),
    /// A token where the grammar wants something else.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What the grammar allows here.
        expected: &'static str,
        /// What was found, as source text.
        found: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_offset_and_problem() {
        let e =
            MatcherError::new(5, ErrorKind::UnknownVariable { name: "Invalid".into(), hint: None });
        assert_eq!(e.to_string(), "syntax error at offset 5: unknown variable 'Invalid'");
        assert_eq!(e.offset(), 5);
        let e = MatcherError::new(
            0,
            ErrorKind::UnknownVariable { name: "type".into(), hint: Some("Type") },
        );
        assert_eq!(
            e.to_string(),
            "syntax error at offset 0: unknown variable 'type' (did you mean 'Type'?)"
        );
        let e = MatcherError::new(3, ErrorKind::BadOperator { found: '=', suggestion: "'=='" });
        assert_eq!(
            e.to_string(),
            "syntax error at offset 3: '=' is not an operator (did you mean '=='?)"
        );
    }
}
