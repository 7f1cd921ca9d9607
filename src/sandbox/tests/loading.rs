//! Loading scripts and modules, 5.1 shims, status handling, statistics.

use super::{config, script, start, start_with, test_pack};
use crate::sandbox::extensions::test_support;
use crate::sandbox::{CollectHost, ProcessStatus, Sandbox, SandboxError, SandboxKind};

fn load_error(src: &str) -> String {
    let s = script(src);
    let cfg = config(SandboxKind::Filter, &s);
    match Sandbox::new(cfg, Box::new(CollectHost::new())) {
        Err(SandboxError::Load(msg)) => msg,
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("{src} should not load"),
    }
}

#[test]
fn syntax_and_top_level_errors_name_file_and_line() {
    let msg = load_error("local x = 1\nfunction process_message(\n  return 0\nend");
    assert!(msg.contains("script.lua:3:"), "{msg}");
    let msg = load_error("local t = nil\n\nlocal x = t.field");
    assert!(msg.contains("script.lua:3: attempt to index a nil value"), "{msg}");
    let msg = load_error("while true do end");
    assert!(msg.contains("instruction_limit exceeded"), "{msg}");
    let missing = config(SandboxKind::Filter, &script(""));
    let mut cfg = missing.clone();
    cfg.script_path = cfg.script_path.with_file_name("nope.lua");
    assert!(matches!(
        Sandbox::new(cfg, Box::new(CollectHost::new())),
        Err(SandboxError::ReadScript { .. })
    ));
}

#[test]
fn runtime_errors_carry_the_position() {
    let (mut sb, _h, _s) = start(
        SandboxKind::Filter,
        "function process_message()\n  local y = x + 1\n  return 0\nend",
    );
    let err = sb.process_message(&test_pack()).unwrap_err();
    assert!(err.message.starts_with("process_message() "), "{}", err.message);
    assert!(
        err.message
            .contains("script.lua:2: attempt to perform arithmetic on a nil value (global 'x')"),
        "{}",
        err.message
    );
}

#[test]
fn bad_return_values_terminate() {
    for (src, expected) in [
        ("function process_message() return 'x' end", "must return a numeric status code"),
        ("function process_message() return end", "must return a numeric status code"),
        (
            "function process_message() return -1, {} end",
            "must return a nil or string error message",
        ),
        ("x = 1", "process_message() function was not found"),
    ] {
        let (mut sb, _h, _s) = start(SandboxKind::Filter, src);
        let err = sb.process_message(&test_pack()).unwrap_err();
        assert!(err.message.contains(expected), "{src}: {}", err.message);
        assert!(sb.terminated().is_some());
    }
    let (mut sb, _h, _s) =
        start(SandboxKind::Filter, "function process_message() return -3, 'soft' end");
    assert_eq!(
        sb.process_message(&test_pack()),
        Ok(ProcessStatus::Failed { status: -3, message: Some("soft".into()) })
    );
    let (mut sb, _h, _s) = start(SandboxKind::Filter, "function process_message() return 2.0 end");
    assert_eq!(
        sb.process_message(&test_pack()),
        Ok(ProcessStatus::Fatal { status: 2, message: None })
    );
    assert!(sb.terminated().is_none(), "a fatal status keeps the state");
    let err = sb.timer_event(0).unwrap_err();
    assert_eq!(err.message, "timer_event() function was not found");
}

