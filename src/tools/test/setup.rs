//! From command-line options and an optional plugin section to the
//! [`SandboxConfig`]s `sandpiper test` runs, checked as the daemon checks a
//! sandbox section.

use std::path::{Path, PathBuf};

use crate::config::{Category, HekadConfig, PluginSection, load, plugin_config};
use crate::matcher::Matcher;
use crate::sandbox::{SandboxConfig, SandboxEnv, SandboxKind, SandboxPluginConfig};

use super::TestArgs;

/// The kinds `sandpiper test` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindArg {
    /// A SandboxDecoder.
    Decoder,
    /// A SandboxFilter.
    Filter,
    /// A SandboxEncoder.
    Encoder,
}

impl KindArg {
    /// Parses `decoder`, `filter` or `encoder`.
    pub fn parse(s: &str) -> Option<KindArg> {
        Some(match s {
            "decoder" => KindArg::Decoder,
            "filter" => KindArg::Filter,
            "encoder" => KindArg::Encoder,
            _ => return None,
        })
    }

    fn sandbox_kind(self) -> SandboxKind {
        match self {
            KindArg::Decoder => SandboxKind::Decoder,
            KindArg::Filter => SandboxKind::Filter,
            KindArg::Encoder => SandboxKind::Encoder,
        }
    }

    /// The kind from the script's directory: `decoders/`, `filters/`,
    /// `encoders/` (the nearest such directory wins), else decoder.
    pub fn from_path(path: &Path) -> KindArg {
        let dirs = path.parent().into_iter().flat_map(Path::components).collect::<Vec<_>>();
        for c in dirs.iter().rev() {
            match c.as_os_str().to_str() {
                Some("decoders" | "lua_decoders") => return KindArg::Decoder,
                Some("filters" | "lua_filters") => return KindArg::Filter,
                Some("encoders" | "lua_encoders") => return KindArg::Encoder,
                _ => {}
            }
        }
        KindArg::Decoder
    }
}

/// Why `sandpiper test` cannot start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The configuration file has errors (one per line).
    #[error("{0}")]
    Config(String),
    /// An option is wrong.
    #[error("{0}")]
    Usage(String),
}

/// One sandbox to run, with the options the tool applies around it.
#[derive(Clone)]
pub struct SandboxPlan {
    /// The engine configuration.
    pub sandbox: SandboxConfig,
    /// Seconds between simulated ticks (filters; 0 = none).
    pub ticker_interval: u64,
    /// Filters: only matching messages are processed.
    pub matcher: Option<Matcher>,
}

impl std::fmt::Debug for SandboxPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxPlan")
            .field("sandbox", &self.sandbox)
            .field("ticker_interval", &self.ticker_interval)
            .field("matcher", &self.matcher.as_ref().map(Matcher::as_str))
            .finish()
    }
}

/// Everything `sandpiper test` runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The script under test.
    pub main: SandboxPlan,
    /// Optional decoder that turns raw lines into messages first.
    pub decoder: Option<SandboxPlan>,
    /// The input file.
    pub input: PathBuf,
    /// Hostname stamped on input messages and filter injections.
    pub hostname: String,
}

/// Builds the plan from the options.
pub fn plan(args: &TestArgs) -> Result<Plan, SetupError> {
    let hostname = args.hostname.clone().unwrap_or_else(|| "localhost".to_string());
    let mut main = sandbox_plan(&args.script, args.config.as_deref(), args.kind, &hostname)?;
    if let Some(n) = args.ticker_interval {
        main.ticker_interval = n;
    }
    let decoder = match &args.decoder {
        None if args.decoder_config.is_some() => {
            return Err(SetupError::Usage("--decoder-config needs --decoder".into()));
        }
        None => None,
        Some(script) => {
            if main.sandbox.kind == SandboxKind::Decoder {
                return Err(SetupError::Usage(
                    "--decoder feeds a filter or an encoder, not another decoder".into(),
                ));
            }
            let d = sandbox_plan(
                script,
                args.decoder_config.as_deref(),
                Some(KindArg::Decoder),
                &hostname,
            )?;
            if d.sandbox.kind != SandboxKind::Decoder {
                return Err(SetupError::Usage(format!(
                    "--decoder-config must hold a SandboxDecoder section, not a {}",
                    d.sandbox.kind.name()
                )));
            }
            Some(d)
        }
    };
    if !args.input.is_file() {
        return Err(SetupError::Usage(format!("cannot read input {}", args.input.display())));
    }
    Ok(Plan { main, decoder, input: args.input.clone(), hostname })
}

