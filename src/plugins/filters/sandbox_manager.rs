//! `SandboxManagerFilter`: loads, unloads and reloads SandboxFilters at run
//! time from control messages (Heka §5.1; `sandpiper sbmgr` sends them).
//!
//! A control message has Type `heka.control.sandbox` and `Fields[action]`:
//!
//! - `load`: Payload = Lua source, `Fields[config]` = TOML whose *first*
//!   section (type `SandboxFilter`) configures the filter. It runs as
//!   `<manager>-<section>` (non-word characters become `_`). Refused when a
//!   filter of that name runs or `max_filters` filters of this manager run.
//! - `unload`: `Fields[name]` = the section name; the filter drains and
//!   stops (its state is preserved with `preserve_data`; the preservation
//!   file is kept) and its files are removed.
//! - `reload` (Sandpiper's addition): Payload = new source, `Fields[name]`,
//!   optional `Fields[config]`. The filter is replaced in place: the new
//!   script is checked first, its globals are carried over and messages
//!   wait in its queue during the swap. On error the running version stays.
//!
//! Messages whose Timestamp is 5 s or more away from now are discarded.
//! Only messages signed by `message_signer` reach the manager (the router
//! checks the signer a TcpInput authenticated). Every refusal is logged
//! with its reason, counted (`Refusals`) and announced with a
//! `heka.sandbox-terminated` message (Logger `hekad`, Payload = reason,
//! Field `plugin`).
//!
//! Managed filters are written to the working directory (`<name>.toml`,
//! `<name>.lua`) and loaded again when the manager starts. The manager
//! forces its `memory_limit`, `instruction_limit`, `output_limit` and
//! `module_directory` onto them, points `filename` at the written script,
//! sets `can_exit = true` (a remote script must not be able to stop the
//! daemon) and turns `reload_on_change` off. The TOML is read without
//! `%ENV[...]` interpolation.

mod files;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, CommonConfig, ConfigError, PluginSection, first_section_str};
use crate::message::{Field, Message, PackRef, Scalar, time::now_ns};
use crate::plugins::context::{InjectPath, PluginManager};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::sandbox::inject_terminated;
use crate::plugins::{Filter, FilterContext, FilterEnv, FilterFactory, PluginError, PluginReport};

use files::WorkDir;
pub use files::{system_name, word, write_private};

/// Message Type of control messages.
pub const CONTROL_TYPE: &str = "heka.control.sandbox";

/// Control messages this far from now (or further) are discarded.
pub const MAX_SKEW_NS: i64 = 5_000_000_000;

/// The only plugin type a manager loads.
const MANAGED_TYPE: &str = "SandboxFilter";

/// Options of `SandboxManagerFilter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxManagerConfig {
    /// Where managed filters are kept (relative: under `base_dir`).
    #[serde(default = "default_working_directory")]
    pub working_directory: String,
    /// `module_directory` forced onto managed filters (default: theirs,
    /// `<share_dir>/lua_modules`).
    #[serde(default)]
    pub module_directory: Option<String>,
    /// How many filters this manager may run (0: none).
    #[serde(default)]
    pub max_filters: usize,
    /// Forced onto managed filters.
    #[serde(default = "crate::sandbox::default_memory_limit")]
    pub memory_limit: usize,
    /// Forced onto managed filters.
    #[serde(default = "crate::sandbox::default_instruction_limit")]
    pub instruction_limit: u64,
    /// Forced onto managed filters.
    #[serde(default = "crate::sandbox::default_output_limit")]
    pub output_limit: usize,
}

fn default_working_directory() -> String {
    "sbxmgrs".into()
}

/// A control message that was not obeyed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The filter concerned (the manager itself when unknown).
    pub plugin: String,
    /// What went wrong, for the log and the announcement.
    pub reason: String,
}

/// A control message as `sandpiper sbmgr` (heka-sbmgr) builds it: Logger
/// `hekad`, Type `heka.control.sandbox`, `Fields[action]`, and as given the
/// Payload (Lua source), `Fields[config]` (representation `toml`) and
/// `Fields[name]`.
pub fn control_message(
    action: &str,
    script: Option<&[u8]>,
    config: Option<&str>,
    name: Option<&str>,
) -> Message {
    let mut m = Message::new();
    m.msg_type = CONTROL_TYPE.as_bytes().to_vec();
    m.logger = b"hekad".to_vec();
    m.add_field(Field::string("action", action));
    if let Some(script) = script {
        m.payload = script.to_vec();
    }
    if let Some(config) = config {
        m.add_field(Field::string("config", config).with_representation("toml"));
    }
    if let Some(name) = name {
        m.add_field(Field::string("name", name));
    }
    m
}

