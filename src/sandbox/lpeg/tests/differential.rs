//! Differential check of the compiler's optimisations: random patterns are
//! compiled twice, optimised and as the textbook translation, and both
//! programs must give the same end position and capture values on random
//! subjects.

use mlua::{Function, Lua};
use proptest::prelude::*;

use super::state;
use crate::sandbox::lpeg::charset::Charset;
use crate::sandbox::lpeg::compile::{compile, compile_naive};
use crate::sandbox::lpeg::grammar::{Grammar, Rule, grammar_node};
use crate::sandbox::lpeg::pattern::push_with_program;
use crate::sandbox::lpeg::program::Program;
use crate::sandbox::lpeg::tree::{self, CapKind, Kind, Tree};

/// A pattern to build.
#[derive(Debug, Clone)]
pub(super) enum Spec {
    Lit(String),
    Set(String),
    Any(u32),
    True,
    False,
    Seq(Box<Spec>, Box<Spec>),
    Choice(Box<Spec>, Box<Spec>),
    Rep(Box<Spec>, i64),
    Not(Box<Spec>),
    And(Box<Spec>),
    Capture(Box<Spec>),
    Position,
    /// `lpeg.P{ p + 1 * lpeg.V(1) }`.
    Search(Box<Spec>),
}

pub(super) fn spec() -> impl Strategy<Value = Spec> {
    let leaf = prop_oneof![
        "[abc]{0,3}".prop_map(Spec::Lit),
        "[abcd]{1,3}".prop_map(Spec::Set),
        (1u32..3).prop_map(Spec::Any),
        Just(Spec::True),
        Just(Spec::False),
        Just(Spec::Position),
    ];
    leaf.prop_recursive(6, 64, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Spec::Seq(a.into(), b.into())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Spec::Choice(a.into(), b.into())),
            (inner.clone(), prop_oneof![Just(0i64), Just(1), Just(-1), Just(-2)])
                .prop_map(|(a, n)| Spec::Rep(a.into(), n)),
            inner.clone().prop_map(|a| Spec::Not(a.into())),
            inner.clone().prop_map(|a| Spec::And(a.into())),
            inner.clone().prop_map(|a| Spec::Capture(a.into())),
            inner.prop_map(|a| Spec::Search(a.into())),
        ]
    })
}

/// The tree for `s`, or `None` when LPeg would refuse it (empty loops).
pub(super) fn build(s: &Spec) -> Option<Tree> {
    Some(match s {
        Spec::Lit(l) => tree::literal(l.as_bytes()),
        Spec::Set(cs) => tree::set(Charset::from_bytes(cs.as_bytes())),
        Spec::Any(n) => tree::count(i64::from(*n)).ok()?,
        Spec::True => tree::leaf(Kind::True),
        Spec::False => tree::leaf(Kind::False),
        Spec::Seq(a, b) => tree::seq(&build(a)?, &build(b)?).ok()?,
        Spec::Choice(a, b) => tree::choice(&build(a)?, &build(b)?).ok()?,
        Spec::Rep(a, n) => tree::repeat(&build(a)?, *n).ok()?,
        Spec::Not(a) => tree::node(Kind::Not(build(a)?)).ok()?,
        Spec::And(a) => tree::node(Kind::And(build(a)?)).ok()?,
        Spec::Capture(a) => {
            tree::node(Kind::Capture { kind: CapKind::Simple, key: 0, n: 0, body: build(a)? })
                .ok()?
        }
        Spec::Position => tree::node(Kind::Capture {
            kind: CapKind::Position,
            key: 0,
            n: 0,
            body: tree::leaf(Kind::True),
        })
        .ok()?,
        Spec::Search(a) => {
            let again =
                tree::seq(&tree::leaf(Kind::Any(1)), &tree::leaf(Kind::OpenCall(1))).ok()?;
            let body = tree::choice(&build(a)?, &again).ok()?;
            let rule = Rule { name: "1".into(), body };
            grammar_node(Grammar::build(vec![rule], &mut |_| Ok(0)).ok()?).ok()?
        }
    })
}

/// What `lpeg.match` gives with program `prog`: its values, as text.
fn outcome(lua: &Lua, prog: Program, subject: &str) -> Vec<String> {
    let p = push_with_program(lua, prog).expect("pattern");
    let f: Function = lua.globals().get("lpeg_match_text").expect("helper");
    f.call((p, subject)).expect("no errors")
}

/// Matches and turns the values into text (strings as they are, numbers
/// prefixed with `#`).
const MATCH_TEXT: &str = r##"
function lpeg_match_text(p, s)
  local r = table.pack(lpeg.match(p, s))
  local out = {}
  for i = 1, r.n do
    local v = r[i]
    out[i] = type(v) == "number" and "#" .. v or tostring(v)
  end
  return out
end
"##;

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn optimised_code_matches_the_plain_translation(
        s in spec(),
        subjects in proptest::collection::vec("[abcd]{0,8}", 8),
    ) {
        let Some(t) = build(&s) else { return Ok(()) };
        let lua = state();
        lua.load(MATCH_TEXT).exec().expect("helper");
        for subject in &subjects {
            let fast = compile(&t, &|k| format!("{k}"), &mut |_| Ok(())).expect("compiles");
            let plain = compile_naive(&t).expect("compiles");
            let a = outcome(&lua, fast, subject);
            let b = outcome(&lua, plain, subject);
            prop_assert_eq!(a, b, "pattern {:?} on {:?}", s, subject);
        }
    }
}
