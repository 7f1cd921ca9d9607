//! Unit tests of the manager's rules against a recording [`PluginManager`].

use std::sync::Mutex;

use super::*;
use crate::config::{HekadConfig, load_str};
use crate::message::PackMut;
use crate::plugins::context::Injections;
use crate::plugins::filters::testing::{self, Collect};
use crate::sandbox::DEFAULT_MEMORY_LIMIT;

/// Records what the manager asks of the pipeline; `fail` makes the next
/// load or reload fail with that text.
#[derive(Default)]
struct Fake {
    running: Mutex<Vec<PluginSection>>,
    reloaded: Mutex<Vec<PluginSection>>,
    fail: Mutex<Option<String>>,
}

impl Fake {
    fn section(&self, name: &str) -> PluginSection {
        let running = self.running.lock().unwrap();
        running.iter().find(|s| s.name == name).cloned().unwrap()
    }
}

impl PluginManager for Fake {
    fn load_filter(&self, section: PluginSection) -> Result<(), String> {
        if let Some(e) = self.fail.lock().unwrap().take() {
            return Err(e);
        }
        self.running.lock().unwrap().push(section);
        Ok(())
    }
    fn unload_filter(&self, name: &str) -> Result<(), String> {
        let mut r = self.running.lock().unwrap();
        let at = r.iter().position(|s| s.name == name).ok_or("no such filter")?;
        r.remove(at);
        Ok(())
    }
    fn reload_filter(&self, section: PluginSection) -> Result<(), String> {
        if let Some(e) = self.fail.lock().unwrap().take() {
            return Err(e);
        }
        self.reloaded.lock().unwrap().push(section);
        Ok(())
    }
    fn loaded_filters(&self) -> Vec<String> {
        self.running.lock().unwrap().iter().map(|s| s.name.clone()).collect()
    }
}

impl Collect {
    /// (plugin field, payload) of the announcements so far.
    fn announced(&self) -> Vec<(String, String)> {
        let packs = self.0.lock().unwrap();
        packs
            .iter()
            .filter(|p| p.message.msg_type == b"heka.sandbox-terminated")
            .map(|p| {
                assert_eq!(p.message.logger, b"hekad");
                (text_field(&p.message, "plugin").unwrap(), p.message.payload_str().into_owned())
            })
            .collect()
    }
}

struct Setup {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    fake: Arc<Fake>,
    sink: Arc<Collect>,
    env: FilterEnv,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_path_buf();
    let fake = Arc::new(Fake::default());
    let sink = Arc::new(Collect::default());
    let hekad = HekadConfig { base_dir: base.clone(), ..HekadConfig::default() };
    let env = FilterEnv {
        manager: Some(Arc::clone(&fake) as Arc<dyn PluginManager>),
        hekad: Arc::new(hekad),
        ..testing::env("mgr", &sink)
    };
    Setup { _tmp: tmp, base, fake, sink, env }
}

const MANAGER: &str = "[mgr]\ntype = 'SandboxManagerFilter'\nmax_filters = 2\n\
                       memory_limit = 1000000\ninstruction_limit = 500\noutput_limit = 2048\n";

fn manager(s: &Setup, toml: &str) -> Box<dyn Filter> {
    let config = load_str(toml, Path::new("m.toml")).unwrap();
    let hekad = HekadConfig { base_dir: s.base.clone(), ..config.hekad.clone() };
    let cx = BuildContext {
        hekad: &hekad,
        section: &config.plugins[0],
        decoders: &std::collections::HashMap::new(),
    };
    let Ok(Built::Filter(f)) = build(&cx) else { panic!("not a filter") };
    f.build(&s.env).unwrap()
}

fn send(s: &Setup, m: &mut dyn Filter, msg: Message) {
    let mut inj = Injections::new(s.env.inject.clone());
    let mut cx = FilterContext { name: "mgr", hostname: "h", injector: &mut inj };
    m.process_message(&PackMut::from_message(msg).freeze(), &mut cx).unwrap();
}

fn report(m: &dyn Filter, key: &str) -> u64 {
    let mut r = PluginReport::default();
    m.report(&mut r);
    r.values.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.as_u64()).unwrap()
}

const COUNTER: &str = "[counter]\ntype = 'SandboxFilter'\nmessage_matcher = 'TRUE'\n\
                       filename = 'ignored.lua'\nmemory_limit = 99\nreload_on_change = true\n\
                       can_exit = false\nmodule_directory = 'elsewhere'\n";

fn load(name: &str) -> Message {
    let config = COUNTER.replace("[counter]", &format!("[{name}]"));
    control_message("load", Some(b"-- source"), Some(&config), None)
}

