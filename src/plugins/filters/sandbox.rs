//! `SandboxFilter`: a Lua filter (Heka's API). Injected messages are routed
//! after each call; a script that terminates (limit exceeded, runtime
//! error) injects `heka.sandbox-terminated` and stops for good, leaving the
//! rest of the pipeline running. `preserve_data` state is saved on a clean
//! stop.
//!
//! With `reload_on_change = true` the script and the `.lua` modules it
//! loaded are watched ([`super::script_watch`]); after a save the filter
//! builds a new sandbox from the new source between two messages, moves the
//! globals over (preservation format, so `_PRESERVATION_VERSION` decides)
//! and swaps it in. A script that does not load keeps the old version
//! running; the refusal is logged, reported and announced with a
//! `heka.sandbox-terminated`-style message.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::config::{Category, ConfigError};
use crate::message::{PackMut, PackRef};
use crate::plugins::context::InjectPath;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::sandbox::{
    NO_PROCESS_MESSAGE, PROCESS_MESSAGE, inject_terminated, report_stats, sandbox_config,
    shut_down, terminated_message,
};
use crate::plugins::{Filter, FilterContext, FilterEnv, FilterFactory, PluginError, PluginReport};
use crate::sandbox::{ProcessStatus, Sandbox, SandboxConfig, SandboxHost, SandboxKind, Terminated};

use super::script_watch::ScriptWatch;

/// How often the list of watched module files is refreshed (scripts may
/// `require` modules lazily).
const WATCH_REFRESH: Duration = Duration::from_secs(1);

/// Injections made during a Lua call, routed when the call returns.
#[derive(Clone, Default)]
pub(crate) struct Pending(Rc<RefCell<Vec<PackMut>>>);

impl Pending {
    pub(crate) fn route(&self, path: &InjectPath) {
        path.sink.route(&mut self.0.borrow_mut());
    }
}

/// The engine's view of the pipeline for a filter.
pub(crate) struct FilterHost {
    pub(crate) path: InjectPath,
    pub(crate) pending: Pending,
}

impl SandboxHost for FilterHost {
    fn new_pack(&mut self) -> Result<PackMut, String> {
        let (path, pending) = (&self.path, &self.pending);
        path.new_pack(|| pending.route(path)).map_err(|e| e.to_string())
    }

    fn inject(&mut self, mut pack: PackMut) -> Result<(), String> {
        let parent = pack.loop_count;
        self.path.check(&mut pack, parent).map_err(|e| e.to_string())?;
        self.pending.0.borrow_mut().push(pack);
        Ok(())
    }
}

/// Injects `heka.sandbox-terminated` for `plugin`.
pub(crate) fn announce_termination(
    path: &InjectPath,
    plugin: &str,
    hostname: &str,
    t: &Terminated,
) {
    tracing::error!(plugin, "Sandbox terminated: {}", t.message);
    match path.new_pack(|| {}) {
        Ok(mut pack) => {
            terminated_message(&mut pack.message, plugin, &t.message, hostname);
            path.sink.route(&mut vec![pack]);
        }
        Err(e) => tracing::error!(plugin, "Cannot report the termination: {e}"),
    }
}

/// `reload_on_change` bookkeeping.
struct Watching {
    watch: ScriptWatch,
    next_refresh: Instant,
    reloads: u64,
    failures: u64,
    last_error: Option<String>,
    last_duration: Duration,
}

/// The filter.
pub struct SandboxFilter {
    sandbox: Option<Sandbox>,
    path: InjectPath,
    pending: Pending,
    name: String,
    hostname: String,
    timer_on_shutdown: bool,
    /// The configuration, for rebuilding from a changed script.
    cfg: SandboxConfig,
    watching: Option<Watching>,
}

/// Builds a sandbox whose injections go to a new [`Pending`], and refuses a
/// script without `process_message`.
fn new_sandbox(cfg: SandboxConfig, path: &InjectPath) -> Result<(Sandbox, Pending), String> {
    let pending = Pending::default();
    let host = FilterHost { path: path.clone(), pending: pending.clone() };
    let sandbox = Sandbox::new(cfg, Box::new(host)).map_err(|e| e.to_string())?;
    if !sandbox.has_function(PROCESS_MESSAGE) {
        return Err(NO_PROCESS_MESSAGE.into());
    }
    Ok((sandbox, pending))
}

/// The script and the module files it loaded.
fn watched_files(cfg: &SandboxConfig, sandbox: Option<&Sandbox>) -> Vec<std::path::PathBuf> {
    let mut files = vec![cfg.script_path.clone()];
    files.extend(sandbox.map(Sandbox::module_files).unwrap_or_default());
    files
}

