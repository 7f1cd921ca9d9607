//! `preserve_data`: saving globals on stop and restoring them at start.

use super::{Script, config, script, test_pack};
use crate::sandbox::extensions::test_support;
use crate::sandbox::{
    CollectHost, ProcessStatus, Sandbox, SandboxConfig, SandboxError, SandboxKind,
};

fn preserving(s: &Script) -> SandboxConfig {
    let mut cfg = config(SandboxKind::Filter, s);
    cfg.preserve_data = true;
    cfg.preservation_path =
        Some(s.dir.path().join("sandbox_preservation").join("test_plugin.data"));
    cfg.extensions = test_support::extensions();
    cfg
}

fn new(cfg: &SandboxConfig) -> Sandbox {
    new_with_host(cfg).0
}

fn new_with_host(cfg: &SandboxConfig) -> (Sandbox, CollectHost) {
    let host = CollectHost::new();
    let sb = Sandbox::new(cfg.clone(), Box::new(host.clone())).unwrap_or_else(|e| panic!("{e}"));
    (sb, host)
}

const STATE: &str = r#"
require "counter"
do
  count = 0
  local bin = ""
  for i = 0, 255 do bin = bin .. string.char(i) end
  data = {
    int = 9007199254740993, neg = -7, float = 0.1, third = 1/3, big = 1e300, whole = 3.0,
    nan = 0/0, inf = 1/0, ninf = -1/0, min = math.mininteger,
    bin = bin, quote = "a\"b\\c\nd", yes = true, no = false,
    list = {1, 2, {3, 4}}, [5] = "five", [2.5] = "two and a half", [true] = "t",
  }
  shared = {tag = "shared"}
  data.a = shared
  data.b = shared
  cyclea = {name = "a"}
  cycleb = {name = "b", a = cyclea}
  cyclea.b = cycleb
  cyclea.self = cyclea
  fn = function() end
  withmeta = setmetatable({}, {})
  cnt = counter.new(5)
  mod = require "counter"
end
local scratch = 1
function process_message()
  count = count + 1
  cnt:add(1)
  return 0
end
function check()
  local d = data
  assert(math.type(d.int) == "integer" and d.int == 9007199254740993)
  assert(d.neg == -7 and d.float == 0.1 and d.third == 1/3 and d.big == 1e300)
  assert(math.type(d.whole) == "float" and d.whole == 3.0)
  assert(d.nan ~= d.nan and d.inf == math.huge and d.ninf == -math.huge)
  assert(d.min == math.mininteger and math.type(d.min) == "integer")
  assert(#d.bin == 256 and d.bin:byte(1) == 0 and d.bin:byte(256) == 255)
  assert(d.quote == "a\"b\\c\nd" and d.yes == true and d.no == false)
  assert(d.list[3][2] == 4 and d[5] == "five" and d[2.5] == "two and a half" and d[true] == "t")
  assert(d.a == d.b and d.a == shared, "shared references stay shared")
  assert(cyclea.b == cycleb and cycleb.a == cyclea and cyclea.self == cyclea, "cycles")
  return count, cnt:get()
end
function timer_event()
  local n, c = check()
  add_to_payload(n, " ", c)
  inject_payload()
end
"#;

#[test]
fn globals_survive_a_restart() {
    let s = script(STATE);
    let cfg = preserving(&s);
    let mut sb = new(&cfg);
    for _ in 0..3 {
        assert_eq!(sb.process_message(&test_pack()), Ok(ProcessStatus::Ok));
    }
    sb.stop().unwrap();
    let path = cfg.preservation_path.clone().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(
            "if _PRESERVATION_VERSION and _PRESERVATION_VERSION ~= 0 then return end\n"
        ),
        "{text}"
    );
    assert!(text.contains("_G[\"count\"] = 3\n"), "{text}");
    assert!(text.contains("_G[\"cycleb\"][\"a\"] = _G[\"cyclea\"]\n"), "{text}");
    assert!(text.contains("_G[\"cnt\"] = counter.new(8)\n"), "userdata hook: {text}");
    for skipped in ["scratch", "process_message", "\"fn\"", "withmeta", "\"mod\"", "counter\"]"] {
        assert!(!text.contains(skipped), "{skipped} must not be saved: {text}");
    }
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");

    let (mut again, host) = new_with_host(&cfg);
    assert_eq!(again.process_message(&test_pack()), Ok(ProcessStatus::Ok));
    again.timer_event(0).expect("check() passes on the restored state");
    assert_eq!(host.take()[0].message.payload, b"4 9");
    // Saving the restored state gives the same file (deterministic order).
    let before = again.preservation_data().unwrap().unwrap();
    again.stop().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

#[test]
fn version_mismatch_starts_clean() {
    let s = script(
        "_PRESERVATION_VERSION = 1\ncount = count or 0\nfunction process_message() count = count + 1 return 0 end",
    );
    let cfg = preserving(&s);
    let mut sb = new(&cfg);
    sb.process_message(&test_pack()).unwrap();
    sb.stop().unwrap();
    let data = std::fs::read_to_string(cfg.preservation_path.as_ref().unwrap()).unwrap();
    assert!(
        data.starts_with("if _PRESERVATION_VERSION and _PRESERVATION_VERSION ~= 1 then return end")
    );
    assert!(!data.contains("_PRESERVATION_VERSION\"]"), "the version itself is not saved");
    let same = new(&cfg);
    assert!(same.preservation_data().unwrap().unwrap().contains("_G[\"count\"] = 1"));
    same.stop().unwrap();
    std::fs::write(
        &cfg.script_path,
        "_PRESERVATION_VERSION = 2\ncount = count or 0\nfunction process_message() return 0 end",
    )
    .unwrap();
    let fresh = new(&cfg);
    assert!(
        fresh.preservation_data().unwrap().unwrap().contains("_G[\"count\"] = 0"),
        "clean start"
    );
}

#[test]
fn nothing_is_saved_after_termination() {
    let s = script("count = 1\nfunction process_message() count = count + 10 error('boom') end");
    let cfg = preserving(&s);
    let sb = new(&cfg);
    sb.stop().unwrap();
    let path = cfg.preservation_path.clone().unwrap();
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.contains("_G[\"count\"] = 1"));
    let mut sb = new(&cfg);
    assert!(sb.process_message(&test_pack()).is_err());
    assert_eq!(sb.preservation_data().unwrap(), None);
    sb.stop().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first, "the older file stays");
}

