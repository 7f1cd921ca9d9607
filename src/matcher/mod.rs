//! Heka's message matcher: the small boolean language that decides which
//! messages each plugin receives (`message_matcher = "Type == 'nginx' &&
//! Severity < 4"`). Compiled once per plugin, evaluated for every message.
//!
//! The reference is §3 of the Heka inventory: grammar, lexical rules and
//! semantics are Heka's, quirks included; the one extension is comparing
//! `Timestamp` to an RFC 3339 date string.

mod ast;
mod error;
mod eval;
mod lexer;
mod parser;
mod pattern;
mod spec;
mod test_message;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod proptests;

pub use error::{ErrorKind, MatcherError};
pub use spec::Matcher;
#[doc(hidden)]
pub use test_message::test_message;