impl SandboxFilter {
    /// A new sandbox from the script as it is on disk now, holding the
    /// running sandbox's globals.
    fn rebuilt(&self) -> Result<(Sandbox, Pending), String> {
        let old = self.sandbox.as_ref().ok_or("sandbox already stopped")?;
        let mut cfg = self.cfg.clone();
        cfg.source = None;
        cfg.load_preserved = false;
        let (mut new, pending) = new_sandbox(cfg, &self.path)?;
        let state = old.preservation_data().map_err(|e| format!("saving the state failed: {e}"))?;
        if let Some(state) = state {
            new.restore(&state).map_err(|e| format!("restoring the state failed: {e}"))?;
        }
        Ok((new, pending))
    }

    /// Swaps in the changed script, or keeps the running one and says why.
    fn reload_script(&mut self) {
        let began = Instant::now();
        let result = self.rebuilt();
        let Some(w) = self.watching.as_mut() else { return };
        match result {
            Ok((sandbox, pending)) => {
                // The old state is dropped without saving: its globals live on.
                self.sandbox = Some(sandbox);
                self.pending = pending;
                self.pending.route(&self.path);
                w.reloads += 1;
                w.last_duration = began.elapsed();
                w.last_error = None;
                let files = watched_files(&self.cfg, self.sandbox.as_ref());
                if let Err(e) = w.watch.set_files(&files) {
                    tracing::warn!(plugin = %self.name, "{e}");
                }
                tracing::info!(
                    plugin = %self.name,
                    "Script reloaded in place (state carried over) in {:.1} ms.",
                    w.last_duration.as_secs_f64() * 1000.0
                );
            }
            Err(e) => {
                w.failures += 1;
                let text = format!(
                    "reload of {} refused, the running version stays: {e}",
                    self.cfg.script_path.display()
                );
                tracing::error!(plugin = %self.name, "{text}");
                if let Err(e) = inject_terminated(&self.path, &self.name, &self.hostname, &text) {
                    tracing::warn!(plugin = %self.name, "Cannot announce the refused reload: {e}");
                }
                w.last_error = Some(text);
            }
        }
    }

    /// Keeps the watched files in step with the modules loaded since.
    fn refresh_watch(&mut self) {
        let Some(w) = self.watching.as_mut() else { return };
        if Instant::now() < w.next_refresh {
            return;
        }
        w.next_refresh = Instant::now() + WATCH_REFRESH;
        let files = watched_files(&self.cfg, self.sandbox.as_ref());
        if files.len() != w.watch.len()
            && let Err(e) = w.watch.set_files(&files)
        {
            tracing::warn!(plugin = %self.name, "{e}");
        }
    }

    fn sandbox(&mut self) -> Result<&mut Sandbox, PluginError> {
        self.sandbox
            .as_mut()
            .ok_or_else(|| PluginError::Terminated("sandbox already stopped".into()))
    }

    fn terminated(&mut self, t: Terminated) -> PluginError {
        self.pending.route(&self.path);
        announce_termination(&self.path, &self.name, &self.hostname, &t);
        PluginError::Terminated(t.message)
    }

    fn status(&mut self, status: ProcessStatus) -> Result<(), PluginError> {
        self.pending.route(&self.path);
        match status {
            ProcessStatus::Ok => Ok(()),
            ProcessStatus::Failed { status, message } => Err(PluginError::Failed(
                message.unwrap_or_else(|| format!("process_message returned {status}")),
            )),
            ProcessStatus::Fatal { status, message } => Err(PluginError::Fatal(
                message.unwrap_or_else(|| format!("process_message returned {status}")),
            )),
        }
    }
}

impl Filter for SandboxFilter {
    fn process_message(
        &mut self,
        pack: &PackRef,
        _cx: &mut FilterContext<'_>,
    ) -> Result<(), PluginError> {
        match self.sandbox()?.process_message(pack) {
            Ok(status) => self.status(status),
            Err(t) => Err(self.terminated(t)),
        }
    }

    fn timer_event(&mut self, now_ns: i64, _cx: &mut FilterContext<'_>) -> Result<(), PluginError> {
        match self.sandbox()?.timer_event(now_ns) {
            Ok(()) => {
                self.pending.route(&self.path);
                Ok(())
            }
            Err(t) => Err(self.terminated(t)),
        }
    }

    fn stop(&mut self, _cx: &mut FilterContext<'_>) {
        shut_down(self.sandbox.take(), self.timer_on_shutdown, &self.name);
        self.pending.route(&self.path);
    }

