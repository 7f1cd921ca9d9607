//! `SandboxInput`: a Lua input with `io` (Heka's I/O template). Its
//! `process_message` runs once, or every `ticker_interval` seconds; a
//! script that never returns (a continuous input) is interrupted at
//! shutdown with "shutting down", and its state is still preserved.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::{Category, ConfigError};
use crate::message::{PackMut, PackPool};
use crate::plugins::context::{InputStats, RouteSink};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::sandbox::sandbox_config;
use crate::plugins::{Input, InputContext, PluginError};
use crate::sandbox::{ProcessStatus, Sandbox, SandboxConfig, SandboxHost, SandboxKind};

/// Routes what the input injects, one message at a time, counting each as
/// a record of the input.
struct InputHost {
    pool: PackPool,
    sink: Arc<dyn RouteSink>,
    stats: Arc<InputStats>,
}

impl SandboxHost for InputHost {
    fn new_pack(&mut self) -> Result<PackMut, String> {
        Ok(self.pool.get())
    }

    fn inject(&mut self, pack: PackMut) -> Result<(), String> {
        self.sink.route(&mut vec![pack]);
        InputStats::inc(&self.stats.records);
        Ok(())
    }
}

/// The input.
pub struct SandboxInput {
    cfg: SandboxConfig,
}

impl Input for SandboxInput {
    fn run(&mut self, cx: &mut InputContext) -> Result<(), PluginError> {
        let host = InputHost {
            pool: cx.pool.clone(),
            sink: Arc::clone(&cx.router),
            stats: Arc::clone(&cx.report),
        };
        let mut sandbox = Sandbox::new(self.cfg.clone(), Box::new(host))
            .map_err(|e| PluginError::Terminated(e.to_string()))?;
        // A watcher interrupts a script that never returns once we stop.
        let interrupt = sandbox.interrupt_handle();
        let (stop, done) = (cx.stop.clone(), Arc::new(AtomicBool::new(false)));
        let finished = Arc::clone(&done);
        let watcher = std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                if stop.wait(Duration::from_millis(100)) {
                    interrupt.interrupt();
                    break;
                }
            }
        });
        let result = loop {
            match sandbox.run_input() {
                Ok(ProcessStatus::Ok | ProcessStatus::Failed { .. }) => {}
                Ok(ProcessStatus::Fatal { status, message }) => {
                    let text =
                        message.unwrap_or_else(|| format!("process_message returned {status}"));
                    break Err(PluginError::Fatal(text));
                }
                Err(t) if t.aborted || cx.is_stopping() => break Ok(()),
                Err(t) => break Err(PluginError::Terminated(t.message)),
            }
            if cx.ticker_interval == 0 {
                tracing::info!(plugin = %cx.name, "single run completed");
                break Ok(());
            }
            if cx.stop.wait(Duration::from_secs(cx.ticker_interval)) {
                break Ok(());
            }
        };
        if let Err(e) = sandbox.stop() {
            tracing::error!(plugin = %cx.name, "Saving sandbox state failed: {e}");
        }
        done.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        result
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let (cfg, _) = sandbox_config(cx, SandboxKind::Input)?;
    Ok(Built::Input(Box::new(SandboxInput { cfg })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "SandboxInput",
    category: Category::Input,
    build,
    defaults: Defaults { can_exit: true, ..Defaults::NONE },
};
