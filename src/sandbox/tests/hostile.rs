//! Hostile scripts are terminated with Heka's error text, and a second
//! sandbox in the same thread keeps working.

use super::{config, script, start, start_with, test_pack};
use crate::sandbox::{ProcessStatus, SandboxKind};

const COUNTER: &str = "count = 0
function process_message() count = count + 1 return 0 end
function timer_event(ns) add_to_payload(count) inject_payload('txt', 'count') end";

/// Runs `body` as `process_message` and expects a termination containing
/// one of `expected`; then checks a well-behaved sandbox still works.
fn terminates(body: &str, expected: &[&str], instruction_limit: Option<u64>) -> String {
    let (mut good, good_host, _gs) = start(SandboxKind::Filter, COUNTER);
    let s = script(&format!("function process_message()\n{body}\nreturn 0\nend"));
    let mut cfg = config(SandboxKind::Filter, &s);
    if let Some(limit) = instruction_limit {
        cfg.instruction_limit = limit;
    }
    let (mut bad, _host, _s) = start_with(cfg, s);
    let pack = test_pack();
    assert_eq!(good.process_message(&pack), Ok(ProcessStatus::Ok));
    let err = bad.process_message(&pack).expect_err("hostile script must be terminated");
    assert!(expected.iter().any(|e| err.message.contains(e)), "{body}: got {:?}", err.message);
    assert!(err.message.starts_with("process_message() "), "{}", err.message);
    assert!(!err.aborted);
    assert_eq!(bad.terminated(), Some(err.message.as_str()));
    let again = bad.process_message(&pack).expect_err("stays terminated");
    assert_eq!(again.message, err.message);
    assert_eq!(bad.stats().memory, 0, "state closed");
    for _ in 0..3 {
        assert_eq!(good.process_message(&pack), Ok(ProcessStatus::Ok));
    }
    good.timer_event(0).expect("good sandbox still works");
    let out = good_host.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message.payload, b"4");
    err.message
}

#[test]
fn infinite_loop() {
    terminates("while true do end", &["instruction_limit exceeded"], None);
}

/// Lua run from inside a native LPeg match (a match-time capture, a
/// function capture) is still counted and stopped, and `pcall` around the
/// match does not catch it.
#[test]
fn loops_in_lpeg_callbacks_are_stopped() {
    terminates(
        "local lpeg = require 'lpeg'
         lpeg.match(lpeg.Cmt(lpeg.C(1), function() while true do end end), 'ab')",
        &["instruction_limit exceeded"],
        None,
    );
    terminates(
        "local lpeg = require 'lpeg'
         pcall(lpeg.match, lpeg.C(1) / function() while true do end end, 'ab')",
        &["instruction_limit exceeded"],
        None,
    );
}

#[test]
fn pcall_cannot_catch_the_instruction_limit() {
    terminates(
        "while true do pcall(function() while true do end end) end",
        &["instruction_limit exceeded"],
        None,
    );
    terminates(
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        &["instruction_limit exceeded"],
        None,
    );
}

#[test]
fn loop_inside_a_coroutine() {
    terminates(
        "local co = coroutine.create(function() while true do end end)
         while true do coroutine.resume(co) end",
        &["instruction_limit exceeded"],
        None,
    );
    terminates(
        "coroutine.wrap(function() local x = 0 while true do x = x + 1 end end)()",
        &["instruction_limit exceeded"],
        None,
    );
}

#[test]
fn string_memory_bomb() {
    let msg = terminates("local s = string.rep('x', 1e9)", &["not enough memory"], Some(0));
    assert_eq!(msg, "process_message() not enough memory");
    terminates("local s = 'x' while true do s = s .. s end", &["not enough memory"], Some(0));
    terminates(
        "local ok, e = pcall(string.rep, 'x', 1e9) error('caught: ' .. tostring(e))",
        &["not enough memory"],
        Some(0),
    );
}

#[test]
fn table_growth() {
    terminates(
        "local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 1000) .. i end",
        &["not enough memory"],
        Some(0),
    );
}

#[test]
fn output_floods() {
    terminates(
        "while true do add_to_payload(string.rep('x', 1000)) end",
        &["output_limit exceeded"],
        None,
    );
    terminates(
        "for i = 1, 100 do inject_payload('txt', 'x', string.rep('x', 70000)) end",
        &["output_limit exceeded"],
        None,
    );
    terminates(
        "for i = 1, 100 do inject_message({Payload = 'x'}) end",
        &["exceeded InjectMessage count"],
        None,
    );
    terminates(
        "inject_message({Payload = string.rep('x', 70000)})",
        &["output_limit exceeded"],
        None,
    );
}

#[test]
fn deep_recursion() {
    terminates(
        "local function f(n) return f(n + 1) + 1 end f(1)",
        &["stack overflow", "instruction_limit exceeded", "not enough memory"],
        None,
    );
}

#[test]
fn escape_attempts_are_refused() {
    for (body, expected) in [
        ("io.open('/etc/passwd')", "global 'io'"),
        ("os.execute('true')", "field 'execute'"),
        ("os.exit(1)", "field 'exit'"),
        ("os.getenv('HOME')", "field 'getenv'"),
        ("package.loadlib('libc.so.6', 'puts')", "field 'loadlib'"),
        ("debug.getinfo(1)", "global 'debug'"),
        ("collectgarbage()", "global 'collectgarbage'"),
        ("dofile('/etc/passwd')", "global 'dofile'"),
        ("string.dump(process_message)", "field 'dump'"),
        (
            "setmetatable('', {__index = function() return 1 end})",
            "bad argument #1 to 'setmetatable'",
        ),
        ("getmetatable('').__index = {}", "a boolean value"),
        ("require 'nope'", "module 'nope' not found"),
        ("require '../etc/passwd'", "invalid module name"),
    ] {
        terminates(body, &[expected], None);
    }
}

#[test]
fn bytecode_is_refused_by_load_and_loadstring() {
    let (mut sb, _h, _s) = start(
        SandboxKind::Filter,
        r#"function process_message()
             local chunk = "\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64\1"
             local f, err = load(chunk)
             local g, err2 = loadstring(chunk)
             local h, err3 = load(function() local c = chunk chunk = nil return c end)
             if f or g or h then return 1 end
             return -1, err .. '|' .. err2 .. '|' .. err3
           end"#,
    );
    match sb.process_message(&test_pack()) {
        Ok(ProcessStatus::Failed { message: Some(m), .. }) => {
            assert_eq!(m.matches("binary chunk").count(), 3, "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn c_modules_are_never_loaded() {
    let s = script("function process_message() require 'evil' return 0 end");
    let modules = s.dir.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    std::fs::write(modules.join("evil.so"), b"\x7fELF not really").unwrap();
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.module_directories = vec![modules];
    let (mut sb, _h, _s) = start_with(cfg, s);
    let err = sb.process_message(&test_pack()).unwrap_err();
    assert!(err.message.contains("module 'evil' not found"), "{}", err.message);
}