    fn report(&self, report: &mut PluginReport) {
        if let Some(s) = &self.sandbox {
            report_stats(&s.stats(), report);
            if let Some(t) = s.terminated() {
                report.set("Terminated", t);
            }
        }
        if let Some(w) = &self.watching {
            report.set("ScriptReloads", w.reloads);
            report.set("ScriptReloadFailures", w.failures);
            report.set("ScriptReloadDuration", w.last_duration.as_nanos() as u64);
            if let Some(e) = &w.last_error {
                report.set("ScriptReloadError", e.as_str());
            }
        }
    }

    fn export_state(&self) -> Result<Option<String>, PluginError> {
        match &self.sandbox {
            Some(s) => s.preservation_data().map_err(|e| PluginError::Failed(e.to_string())),
            None => Ok(None),
        }
    }

    fn import_state(&mut self, state: &str) -> Result<(), PluginError> {
        let result = self.sandbox()?.restore(state);
        self.pending.route(&self.path);
        result.map_err(|e| PluginError::Failed(e.to_string()))
    }

    fn poll(&mut self, _cx: &mut FilterContext<'_>) -> Result<(), PluginError> {
        let Some(w) = &self.watching else { return Ok(()) };
        if w.watch.due() {
            w.watch.clear();
            self.reload_script();
        }
        self.refresh_watch();
        Ok(())
    }
}

struct Factory {
    cfg: SandboxConfig,
    timer_on_shutdown: bool,
    reload_on_change: bool,
}

impl FilterFactory for Factory {
    fn build(&self, env: &FilterEnv) -> Result<Box<dyn Filter>, PluginError> {
        let mut cfg = self.cfg.clone();
        // A replacement is handed the live state; a saved file is older.
        cfg.load_preserved = !env.replacing;
        let (sandbox, pending) = new_sandbox(cfg, &env.inject).map_err(PluginError::Terminated)?;
        pending.route(&env.inject);
        let watching = if self.reload_on_change {
            match ScriptWatch::new(&watched_files(&self.cfg, Some(&sandbox))) {
                Ok(watch) => Some(Watching {
                    watch,
                    next_refresh: Instant::now() + WATCH_REFRESH,
                    reloads: 0,
                    failures: 0,
                    last_error: None,
                    last_duration: Duration::ZERO,
                }),
                Err(e) => {
                    tracing::error!(plugin = %env.name, "reload_on_change is off: {e}");
                    None
                }
            }
        } else {
            None
        };
        Ok(Box::new(SandboxFilter {
            sandbox: Some(sandbox),
            path: env.inject.clone(),
            pending,
            name: env.name.clone(),
            hostname: env.hostname.clone(),
            timer_on_shutdown: self.timer_on_shutdown,
            cfg: self.cfg.clone(),
            watching,
        }))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let (cfg, common) = sandbox_config(cx, SandboxKind::Filter)?;
    Ok(Built::Filter(Box::new(Factory {
        cfg,
        timer_on_shutdown: common.timer_event_on_shutdown,
        reload_on_change: common.reload_on_change,
    })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "SandboxFilter",
    category: Category::Filter,
    build,
    defaults: Defaults { can_exit: true, ..Defaults::NONE },
};

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::plugins::context::Injections;
    use crate::plugins::filters::testing::{self, Collect};

    impl Collect {
        fn payloads_of(&self, msg_type: &str) -> Vec<String> {
            let packs = self.0.lock().unwrap();
            let of_type = packs.iter().filter(|p| p.message.msg_type == msg_type.as_bytes());
            of_type.map(|p| p.message.payload_str().into_owned()).collect()
        }
    }

    fn env(sink: &Arc<Collect>, replacing: bool) -> FilterEnv {
        FilterEnv { replacing, ..testing::env("f", sink) }
    }

    fn counter(generation: u32, step: u32) -> String {
        format!(
            "count = count or 0\nlocal generation = {generation}\n\
             function process_message() count = count + {step} return 0 end\n"
        )
    }

    fn feed(f: &mut dyn Filter, e: &FilterEnv, n: usize) {
        let mut inj = Injections::new(e.inject.clone());
        for _ in 0..n {
            let mut cx = FilterContext { name: "f", hostname: "h", injector: &mut inj };
            f.process_message(&PackMut::standalone().freeze(), &mut cx).unwrap();
        }
    }

    fn poll_until(f: &mut dyn Filter, e: &FilterEnv, key: &str, want: u64) {
        let mut inj = Injections::new(e.inject.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut cx = FilterContext { name: "f", hostname: "h", injector: &mut inj };
            f.poll(&mut cx).unwrap();
            let mut r = PluginReport::default();
            f.report(&mut r);
            let got = r.values.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.as_u64());
            if got == Some(want) {
                return;
            }
            assert!(Instant::now() < deadline, "{key} never reached {want}: {r:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn state(f: &dyn Filter) -> String {
        f.export_state().unwrap().unwrap()
    }

    fn factory(script: &std::path::Path, reload_on_change: bool) -> Factory {
        let cfg = SandboxConfig::new(SandboxKind::Filter, "f", script);
        Factory { cfg, timer_on_shutdown: false, reload_on_change }
    }

    #[test]
    fn a_saved_script_is_swapped_in_with_its_globals() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("count.lua");
        std::fs::write(&script, counter(1, 1)).unwrap();
        let sink = Arc::new(Collect::default());
        let e = env(&sink, false);
        let mut f = factory(&script, true).build(&e).unwrap();
        feed(f.as_mut(), &e, 3);
        std::fs::write(&script, counter(2, 10)).unwrap();
        poll_until(f.as_mut(), &e, "ScriptReloads", 1);
        feed(f.as_mut(), &e, 1);
        // Globals come back (count); the new code runs (step 10).
        assert!(state(f.as_ref()).contains("_G[\"count\"] = 13"), "{}", state(f.as_ref()));

        // A syntax error, then a half-written (empty) file: both refused,
        // the running version goes on, and each refusal is announced.
        std::fs::write(&script, "function process_message(\n").unwrap();
        poll_until(f.as_mut(), &e, "ScriptReloadFailures", 1);
        std::fs::write(&script, "").unwrap();
        poll_until(f.as_mut(), &e, "ScriptReloadFailures", 2);
        feed(f.as_mut(), &e, 1);
        assert!(state(f.as_ref()).contains("_G[\"count\"] = 23"));
        let refused = sink.payloads_of("heka.sandbox-terminated");
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].contains("refused, the running version stays"), "{refused:?}");
        assert!(refused[0].contains("count.lua:2"), "names the line: {refused:?}");
        assert!(refused[1].contains(NO_PROCESS_MESSAGE), "{refused:?}");
        let mut r = PluginReport::default();
        f.report(&mut r);
        assert!(r.values.iter().any(|(k, _)| k == "ScriptReloadError"), "{r:?}");
    }

