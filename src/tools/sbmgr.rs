//! `sandpiper sbmgr`: loads, unloads and reloads sandbox filters of a
//! running daemon through its SandboxManagerFilter, like heka-sbmgr. It
//! builds the control message, signs it with the `[signer]` of its config
//! file and sends it framed to a TcpInput.
//!
//! The config file (`-config`, default `sbmgr.toml`):
//!
//! ```toml
//! ip_address = "127.0.0.1:5565"
//! [signer]
//! name = "ops"
//! hmac_hash = "md5"      # or "sha1"
//! hmac_key = "secret"
//! version = 0
//! ```
//!
//! `use_tls` must be false (TLS is not supported yet); `max_message_size`
//! (default 64 KiB) must match the daemon's.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ExitCode;
use crate::config::SignerConfig;
use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, FrameError, Message, encode, write_framed};
use crate::plugins::filters::sandbox_manager::control_message;

/// `sbmgr.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbmgrConfig {
    /// host:port of the daemon's TcpInput.
    pub ip_address: String,
    /// Must be false.
    #[serde(default)]
    pub use_tls: bool,
    /// Accepted for compatibility (only used with `use_tls`).
    #[serde(default)]
    pub tls: Option<toml::Table>,
    /// Signs the control messages.
    #[serde(default)]
    pub signer: Option<SignerConfig>,
    /// Largest message the daemon accepts.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
}

fn default_max_message_size() -> usize {
    DEFAULT_MAX_MESSAGE_SIZE
}

/// What to do.
#[derive(Debug, Clone)]
pub struct SbmgrArgs {
    /// The config file.
    pub config: PathBuf,
    /// load, unload or reload.
    pub action: String,
    /// The Lua source (load, reload).
    pub script: Option<PathBuf>,
    /// The filter's TOML (load; optional for reload).
    pub scriptconfig: Option<PathBuf>,
    /// The filter's section name (unload, reload).
    pub filtername: Option<String>,
}

