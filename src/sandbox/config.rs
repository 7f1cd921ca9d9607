//! Sandbox configuration: the engine's [`SandboxConfig`] and the TOML keys
//! every sandbox plugin shares ([`SandboxPluginConfig`], Heka §4.4).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::error::SandboxError;
use super::extensions::Extensions;

/// Heka's default `memory_limit`: 8 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 8 * 1024 * 1024;
/// Heka's default `instruction_limit` per entry-point call.
pub const DEFAULT_INSTRUCTION_LIMIT: u64 = 1_000_000;
/// Heka's default `output_limit`: 63 KiB.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64_512;
/// Heka's default `[hekad] max_process_inject`.
pub const DEFAULT_MAX_PROCESS_INJECT: u32 = 1;
/// Heka's default `[hekad] max_timer_inject`.
pub const DEFAULT_MAX_TIMER_INJECT: u32 = 10;
/// Calls per timed call for `ProcessMessageAvgDuration`: reading the clock
/// twice costs about a tenth of a cheap filter call, so 1 call in 100 is
/// timed (still thousands of samples a second on a busy sandbox).
pub const DEFAULT_DURATION_SAMPLE_DENOMINATOR: u32 = 100;

/// The plugin kind a sandbox runs as; it decides which API functions exist
/// and how injections are treated (Heka §4.2–4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxKind {
    /// SandboxInput: `process_message()` driven by the host, `inject_message`
    /// only, `io` available, no instruction limit.
    Input,
    /// SandboxDecoder: reads and may rewrite the incoming pack.
    Decoder,
    /// SandboxFilter: reads routed messages, injects new ones.
    Filter,
    /// SandboxEncoder: turns a message into output bytes.
    Encoder,
    /// SandboxOutput: reads routed messages, `io` available, no instruction
    /// limit, no injection.
    Output,
}

impl SandboxKind {
    /// Heka's lower-case name of the kind.
    pub fn name(self) -> &'static str {
        match self {
            SandboxKind::Input => "input",
            SandboxKind::Decoder => "decoder",
            SandboxKind::Filter => "filter",
            SandboxKind::Encoder => "encoder",
            SandboxKind::Output => "output",
        }
    }

    /// Input and Output sandboxes use Heka's I/O template: `io` and most of
    /// `os` are available and `instruction_limit` is forced to 0.
    pub fn is_io(self) -> bool {
        matches!(self, SandboxKind::Input | SandboxKind::Output)
    }
}

/// Everything the engine needs to build one sandbox.
///
/// Build it with [`SandboxConfig::new`] (Heka's defaults) and adjust the
/// public fields, or from the TOML keys with
/// [`SandboxPluginConfig::to_sandbox_config`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The plugin kind.
    pub kind: SandboxKind,
    /// The plugin name (Logger of filter injections, preservation file name).
    pub name: String,
    /// The Lua script (also the chunk name in error messages).
    pub script_path: PathBuf,
    /// The script text when it was already read (the text checked at
    /// start-up is then exactly the text that runs); `None`: read
    /// `script_path`.
    pub source: Option<Arc<[u8]>>,
    /// Directories searched by `require` for `<name>.lua` modules.
    pub module_directories: Vec<PathBuf>,
    /// Bytes of Lua memory (0 = unlimited).
    pub memory_limit: usize,
    /// VM instructions per entry-point call (0 = unlimited). Ignored (0) for
    /// Input and Output sandboxes, as in Heka.
    pub instruction_limit: u64,
    /// Largest payload or injected message in bytes (0 = unlimited).
    pub output_limit: usize,
    /// Save the globals on a clean [`stop`](super::Sandbox::stop) and
    /// restore them at start.
    pub preserve_data: bool,
    /// Restore the preservation file at start (with `preserve_data`). A
    /// replacement that is handed the live state of the sandbox it replaces
    /// sets it to false, so an older file cannot leak into that state.
    pub load_preserved: bool,
    /// Where the preserved globals live
    /// (`<base_dir>/sandbox_preservation/<name>.data`).
    pub preservation_path: Option<PathBuf>,
    /// The plugin's `config` table, read by `read_config`.
    pub config: toml::Table,
    /// Injections allowed per `process_message` call (filters).
    pub max_process_inject: u32,
    /// Injections allowed per `timer_event` call (filters).
    pub max_timer_inject: u32,
    /// Host name given to filter injections.
    pub hostname: String,
    /// Process id given to filter payload injections.
    pub pid: i32,
    /// Decoders and inputs: re-interpret injected timestamps as wall-clock
    /// time in this IANA zone (Heka's `config.tz`). `None` or "UTC": no change.
    pub tz: Option<String>,
    /// Time 1 in this many calls for the average-duration statistics
    /// (1 = every call; default [`DEFAULT_DURATION_SAMPLE_DENOMINATOR`]).
    pub duration_sample_denominator: u32,
    /// Native modules and userdata hooks available to the script.
    pub extensions: Extensions,
}