#[test]
fn serialization_failure_removes_the_file() {
    let s = script("t = {}\nfunction process_message() t[process_message] = 1 return 0 end");
    let cfg = preserving(&s);
    let mut sb = new(&cfg);
    let path = cfg.preservation_path.clone().unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "old").unwrap();
    sb.process_message(&test_pack()).unwrap();
    match sb.stop() {
        Err(SandboxError::Serialize(m)) => {
            assert!(m.contains("unsupported key type: function"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!path.exists());
}

#[test]
fn bad_data_terminates_at_start() {
    let s = script("function process_message() return 0 end");
    let cfg = preserving(&s);
    let path = cfg.preservation_path.clone().unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "_G[\"x\"] = = 1").unwrap();
    match Sandbox::new(cfg.clone(), Box::new(CollectHost::new())) {
        Err(SandboxError::Restore(m)) => assert!(m.contains("test_plugin.data:1:"), "{m}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    std::fs::write(&path, "error('no')").unwrap();
    assert!(matches!(
        Sandbox::new(cfg, Box::new(CollectHost::new())),
        Err(SandboxError::Restore(_))
    ));
}

#[test]
fn state_carries_into_a_fresh_sandbox_in_memory() {
    let src = "count = 0\nbig = {}\nfunction process_message() count = count + 1 last = {count} return 0 end";
    let s = script(src);
    let mut cfg = config(SandboxKind::Filter, &s);
    cfg.memory_limit = 200_000;
    let mut old = new(&cfg);
    for _ in 0..7 {
        old.process_message(&test_pack()).unwrap();
    }
    let data = old.preservation_data().unwrap().unwrap();
    let mut fresh = new(&cfg);
    fresh.restore(&data).unwrap();
    fresh.process_message(&test_pack()).unwrap();
    assert!(fresh.preservation_data().unwrap().unwrap().contains("_G[\"count\"] = 8"));
    // Restoring runs with the limits lifted: more data than memory_limit.
    let huge = format!("_G[\"big\"] = {{}}\n_G[\"big\"][1] = \"{}\"\n", "x".repeat(300_000));
    fresh.restore(&huge).unwrap();
    assert!(fresh.process_message(&test_pack()).is_err(), "the limit is back afterwards");
    let mut other = new(&cfg);
    assert!(matches!(other.restore("x ="), Err(SandboxError::Restore(_))));
    assert!(other.terminated().is_some());
}
