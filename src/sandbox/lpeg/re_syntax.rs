//! The syntax of LPeg's `re` module, parsed by recursive descent straight
//! into pattern trees.
//!
//! Syntax, by decreasing precedence: `( p )`, `'lit'`, `"lit"`, `[class]`,
//! `.`, `%name`, `name`, `<name>`, `{}`, `{ p }`, `{: p :}`, `{:name: p :}`,
//! `{~ p ~}`, `{| p |}`, `=name`; suffixes `?`, `*`, `+`, `^n`, `^+n`,
//! `^-n`, `-> 'lit'`, `-> num`, `-> {}`, `-> name`, `=> name`, `~> name`;
//! prefixes `&` and `!`; sequence; `/`; grammars `name <- p ...`.
//! Spaces and `--` comments may appear between tokens. Syntax errors are
//! "pattern error near '...'"; semantic errors (undefined names, rules used
//! outside a grammar) are reported only once the whole text has parsed.

use mlua::{Lua, Table, Value};

use super::charset::{CLASS_NAMES, Charset, class};
use super::error::{LpegError, Result};
use super::pattern::{Pat, build_grammar, to_pat};
use super::tree::{self, CapKind, Kind};

/// Deepest nesting of parentheses, captures and prefixes.
const MAX_NESTING: u32 = 64;