#[test]
fn load_writes_the_files_and_forces_the_managers_settings() {
    let s = setup();
    let mut m = manager(&s, MANAGER);
    send(&s, m.as_mut(), load("counter"));
    let dir = s.base.join("sbxmgrs");
    let lua = dir.join("mgr-counter.lua");
    assert_eq!(std::fs::read(&lua).unwrap(), b"-- source");
    assert_eq!(std::fs::read_to_string(dir.join("mgr-counter.toml")).unwrap(), COUNTER);
    let sec = s.fake.section("mgr-counter");
    assert_eq!(sec.type_name, "SandboxFilter");
    assert_eq!(sec.table["filename"].as_str(), Some(lua.display().to_string().as_str()));
    assert_eq!(sec.table["memory_limit"].as_integer(), Some(1_000_000));
    assert_eq!(sec.table["instruction_limit"].as_integer(), Some(500));
    assert_eq!(sec.table["output_limit"].as_integer(), Some(2048));
    assert!(!sec.table.contains_key("module_directory"), "the default applies");
    assert!(!sec.table.contains_key("reload_on_change"));
    let common = sec.common.filter_output().unwrap();
    assert_eq!(common.can_exit, Some(true));
    assert_eq!(common.message_matcher.as_deref(), Some("TRUE"));
    assert_eq!((report(m.as_ref(), "RunningFilters"), report(m.as_ref(), "Loads")), (1, 1));
    assert!(s.sink.announced().is_empty());

    let forced = "[mgr]\ntype = 'SandboxManagerFilter'\nmax_filters = 1\nmodule_directory = 'mods'";
    let s2 = setup();
    let mut m2 = manager(&s2, forced);
    send(&s2, m2.as_mut(), load("\"x y\""));
    let sec = s2.fake.section("mgr-x_y");
    assert_eq!(sec.table["module_directory"].as_str(), Some("mods"));
    assert_eq!(sec.table["memory_limit"].as_integer(), Some(DEFAULT_MEMORY_LIMIT as i64));
}