/// The first value of field `name` as text.
fn text_field(msg: &Message, name: &str) -> Option<String> {
    match msg.field(name)?.value.get(0)? {
        Scalar::String(b) | Scalar::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

fn toml_int(n: u64) -> toml::Value {
    toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The manager.
pub struct SandboxManager {
    name: String,
    hostname: String,
    cfg: SandboxManagerConfig,
    dir: WorkDir,
    manager: Arc<dyn PluginManager>,
    path: InjectPath,
    /// System names of the filters this manager loaded (running or not).
    mine: BTreeSet<String>,
    processed: u64,
    loads: u64,
    unloads: u64,
    reloads: u64,
    refusals: u64,
}

impl SandboxManager {
    fn refusal(&self, plugin: Option<&str>, reason: impl Into<String>) -> Refusal {
        Refusal { plugin: plugin.unwrap_or(&self.name).to_string(), reason: reason.into() }
    }

    /// Logs, counts and announces a refusal.
    fn refuse(&mut self, r: Refusal) {
        self.refusals += 1;
        tracing::error!(plugin = %self.name, filter = %r.plugin, "{}", r.reason);
        if let Err(e) = inject_terminated(&self.path, &r.plugin, &self.hostname, &r.reason) {
            tracing::warn!(plugin = %self.name, "Cannot announce the refusal: {e}");
        }
    }

    /// Names of this manager's filters that are running.
    fn running(&self) -> Vec<String> {
        let live = self.manager.loaded_filters();
        self.mine.iter().filter(|n| live.contains(n)).cloned().collect()
    }

    /// The system name for `Fields[name]`: a section name, or (accepted
    /// too) the full name of one of this manager's filters.
    fn resolve(&self, given: &str) -> String {
        let name = system_name(&self.name, given);
        if !self.mine.contains(&name) && self.mine.contains(given) {
            given.to_string()
        } else {
            name
        }
    }

    /// Parses `text` and checks it configures a SandboxFilter.
    fn section(&self, action: &str, text: &str) -> Result<(PluginSection, String), Refusal> {
        let origin = PathBuf::from(format!("{} control message", self.name));
        let section = first_section_str(text, &origin)
            .map_err(|e| self.refusal(None, format!("{action} refused: bad config: {e}")))?;
        let name = system_name(&self.name, &section.name);
        if section.type_name != MANAGED_TYPE {
            let why = format!(
                "{action} of {name} refused: type must be {MANAGED_TYPE}, not '{}'",
                section.type_name
            );
            return Err(self.refusal(Some(&name), why));
        }
        Ok((section, name))
    }

    /// The section as the manager runs it: its name, its script file and
    /// the forced settings.
    fn managed(&self, mut s: PluginSection, name: &str, script: &Path) -> PluginSection {
        s.name = name.to_string();
        s.file = self.dir.toml(name);
        let t = &mut s.table;
        t.insert("filename".into(), toml::Value::String(script.display().to_string()));
        match &self.cfg.module_directory {
            Some(d) => t.insert("module_directory".into(), toml::Value::String(d.clone())),
            None => t.remove("module_directory"),
        };
        t.insert("memory_limit".into(), toml_int(self.cfg.memory_limit as u64));
        t.insert("instruction_limit".into(), toml_int(self.cfg.instruction_limit));
        t.insert("output_limit".into(), toml_int(self.cfg.output_limit as u64));
        t.remove("reload_on_change");
        if let CommonConfig::Filter(c) = &mut s.common {
            c.can_exit = Some(true);
        }
        s
    }

    fn handle(&mut self, msg: &Message) -> Result<(), Refusal> {
        let skew = now_ns().saturating_sub(msg.timestamp);
        if skew.unsigned_abs() >= MAX_SKEW_NS.unsigned_abs() {
            return Err(self.refusal(
                None,
                format!(
                    "control message discarded: its timestamp is {:.1} seconds off \
                     (must be within 5 seconds)",
                    skew as f64 / 1e9
                ),
            ));
        }
        match text_field(msg, "action").as_deref() {
            Some("load") => self.load(msg),
            Some("unload") => self.unload(msg),
            Some("reload") => self.reload(msg),
            Some(other) => Err(self.refusal(
                None,
                format!("control message refused: unknown action '{other}' (load, unload, reload)"),
            )),
            None => Err(self.refusal(None, "control message refused: no Fields[action]")),
        }
    }

    fn load(&mut self, msg: &Message) -> Result<(), Refusal> {
        let text = text_field(msg, "config")
            .ok_or_else(|| self.refusal(None, "load refused: no Fields[config]"))?;
        let (section, name) = self.section("load", &text)?;
        let refuse = |why: String| Refusal { plugin: name.clone(), reason: why };
        if self.manager.loaded_filters().contains(&name) {
            return Err(refuse(format!("load of {name} refused: it is already running")));
        }
        if self.running().len() >= self.cfg.max_filters {
            let max = self.cfg.max_filters;
            return Err(refuse(format!("load of {name} refused: max_filters ({max}) reached")));
        }
        let (lua, toml) = (self.dir.lua(&name), self.dir.toml(&name));
        let written =
            write_private(&lua, &msg.payload).and_then(|()| write_private(&toml, text.as_bytes()));
        if let Err(e) = written {
            let _ = self.dir.remove(&name);
            return Err(refuse(format!("load of {name} refused: cannot write its files: {e}")));
        }
        let managed = self.managed(section, &name, &lua);
        if let Err(e) = self.manager.load_filter(managed) {
            let _ = self.dir.remove(&name);
            return Err(refuse(format!("load of {name} refused: {e}")));
        }
        self.mine.insert(name.clone());
        self.loads += 1;
        tracing::info!(plugin = %self.name, "Loaded {name}.");
        Ok(())
    }

    fn unload(&mut self, msg: &Message) -> Result<(), Refusal> {
        let given = text_field(msg, "name")
            .ok_or_else(|| self.refusal(None, "unload refused: no Fields[name]"))?;
        let name = self.resolve(&given);
        if !self.mine.contains(&name) {
            let why =
                format!("unload of {name} refused: {} loaded no filter of that name", self.name);
            return Err(self.refusal(Some(&name), why));
        }
        if let Err(e) = self.manager.unload_filter(&name) {
            // Not in the pipeline (it never started again): clean up anyway.
            tracing::warn!(plugin = %self.name, "Unloading {name}: {e}");
        }
        self.mine.remove(&name);
        self.unloads += 1;
        if let Err(e) = self.dir.remove(&name) {
            let why = format!("{name} unloaded, but removing its files failed: {e}");
            return Err(self.refusal(Some(&name), why));
        }
        tracing::info!(plugin = %self.name, "Unloaded {name}.");
        Ok(())
    }

    fn reload(&mut self, msg: &Message) -> Result<(), Refusal> {
        let given = text_field(msg, "name")
            .ok_or_else(|| self.refusal(None, "reload refused: no Fields[name]"))?;
        let name = self.resolve(&given);
        let refuse = |why: String| Refusal { plugin: name.clone(), reason: why };
        if !self.mine.contains(&name) {
            let who = &self.name;
            return Err(refuse(format!("reload of {name} refused: {who} loaded no such filter")));
        }
        if !self.manager.loaded_filters().contains(&name) {
            return Err(refuse(format!("reload of {name} refused: it is not running")));
        }
        let given_config = text_field(msg, "config");
        let text = match &given_config {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(self.dir.toml(&name)).map_err(|e| {
                refuse(format!("reload of {name} refused: cannot read its config: {e}"))
            })?,
        };
        let (section, named) = self.section("reload", &text)?;
        if named != name {
            let why = format!("reload of {name} refused: the config is for {named}");
            return Err(refuse(why));
        }
        let staged = self.dir.staged(&name);
        if let Err(e) = write_private(&staged, &msg.payload) {
            return Err(refuse(format!("reload of {name} refused: cannot stage the script: {e}")));
        }
        let managed = self.managed(section, &name, &staged);
        if let Err(e) = self.manager.reload_filter(managed) {
            let _ = self.dir.drop_staged(&name);
            return Err(refuse(format!(
                "reload of {name} refused, the running version stays: {e}"
            )));
        }
        self.reloads += 1;
        let committed = self.dir.commit_staged(&name).and_then(|()| match &given_config {
            Some(t) => write_private(&self.dir.toml(&name), t.as_bytes()),
            None => Ok(()),
        });
        if let Err(e) = committed {
            let why = format!("{name} reloaded, but saving its files failed: {e}");
            return Err(refuse(why));
        }
        tracing::info!(plugin = %self.name, "Reloaded {name} in place.");
        Ok(())
    }

    /// Loads the filters found in the working directory (at start-up). Those
    /// already running (the manager itself was restarted) are adopted.
    fn restore(&mut self) {
        let prefix = format!("{}-", word(&self.name));
        let names = match self.dir.managed(&prefix) {
            Ok(n) => n,
            Err(e) => {
                let why = format!("cannot list {}: {e}", self.dir.path().display());
                return self.refuse(self.refusal(None, why));
            }
        };
        let live = self.manager.loaded_filters();
        for name in names {
            self.mine.insert(name.clone());
            if live.contains(&name) {
                continue;
            }
            if let Err(r) = self.restore_one(&name) {
                self.refuse(r);
            }
        }
    }

    fn restore_one(&mut self, name: &str) -> Result<(), Refusal> {
        let refuse = |why: String| Refusal { plugin: name.to_string(), reason: why };
        let text = std::fs::read_to_string(self.dir.toml(name))
            .map_err(|e| refuse(format!("restoring {name} failed: {e}")))?;
        let (section, named) = self.section("restore", &text)?;
        if named != name {
            return Err(refuse(format!("restoring {name} failed: its config is for {named}")));
        }
        if self.running().len() >= self.cfg.max_filters {
            let max = self.cfg.max_filters;
            return Err(refuse(format!("restoring {name} refused: max_filters ({max}) reached")));
        }
        let managed = self.managed(section, name, &self.dir.lua(name));
        self.manager
            .load_filter(managed)
            .map_err(|e| refuse(format!("restoring {name} failed: {e}")))?;
        tracing::info!(plugin = %self.name, "Restored {name}.");
        Ok(())
    }
}

impl Filter for SandboxManager {
    fn process_message(
        &mut self,
        pack: &PackRef,
        _cx: &mut FilterContext<'_>,
    ) -> Result<(), PluginError> {
        self.processed += 1;
        if let Err(r) = self.handle(&pack.message) {
            self.refuse(r);
        }
        Ok(())
    }

    fn report(&self, report: &mut PluginReport) {
        report.set("RunningFilters", self.running().len() as u64);
        report.set("ProcessMessageCount", self.processed);
        report.set("Loads", self.loads);
        report.set("Unloads", self.unloads);
        report.set("Reloads", self.reloads);
        report.set("Refusals", self.refusals);
    }
}

struct Factory {
    cfg: SandboxManagerConfig,
    working_dir: PathBuf,
}

impl FilterFactory for Factory {
    fn build(&self, env: &FilterEnv) -> Result<Box<dyn Filter>, PluginError> {
        let manager = env.manager.clone().ok_or_else(|| {
            PluginError::Terminated("no plugin manager: this pipeline cannot load filters".into())
        })?;
        let dir = WorkDir::open(self.working_dir.clone()).map_err(|e| {
            PluginError::Terminated(format!("cannot create {}: {e}", self.working_dir.display()))
        })?;
        let mut m = SandboxManager {
            name: env.name.clone(),
            hostname: env.hostname.clone(),
            cfg: self.cfg.clone(),
            dir,
            manager,
            path: env.inject.clone(),
            mine: BTreeSet::new(),
            processed: 0,
            loads: 0,
            unloads: 0,
            reloads: 0,
            refusals: 0,
        };
        m.restore();
        Ok(Box::new(m))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let cfg: SandboxManagerConfig = cx.config()?;
    if cfg.working_directory.is_empty() {
        return Err(cx.error(Some("working_directory"), "must not be empty"));
    }
    let signed = cx.section.common.filter_output().is_some_and(|c| c.message_signer.is_some());
    if !signed {
        tracing::warn!(
            plugin = %cx.section.name,
            "No message_signer: any control message that reaches this manager is obeyed."
        );
    }
    let working_dir = cx.hekad.prepend_base_dir(Path::new(&cfg.working_directory));
    Ok(Built::Filter(Box::new(Factory { cfg, working_dir })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "SandboxManagerFilter",
    category: Category::Filter,
    build,
    defaults: Defaults { matcher: Some("Type == 'heka.control.sandbox'"), ..Defaults::NONE },
};

#[cfg(test)]
mod tests;
