//! `Matcher`: a compiled matcher expression (Heka's `MatcherSpecification`),
//! shared by every runner of a plugin.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::ast::Node;
use super::error::MatcherError;
use super::parser;
use crate::message::Message;

/// A compiled message matcher. Cloning is cheap (the compiled form is
/// shared); it is `Send + Sync`.
///
/// ```
/// use sandpiper::matcher::Matcher;
/// use sandpiper::message::Message;
///
/// let m = Matcher::new("Type == 'nginx' && Severity < 4").unwrap();
/// let mut msg = Message::new();
/// msg.msg_type = b"nginx".to_vec();
/// msg.severity = Some(3);
/// assert!(m.matches(&msg));
/// ```
#[derive(Clone)]
pub struct Matcher {
    inner: Arc<Compiled>,
}

struct Compiled {
    source: Box<str>,
    root: Node,
}

impl Matcher {
    /// Compiles an expression.
    pub fn new(expr: &str) -> Result<Matcher, MatcherError> {
        let root = parser::parse(expr)?;
        Ok(Matcher { inner: Arc::new(Compiled { source: expr.into(), root }) })
    }

    /// True when the message matches. Does not allocate.
    #[inline]
    pub fn matches(&self, msg: &Message) -> bool {
        self.inner.root.eval(msg)
    }

    /// True when the expression matches every message (it is `TRUE`, or
    /// reduces to it), so callers may skip evaluating it.
    pub fn is_match_all(&self) -> bool {
        matches!(self.inner.root, Node::Const(true))
    }

    /// The expression text, as given.
    pub fn as_str(&self) -> &str {
        &self.inner.source
    }
}

impl FromStr for Matcher {
    type Err = MatcherError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Matcher::new(s)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Matcher").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Matcher>();
        let m = Matcher::new("Type =~ /x+/").unwrap();
        let c = m.clone();
        assert!(Arc::ptr_eq(&m.inner, &c.inner));
    }

    #[test]
    fn text_round_trips() {
        let src = "Type == 'TEST'  &&  Severity<7";
        let m: Matcher = src.parse().unwrap();
        assert_eq!(m.as_str(), src);
        assert_eq!(m.to_string(), src);
        assert_eq!(format!("{m:?}"), format!("Matcher({src:?})"));
        let e = "Invalid == 'bogus'".parse::<Matcher>().unwrap_err();
        assert_eq!(e.to_string(), "syntax error at offset 0: unknown variable 'Invalid'");
        let e = Matcher::new("TRUE && Invalid").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at offset 8: unknown variable 'Invalid'");
    }

    #[test]
    fn match_all_only_when_always_true() {
        for src in ["TRUE", " TRUE ", "(TRUE)", "TRUE || Type == 'x'", "FALSE TRUE", "TRUE\nFALSE"]
        {
            assert!(Matcher::new(src).unwrap().is_match_all(), "{src}");
        }
        for src in ["FALSE", "Type == 'x'", "TRUE && Type == 'x'", "TRUE FALSE"] {
            assert!(!Matcher::new(src).unwrap().is_match_all(), "{src}");
        }
    }

    #[test]
    fn threads_share_one_matcher() {
        let m = Matcher::new("Severity < 4").unwrap();
        let handles: Vec<_> = (0..4)
            .map(|sev| {
                let m = m.clone();
                std::thread::spawn(move || {
                    let msg = Message { severity: Some(sev * 2), ..Message::default() };
                    m.matches(&msg)
                })
            })
            .collect();
        let got: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(got, [true, true, false, false]);
    }
}
