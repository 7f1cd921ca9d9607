//! `SandboxFilter`: a Lua filter (Heka's API). Injected messages are routed
//! after each call; a script that terminates (limit exceeded, runtime
//! error) injects `heka.sandbox-terminated` and stops for good, leaving the
//! rest of the pipeline running. `preserve_data` state is saved on a clean
//! stop.

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::{Category, ConfigError};
use crate::message::{PackMut, PackRef};
use crate::plugins::context::InjectPath;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::sandbox::{report_stats, sandbox_config, shut_down, terminated_message};
use crate::plugins::{Filter, FilterContext, FilterEnv, FilterFactory, PluginError, PluginReport};
use crate::sandbox::{ProcessStatus, Sandbox, SandboxConfig, SandboxHost, SandboxKind, Terminated};

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

/// The filter.
pub struct SandboxFilter {
    sandbox: Option<Sandbox>,
    path: InjectPath,
    pending: Pending,
    name: String,
    hostname: String,
    timer_on_shutdown: bool,
}

impl SandboxFilter {
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
}

struct Factory {
    cfg: SandboxConfig,
    timer_on_shutdown: bool,
}

impl FilterFactory for Factory {
    fn build(&self, env: &FilterEnv) -> Result<Box<dyn Filter>, PluginError> {
        let pending = Pending::default();
        let host = FilterHost { path: env.inject.clone(), pending: pending.clone() };
        let sandbox = Sandbox::new(self.cfg.clone(), Box::new(host))
            .map_err(|e| PluginError::Terminated(e.to_string()))?;
        pending.route(&env.inject);
        Ok(Box::new(SandboxFilter {
            sandbox: Some(sandbox),
            path: env.inject.clone(),
            pending,
            name: env.name.clone(),
            hostname: env.hostname.clone(),
            timer_on_shutdown: self.timer_on_shutdown,
        }))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let (cfg, common) = sandbox_config(cx, SandboxKind::Filter)?;
    Ok(Built::Filter(Box::new(Factory { cfg, timer_on_shutdown: common.timer_event_on_shutdown })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "SandboxFilter",
    category: Category::Filter,
    build,
    defaults: Defaults { can_exit: true, ..Defaults::NONE },
};