    #[test]
    fn a_new_preservation_version_starts_clean() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("count.lua");
        std::fs::write(&script, counter(1, 1)).unwrap();
        let sink = Arc::new(Collect::default());
        let e = env(&sink, false);
        let mut f = factory(&script, true).build(&e).unwrap();
        feed(f.as_mut(), &e, 5);
        std::fs::write(&script, format!("_PRESERVATION_VERSION = 2\n{}", counter(2, 1))).unwrap();
        poll_until(f.as_mut(), &e, "ScriptReloads", 1);
        feed(f.as_mut(), &e, 1);
        assert!(state(f.as_ref()).contains("_G[\"count\"] = 1\n"), "{}", state(f.as_ref()));
    }

    #[test]
    fn a_replacement_ignores_the_saved_file_and_the_checked_text_is_what_runs() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("count.lua");
        std::fs::write(&script, counter(1, 1)).unwrap();
        let data = dir.path().join("f.data");
        std::fs::write(&data, "count = 100\n").unwrap();
        let mut cfg = SandboxConfig::new(SandboxKind::Filter, "f", &script);
        cfg.preserve_data = true;
        cfg.preservation_path = Some(data);
        // The file on disk has changed since the check: the checked text runs.
        cfg.source =
            Some(b"count = count or 0\nfunction process_message() return 0 end"[..].into());
        let sink = Arc::new(Collect::default());
        let fac = Factory { cfg, timer_on_shutdown: false, reload_on_change: false };
        let e = env(&sink, false);
        let mut fresh = fac.build(&e).unwrap();
        feed(fresh.as_mut(), &e, 1);
        let s = state(fresh.as_ref());
        assert!(s.contains("_G[\"count\"] = 100"), "{s}");
        let replacement = fac.build(&env(&sink, true)).unwrap();
        assert!(state(replacement.as_ref()).contains("_G[\"count\"] = 0"));
    }

    #[test]
    fn a_script_without_process_message_does_not_start() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("x.lua");
        std::fs::write(&script, "x = 1").unwrap();
        let sink = Arc::new(Collect::default());
        let err = factory(&script, false).build(&env(&sink, false)).err().unwrap();
        assert!(err.to_string().contains(NO_PROCESS_MESSAGE), "{err}");
    }
}