/// The character class behind a `%name` predefined in `re`.
fn predefined(name: &str) -> Option<Charset> {
    let short = |c: &str| match c {
        "a" => class("alpha"),
        "c" => class("cntrl"),
        "d" => class("digit"),
        "g" => class("graph"),
        "l" => class("lower"),
        "p" => class("punct"),
        "s" => class("space"),
        "u" => class("upper"),
        "w" => class("alnum"),
        "x" => class("xdigit"),
        _ => None,
    };
    match name {
        "nl" => Some(Charset::single(b'\n')),
        n if CLASS_NAMES.contains(&n) => class(n),
        n if n.len() == 1 && n.as_bytes()[0].is_ascii_uppercase() => {
            short(&n.to_ascii_lowercase()).map(|cs| Charset::FULL.difference(&cs))
        }
        n => short(n),
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Parser<'a> {
    lua: &'a Lua,
    src: &'a [u8],
    pos: usize,
    defs: Option<&'a Table>,
    /// The function behind `=name`.
    equal: &'a Value,
    in_grammar: bool,
    depth: u32,
    /// The first semantic error (undefined names, rules used outside a
    /// grammar, ...). Like LPeg's `re`, a syntax error anywhere wins over
    /// these, so they are reported only once the whole text has parsed.
    deferred: Option<LpegError>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s.as_bytes())
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.at(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Spaces and `--` comments.
    fn skip_space(&mut self) {
        loop {
            match self.peek() {
                Some(b) if b == b' ' || (9..=13).contains(&b) => self.pos += 1,
                Some(b'-') if self.at("--") => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn error(&self) -> LpegError {
        let rest = &self.src[self.pos.min(self.src.len())..];
        let near = if rest.len() < 21 {
            String::from_utf8_lossy(rest).into_owned()
        } else {
            format!("{}...", String::from_utf8_lossy(&rest[..21]))
        };
        LpegError::Syntax(near)
    }

    /// Records a semantic error; parsing goes on with an empty pattern.
    fn defer(&mut self, r: Result<Pat>) -> Pat {
        r.unwrap_or_else(|e| {
            self.deferred.get_or_insert(e);
            Pat::new(tree::leaf(Kind::True))
        })
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(LpegError::TooComplex);
        }
        Ok(())
    }

    fn name(&mut self) -> Option<&'a str> {
        let src: &'a [u8] = self.src;
        let start = self.pos;
        if !self.peek().is_some_and(is_name_start) {
            return None;
        }
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        std::str::from_utf8(&src[start..self.pos]).ok()
    }

    fn number(&mut self) -> Option<i64> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let n = std::str::from_utf8(&self.src[start..self.pos]).ok()?.parse().ok();
        if n.is_none() {
            self.pos = start;
        }
        n
    }

    /// True when a definition (`name <-`) starts here.
    fn at_definition(&mut self) -> bool {
        let save = self.pos;
        let yes = self.name().is_some() && {
            self.skip_space();
            self.at("<-")
        };
        self.pos = save;
        yes
    }

    fn at_seq_follow(&mut self) -> bool {
        self.peek().is_none()
            || ["/", ")", "}", ":}", "~}", "|}"].iter().any(|s| self.at(s))
            || self.at_definition()
    }

    fn exp(&mut self) -> Result<Pat> {
        self.enter()?;
        self.skip_space();
        let p = if self.at_definition() { self.grammar()? } else { self.alternative()? };
        self.depth -= 1;
        Ok(p)
    }

    fn grammar(&mut self) -> Result<Pat> {
        let outer = std::mem::replace(&mut self.in_grammar, true);
        let mut rules: Vec<(Value, Pat)> = Vec::new();
        while self.at_definition() {
            let name = self.name().unwrap_or_default();
            self.skip_space();
            self.eat("<-");
            let body = self.exp()?;
            let key = Value::String(self.lua.create_string(name)?);
            if rules.iter().any(|(k, _)| *k == key) {
                self.defer(Err(LpegError::DuplicateRule(name.to_owned())));
            } else {
                rules.push((key, body));
            }
        }
        self.in_grammar = outer;
        Ok(match self.deferred {
            Some(_) => Pat::new(tree::leaf(Kind::True)),
            None => {
                let g = build_grammar(self.lua, rules);
                self.defer(g)
            }
        })
    }

    fn alternative(&mut self) -> Result<Pat> {
        let mut p = self.seq()?;
        while self.eat("/") {
            self.skip_space();
            p = p.choice(self.seq()?)?;
        }
        Ok(p)
    }

    fn seq(&mut self) -> Result<Pat> {
        let mut p = Pat::new(tree::leaf(Kind::True));
        while let Some(q) = self.prefix()? {
            p = p.seq(q)?;
        }
        if !self.at_seq_follow() {
            return Err(self.error());
        }
        Ok(p)
    }

    fn prefix(&mut self) -> Result<Option<Pat>> {
        if self.eat("&") {
            self.skip_space();
            self.enter()?;
            let p = self.prefix()?.ok_or_else(|| self.error())?.and()?;
            self.depth -= 1;
            return Ok(Some(p));
        }
        if self.eat("!") {
            self.skip_space();
            self.enter()?;
            let p = self.prefix()?.ok_or_else(|| self.error())?.not()?;
            self.depth -= 1;
            return Ok(Some(p));
        }
        self.suffix()
    }

    fn def(&self, name: &str) -> Result<Value> {
        let v = match self.defs {
            Some(d) => d.get::<Value>(name)?,
            None => Value::Nil,
        };
        if matches!(v, Value::Nil | Value::Boolean(false)) {
            return Err(LpegError::UndefinedDef(name.to_owned()));
        }
        Ok(v)
    }

    fn suffix(&mut self) -> Result<Option<Pat>> {
        let Some(mut p) = self.primary()? else {
            return Ok(None);
        };
        self.skip_space();
        loop {
            if self.eat("+") {
                p = p.repeat(1, self.lua)?;
            } else if self.eat("*") {
                p = p.repeat(0, self.lua)?;
            } else if self.eat("?") {
                p = p.repeat(-1, self.lua)?;
            } else if self.eat("^") {
                let sign = match self.peek() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => 0,
                };
                if sign != 0 {
                    self.pos += 1;
                }
                let n = self.number().ok_or_else(|| self.error())?;
                self.skip_space();
                p = match sign {
                    0 => p.times(n, self.lua)?,
                    s => p.repeat(s * n, self.lua)?,
                };
            } else if self.eat("->") {
                self.skip_space();
                let r = self.arrow_capture(p)?;
                p = self.defer(r);
            } else if self.eat("=>") {
                self.skip_space();
                let name = self.name().ok_or_else(|| self.error())?;
                let r = self.def(name).and_then(|f| p.match_time(f));
                p = self.defer(r);
            } else if self.eat("~>") {
                self.skip_space();
                let name = self.name().ok_or_else(|| self.error())?;
                let r = self.def(name).and_then(|f| p.capture(CapKind::Fold, Some(f), 0));
                p = self.defer(r);
            } else {
                break;
            }
            self.skip_space();
        }
        Ok(Some(p))
    }

    /// The right side of `p -> ...`: a syntax error (outer) or the capture
    /// (inner, whose error is semantic).
    fn arrow_capture(&mut self, p: Pat) -> Result<Result<Pat>> {
        if let Some(s) = self.string() {
            let s = self.lua.create_string(s)?;
            return Ok(p.capture(CapKind::String, Some(Value::String(s)), 0));
        }
        if let Some(n) = self.number() {
            self.skip_space();
            return Ok(match u32::try_from(n).ok().filter(|&n| n <= i16::MAX as u32) {
                Some(n) => p.capture(CapKind::Num, None, n),
                None => Err(LpegError::arg(1, "div", "invalid number")),
            });
        }
        if self.eat("{}") {
            return Ok(p.capture(CapKind::Table, None, 0));
        }
        let name = self.name().ok_or_else(|| self.error())?;
        Ok(self.def(name).and_then(|v| match v {
            Value::Function(_) => p.capture(CapKind::Function, Some(v), 0),
            Value::Table(_) => p.capture(CapKind::Query, Some(v), 0),
            Value::String(_) => p.capture(CapKind::String, Some(v), 0),
            Value::Integer(n) => match u32::try_from(n).ok().filter(|&n| n <= i16::MAX as u32) {
                Some(n) => p.capture(CapKind::Num, None, n),
                None => Err(LpegError::arg(1, "div", "invalid number")),
            },
            other => Err(LpegError::BadDivisor(other.type_name())),
        }))
    }

    /// A quoted literal (no escapes).
    fn string(&mut self) -> Option<&'a [u8]> {
        let src: &'a [u8] = self.src;
        let quote = self.peek().filter(|q| *q == b'\'' || *q == b'"')?;
        let start = self.pos + 1;
        let len = src[start..].iter().position(|&b| b == quote)?;
        self.pos = start + len + 1;
        Some(&src[start..start + len])
    }

    /// `%name`: a definition or a predefined class.
    fn defined(&mut self) -> Result<Option<Pat>> {
        let save = self.pos;
        if !self.eat("%") {
            return Ok(None);
        }
        let Some(name) = self.name() else {
            self.pos = save;
            return Ok(None);
        };
        let v = match self.defs {
            Some(d) => d.get::<Value>(name)?,
            None => Value::Nil,
        };
        if !matches!(v, Value::Nil | Value::Boolean(false)) {
            let p = to_pat(self.lua, &v, 1, "compile");
            return Ok(Some(self.defer(p)));
        }
        let p = match predefined(name) {
            Some(cs) => Ok(Pat::new(tree::set(cs))),
            None => Err(LpegError::UndefinedClass(name.to_owned())),
        };
        Ok(Some(self.defer(p)))
    }

    /// `[...]`.
    fn class(&mut self) -> Result<Option<Pat>> {
        let save = self.pos;
        if !self.eat("[") {
            return Ok(None);
        }
        let negate = self.eat("^");
        let mut acc: Option<Pat> = None;
        let mut first = true;
        loop {
            match self.peek() {
                None => {
                    self.pos = save;
                    return Ok(None);
                }
                Some(b']') if !first => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            first = false;
            let item = match self.defined()? {
                Some(p) => p,
                None => {
                    let c = self.src[self.pos];
                    self.pos += 1;
                    match (self.peek(), self.src.get(self.pos + 1)) {
                        (Some(b'-'), Some(&hi)) if hi != b']' => {
                            self.pos += 2;
                            Pat::new(tree::set(Charset::range(c, hi)))
                        }
                        _ => Pat::new(tree::literal(&[c])),
                    }
                }
            };
            acc = Some(match acc {
                Some(a) => a.choice(item)?,
                None => item,
            });
        }
        let p = acc.unwrap_or_else(|| Pat::new(tree::leaf(Kind::False)));
        Ok(Some(if negate { Pat::new(tree::leaf(Kind::Any(1))).diff(p)? } else { p }))
    }

    /// A parenthesised or bracketed sub-expression ending with `close`.
    fn enclosed(&mut self, close: &str) -> Result<Option<Pat>> {
        let p = self.exp()?;
        Ok(self.eat(close).then_some(p))
    }

    fn primary(&mut self) -> Result<Option<Pat>> {
        let save = self.pos;
        let p = self.primary_at()?;
        if p.is_none() {
            self.pos = save;
        }
        Ok(p)
    }

    fn primary_at(&mut self) -> Result<Option<Pat>> {
        if self.eat("(") {
            return self.enclosed(")");
        }
        if let Some(s) = self.string() {
            return Ok(Some(Pat::new(tree::literal(s))));
        }
        if let Some(p) = self.class()? {
            return Ok(Some(p));
        }
        if let Some(p) = self.defined()? {
            return Ok(Some(p));
        }
        if self.eat("{:") {
            let save = self.pos;
            let name = match self.name() {
                Some(n) if self.eat(":") => Some(n),
                _ => {
                    self.pos = save;
                    None
                }
            };
            let Some(p) = self.enclosed(":}")? else {
                return Ok(None);
            };
            let name = match name {
                Some(n) => Some(Value::String(self.lua.create_string(n)?)),
                None => None,
            };
            return Ok(Some(p.capture(CapKind::Group, name, 0)?));
        }
        if self.eat("=") {
            let Some(name) = self.name() else {
                return Ok(None);
            };
            let name = Value::String(self.lua.create_string(name)?);
            let back = Pat::empty_capture(CapKind::Backref, vec![name], 0)?;
            return Ok(Some(back.match_time(self.equal.clone())?));
        }
        if self.eat("{}") {
            return Ok(Some(Pat::empty_capture(CapKind::Position, Vec::new(), 0)?));
        }
        for (open, close, kind) in [
            ("{~", "~}", CapKind::Subst),
            ("{|", "|}", CapKind::Table),
            ("{", "}", CapKind::Simple),
        ] {
            if self.eat(open) {
                return match self.enclosed(close)? {
                    Some(p) => Ok(Some(p.capture(kind, None, 0)?)),
                    None => Ok(None),
                };
            }
        }
        if self.eat(".") {
            return Ok(Some(Pat::new(tree::leaf(Kind::Any(1)))));
        }
        if self.eat("<") {
            let Some(name) = self.name() else {
                return Ok(None);
            };
            if !self.eat(">") {
                return Ok(None);
            }
            return Ok(Some(self.nonterminal(name)));
        }
        if let Some(name) = self.name() {
            let after = self.pos;
            self.skip_space();
            if self.at("<-") {
                return Ok(None);
            }
            self.pos = after;
            return Ok(Some(self.nonterminal(name)));
        }
        Ok(None)
    }

    fn nonterminal(&mut self, name: &str) -> Pat {
        let p = if self.in_grammar {
            self.lua
                .create_string(name)
                .map_err(LpegError::from)
                .and_then(|s| Pat::open_call(Value::String(s)))
        } else {
            Err(LpegError::OutsideGrammar(name.to_owned()))
        };
        self.defer(p)
    }
}