impl SandboxConfig {
    /// A configuration with Heka's defaults.
    pub fn new(
        kind: SandboxKind,
        name: impl Into<String>,
        script_path: impl Into<PathBuf>,
    ) -> Self {
        SandboxConfig {
            kind,
            name: name.into(),
            script_path: script_path.into(),
            source: None,
            module_directories: Vec::new(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            instruction_limit: DEFAULT_INSTRUCTION_LIMIT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            preserve_data: false,
            load_preserved: true,
            preservation_path: None,
            config: toml::Table::new(),
            max_process_inject: DEFAULT_MAX_PROCESS_INJECT,
            max_timer_inject: DEFAULT_MAX_TIMER_INJECT,
            hostname: String::new(),
            pid: 0,
            tz: None,
            duration_sample_denominator: DEFAULT_DURATION_SAMPLE_DENOMINATOR,
            extensions: Extensions::builtin(),
        }
    }

    /// The instruction limit actually applied (0 for Input/Output).
    pub fn effective_instruction_limit(&self) -> u64 {
        if self.kind.is_io() { 0 } else { self.instruction_limit }
    }
}

/// The TOML keys shared by every sandbox plugin (Heka §4.4), with Heka's
/// defaults. Read on its own it rejects unknown keys. Plugin adapters embed
/// it with `#[serde(flatten)]`; serde then ignores `deny_unknown_fields`, so
/// an adapter adds a last `#[serde(flatten)] unknown: toml::Table` field and
/// rejects a non-empty one (see the tests below).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxPluginConfig {
    /// Only "lua" is supported.
    #[serde(default = "default_script_type")]
    pub script_type: String,
    /// The script; relative paths are resolved against `share_dir`.
    pub filename: String,
    /// `;`-separated module directories (default `<share_dir>/lua_modules`).
    #[serde(default)]
    pub module_directory: Option<String>,
    /// Keep the globals across restarts.
    #[serde(default)]
    pub preserve_data: bool,
    /// Bytes (default 8 MiB).
    #[serde(default = "default_memory_limit")]
    pub memory_limit: usize,
    /// Per call (default 1,000,000); forced to 0 for inputs and outputs.
    #[serde(default = "default_instruction_limit")]
    pub instruction_limit: u64,
    /// Bytes (default 64512).
    #[serde(default = "default_output_limit")]
    pub output_limit: usize,
    /// Filters: time every call for a while (the adapter's business).
    #[serde(default)]
    pub profile: bool,
    /// Filters and outputs: call `timer_event` once more at shutdown.
    #[serde(default)]
    pub timer_event_on_shutdown: bool,
    /// Values for `read_config`.
    #[serde(default)]
    pub config: toml::Table,
    /// Watch the script (and the `.lua` modules it loaded) and reload it in
    /// place when it changes, carrying the globals over (SandboxFilter).
    #[serde(default)]
    pub reload_on_change: bool,
}

fn default_script_type() -> String {
    "lua".to_string()
}
pub(crate) fn default_memory_limit() -> usize {
    DEFAULT_MEMORY_LIMIT
}
pub(crate) fn default_instruction_limit() -> u64 {
    DEFAULT_INSTRUCTION_LIMIT
}
pub(crate) fn default_output_limit() -> usize {
    DEFAULT_OUTPUT_LIMIT
}

/// Directories and process facts the plugin adapters pass in.
#[derive(Debug, Clone)]
pub struct SandboxEnv<'a> {
    /// `[hekad] share_dir`: base for relative script paths and the default
    /// module directory.
    pub share_dir: &'a Path,
    /// `[hekad] base_dir`: holds `sandbox_preservation/`.
    pub base_dir: &'a Path,
    /// Host name for injected messages.
    pub hostname: &'a str,
    /// Process id for injected messages.
    pub pid: i32,
    /// `[hekad] max_process_inject`.
    pub max_process_inject: u32,
    /// `[hekad] max_timer_inject`.
    pub max_timer_inject: u32,
}

