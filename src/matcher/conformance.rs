//! Heka's matcher conformance cases (reference §3.4) and our extra cases:
//! RFC 3339 timestamps, precedence, escapes, regex shortcuts, nesting.

use super::{Matcher, test_message};
use crate::message::time::parse_rfc3339;
use crate::message::{Field, FieldValue, Message};

const MUST_FAIL: [&str; 24] = [
    "",
    "bogus",
    "Type = 'test'",
    "Pid == 'test='",
    "Type == 'test' && (Severity==7 || Payload == 'Test Payload'",
    "Invalid == 'bogus'",
    "Fields[]",
    "Fields[test][]",
    "Fields[test][a]",
    "Fields[test][0][]",
    "Fields[test][0][a]",
    "Fields[test][0][0][]",
    "Fields[test][xxxx",
    "Pid =~ /6/",
    "Pid !~ /6/",
    "Type =~ /test",
    "Type == /test/",
    "Type =~ 'test'",
    r"Type =~ /\ytest/",
    "Type != 'test\"",
    "Pid =~ 6",
    "NIL",
    "Type == NIL",
    "Fields[test] > NIL",
];

const EVAL_FALSE: [&str; 34] = [
    "FALSE",
    "Type == 'test'&&(Severity==7||Payload=='Test Payload')",
    "EnvVersion == '0.9'",
    "EnvVersion != '0.8'",
    "EnvVersion > '0.9'",
    "EnvVersion >= '0.9'",
    "EnvVersion < '0.8'",
    "EnvVersion <= '0.7'",
    "Severity == 5",
    "Severity != 6",
    "Severity < 6",
    "Severity <= 5",
    "Severity > 6",
    "Severity >= 7",
    "Fields[foo] == 'ba'",
    "Fields[foo][1] == 'bar'",
    "Fields[foo][0][1] == 'bar'",
    "Fields[bool] == FALSE",
    "Type =~ /Test/",
    "Type !~ /TEST/",
    "Payload =~ /^Payload/",
    "Type == \"te'st\"",
    "Type == 'te\"st'",
    "Fields[int] =~ /999/",
    "Fields[zero] == \"0\"",
    "Fields[string] == 43",
    "Fields[int] == NIL",
    "Fields[int][0][1] == NIL",
    "Fields[missing] != NIL",
    "Type =~ /^te/",
    "Type =~ /st$/",
    "Type !~ /^TE/",
    "Type !~ /ST$/",
    "Logger =~ /./ && Type =~ /^anything/",
];

/// `{uuid}` is replaced by the message's UUID text. Heka's list has 50
/// entries, 49 distinct: `Fields[foo] == 'bar'` appears twice.
const EVAL_TRUE: [&str; 50] = [
    "TRUE",
    "(Severity == 7 || Payload == 'Test Payload') && Type == 'TEST'",
    "EnvVersion == \"0.8\"",
    "EnvVersion == '0.8'",
    "EnvVersion != '0.9'",
    "EnvVersion > '0.7'",
    "EnvVersion >= '0.8'",
    "EnvVersion < '0.9'",
    "EnvVersion <= '0.8'",
    "Hostname != ''",
    "Logger == 'GoSpec'",
    "Pid != 0",
    "Severity != 5",
    "Severity < 7",
    "Severity <= 6",
    "Severity == 6",
    "Severity > 5",
    "Severity >= 6",
    "Timestamp > 0",
    "Type != 'test'",
    "Type == 'TEST' && Severity == 6",
    "Type == 'test' && Severity == 7 || Payload == 'Test Payload'",
    "Type == 'TEST'",
    "Type == 'foo' || Type == 'bar' || Type == 'TEST'",
    "Uuid == '{uuid}'",
    "Fields[foo] == 'bar'",
    "Fields[foo][0] == 'bar'",
    "Fields[foo][0][0] == 'bar'",
    "Fields[foo][1] == 'alternate'",
    "Fields[foo][1][0] == 'alternate'",
    "Fields[foo] == 'bar'",
    "Fields[bytes] == 'data'",
    "Fields[int] == 999",
    "Fields[int][0][1] == 1024",
    "Fields[double] == 99.9",
    "Fields[bool] == TRUE",
    "Type =~ /TEST/",
    "Type !~ /bogus/",
    "Type =~ /TEST/ && Payload =~ /Payload/",
    "Fields[foo][1] =~ /alt/",
    r"Fields[Payload] =~ /name=\w+/",
    "Type =~ /(ST)/",
    "Fields[int] != NIL",
    "Fields[int][0][1] != NIL",
    "Fields[int][0][2] == NIL",
    "Fields[missing] == NIL",
    "Type =~ /^TE/",
    "Type =~ /ST$/",
    "Type !~ /^te/",
    "Type !~ /st$/",
];

