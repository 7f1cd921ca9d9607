//! `read_message`, `read_next_field`, `read_config`, `decode_message`.

use super::{config, script, start, start_with, test_message, test_pack};
use crate::message::{PackMut, encode};
use crate::sandbox::{ProcessStatus, SandboxKind};

/// Runs `checks` (Lua statements using `assert`) inside `process_message`.
fn check(kind: SandboxKind, checks: &str) {
    let src = format!("function process_message()\n{checks}\nreturn 0\nend");
    let (mut sb, _h, _s) = start(kind, &src);
    let r = match kind {
        SandboxKind::Decoder => {
            let mut out = Vec::new();
            sb.decode(PackMut::from_message(test_message()), &mut out).map(|_| ProcessStatus::Ok)
        }
        _ => sb.process_message(&test_pack()),
    };
    assert_eq!(r, Ok(ProcessStatus::Ok), "{checks}");
}

#[test]
fn headers() {
    check(
        SandboxKind::Filter,
        r#"
        assert(read_message("Uuid") == "550e8400-e29b-41d4-a716-446655440000")
        assert(read_message("Type") == "TEST")
        assert(read_message("Logger") == "GoSpec")
        assert(read_message("Payload") == "Test Payload")
        assert(read_message("EnvVersion") == "0.8")
        assert(read_message("Hostname") == "hostname")
        local ts = read_message("Timestamp")
        assert(math.type(ts) == "integer" and ts == 1392050801123456789, tostring(ts))
        assert(math.type(read_message("Severity")) == "integer" and read_message("Severity") == 6)
        assert(read_message("Pid") == 14098)
        assert(read_message("bogus") == nil)
        "#,
    );
}

#[test]
fn fields_with_indices() {
    check(
        SandboxKind::Filter,
        r#"
        assert(read_message("Fields[foo]") == "bar")
        assert(read_message("Fields[foo]", 1) == "alternate")
        assert(read_message("Fields[foo]", 2) == nil)
        local n = read_message("Fields[number]")
        assert(math.type(n) == "integer" and n == 64)
        assert(read_message("Fields[int]", 0, 1) == 1024)
        assert(read_message("Fields[int]", 0, 2) == nil)
        local d = read_message("Fields[double]")
        assert(math.type(d) == "float" and d == 99.9)
        assert(read_message("Fields[bool]") == true)
        assert(read_message("Fields[bytes]") == "data")
        assert(read_message("Fields[empty_bytes]") == nil)
        assert(read_message("Fields[missing]") == nil)
        assert(read_message("Fields[]") == nil)
        "#,
    );
}

#[test]
fn raw_is_the_protobuf() {
    let (mut sb, _h, _s) = start(
        SandboxKind::Filter,
        "function process_message() raw = read_message('raw') return 0 end
         function timer_event() inject_message(raw) end",
    );
    let mut p = PackMut::from_message(test_message());
    p.encode_bytes();
    sb.process_message(&p.freeze()).unwrap();
    let (mut sb2, h2, _s2) = start(
        SandboxKind::Filter,
        "function process_message() local m = decode_message(read_message('raw'))
           if m.Payload ~= 'Test Payload' then return -1 end
           inject_message(read_message('raw')) return 0 end",
    );
    // Untrusted bytes: a fresh encoding is handed out.
    assert_eq!(sb2.process_message(&test_pack()), Ok(ProcessStatus::Ok));
    let out = h2.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message.payload, b"Test Payload");
    assert_eq!(out[0].message.msg_type, b"heka.sandbox.TEST");
    drop(sb);
}

