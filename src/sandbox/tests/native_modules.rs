//! The native modules inside a real sandbox: available through `require`
//! and as globals, charged to the sandbox's limits, and (for userdata)
//! output and preserved through the host hooks.

use super::{config, script, start, start_with, test_pack};
use crate::sandbox::{ProcessStatus, SandboxKind};

/// The error `process_message` of a filter gives when it runs `call`
/// after the top-level `setup` (which loads `lpeg`), with `memory_limit`.
fn lpeg_filter_error(setup: &str, call: &str, memory_limit: usize) -> String {
    let s = script(&format!(
        r#"
local lpeg = require "lpeg"
{setup}
function process_message()
    {call}
    return 0
end
"#
    ));
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.memory_limit = memory_limit;
    let mut sb = start_with(cfg, s).0;
    sb.process_message(&test_pack()).unwrap_err().message
}

/// Runs `call` with a `p` that cannot match the `mib` MiB `subject` before
/// its end (the memory limit leaves room for a 32 MiB subject), and checks
/// that the instruction limit stops it.
fn assert_lpeg_match_is_stopped(mib: usize, call: &str) {
    let setup = format!(
        r#"local subject = string.rep("a", {mib} * 1024 * 1024)
local p = (lpeg.P(1) - "z")^0 * "z""#
    );
    let err = lpeg_filter_error(&setup, call, 96 * 1024 * 1024);
    assert!(err.contains("instruction_limit exceeded"), "{err}");
}

#[test]
fn lpeg_matching_in_a_filter_is_stopped_by_the_instruction_limit() {
    assert_lpeg_match_is_stopped(32, "p:match(subject)");
}

#[test]
fn lpeg_budget_error_cannot_be_caught_with_pcall() {
    assert_lpeg_match_is_stopped(8, "for i = 1, 100 do pcall(p.match, p, subject) end");
}

#[test]
fn lpeg_captures_past_the_memory_limit_terminate_the_call() {
    // A 4 MiB subject under a 6 MiB limit: its captures cannot fit.
    let setup = r#"local captures = lpeg.Ct(lpeg.C(1)^0)
local values = lpeg.Ct(lpeg.Cmt(1, function(_, i) return i, i, i end)^0)
local subst = lpeg.Cs((lpeg.P(1) / "%0%0")^0)"#;
    for call in [
        "captures:match(string.rep('a', 4 * 1024 * 1024))",
        "pcall(captures.match, captures, string.rep('a', 4 * 1024 * 1024))",
        "pcall(values.match, values, string.rep('a', 4 * 1024 * 1024))",
        "pcall(subst.match, subst, string.rep('a', 4 * 1024 * 1024))",
    ] {
        let err = lpeg_filter_error(setup, call, 6 * 1024 * 1024);
        assert_eq!(err, "process_message() not enough memory", "{call}");
    }
}

#[test]
fn re_and_lpeg_parse_inside_a_sandbox() {
    let (mut sb, host, _s) = start(
        SandboxKind::Filter,
        r#"
local l = require "lpeg"
local re = require "re"
local kv = l.Ct((l.Cg(l.C(l.R("az")^1) * "=" * (l.R("09")^1 / tonumber)) * l.P(" ")^-1)^0)
local num = re.compile("{%d+}")
function process_message()
    local t = {}
    for k, v in string.gmatch("a=1 b=22", "(%a)=(%d+)") do t[k] = tonumber(v) end
    local caps = kv:match("a=1 b=22")
    inject_message({Type = "parsed", Payload = tostring(#caps) .. ":" .. num:match("42x"),
        Fields = {sum = t.a + t.b}})
    return 0
end
"#,
    );
    assert_eq!(sb.process_message(&test_pack()).unwrap(), ProcessStatus::Ok);
    let got = host.take();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message.payload, b"4:42", "an anonymous group in Ct adds all its values");
}

#[test]
fn circular_buffer_output_and_preservation_go_through_the_hooks() {
    let s = script(
        r#"
require "circular_buffer"
cb = circular_buffer.new(2, 1, 60)
cb:set_header(1, "Requests")
function process_message()
    cb:add(0, 1, 1)
    add_to_payload(cb)
    inject_payload("cbuf", "requests")
    return 0
end
"#,
    );
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.preserve_data = true;
    let data = s.dir.path().join("state.data");
    cfg.preservation_path = Some(data.clone());
    let (mut sb, host, s) = start_with(cfg.clone(), s);
    assert_eq!(sb.process_message(&test_pack()).unwrap(), ProcessStatus::Ok);
    let out = host.take();
    let text = String::from_utf8(out[0].message.payload.clone()).unwrap();
    assert!(text.starts_with("{\"time\":"), "{text}");
    assert!(text.contains("\"name\":\"Requests\""), "{text}");
    assert!(text.ends_with("nan\n1\n") || text.contains("\n1\n"), "{text}");
    sb.stop().unwrap();
    let saved = std::fs::read_to_string(&data).unwrap();
    assert!(saved.contains("circular_buffer.new(2, 1, 60)"), "{saved}");
    // A new sandbox starts from the saved buffer: the count goes on.
    let (mut sb, host, _s) = start_with(cfg, s);
    sb.process_message(&test_pack()).unwrap();
    let text = String::from_utf8(host.take()[0].message.payload.clone()).unwrap();
    assert!(text.contains("\n2\n") || text.ends_with("\n2\n"), "{text}");
}