/// Compiles `src` and evaluates it against `msg`.
fn eval(src: &str, msg: &Message) -> bool {
    match Matcher::new(src) {
        Ok(m) => m.matches(msg),
        Err(e) => panic!("{src:?} does not compile: {e}"),
    }
}

#[test]
fn heka_must_fail_to_parse() {
    for src in MUST_FAIL {
        let err = Matcher::new(src).expect_err(src);
        assert!(err.offset() <= src.len(), "{src}: {err}");
        assert!(err.to_string().starts_with("syntax error at offset "), "{err}");
    }
}

#[test]
fn heka_evaluates_false() {
    let msg = test_message();
    for src in EVAL_FALSE {
        assert!(!eval(src, &msg), "{src} should be false");
    }
}

#[test]
fn heka_evaluates_true() {
    let msg = test_message();
    let uuid = msg.uuid_string();
    assert_eq!(uuid.len(), 36);
    let distinct: std::collections::HashSet<_> = EVAL_TRUE.iter().collect();
    assert_eq!(distinct.len(), 49);
    for src in EVAL_TRUE {
        let src = src.replace("{uuid}", &uuid);
        assert!(eval(&src, &msg), "{src} should be true");
    }
    assert!(!eval(&format!("Uuid == '{}'", uuid.to_uppercase()), &msg));
    assert!(eval(&format!("Uuid > '{}'", &uuid[..35]), &msg));
}

#[test]
fn missing_header_values() {
    let msg = Message::default();
    assert!(eval("Type == '' && Logger == '' && Payload == '' && Hostname == ''", &msg));
    assert!(eval("Uuid == '' && EnvVersion <= ''", &msg));
    assert!(eval("Severity == 7", &Message { severity: None, ..Message::default() }));
    assert!(eval("Pid == 0 && Timestamp == 0", &msg));
    assert!(eval("Type !~ /./ && Type =~ /^$/", &msg));
}

#[test]
fn strings_compare_as_bytes() {
    let mut msg = Message { payload: b"caf\xc3\xa9 \xff".to_vec(), ..Message::default() };
    assert!(eval("Payload > 'caf'", &msg));
    assert!(eval("Payload < 'cag'", &msg));
    assert!(eval("Payload >= 'café'", &msg));
    assert!(eval("Payload =~ /^café/", &msg));
    assert!(eval("Payload =~ /(?-u:\\xff)$/", &msg));
    msg.msg_type = b"B".to_vec();
    assert!(eval("Type < 'a' && Type > 'A' && Type < 'BB'", &msg));
}

#[test]
fn timestamps_compare_to_rfc3339_dates() {
    let day = parse_rfc3339("2024-01-15T00:00:00Z").unwrap();
    let mut msg = Message { timestamp: day, ..Message::default() };
    let check = |msg: &Message, src: &str, want: bool| assert_eq!(eval(src, msg), want, "{src}");
    check(&msg, "Timestamp >= \"2024-01-15T00:00:00Z\"", true);
    check(&msg, "Timestamp == '2024-01-15T00:00:00Z'", true);
    check(&msg, "Timestamp == '2024-01-15T01:00:00+01:00'", true);
    check(&msg, "Timestamp > '2024-01-15T00:00:00Z'", false);
    check(&msg, "Timestamp < '2024-01-15T00:00:00.000000001Z'", true);
    check(&msg, "Timestamp >= '2024-01-14T00:00:00Z' && Timestamp < '2024-01-16T00:00:00Z'", true);
    // One nanosecond before: float64 could not tell, the date form can.
    msg.timestamp = day - 1;
    check(&msg, "Timestamp < '2024-01-15T00:00:00Z'", true);
    check(&msg, "Timestamp != '2024-01-15T00:00:00Z'", true);
    check(&msg, &format!("Timestamp == {day}"), true);
    for bad in ["Timestamp > '2024-13-01T00:00:00Z'", "Timestamp > ''", "Timestamp > 'now'"] {
        let e = Matcher::new(bad).unwrap_err();
        assert_eq!(e.offset(), 12, "{bad}");
        assert!(e.to_string().contains("RFC 3339"), "{e}");
    }
}

#[test]
fn precedence_and_short_circuit() {
    let msg = test_message();
    let cases = [
        ("TRUE || FALSE && FALSE", true),
        ("FALSE && FALSE || TRUE", true),
        ("(TRUE || FALSE) && FALSE", false),
        ("FALSE && TRUE || TRUE && FALSE", false),
        ("FALSE || TRUE && TRUE", true),
        ("Type == 'TEST' || Type =~ /x/ && Severity == 0", true),
        ("(Type == 'TEST' || Type =~ /x/) && Severity == 0", false),
        ("Severity == 6 && (Pid == 0 || Logger == 'GoSpec') && Fields[number] == 64", true),
        ("TRUE FALSE", false),
        ("FALSE TRUE", true),
        ("Type == 'TEST' Severity == 1", false),
        ("Type == 'TEST'\nSeverity == 1", true),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src, &msg), want, "{src}");
    }
    // Every combination of three operands against plain Rust operators.
    for bits in 0..8u8 {
        let [a, b, c] = [bits & 1 != 0, bits & 2 != 0, bits & 4 != 0];
        let lit = |x: bool| if x { "TRUE" } else { "FALSE" };
        let (a, b, c) = (lit(a), lit(b), lit(c));
        let exprs = [
            (format!("{a} || {b} && {c}"), bits & 1 != 0 || (bits & 2 != 0 && bits & 4 != 0)),
            (format!("{a} && {b} || {c}"), (bits & 1 != 0 && bits & 2 != 0) || bits & 4 != 0),
            (format!("{a} && ({b} || {c})"), bits & 1 != 0 && (bits & 2 != 0 || bits & 4 != 0)),
        ];
        for (src, want) in exprs {
            assert_eq!(eval(&src, &msg), want, "{src}");
        }
    }
}