#[test]
fn argument_errors() {
    for (call, expected) in [
        ("read_message()", "bad argument #1 to 'read_message' (string expected, got nil)"),
        (
            "read_message('Type', -1)",
            "bad argument #2 to 'read_message' (field index must be >= 0)",
        ),
        (
            "read_message('Type', 0, -1)",
            "bad argument #3 to 'read_message' (array index must be >= 0)",
        ),
        (
            "read_message('Type', 'x')",
            "bad argument #2 to 'read_message' (number expected, got string)",
        ),
        ("read_config()", "read_config() must have a single argument"),
        ("read_config('a', 'b')", "read_config() must have a single argument"),
        ("decode_message('junk')", "decode_message() failed"),
        ("write_message('Type', 'x')", "global 'write_message'"),
    ] {
        let (mut sb, _h, _s) = start(
            SandboxKind::Filter,
            &format!("function process_message()\n{call}\nreturn 0 end"),
        );
        let err = sb.process_message(&test_pack()).unwrap_err();
        assert!(err.message.contains(expected), "{call}: {}", err.message);
        assert!(err.message.contains("script.lua:2:"), "position of the call: {}", err.message);
    }
}

#[test]
fn argument_errors_name_the_type_and_the_calling_line() {
    let got = |t: &str| format!("(number expected, got {t})");
    for (call, line, expected) in [
        ("read_message(5)", 2, "#1 to 'read_message' (string expected, got integer)".to_string()),
        ("read_message(1.5)", 2, "#1 to 'read_message' (string expected, got number)".into()),
        ("read_message({})", 2, "#1 to 'read_message' (string expected, got table)".into()),
        ("read_message('Type', true)", 2, format!("#2 to 'read_message' {}", got("boolean"))),
        ("read_message('Type', 1.5)", 2, format!("#2 to 'read_message' {}", got("number"))),
        ("read_message('Type', 1e16)", 2, format!("#2 to 'read_message' {}", got("number"))),
        (
            "read_message('Type', 0, string.len)",
            2,
            format!("#3 to 'read_message' {}", got("function")),
        ),
        // Called by pcall or inside a coroutine: the script's line.
        (
            "local ok, e = pcall(read_message, 5)\nerror(e, 0)",
            2,
            "#1 to 'read_message' (string expected, got integer)".into(),
        ),
        (
            "local co = coroutine.wrap(function()\n\nread_message('x', -2)\nend)\nco()",
            4,
            "#2 to 'read_message' (field index must be >= 0)".into(),
        ),
    ] {
        let (mut sb, _h, _s) = start(
            SandboxKind::Filter,
            &format!("function process_message()\n{call}\nreturn 0 end"),
        );
        let err = sb.process_message(&test_pack()).unwrap_err();
        let tail = format!("script.lua:{line}: bad argument {expected}");
        assert!(err.message.starts_with("process_message() "), "{call}: {}", err.message);
        assert!(err.message.ends_with(&tail), "{call}: {} (want {tail})", err.message);
    }
}

#[test]
fn index_arguments_and_kinds() {
    let checks = r#"
        assert(read_message("Fields[foo]", 1.0) == "alternate")
        assert(read_message("Fields[int]", nil, 1) == 1024)
        assert(read_message("Fields[int]", 0.0, 1.0) == 1024)
        assert(read_message("Fields[foo]", 5) == nil and read_message("Fields[int]", 0, 5) == nil)
        assert(read_message("Payload", 3, 3) == "Test Payload")
        assert(read_message("Fields[bytes]", 0, 0, "extra") == "data")
        assert(read_message("Timestamp") == 1392050801123456789)
        assert(read_message("Uuid") == "550e8400-e29b-41d4-a716-446655440000")
        "#;
    check(SandboxKind::Filter, checks);
    check(SandboxKind::Decoder, checks);
}

#[test]
fn raw_bytes_trusted_or_encoded() {
    let bytes = encode(&test_message());
    let src = format!(
        "local want = {}
         function process_message() assert(read_message('raw') == want) return 0 end",
        crate::sandbox::preserve::quote(&bytes)
    );
    let (mut sb, _h, _s) = start(SandboxKind::Filter, &src);
    let mut trusted = PackMut::from_message(test_message());
    trusted.encode_bytes();
    assert_eq!(sb.process_message(&trusted.freeze()), Ok(ProcessStatus::Ok));
    assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok), "encoded on demand");
}