fn sandbox_plan(
    script: &Path,
    config: Option<&Path>,
    kind: Option<KindArg>,
    hostname: &str,
) -> Result<SandboxPlan, SetupError> {
    if !script.is_file() {
        return Err(SetupError::Usage(format!("cannot read script {}", script.display())));
    }
    let Some(config) = config else {
        let kind = kind.unwrap_or_else(|| KindArg::from_path(script));
        let hekad = HekadConfig::default();
        let name = script
            .file_stem()
            .map_or_else(|| "sandbox".to_string(), |s| s.to_string_lossy().into_owned());
        let mut cfg = SandboxConfig::new(kind.sandbox_kind(), name, script);
        cfg.module_directories = vec![hekad.share_dir.join("lua_modules")];
        cfg.hostname = hostname.to_string();
        cfg.max_process_inject = hekad.max_process_inject;
        cfg.max_timer_inject = hekad.max_timer_inject;
        return Ok(SandboxPlan { sandbox: cfg, ticker_interval: 0, matcher: None });
    };
    let loaded = load(config).map_err(|errors| {
        SetupError::Config(errors.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    })?;
    let Some(section) = loaded.plugins.first() else {
        return Err(SetupError::Config(format!("{}: no plugin section", config.display())));
    };
    let section_kind = section_kind(section)?;
    if let Some(k) = kind
        && k != section_kind
    {
        return Err(SetupError::Usage(format!(
            "--type {} does not match [{}], a {}",
            k.sandbox_kind().name(),
            section.name,
            section.type_name
        )));
    }
    let keys: SandboxPluginConfig =
        plugin_config(section).map_err(|e| SetupError::Config(e.to_string()))?;
    let env = SandboxEnv {
        share_dir: &loaded.hekad.share_dir,
        base_dir: &loaded.hekad.base_dir,
        hostname,
        pid: 0,
        max_process_inject: loaded.hekad.max_process_inject,
        max_timer_inject: loaded.hekad.max_timer_inject,
    };
    let mut cfg = keys
        .to_sandbox_config(section_kind.sandbox_kind(), &section.name, &env)
        .map_err(|e| SetupError::Config(section.error(e.to_string()).to_string()))?;
    if !same_file(&cfg.script_path, script) {
        eprintln!(
            "note: running {} (the section's filename is {})",
            script.display(),
            cfg.script_path.display()
        );
    }
    cfg.script_path = script.to_path_buf();
    cfg.preserve_data = false;
    cfg.preservation_path = None;
    let common = section.common.filter_output();
    let matcher = match common.and_then(|c| c.message_matcher.as_deref()) {
        None => None,
        Some(expr) => Some(Matcher::new(expr).map_err(|e| {
            SetupError::Config(section.key_error("message_matcher", e.to_string()).to_string())
        })?),
    };
    let ticker_interval = common.and_then(|c| c.ticker_interval).unwrap_or(0);
    Ok(SandboxPlan { sandbox: cfg, ticker_interval, matcher })
}

fn section_kind(section: &PluginSection) -> Result<KindArg, SetupError> {
    let kind = match section.category {
        Category::Decoder => KindArg::Decoder,
        Category::Filter => KindArg::Filter,
        Category::Encoder => KindArg::Encoder,
        other => {
            return Err(SetupError::Config(
                section
                    .error(format!(
                        "sandpiper test runs decoders, filters and encoders, not a {other}"
                    ))
                    .to_string(),
            ));
        }
    };
    let expected = format!("Sandbox{}", section.category.suffix());
    if section.type_name != expected {
        return Err(SetupError::Config(
            section
                .key_error(
                    "type",
                    format!("'{}' is not a sandbox plugin (use {expected})", section.type_name),
                )
                .to_string(),
        ));
    }
    Ok(kind)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_comes_from_the_nearest_known_directory() {
        assert_eq!(KindArg::from_path(Path::new("sandboxes/filters/x.lua")), KindArg::Filter);
        assert_eq!(KindArg::from_path(Path::new("a/encoders/b/x.lua")), KindArg::Encoder);
        assert_eq!(KindArg::from_path(Path::new("filters/decoders/x.lua")), KindArg::Decoder);
        assert_eq!(KindArg::from_path(Path::new("x.lua")), KindArg::Decoder);
        assert_eq!(KindArg::from_path(Path::new("lua_filters/x.lua")), KindArg::Filter);
        assert_eq!(KindArg::parse("filter"), Some(KindArg::Filter));
        assert_eq!(KindArg::parse("output"), None);
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_section_is_checked_like_the_daemon_checks_it() {
        let dir = tempfile::tempdir().unwrap();
        let script = write(dir.path(), "f.lua", "function process_message() return 0 end");
        let good = write(
            dir.path(),
            "good.toml",
            "[counter]\ntype = 'SandboxFilter'\nfilename = 'f.lua'\nticker_interval = 60\n\
             message_matcher = \"Type == 'x'\"\n[counter.config]\nrows = 3\n",
        );
        let p = sandbox_plan(&script, Some(&good), None, "h").unwrap();
        assert_eq!(p.sandbox.kind, SandboxKind::Filter);
        assert_eq!(p.sandbox.name, "counter");
        assert_eq!(p.ticker_interval, 60);
        assert!(p.matcher.is_some());
        assert!(!p.sandbox.preserve_data);
        assert_eq!(p.sandbox.config.get("rows").and_then(toml::Value::as_integer), Some(3));

        let unknown = write(
            dir.path(),
            "unknown.toml",
            "[d]\ntype = 'SandboxDecoder'\nfilename = 'f.lua'\nlog_fromat = 'x'\n",
        );
        let err = sandbox_plan(&script, Some(&unknown), None, "h").unwrap_err().to_string();
        assert!(err.contains("[d]") && err.contains("log_fromat"), "{err}");

        let not_sandbox =
            write(dir.path(), "ns.toml", "[p]\ntype = 'PayloadRegexDecoder'\nmatch_regex = 'x'\n");
        let err = sandbox_plan(&script, Some(&not_sandbox), None, "h").unwrap_err().to_string();
        assert!(err.contains("SandboxDecoder"), "{err}");

        let err = sandbox_plan(&script, Some(&good), Some(KindArg::Encoder), "h")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--type encoder"), "{err}");

        let bad_matcher = write(
            dir.path(),
            "bm.toml",
            "[f]\ntype = 'SandboxFilter'\nfilename = 'f.lua'\nmessage_matcher = 'Type =='\n",
        );
        let err = sandbox_plan(&script, Some(&bad_matcher), None, "h").unwrap_err().to_string();
        assert!(err.contains("message_matcher"), "{err}");
    }
}