impl SandboxPluginConfig {
    /// The engine configuration for plugin `name` of `kind`.
    pub fn to_sandbox_config(
        &self,
        kind: SandboxKind,
        name: &str,
        env: &SandboxEnv<'_>,
    ) -> Result<SandboxConfig, SandboxError> {
        if self.script_type != "lua" {
            return Err(SandboxError::Config(format!(
                "unsupported script type: {}",
                self.script_type
            )));
        }
        if self.filename.is_empty() {
            return Err(SandboxError::Config("filename must not be empty".into()));
        }
        let mut cfg = SandboxConfig::new(kind, name, env.share_dir.join(&self.filename));
        cfg.module_directories = match &self.module_directory {
            Some(dirs) => dirs
                .split(';')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| env.share_dir.join(d))
                .collect(),
            None => vec![env.share_dir.join("lua_modules")],
        };
        cfg.memory_limit = self.memory_limit;
        cfg.instruction_limit = self.instruction_limit;
        cfg.output_limit = self.output_limit;
        cfg.preserve_data = self.preserve_data;
        cfg.preservation_path = Some(preservation_path(env.base_dir, name));
        cfg.config = self.config.clone();
        cfg.hostname = env.hostname.to_string();
        cfg.pid = env.pid;
        cfg.max_process_inject = env.max_process_inject;
        cfg.max_timer_inject = env.max_timer_inject;
        if matches!(kind, SandboxKind::Decoder | SandboxKind::Input) {
            match self.config.get("tz") {
                None => {}
                Some(toml::Value::String(tz)) => cfg.tz = Some(tz.clone()),
                Some(_) => return Err(SandboxError::Config("config.tz must be a string".into())),
            }
        }
        Ok(cfg)
    }
}

/// `<base_dir>/sandbox_preservation/<name>.data`, with every character of
/// `name` other than `[A-Za-z0-9_]` replaced by `_` (Heka §4.5).
pub fn preservation_path(base_dir: &Path, name: &str) -> PathBuf {
    let file: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    base_dir.join("sandbox_preservation").join(format!("{file}.data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(share: &'a Path, base: &'a Path) -> SandboxEnv<'a> {
        SandboxEnv {
            share_dir: share,
            base_dir: base,
            hostname: "h",
            pid: 9,
            max_process_inject: 1,
            max_timer_inject: 10,
        }
    }

    #[test]
    fn toml_keys_take_heka_defaults() {
        let c: SandboxPluginConfig = toml::from_str("filename = 'x.lua'").unwrap();
        assert_eq!(c.memory_limit, 8_388_608);
        assert_eq!(c.instruction_limit, 1_000_000);
        assert_eq!(c.output_limit, 64_512);
        assert_eq!(c.script_type, "lua");
        assert!(!c.preserve_data && !c.profile && !c.timer_event_on_shutdown);
        let err = toml::from_str::<SandboxPluginConfig>("filename = 'x'\nbogus = 1").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn flattened_into_an_adapter_config_with_a_catch_all_finds_unknown_keys() {
        // serde ignores `deny_unknown_fields` on a flattened struct, so an
        // adapter collects the leftovers and rejects them itself.
        #[derive(Debug, Deserialize)]
        struct Adapter {
            #[allow(dead_code)]
            message_matcher: String,
            #[serde(flatten)]
            sandbox: SandboxPluginConfig,
            #[serde(flatten)]
            unknown: toml::Table,
        }
        let ok: Adapter =
            toml::from_str("message_matcher = 'TRUE'\nfilename = 'f.lua'\nmemory_limit = 10")
                .unwrap();
        assert_eq!(ok.sandbox.memory_limit, 10);
        assert!(ok.unknown.is_empty(), "{:?}", ok.unknown);
        let bad: Adapter =
            toml::from_str("message_matcher = 'TRUE'\nfilename = 'f'\nfoo = 1").unwrap();
        assert_eq!(bad.unknown.keys().collect::<Vec<_>>(), vec!["foo"]);
    }

    #[test]
    fn engine_config_resolves_paths_and_kind_rules() {
        let share = Path::new("share");
        let base = Path::new("base");
        let c: SandboxPluginConfig = toml::from_str(
            "filename = 'f.lua'\nmodule_directory = 'a;b'\n[config]\ntz = 'America/Chicago'",
        )
        .unwrap();
        let cfg = c.to_sandbox_config(SandboxKind::Decoder, "My Dec", &env(share, base)).unwrap();
        assert_eq!(cfg.script_path, share.join("f.lua"));
        assert_eq!(cfg.module_directories, vec![share.join("a"), share.join("b")]);
        assert_eq!(
            cfg.preservation_path,
            Some(base.join("sandbox_preservation").join("My_Dec.data"))
        );
        assert_eq!(cfg.tz.as_deref(), Some("America/Chicago"));
        let out = c.to_sandbox_config(SandboxKind::Output, "o", &env(share, base)).unwrap();
        assert_eq!(out.effective_instruction_limit(), 0);
        assert_eq!(out.tz, None, "tz is for decoders and inputs");
        let bad: SandboxPluginConfig =
            toml::from_str("filename = 'f'\nscript_type = 'js'").unwrap();
        assert!(bad.to_sandbox_config(SandboxKind::Filter, "f", &env(share, base)).is_err());
        let dflt: SandboxPluginConfig = toml::from_str("filename = 'f'").unwrap();
        let d = dflt.to_sandbox_config(SandboxKind::Filter, "f", &env(share, base)).unwrap();
        assert_eq!(d.module_directories, vec![share.join("lua_modules")]);
    }
}