#[test]
fn string_escapes() {
    let mut msg = Message::default();
    let cases: [(&[u8], &str); 6] = [
        (b"te'st", r"Type == 'te\'st'"),
        (b"te\"st", r#"Type == "te\"st""#),
        (b"te\\\"st", r#"Type == 'te\"st'"#),
        (b"a\\nb", r"Type == 'a\nb'"),
        (b"a\\\\b", r"Type == 'a\\b'"),
        (b"a/b", r"Type =~ /^a\/b$/"),
    ];
    for (value, src) in cases {
        msg.msg_type = value.to_vec();
        assert!(eval(src, &msg), "{src}");
    }
}

#[test]
fn regex_shortcuts_equal_the_full_regex() {
    let mut msg = test_message();
    let shortcut = ["^TE", "ST$", "^TEST$", r"^T\.", r"\$$", "^", "$", "^$", r"^a\/b"];
    let full = [
        "^(?:TE)",
        "(?:ST)$",
        "^(?:TEST)$",
        r"^(?:T\.)",
        r"(?:\$)$",
        "^()",
        "()$",
        "^()$",
        r"^(?:a\/b)",
    ];
    let values: [&[u8]; 8] = [b"TEST", b"TE", b"", b"T.x", b"x$", b"a/b", b"\xffST", b"test"];
    for value in values {
        msg.msg_type = value.to_vec();
        for (fast, slow) in shortcut.iter().zip(full) {
            for op in ["=~", "!~"] {
                let a = eval(&format!("Type {op} /{fast}/"), &msg);
                let b = eval(&format!("Type {op} /{slow}/"), &msg);
                assert_eq!(a, b, "{fast} vs {slow} on {value:?}");
            }
        }
    }
}

#[test]
fn field_quirks() {
    let mut msg = test_message();
    msg.add_field(Field::bool("off", false));
    msg.add_field(Field::string("word", "TRUE"));
    msg.add_field(Field::new("bools", FieldValue::Bool(vec![true, false])));
    msg.add_field(Field::new("numbers", FieldValue::Integer(vec![1, 2, 3])));
    let cases = [
        ("Fields[bool] == 'x'", false),
        ("Fields[off] == 'x'", true),
        ("Fields[off] == FALSE", true),
        ("Fields[bool] != NIL", true),
        ("Fields[word] == TRUE", true),
        ("Fields[word] == FALSE", false),
        ("Fields[number] == TRUE", false),
        ("Fields[bools][0][1] == FALSE", true),
        ("Fields[numbers][0][2] == 3", true),
        ("Fields[numbers] > 0.5 && Fields[numbers] < 1.5", true),
        ("Fields[double] > 99 && Fields[double] <= 99.9", true),
        ("Fields[number] =~ /64/", false),
        ("Fields[number] != 'x'", false),
        ("Fields[foo] != 1", false),
        ("Fields[foo][2] != 'x'", false),
        ("Fields[foo][2] == NIL", true),
        ("Fields[bytes] =~ /^da/", true),
        ("Fields[Timestamp] =~ /2006$/", true),
        ("Fields[Payload] =~ /type=web/", true),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src, &msg), want, "{src}");
    }
}

#[test]
fn deep_nesting_and_long_chains() {
    let msg = test_message();
    let depth = 100;
    let src = format!("{}Type == 'TEST'{}", "(".repeat(depth), ")".repeat(depth));
    assert!(eval(&src, &msg));
    let mut src = String::from("Severity == 6");
    for i in 0..50 {
        src = if i % 2 == 0 { format!("({src}) && TRUE") } else { format!("FALSE || ({src})") };
    }
    assert!(eval(&src, &msg));
    let chain = vec!["Type == 'nope'"; 20_000].join(" || ") + " || Type == 'TEST'";
    assert!(eval(&chain, &msg));
    let chain = vec!["Severity == 6"; 20_000].join(" && ");
    assert!(eval(&chain, &msg));
    let too_deep = format!("{}TRUE{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Matcher::new(&too_deep).is_err());
}
