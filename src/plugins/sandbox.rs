//! What the five sandbox plugins (SandboxInput, SandboxDecoder,
//! SandboxFilter, SandboxEncoder, SandboxOutput) share: parsing their TOML
//! section, checking the script at start-up, the stats they report, and
//! Heka's `heka.sandbox-terminated` message. The plugins themselves are thin
//! adapters over [`crate::sandbox`].

use std::path::Path;

use serde::Deserialize;

use super::PluginReport;
use super::context::{InjectError, InjectPath};
use super::registry::BuildContext;
use crate::config::ConfigError;
use crate::message::{Field, Message};
use crate::sandbox::{
    CollectHost, Sandbox, SandboxConfig, SandboxEnv, SandboxKind, SandboxPluginConfig, SandboxStats,
};

/// Message Type injected when a sandbox terminates.
pub const TERMINATED_TYPE: &str = "heka.sandbox-terminated";

/// The entry point every filter script must define.
pub const PROCESS_MESSAGE: &str = "process_message";

/// Why a filter script without `process_message` is refused.
pub const NO_PROCESS_MESSAGE: &str = "process_message() function was not found";

/// A sandbox plugin's section: the shared sandbox keys, with anything else
/// collected so it can be refused by name (serde cannot deny unknown keys
/// through a flattened struct).
#[derive(Debug, Deserialize)]
struct SandboxSection {
    #[serde(flatten)]
    common: SandboxPluginConfig,
    #[serde(flatten)]
    unknown: toml::Table,
}

/// Parses a sandbox plugin's section into the engine configuration and,
/// unless the kind does I/O at load time (inputs, outputs), loads the script
/// once so syntax errors, missing modules and top-level errors stop the
/// start-up with the script's file and line.
pub fn sandbox_config(
    cx: &BuildContext<'_>,
    kind: SandboxKind,
) -> Result<(SandboxConfig, SandboxPluginConfig), ConfigError> {
    let section: SandboxSection = cx.config()?;
    if let Some(key) = section.unknown.keys().next() {
        return Err(cx.error(Some(key), format!("unknown config setting '{key}'")));
    }
    let h = cx.hekad;
    let env = SandboxEnv {
        share_dir: &h.share_dir,
        base_dir: &h.base_dir,
        hostname: &h.hostname,
        pid: std::process::id() as i32,
        max_process_inject: h.max_process_inject,
        max_timer_inject: h.max_timer_inject,
    };
    if section.common.reload_on_change && kind != SandboxKind::Filter {
        return Err(cx.error(
            Some("reload_on_change"),
            "is supported by SandboxFilter only (use SIGHUP to reload other sandboxes)",
        ));
    }
    let mut cfg = section
        .common
        .to_sandbox_config(kind, &cx.section.name, &env)
        .map_err(|e| cx.error(Some("filename"), e.to_string()))?;
    let source = check_script(&cfg).map_err(|e| cx.error(Some("filename"), e))?;
    // What was checked is what runs, whatever happens to the file later.
    cfg.source = Some(source.into());
    Ok((cfg, section.common))
}

/// Checks a script before the pipeline starts: readable and syntactically
/// valid for every kind; fully loaded (top level run, injections dropped) for the
/// kinds without I/O. Returns the script text.
fn check_script(cfg: &SandboxConfig) -> Result<Vec<u8>, String> {
    let source = std::fs::read(&cfg.script_path)
        .map_err(|e| format!("cannot read {}: {e}", cfg.script_path.display()))?;
    if cfg.kind.is_io() {
        let lua = mlua::Lua::new();
        let name = format!("@{}", display_name(&cfg.script_path));
        lua.load(&source).set_name(name).into_function().map_err(|e| e.to_string())?;
        return Ok(source);
    }
    let mut probe = cfg.clone();
    probe.source = Some(source.as_slice().into());
    // The probe must not read or write preserved state.
    probe.preserve_data = false;
    // Scripts may inject at load time: collect and forget.
    let sandbox = Sandbox::new(probe, Box::new(CollectHost::new())).map_err(|e| e.to_string())?;
    if cfg.kind == SandboxKind::Filter && !sandbox.has_function(PROCESS_MESSAGE) {
        return Err(NO_PROCESS_MESSAGE.into());
    }
    Ok(source)
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// Adds Heka's sandbox usage figures to a plugin report.
pub fn report_stats(stats: &SandboxStats, report: &mut PluginReport) {
    report.set("Memory", stats.memory as u64);
    report.set("MaxMemory", stats.max_memory as u64);
    report.set("MaxInstructions", stats.max_instructions);
    report.set("MaxOutput", stats.max_output as u64);
    report.set("ProcessMessageCount", stats.process_message_count);
    report.set("ProcessMessageFailures", stats.process_message_failures);
    report.set("InjectMessageCount", stats.inject_message_count);
    report.set("ProcessMessageSamples", stats.process_message_samples);
    report.set("ProcessMessageAvgDuration", stats.process_message_avg_duration);
    report.set("TimerEventSamples", stats.timer_event_samples);
    report.set("TimerEventAvgDuration", stats.timer_event_avg_duration);
}

/// Injects a `heka.sandbox-terminated`-style message about `plugin` with
/// `text` as its payload (a refused load or reload), through `path`'s loop
/// and self-match guards.
pub fn inject_terminated(
    path: &InjectPath,
    plugin: &str,
    hostname: &str,
    text: &str,
) -> Result<(), InjectError> {
    let mut pack = path.new_pack(|| {})?;
    terminated_message(&mut pack.message, plugin, text, hostname);
    path.check(&mut pack, 0)?;
    path.sink.route(&mut vec![pack]);
    Ok(())
}

/// Fills `msg` with Heka's `heka.sandbox-terminated` message for `plugin`.
pub fn terminated_message(msg: &mut Message, plugin: &str, error: &str, hostname: &str) {
    msg.stamp_new();
    msg.msg_type = TERMINATED_TYPE.as_bytes().to_vec();
    msg.logger = b"hekad".to_vec();
    msg.hostname = hostname.as_bytes().to_vec();
    msg.payload = error.as_bytes().to_vec();
    msg.add_field(Field::string("plugin", plugin));
}

/// Stops a sandbox cleanly: a last `timer_event` when
/// `timer_event_on_shutdown` is set, then `stop` (which preserves state).
pub fn shut_down(sandbox: Option<Sandbox>, timer_on_shutdown: bool, plugin: &str) {
    let Some(mut s) = sandbox else { return };
    if timer_on_shutdown && let Err(t) = s.timer_event(crate::message::time::now_ns()) {
        tracing::warn!(plugin, "timer_event at shutdown failed: {}", t.message);
    }
    if let Err(e) = s.stop() {
        tracing::error!(plugin, "Saving sandbox state failed: {e}");
    }
}