#[test]
fn modules_from_the_module_directory_with_the_setfenv_idiom() {
    let s = script(
        r#"local util = require "util"
           local nested = require "sub.nested"
           assert(require("util") == util, "cached")
           assert(nested.value == 42)
           assert(helper == nil and M == nil, "module globals stay in the module")
           local a, b = unpack({1, 2})
           assert(a + b == 3 and math.pow(2, 3) == 8 and table.getn({1}) == 1)
           assert(require("string") == string and require("os") == os)
           assert(not pcall(require, "io"), "no io in filters")
           function process_message() return util.double(read_message("Fields[number]")) == 128 and 0 or -1 end"#,
    );
    let modules = s.dir.path().join("lua_modules");
    std::fs::create_dir_all(modules.join("sub")).unwrap();
    std::fs::write(
        modules.join("util.lua"),
        "local tostring = tostring\nlocal M = {}\nsetfenv(1, M)\nfunction helper(x) return x * 2 end\nfunction double(x) return helper(x) end\nreturn M\n",
    )
    .unwrap();
    std::fs::write(modules.join("sub").join("nested.lua"), "return {value = 42}").unwrap();
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.module_directories = vec![s.dir.path().join("missing"), modules];
    let (mut sb, _h, _s) = start_with(cfg, s);
    assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
}

#[test]
fn module_errors() {
    let s = script("require 'broken'");
    let modules = s.dir.path().join("m");
    std::fs::create_dir(&modules).unwrap();
    std::fs::write(modules.join("broken.lua"), "local x = \n").unwrap();
    std::fs::write(modules.join("loop.lua"), "return require 'loop'").unwrap();
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.module_directories = vec![modules.clone()];
    match Sandbox::new(cfg.clone(), Box::new(CollectHost::new())) {
        Err(SandboxError::Load(m)) => {
            assert!(m.contains("error loading module 'broken'") && m.contains("broken.lua:"), "{m}")
        }
        _ => panic!("syntax error in a module"),
    }
    std::fs::write(&cfg.script_path, "require 'loop'").unwrap();
    match Sandbox::new(cfg, Box::new(CollectHost::new())) {
        Err(SandboxError::Load(m)) => {
            assert!(m.contains("loop or previous error loading module 'loop'"), "{m}")
        }
        _ => panic!("recursive require"),
    }
}

#[test]
fn native_modules_become_globals() {
    let s = script(
        "local c = require 'counter'
         assert(c == counter)
         function process_message() return counter.new(1):get() == 1 and 0 or -1 end",
    );
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.extensions = test_support::extensions();
    let (mut sb, _h, _s) = start_with(cfg, s);
    assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
}

#[test]
fn stats_after_calls() {
    let s = script(
        "t = {} function process_message()
           local n = read_message('Fields[number]')
           for i = 1, 5000 do t[i] = i end
           add_to_payload(string.rep('x', 100)) inject_payload()
           return n == 64 and -1 or 0
         end
         function timer_event() end",
    );
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.duration_sample_denominator = 2;
    let (mut sb, host, _s) = start_with(cfg, s);
    for _ in 0..5 {
        assert!(matches!(sb.process_message(&test_pack()), Ok(ProcessStatus::Failed { .. })));
    }
    sb.timer_event(1).unwrap();
    let st = sb.stats();
    assert_eq!(st.process_message_count, 5);
    assert_eq!(st.process_message_failures, 5);
    assert_eq!(st.inject_message_count, 5);
    let out = host.take();
    assert_eq!(out.len(), 5);
    assert_eq!(st.process_message_samples, 3, "1 in 2 calls timed");
    assert!(st.process_message_avg_duration > 0);
    assert_eq!(st.timer_event_samples, 1);
    assert_eq!(
        st.max_output,
        crate::message::encode(&out[0].message).len(),
        "the injected message"
    );
    assert!(
        st.max_instructions >= 10_000 && st.max_instructions < 1_000_000,
        "{}",
        st.max_instructions
    );
    assert!(st.memory > 40_000 && st.memory <= st.max_memory, "{st:?}");
    let (mut bad, _h, _s) =
        start(SandboxKind::Filter, "function process_message() while true do end end");
    bad.process_message(&test_pack()).unwrap_err();
    let st = bad.stats();
    assert_eq!(st.memory, 0);
    assert!(st.max_instructions > 1_000_000, "kept after termination: {}", st.max_instructions);
}