#[test]
fn strings_read_count_against_the_memory_limit() {
    let s =
        script("function process_message() local ok = pcall(read_message, 'Payload') return 0 end");
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.memory_limit = 1 << 20;
    let (mut sb, _h, _s) = start_with(cfg, s);
    let mut m = test_message();
    m.payload = vec![b'x'; 2 << 20];
    let err = sb.process_message(&PackMut::from_message(m).freeze()).unwrap_err();
    assert_eq!(err.message, "process_message() not enough memory");
}

#[test]
fn read_next_field_iterates_all_fields() {
    check(
        SandboxKind::Filter,
        r#"
        local seen = {}
        while true do
          local vt, name, value, rep, count = read_next_field()
          if not vt then break end
          seen[#seen + 1] = table.concat({vt, name, tostring(value), rep, count}, "|")
        end
        assert(#seen == 8, #seen)
        assert(seen[1] == "0|foo|bar||1", seen[1])
        assert(seen[2] == "2|number|64|count|1", seen[2])
        assert(seen[4] == "2|int|999||2", seen[4])
        assert(seen[5] == "3|double|99.9||1", seen[5])
        assert(seen[6] == "4|bool|true||1", seen[6])
        assert(read_next_field() == nil)
        "#,
    );
    // The iterator restarts with each call.
    let (mut sb, _h, _s) = start(
        SandboxKind::Filter,
        "function process_message() local _, name = read_next_field() if name ~= 'foo' then return -1 end return 0 end",
    );
    for _ in 0..2 {
        assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
    }
}

#[test]
fn read_message_outside_a_message_is_nil() {
    let (mut sb, _h, _s) = start(
        SandboxKind::Filter,
        "function process_message() return 0 end
         function timer_event() assert(read_message('Type') == nil) assert(read_next_field() == nil) end",
    );
    sb.timer_event(1).unwrap();
}

#[test]
fn read_config_types() {
    let s = script(
        r#"function process_message()
             assert(read_config("string") == "widget")
             assert(math.type(read_config("int")) == "integer" and read_config("int") == 99)
             assert(read_config("double") == 99.123)
             assert(read_config("bool") == true)
             assert(read_config("array") == nil)
             assert(read_config("table") == nil)
             assert(read_config("missing") == nil)
             return 0
           end"#,
    );
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.config = toml::from_str(
        "string = 'widget'\nint = 99\ndouble = 99.123\nbool = true\narray = [1]\n[table]\nx = 1",
    )
    .unwrap();
    let (mut sb, _h, _s) = start_with(cfg, s);
    assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
    let (mut none, _h2, _s2) = start(
        SandboxKind::Input,
        "function process_message() return read_config('x') == nil and 0 or 1 end",
    );
    assert_eq!(none.run_input(), Ok(ProcessStatus::Ok));
}

#[test]
fn decode_message_gives_the_array_form() {
    let bytes = encode(&test_message());
    let src = format!(
        r#"local pb = {}
           function process_message()
             local m = decode_message(pb)
             assert(#m.Uuid == 16)
             assert(m.Timestamp == 1392050801123456789)
             assert(m.Type == "TEST" and m.Logger == "GoSpec" and m.Severity == 6 and m.Pid == 14098)
             assert(m.Payload == "Test Payload" and m.EnvVersion == "0.8" and m.Hostname == "hostname")
             assert(#m.Fields == 8)
             local f = m.Fields[4]
             assert(f.name == "int" and f.value_type == 2 and f.value[1] == 999 and f.value[2] == 1024)
             assert(m.Fields[2].representation == "count")
             assert(m.Fields[1].value_type == 0 and m.Fields[1].value[1] == "bar")
             return 0
           end"#,
        crate::sandbox::preserve::quote(&bytes)
    );
    let (mut sb, _h, _s) = start(SandboxKind::Input, &src);
    assert_eq!(sb.run_input(), Ok(ProcessStatus::Ok));
}