#[test]
fn every_refusal_is_counted_and_announced_with_its_reason() {
    let s = setup();
    let mut m = manager(&s, MANAGER);
    let mut stale = load("a");
    stale.timestamp -= 6_000_000_000;
    send(&s, m.as_mut(), stale);
    let mut future = load("a");
    future.timestamp += 6_000_000_000;
    send(&s, m.as_mut(), future);
    send(&s, m.as_mut(), control_message("explode", None, None, None));
    let mut no_action = load("a");
    no_action.fields.retain(|f| f.name != "action");
    send(&s, m.as_mut(), no_action);
    send(&s, m.as_mut(), control_message("load", Some(b"--"), None, None));
    send(&s, m.as_mut(), control_message("load", Some(b"--"), Some("[a\ntype="), None));
    let decoder = "[d]\ntype = 'SandboxDecoder'\nfilename = 'x.lua'";
    send(&s, m.as_mut(), control_message("load", Some(b"--"), Some(decoder), None));
    send(&s, m.as_mut(), load("a"));
    send(&s, m.as_mut(), load("a"));
    send(&s, m.as_mut(), load("b"));
    send(&s, m.as_mut(), load("c"));
    *s.fake.fail.lock().unwrap() = Some("script.lua:3: syntax error".into());
    s.fake.unload_filter("mgr-b").unwrap();
    send(&s, m.as_mut(), load("c"));
    send(&s, m.as_mut(), control_message("unload", None, None, Some("nope")));
    send(&s, m.as_mut(), control_message("reload", Some(b"--"), None, Some("nope")));
    let got = s.sink.announced();
    let expect: Vec<(&str, &str)> = vec![
        ("mgr", "control message discarded: its timestamp is 6.0 seconds off"),
        ("mgr", "control message discarded: its timestamp is -6.0 seconds off"),
        ("mgr", "control message refused: unknown action 'explode'"),
        ("mgr", "control message refused: no Fields[action]"),
        ("mgr", "load refused: no Fields[config]"),
        ("mgr", "load refused: bad config: mgr control message: TOML syntax error at line 1"),
        ("mgr-d", "load of mgr-d refused: type must be SandboxFilter, not 'SandboxDecoder'"),
        ("mgr-a", "load of mgr-a refused: it is already running"),
        ("mgr-c", "load of mgr-c refused: max_filters (2) reached"),
        ("mgr-c", "load of mgr-c refused: script.lua:3: syntax error"),
        ("mgr-nope", "unload of mgr-nope refused: mgr loaded no filter of that name"),
        ("mgr-nope", "reload of mgr-nope refused: mgr loaded no such filter"),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((plugin, payload), (want_plugin, want_start)) in got.iter().zip(&expect) {
        assert_eq!(plugin, want_plugin, "{payload}");
        assert!(payload.starts_with(want_start), "{payload:?} should start with {want_start:?}");
    }
    assert_eq!(report(m.as_ref(), "Refusals"), expect.len() as u64);
    assert_eq!(report(m.as_ref(), "ProcessMessageCount"), 14);
    // The failed load left no files behind; the running ones keep theirs.
    let dir = s.base.join("sbxmgrs");
    assert!(!dir.join("mgr-c.lua").exists() && !dir.join("mgr-c.toml").exists());
    assert!(dir.join("mgr-a.lua").exists());
}

#[test]
fn unload_stops_the_filter_and_removes_its_files() {
    let s = setup();
    let mut m = manager(&s, MANAGER);
    send(&s, m.as_mut(), load("counter"));
    let dir = s.base.join("sbxmgrs");
    // Both the section name and the full name are accepted.
    send(&s, m.as_mut(), control_message("unload", None, None, Some("mgr-counter")));
    assert!(s.fake.loaded_filters().is_empty());
    assert!(!dir.join("mgr-counter.lua").exists() && !dir.join("mgr-counter.toml").exists());
    assert_eq!((report(m.as_ref(), "RunningFilters"), report(m.as_ref(), "Unloads")), (0, 1));
    send(&s, m.as_mut(), load("counter"));
    send(&s, m.as_mut(), control_message("unload", None, None, Some("counter")));
    assert!(s.sink.announced().is_empty(), "{:?}", s.sink.announced());
}

#[test]
fn reload_commits_the_files_only_after_success() {
    let s = setup();
    let mut m = manager(&s, MANAGER);
    send(&s, m.as_mut(), load("counter"));
    let dir = s.base.join("sbxmgrs");
    *s.fake.fail.lock().unwrap() = Some("bad.lua:1: unexpected symbol".into());
    send(&s, m.as_mut(), control_message("reload", Some(b"-- broken"), None, Some("counter")));
    assert_eq!(std::fs::read(dir.join("mgr-counter.lua")).unwrap(), b"-- source");
    assert!(!dir.join(".staged/mgr-counter.lua").exists());
    let (plugin, why) = s.sink.announced().pop().unwrap();
    assert_eq!(plugin, "mgr-counter");
    assert!(why.contains("refused, the running version stays: bad.lua:1"), "{why}");

    // Without a config the stored one is used; with one, it is saved.
    send(&s, m.as_mut(), control_message("reload", Some(b"-- v2"), None, Some("counter")));
    let staged = s.fake.reloaded.lock().unwrap()[0].clone();
    assert_eq!(staged.name, "mgr-counter");
    let staged_path = dir.join(".staged/mgr-counter.lua");
    assert_eq!(staged.table["filename"].as_str(), Some(staged_path.display().to_string().as_str()));
    assert_eq!(std::fs::read(dir.join("mgr-counter.lua")).unwrap(), b"-- v2");
    let config = COUNTER.replace("'TRUE'", "\"Type == 'x'\"");
    send(&s, m.as_mut(), control_message("reload", Some(b"-- v3"), Some(&config), Some("counter")));
    assert_eq!(std::fs::read_to_string(dir.join("mgr-counter.toml")).unwrap(), config);
    let other = COUNTER.replace("[counter]", "[other]");
    send(&s, m.as_mut(), control_message("reload", Some(b"-- v4"), Some(&other), Some("counter")));
    let (_, why) = s.sink.announced().pop().unwrap();
    assert_eq!(why, "reload of mgr-counter refused: the config is for mgr-other");
    assert_eq!(std::fs::read(dir.join("mgr-counter.lua")).unwrap(), b"-- v3");
    assert_eq!(report(m.as_ref(), "Reloads"), 2);
}

#[test]
fn filters_in_the_working_directory_are_loaded_again_at_start() {
    let s = setup();
    let dir = s.base.join("sbxmgrs");
    for name in ["a", "b", "c"] {
        let sys = format!("mgr-{name}");
        write_private(
            &dir.join(format!("{sys}.toml")),
            COUNTER.replace("counter", name).as_bytes(),
        )
        .unwrap();
        write_private(&dir.join(format!("{sys}.lua")), b"-- x").unwrap();
    }
    write_private(&dir.join("other-z.toml"), b"[z]\ntype = 'SandboxFilter'").unwrap();
    write_private(&dir.join("mgr-bad.toml"), b"[elsewhere]\ntype = 'SandboxFilter'").unwrap();
    let m = manager(&s, MANAGER);
    // Sorted: a, b, bad (refused: not its name), c (refused: max_filters 2).
    assert_eq!(s.fake.loaded_filters(), vec!["mgr-a", "mgr-b"]);
    let why: Vec<String> = s.sink.announced().into_iter().map(|(_, w)| w).collect();
    assert_eq!(
        why,
        vec![
            "restoring mgr-bad failed: its config is for mgr-elsewhere",
            "restoring mgr-c refused: max_filters (2) reached"
        ]
    );
    assert_eq!(report(m.as_ref(), "RunningFilters"), 2);
    // A manager built again (restarted, reloaded) adopts what runs.
    let m2 = manager(&s, MANAGER);
    assert_eq!(report(m2.as_ref(), "RunningFilters"), 2);
    assert_eq!(s.fake.loaded_filters().len(), 2);
}