/// Compiles `src` (with `defs`) into a pattern.
pub fn compile_str(lua: &Lua, src: &[u8], defs: Option<&Table>, equal: &Value) -> Result<Pat> {
    let mut p =
        Parser { lua, src, pos: 0, defs, equal, in_grammar: false, depth: 0, deferred: None };
    let pat = p.exp()?;
    if p.pos < src.len() {
        return Err(p.error());
    }
    match p.deferred {
        Some(e) => Err(e),
        None => Ok(pat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_classes() {
        assert!(predefined("d").unwrap().contains(b'7'));
        assert!(!predefined("D").unwrap().contains(b'7'));
        assert!(predefined("W").unwrap().contains(b' '));
        assert!(predefined("nl").unwrap().contains(b'\n'));
        assert!(predefined("alpha").unwrap().contains(b'q'));
        assert!(predefined("q").is_none());
    }

    #[test]
    fn syntax_errors_point_at_the_text() {
        let lua = Lua::new();
        let eq = Value::Nil;
        let e = compile_str(&lua, b"'a' -", None, &eq).err().unwrap();
        assert_eq!(e.to_string(), "pattern error near '-'");
        let e = compile_str(&lua, b"'a' )bcdefghijklmnopqrstuvwxyz", None, &eq).err().unwrap();
        assert_eq!(e.to_string(), "pattern error near ')bcdefghijklmnopqrstu...'");
        let deep = "(".repeat(500);
        assert!(compile_str(&lua, deep.as_bytes(), None, &eq).is_err());
    }
}
