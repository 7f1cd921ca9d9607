//! Property tests: compiling never panics, and a compiled matcher (with its
//! folding, flattening and regex shortcuts) agrees with a naive evaluation
//! of randomly built expressions.

use proptest::prelude::*;

use super::Matcher;
use crate::message::{Field, FieldValue, Message};

/// A leaf test: its source text and its value computed by plain Rust.
fn leaf(msg: &Message) -> impl Strategy<Value = (String, bool)> + use<> {
    let ty = msg.msg_type.clone();
    let sev = msg.severity();
    let has_foo = msg.field("foo").is_some();
    let numbers: Vec<i64> = match msg.field("n").map(|f| &f.value) {
        Some(FieldValue::Integer(v)) => v.clone(),
        _ => Vec::new(),
    };
    let lits = prop::sample::select(vec!["", "T", "TE", "TEST", "EST", "ST", "test", "TESTS", "X"]);
    let ty_cmp = (lits.clone(), 0..6usize).prop_map({
        let ty = ty.clone();
        move |(lit, op)| {
            let (sym, want) = rel(op, ty.as_slice().cmp(lit.as_bytes()));
            (format!("Type {sym} '{lit}'"), want)
        }
    });
    let ty_prefix = (lits.clone(), any::<bool>()).prop_map({
        let ty = ty.clone();
        move |(lit, neg)| {
            let hit = ty.starts_with(lit.as_bytes());
            (format!("Type {} /^{lit}/", if neg { "!~" } else { "=~" }), hit != neg)
        }
    });
    let ty_suffix = (lits.clone(), any::<bool>()).prop_map({
        let ty = ty.clone();
        move |(lit, neg)| {
            let hit = ty.ends_with(lit.as_bytes());
            (format!("Type {} /{lit}$/", if neg { "!~" } else { "=~" }), hit != neg)
        }
    });
    let ty_exact = lits.prop_map(move |lit| (format!("Type =~ /^{lit}$/"), ty == lit.as_bytes()));
    let sev_cmp = (0..9i32, 0..6usize).prop_map(move |(n, op)| {
        let (sym, want) = rel(op, sev.cmp(&n));
        (format!("Severity {sym} {n}"), want)
    });
    let field = prop::sample::select(vec!["foo", "missing"]).prop_flat_map(move |name| {
        let present = name == "foo" && has_foo;
        prop_oneof![
            Just((format!("Fields[{name}] == NIL"), !present)),
            Just((format!("Fields[{name}] != NIL"), present)),
        ]
    });
    // A missing array element makes every comparison false.
    let int_cmp = (0..3usize, 0..4i64, 0..6usize).prop_map(move |(ai, k, op)| {
        let (sym, hit) = match numbers.get(ai) {
            Some(v) => rel(op, v.cmp(&k)),
            None => (rel(op, std::cmp::Ordering::Equal).0, false),
        };
        (format!("Fields[n][0][{ai}] {sym} {k}"), hit)
    });
    prop_oneof![
        Just(("TRUE".to_owned(), true)),
        int_cmp,
        Just(("FALSE".to_owned(), false)),
        ty_cmp,
        ty_prefix,
        ty_suffix,
        ty_exact,
        sev_cmp,
        field,
    ]
}

/// The operator number `op` as text, and whether `ordering` satisfies it.
fn rel(op: usize, ordering: std::cmp::Ordering) -> (&'static str, bool) {
    use std::cmp::Ordering::*;
    match op {
        0 => ("==", ordering == Equal),
        1 => ("!=", ordering != Equal),
        2 => ("<", ordering == Less),
        3 => ("<=", ordering != Greater),
        4 => (">", ordering == Greater),
        _ => (">=", ordering != Less),
    }
}

/// Random expressions with their naive value: chains of `&&`/`||` whose
/// value is computed with `&&` binding tighter, over leaves and
/// parenthesised sub-chains.
fn expr(msg: &Message) -> impl Strategy<Value = (String, bool)> + use<> {
    let leaf = leaf(msg).prop_map(|(text, value)| (text, value, false));
    let tree = leaf.prop_recursive(4, 64, 5, |inner| {
        let items = prop::collection::vec((inner, any::<bool>()), 1..5);
        (items, prop::collection::vec(any::<bool>(), 4)).prop_map(|(items, is_and)| {
            let mut text = String::new();
            let (mut any_group, mut group) = (false, true);
            for (i, ((t, value, chain), extra_paren)) in items.into_iter().enumerate() {
                if i > 0 {
                    if is_and[i - 1] {
                        text.push_str(" && ");
                    } else {
                        text.push_str(" || ");
                        any_group |= group;
                        group = true;
                    }
                }
                // A chain inside a chain needs parentheses; a leaf may have them.
                if chain || extra_paren {
                    text.push_str(&format!("({t})"));
                } else {
                    text.push_str(&t);
                }
                group &= value;
            }
            (text, any_group || group, true)
        })
    });
    tree.prop_map(|(text, value, _)| (text, value))
}

fn message() -> Message {
    let mut msg = Message::new();
    msg.msg_type = b"TEST".to_vec();
    msg.severity = Some(4);
    msg.add_field(Field::string("foo", "bar"));
    msg.add_field(Field::new("n", FieldValue::Integer(vec![1, 2])));
    msg
}

/// Pieces that make near-valid expressions, to reach deep parser states.
fn token_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "Type",
        "Severity",
        "Timestamp",
        "Uuid",
        "Fields[foo]",
        "Fields[n][0][1]",
        "Fields[",
        "Fields[x][",
        "]",
        "[",
        "==",
        "!=",
        "<",
        ">=",
        "=~",
        "!~",
        "&&",
        "||",
        "(",
        ")",
        "TRUE",
        "FALSE",
        "NIL",
        "'TEST'",
        "\"x",
        "'2024-01-15T00:00:00Z'",
        "/^TE/",
        "/ST$/",
        "/(/",
        "/a",
        "6",
        "1e9",
        ".",
        "-1",
        " ",
        "\t",
        "\n",
        "é",
        "\\",
        "=",
        "!",
        "&",
        "|",
    ]);
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn compiling_arbitrary_text_never_panics(src in any::<String>()) {
        if let Ok(m) = Matcher::new(&src) {
            m.matches(&message());
        }
    }

    #[test]
    fn compiling_token_soup_never_panics(src in token_soup()) {
        match Matcher::new(&src) {
            Ok(m) => {
                m.matches(&message());
                prop_assert_eq!(m.as_str(), src.as_str());
            }
            Err(e) => prop_assert!(e.offset() <= src.len(), "{}: {}", src, e),
        }
    }

    #[test]
    fn compiled_matches_naive_evaluation((src, want) in expr(&message())) {
        let m = Matcher::new(&src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
        prop_assert_eq!(m.matches(&message()), want, "{}", src);
        if m.is_match_all() {
            prop_assert!(want, "{} claims to match all", src);
        }
    }
}