/// Why nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum SbmgrError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// A bad config file.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The message cannot be framed (too big).
    #[error("{0}")]
    Frame(#[from] FrameError),
    /// Sending failed.
    #[error("sending to {address} failed: {source}")]
    Send {
        /// The daemon's address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, SbmgrError> {
    std::fs::read(path).map_err(|source| SbmgrError::Read { path: path.to_path_buf(), source })
}

/// Reads and checks `sbmgr.toml`.
pub fn read_config(path: &Path) -> Result<SbmgrConfig, SbmgrError> {
    let text = String::from_utf8_lossy(&read(path)?).into_owned();
    let config = |message: String| SbmgrError::Config { path: path.to_path_buf(), message };
    let c: SbmgrConfig = toml::from_str(&text).map_err(|e| config(e.message().to_string()))?;
    if c.use_tls {
        return Err(config("use_tls: TLS is not supported yet".into()));
    }
    if c.ip_address.is_empty() {
        return Err(config("ip_address: is required".into()));
    }
    Ok(c)
}

/// The control message for `args` (reads the script and its config).
pub fn build_message(args: &SbmgrArgs) -> Result<Message, SbmgrError> {
    let need = |what: &str| SbmgrError::Usage(format!("-action {} needs {what}", args.action));
    let text = |p: &Path| read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
    let mut msg = match args.action.as_str() {
        "load" => {
            let script = read(args.script.as_deref().ok_or_else(|| need("-script"))?)?;
            let config = text(args.scriptconfig.as_deref().ok_or_else(|| need("-scriptconfig"))?)?;
            control_message("load", Some(&script), Some(&config), None)
        }
        "unload" => {
            let name = args.filtername.as_deref().ok_or_else(|| need("-filtername"))?;
            control_message("unload", None, None, Some(name))
        }
        "reload" => {
            let script = read(args.script.as_deref().ok_or_else(|| need("-script"))?)?;
            let name = args.filtername.as_deref().ok_or_else(|| need("-filtername"))?;
            let config = args.scriptconfig.as_deref().map(text).transpose()?;
            control_message("reload", Some(&script), config.as_deref(), Some(name))
        }
        other => {
            return Err(SbmgrError::Usage(format!(
                "unknown action '{other}' (load, unload or reload)"
            )));
        }
    };
    msg.hostname = crate::config::os_hostname().into_bytes();
    msg.pid = Some(std::process::id() as i32);
    Ok(msg)
}

/// The framed (and, with a `[signer]`, signed) record for `msg`.
pub fn frame(msg: &Message, config: &SbmgrConfig) -> Result<Vec<u8>, SbmgrError> {
    let signer = config.signer.as_ref().map(SignerConfig::signer);
    let mut out = Vec::new();
    write_framed(&encode(msg), signer.as_ref(), config.max_message_size, &mut out)?;
    Ok(out)
}

fn send(args: &SbmgrArgs) -> Result<String, SbmgrError> {
    let config = read_config(&args.config)?;
    let record = frame(&build_message(args)?, &config)?;
    let address = config.ip_address.clone();
    let sent = TcpStream::connect(&address).and_then(|mut s| {
        s.write_all(&record)?;
        s.flush()
    });
    sent.map_err(|source| SbmgrError::Send { address: address.clone(), source })?;
    Ok(address)
}

/// Runs `sbmgr`.
pub fn run(args: &SbmgrArgs) -> ExitCode {
    match send(args) {
        Ok(address) => {
            println!("{} message sent to {address}", args.action);
            0
        }
        Err(e) => {
            eprintln!("sandpiper sbmgr: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Scan, authenticate, decode, scan_record};

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn args(dir: &Path, action: &str) -> SbmgrArgs {
        SbmgrArgs {
            config: dir.join("sbmgr.toml"),
            action: action.into(),
            script: Some(write(dir, "f.lua", "function process_message() return 0 end")),
            scriptconfig: Some(write(dir, "f.toml", "[f]\ntype = 'SandboxFilter'")),
            filtername: Some("f".into()),
        }
    }

    #[test]
    fn control_messages_are_built_signed_and_framed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write(
            dir,
            "sbmgr.toml",
            "ip_address = '127.0.0.1:1'\n[signer]\nname = 'ops'\nhmac_hash = 'sha1'\n\
             hmac_key = 'k'\nversion = 3\n",
        );
        let config = read_config(&dir.join("sbmgr.toml")).unwrap();
        let load = build_message(&args(dir, "load")).unwrap();
        assert_eq!(
            (load.type_str(), load.logger_str()),
            ("heka.control.sandbox".into(), "hekad".into())
        );
        let field =
            |m: &Message, n: &str| m.field(n).map(|f| (f.value.clone(), f.representation.clone()));
        assert!(load.payload.starts_with(b"function process_message"));
        let (config_value, rep) = field(&load, "config").unwrap();
        assert_eq!(rep, "toml");
        assert_eq!(
            config_value,
            crate::message::FieldValue::String(vec![b"[f]\ntype = 'SandboxFilter'".to_vec()])
        );
        assert!(field(&load, "name").is_none());
        let unload = build_message(&args(dir, "unload")).unwrap();
        assert!(unload.payload.is_empty() && field(&unload, "config").is_none());
        assert!(field(&unload, "name").is_some());
        let mut reload_args = args(dir, "reload");
        reload_args.scriptconfig = None;
        let reload = build_message(&reload_args).unwrap();
        assert!(!reload.payload.is_empty() && field(&reload, "config").is_none());

        let record = frame(&load, &config).unwrap();
        let Scan::Record { start, msg_start, end, header, .. } = scan_record(&record, 65536) else {
            panic!("not a record")
        };
        assert_eq!((start, end), (0, record.len()));
        let bytes = &record[msg_start..end];
        assert_eq!(header.hmac_signer.as_deref(), Some("ops"));
        assert_eq!(
            authenticate(&header, bytes, |k| (k == "ops_3").then_some(&b"k"[..])),
            Ok(Some("ops".into()))
        );
        assert!(authenticate(&header, bytes, |_| Some(&b"wrong"[..])).is_err());
        assert_eq!(decode(bytes).unwrap(), load);
    }

    #[test]
    fn bad_arguments_and_configs_are_refused_before_sending() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write(dir, "sbmgr.toml", "ip_address = '127.0.0.1:1'\n");
        let mut a = args(dir, "load");
        a.scriptconfig = None;
        assert_eq!(build_message(&a).unwrap_err().to_string(), "-action load needs -scriptconfig");
        a.action = "explode".into();
        assert!(build_message(&a).unwrap_err().to_string().contains("unknown action 'explode'"));
        let mut a = args(dir, "unload");
        a.filtername = None;
        assert_eq!(build_message(&a).unwrap_err().to_string(), "-action unload needs -filtername");
        let big = "-".repeat(70_000);
        let mut a = args(dir, "load");
        a.script = Some(write(dir, "big.lua", &big));
        let config = read_config(&dir.join("sbmgr.toml")).unwrap();
        assert!(config.signer.is_none());
        let err = frame(&build_message(&a).unwrap(), &config).unwrap_err().to_string();
        assert!(err.starts_with("Message too big"), "{err}");
        write(dir, "tls.toml", "ip_address = 'x:1'\nuse_tls = true\n");
        let err = read_config(&dir.join("tls.toml")).unwrap_err().to_string();
        assert!(err.ends_with("use_tls: TLS is not supported yet"), "{err}");
        write(dir, "typo.toml", "ip_adress = 'x:1'\n");
        assert!(read_config(&dir.join("typo.toml")).unwrap_err().to_string().contains("ip_adress"));
    }
}
