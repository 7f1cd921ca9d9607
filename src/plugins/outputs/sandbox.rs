//! `SandboxOutput`: a Lua output with `io` (Heka's I/O template): status 0
//! processed, < 0 a counted failure, > 0 fatal; `timer_event` on the ticker;
//! state preserved on a clean stop.

use crate::config::{Category, ConfigError};
use crate::message::PackRef;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::sandbox::{report_stats, sandbox_config, shut_down};
use crate::plugins::{Output, OutputContext, OutputFactory, PluginError, PluginReport};
use crate::sandbox::{NoHost, ProcessStatus, Sandbox, SandboxConfig, SandboxKind};

/// The output.
pub struct SandboxOutput {
    sandbox: Option<Sandbox>,
    name: String,
    timer_on_shutdown: bool,
}

impl SandboxOutput {
    fn sandbox(&mut self) -> Result<&mut Sandbox, PluginError> {
        self.sandbox
            .as_mut()
            .ok_or_else(|| PluginError::Terminated("sandbox already stopped".into()))
    }
}

impl Output for SandboxOutput {
    fn process_message(
        &mut self,
        pack: &PackRef,
        _cx: &mut OutputContext<'_>,
    ) -> Result<(), PluginError> {
        let text = |status: i32, message: Option<String>| {
            message.unwrap_or_else(|| format!("process_message returned {status}"))
        };
        match self.sandbox()?.process_message(pack) {
            Ok(ProcessStatus::Ok) => Ok(()),
            Ok(ProcessStatus::Failed { status, message }) => {
                Err(PluginError::Failed(text(status, message)))
            }
            Ok(ProcessStatus::Fatal { status, message }) => {
                Err(PluginError::Fatal(text(status, message)))
            }
            Err(t) => Err(PluginError::Terminated(t.message)),
        }
    }

    fn timer_event(&mut self, now_ns: i64, _cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        self.sandbox()?.timer_event(now_ns).map_err(|t| PluginError::Terminated(t.message))
    }

    fn stop(&mut self, _cx: &mut OutputContext<'_>) {
        shut_down(self.sandbox.take(), self.timer_on_shutdown, &self.name);
    }

    fn report(&self, report: &mut PluginReport) {
        if let Some(s) = &self.sandbox {
            report_stats(&s.stats(), report);
        }
    }
}

struct Factory {
    cfg: SandboxConfig,
    name: String,
    timer_on_shutdown: bool,
}

impl OutputFactory for Factory {
    fn build(&self) -> Result<Box<dyn Output>, PluginError> {
        let sandbox = Sandbox::new(self.cfg.clone(), Box::new(NoHost))
            .map_err(|e| PluginError::Terminated(e.to_string()))?;
        Ok(Box::new(SandboxOutput {
            sandbox: Some(sandbox),
            name: self.name.clone(),
            timer_on_shutdown: self.timer_on_shutdown,
        }))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let (cfg, common) = sandbox_config(cx, SandboxKind::Output)?;
    Ok(Built::Output(Box::new(Factory {
        cfg,
        name: cx.section.name.clone(),
        timer_on_shutdown: common.timer_event_on_shutdown,
    })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "SandboxOutput",
    category: Category::Output,
    build,
    defaults: Defaults { can_exit: true, ..Defaults::NONE },
};
