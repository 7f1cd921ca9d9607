//! The `[hekad]` section: global settings with Heka's defaults, checked key
//! by key so every mistake is reported.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Value;

use super::error::{ConfigError, Report};
use super::paths::{absolute, os_hostname, resolve_share_dir};
use super::value;
use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, max_record_size};

/// Default `base_dir`: Heka used `/var/cache/hekad`; ours is named after us.
pub const DEFAULT_BASE_DIR: &str = "/var/cache/sandpiper";

/// Global settings from `[hekad]`. Keys are matched exactly, in snake_case
/// (Heka's old TOML library ignored case; Sandpiper does not, and says so
/// when a key differs only in case). Unknown keys are errors.
#[derive(Debug, Clone, PartialEq)]
pub struct HekadConfig {
    /// Worker threads wanted (Heka: `GOMAXPROCS`; `0` leaves the runtime's
    /// choice). Default 1.
    pub maxprocs: usize,
    /// Packs in each of the input and inject pools. Default 1024 (Heka:
    /// 100; see the README's compatibility table), at least 1.
    pub poolsize: usize,
    /// Capacity of router, matcher, plugin and decoder channels. Default 30.
    pub plugin_chansize: usize,
    /// Accepted for compatibility; Sandpiper writes no Go CPU profile.
    pub cpuprof: Option<PathBuf>,
    /// Accepted for compatibility; Sandpiper writes no Go memory profile.
    pub memprof: Option<PathBuf>,
    /// Maximum re-injection depth of a message. Default 4; 0 becomes 1.
    pub max_message_loops: u32,
    /// Messages a sandbox filter may inject per `process_message`. Default 1.
    pub max_process_inject: u32,
    /// Slow-sandbox threshold. Heka gives it as integer nanoseconds; a Go
    /// duration string is accepted too. Default 100µs.
    pub max_process_duration: Duration,
    /// Messages a sandbox may inject per `timer_event`. Default 10.
    pub max_timer_inject: u32,
    /// A pack idle longer than this is reported as leaked. Default 2m.
    pub max_pack_idle: Duration,
    /// Writable state directory, absolute (a relative setting is taken from
    /// the current directory). Default [`DEFAULT_BASE_DIR`].
    pub base_dir: PathBuf,
    /// Read-only resources (Lua modules, sandboxes), absolute. Default
    /// [`resolve_share_dir`].
    pub share_dir: PathBuf,
    /// 1-in-N sampling for duration statistics. Default 1000, at least 1.
    pub sample_denominator: u32,
    /// File to write our pid to, if any.
    pub pid_file: Option<PathBuf>,
    /// Host name stamped on generated messages. Default (also for `""`):
    /// the OS host name.
    pub hostname: String,
    /// Largest message in bytes. Default 64 KiB; must be greater than 1024.
    pub max_message_size: usize,
    /// Go `log` prefix flags (3 = date and time, 0 = none). Default 3.
    pub log_flags: u32,
    /// After a "buffer full" shutdown, how many ≤1 s waits for a queue to
    /// drain below 90 % at the next start. Default 10.
    pub full_buffer_max_retries: u32,
    /// Seconds between `heka.all-report` messages injected into the router
    /// (0 = never). Sandpiper's addition; default 0, so a config with a
    /// `TRUE` matcher sees only its own messages, as in Heka.
    pub report_interval: u64,
}

/// Every key `[hekad]` accepts.
const KEYS: &[&str] = &[
    "maxprocs",
    "poolsize",
    "plugin_chansize",
    "cpuprof",
    "memprof",
    "max_message_loops",
    "max_process_inject",
    "max_process_duration",
    "max_timer_inject",
    "max_pack_idle",
    "base_dir",
    "share_dir",
    "sample_denominator",
    "pid_file",
    "hostname",
    "max_message_size",
    "log_flags",
    "full_buffer_max_retries",
    "report_interval",
];

impl Default for HekadConfig {
    fn default() -> Self {
        let mut config = Self::fixed_defaults();
        config.hostname = os_hostname();
        config.share_dir = absolute(resolve_share_dir());
        config
    }
}

impl HekadConfig {
    /// Defaults that need no look-up of the host (hostname and share_dir
    /// are left empty).
    fn fixed_defaults() -> Self {
        HekadConfig {
            maxprocs: 1,
            poolsize: 1024,
            plugin_chansize: 30,
            cpuprof: None,
            memprof: None,
            max_message_loops: 4,
            max_process_inject: 1,
            max_process_duration: Duration::from_nanos(100_000),
            max_timer_inject: 10,
            max_pack_idle: Duration::from_secs(120),
            base_dir: PathBuf::from(DEFAULT_BASE_DIR),
            share_dir: PathBuf::new(),
            sample_denominator: 1000,
            pid_file: None,
            hostname: String::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            log_flags: 3,
            full_buffer_max_retries: 10,
            report_interval: 0,
        }
    }

    /// `path` under `base_dir`, or `path` itself if absolute (Heka's
    /// `PrependBaseDir`): for data paths such as queues and checkpoints.
    pub fn prepend_base_dir(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_owned() } else { self.base_dir.join(path) }
    }

    /// `path` under `share_dir`, or `path` itself if absolute (Heka's
    /// `PrependShareDir`): for scripts and other read-only resources.
    pub fn prepend_share_dir(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_owned() } else { self.share_dir.join(path) }
    }

    /// Largest framed record: header framing plus `max_message_size`.
    pub fn max_record_size(&self) -> usize {
        max_record_size(self.max_message_size)
    }
}

/// Builds the globals from the merged `[hekad]` keys, each with the file its
/// winning value came from. Bad keys are reported and keep their default.
pub(crate) fn parse<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a Value, &'a Path)>,
    errors: &mut Vec<ConfigError>,
) -> HekadConfig {
    let mut c = HekadConfig::fixed_defaults();
    let (mut hostname, mut share_dir) = (None, None);
    for (key, v, file) in entries {
        let mut r = Report::new(file, Some("hekad"), errors);
        match key {
            "maxprocs" => r.set(key, &mut c.maxprocs, value::size(v)),
            "poolsize" => r.set(key, &mut c.poolsize, value::size(v).and_then(value::nonzero)),
            "plugin_chansize" => r.set(key, &mut c.plugin_chansize, value::size(v)),
            "cpuprof" => r.set(key, &mut c.cpuprof, value::opt_path(v)),
            "memprof" => r.set(key, &mut c.memprof, value::opt_path(v)),
            "max_message_loops" => {
                r.set(key, &mut c.max_message_loops, value::uint32(v).map(|n| n.max(1)))
            }
            "max_process_inject" => r.set(key, &mut c.max_process_inject, value::uint32(v)),
            "max_process_duration" => r.set(key, &mut c.max_process_duration, nanos_or_duration(v)),
            "max_timer_inject" => r.set(key, &mut c.max_timer_inject, value::uint32(v)),
            "max_pack_idle" => r.set(key, &mut c.max_pack_idle, value::duration(v)),
            "base_dir" => {
                if let Some(Some(dir)) = r.check(key, value::opt_path(v)) {
                    c.base_dir = dir;
                }
            }
            "share_dir" => share_dir = r.check(key, value::opt_path(v)).flatten(),
            "sample_denominator" => {
                r.set(key, &mut c.sample_denominator, value::uint32(v).and_then(value::nonzero))
            }
            "pid_file" => r.set(key, &mut c.pid_file, value::opt_path(v)),
            "hostname" => hostname = r.check(key, value::opt_string(v)).flatten(),
            "max_message_size" => r.set(key, &mut c.max_message_size, message_size(v)),
            "log_flags" => r.set(key, &mut c.log_flags, value::uint32(v)),
            "full_buffer_max_retries" => {
                r.set(key, &mut c.full_buffer_max_retries, value::uint32(v))
            }
            "report_interval" => {
                r.set(key, &mut c.report_interval, value::uint32(v).map(u64::from))
            }
            _ => r.key(key, value::unknown_setting(key, KEYS)),
        }
    }
    c.base_dir = absolute(c.base_dir);
    c.share_dir = absolute(share_dir.unwrap_or_else(resolve_share_dir));
    c.hostname = hostname.unwrap_or_else(os_hostname);
    c
}

fn message_size(v: &Value) -> Result<usize, String> {
    let n = value::uint32(v)?;
    if n <= 1024 {
        return Err("must be greater than 1024".to_owned());
    }
    usize::try_from(n).map_err(|_| "too large for this platform".to_owned())
}

/// Integer nanoseconds (Heka's form) or a Go duration string.
fn nanos_or_duration(v: &Value) -> Result<Duration, String> {
    match v {
        Value::Integer(_) => value::uint(v).map(Duration::from_nanos),
        _ => value::duration(v).map_err(|e| {
            e.replace("a duration string", "integer nanoseconds or a duration string")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> (HekadConfig, Vec<ConfigError>) {
        let table: toml::Table = text.parse().unwrap();
        let file = Path::new("h.toml");
        let mut errors = Vec::new();
        let c = parse(table.iter().map(|(k, v)| (k.as_str(), v, file)), &mut errors);
        (c, errors)
    }

    #[test]
    fn defaults_are_hekas() {
        let (c, errors) = parse_str("");
        assert!(errors.is_empty());
        assert_eq!(c.maxprocs, 1);
        assert_eq!(c.poolsize, 1024);
        assert_eq!(c.plugin_chansize, 30);
        assert_eq!(c.max_message_loops, 4);
        assert_eq!(c.max_process_inject, 1);
        assert_eq!(c.max_process_duration, Duration::from_micros(100));
        assert_eq!(c.max_timer_inject, 10);
        assert_eq!(c.max_pack_idle, Duration::from_secs(120));
        assert_eq!(c.base_dir, PathBuf::from("/var/cache/sandpiper"));
        assert_eq!(c.sample_denominator, 1000);
        assert_eq!(c.pid_file, None);
        assert_eq!(c.max_message_size, 65536);
        assert_eq!(c.log_flags, 3);
        assert_eq!(c.report_interval, 0, "no reports among the data unless asked");
        assert_eq!(c.full_buffer_max_retries, 10);
        assert!(!c.hostname.is_empty());
        assert!(c.share_dir.is_absolute());
        assert_eq!(c.max_record_size(), max_record_size(65536));
        let d = HekadConfig::default();
        assert_eq!((d.maxprocs, d.hostname.is_empty()), (1, false));
    }

    #[test]
    fn every_key_is_read() {
        let (c, errors) = parse_str(
            r#"
            maxprocs = 24
            poolsize = 50
            plugin_chansize = 0
            cpuprof = "log/cpuprof.log"
            memprof = "log/memprof.log"
            max_message_loops = 0
            max_process_inject = 5
            max_process_duration = 2000
            max_timer_inject = 20
            max_pack_idle = "90s"
            base_dir = "/srv/state"
            share_dir = "/srv/share"
            sample_denominator = 10
            pid_file = "hekad.pid"
            hostname = "web-1"
            max_message_size = 2048
            log_flags = 0
            full_buffer_max_retries = 3
            "#,
        );
        assert_eq!(errors, vec![]);
        assert_eq!(c.maxprocs, 24);
        assert_eq!(c.poolsize, 50);
        assert_eq!(c.plugin_chansize, 0);
        assert_eq!(c.cpuprof, Some(PathBuf::from("log/cpuprof.log")));
        assert_eq!(c.memprof, Some(PathBuf::from("log/memprof.log")));
        assert_eq!(c.max_message_loops, 1, "0 is coerced to 1");
        assert_eq!(c.max_process_inject, 5);
        assert_eq!(c.max_process_duration, Duration::from_nanos(2000));
        assert_eq!(c.max_timer_inject, 20);
        assert_eq!(c.max_pack_idle, Duration::from_secs(90));
        assert_eq!(c.base_dir, PathBuf::from("/srv/state"));
        assert_eq!(c.share_dir, PathBuf::from("/srv/share"));
        assert_eq!(c.sample_denominator, 10);
        assert_eq!(c.pid_file, Some(PathBuf::from("hekad.pid")));
        assert_eq!(c.hostname, "web-1");
        assert_eq!(c.max_message_size, 2048);
        assert_eq!(c.log_flags, 0);
        assert_eq!(c.full_buffer_max_retries, 3);
    }

    #[test]
    fn empty_strings_mean_defaults() {
        let (c, errors) = parse_str("hostname = \"\"\nbase_dir = \"\"\npid_file = \"\"");
        assert!(errors.is_empty());
        assert_eq!(c.hostname, os_hostname());
        assert_eq!(c.base_dir, PathBuf::from(DEFAULT_BASE_DIR));
        assert_eq!(c.pid_file, None);
    }

    #[test]
    fn max_process_duration_accepts_a_duration_string() {
        let (c, errors) = parse_str("max_process_duration = \"1ms\"");
        assert!(errors.is_empty());
        assert_eq!(c.max_process_duration, Duration::from_millis(1));
    }

    #[test]
    fn relative_dirs_are_taken_from_the_current_directory() {
        let (c, _) = parse_str("base_dir = \"base_dir\"\nshare_dir = \"share\"");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(c.base_dir, cwd.join("base_dir"));
        assert_eq!(c.share_dir, cwd.join("share"));
    }

    #[test]
    fn bad_values_are_each_reported_and_keep_defaults() {
        let (c, errors) = parse_str(
            r#"
            max_message_size = 1024
            sample_denominator = 0
            poolsize = 0
            maxprocs = "many"
            max_pack_idle = "2 minutes"
            MaxProcs = 2
            bogus = true
            "#,
        );
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "h.toml: [hekad] unknown config setting 'MaxProcs' \
                 (keys are case-sensitive: use 'maxprocs')"
                    .to_owned(),
                "h.toml: [hekad] unknown config setting 'bogus'".to_owned(),
                "h.toml: [hekad] max_message_size: must be greater than 1024".to_owned(),
                "h.toml: [hekad] max_pack_idle: unknown unit \" minutes\" in duration \
                 \"2 minutes\""
                    .to_owned(),
                "h.toml: [hekad] maxprocs: invalid type: string \"many\", expected an integer"
                    .to_owned(),
                "h.toml: [hekad] poolsize: must be greater than 0".to_owned(),
                "h.toml: [hekad] sample_denominator: must be greater than 0".to_owned(),
            ]
        );
        assert_eq!(c.max_message_size, 65536);
        assert_eq!(c.sample_denominator, 1000);
        assert_eq!(c.maxprocs, 1);
    }

    #[test]
    fn prepend_dirs_leave_absolute_paths_alone() {
        let mut c = HekadConfig::fixed_defaults();
        c.base_dir = PathBuf::from("/var/cache/sandpiper");
        c.share_dir = PathBuf::from("/usr/share/sandpiper");
        assert_eq!(
            c.prepend_base_dir(Path::new("output_queue/x")),
            PathBuf::from("/var/cache/sandpiper/output_queue/x")
        );
        assert_eq!(c.prepend_base_dir(Path::new("/tmp/q")), PathBuf::from("/tmp/q"));
        assert_eq!(
            c.prepend_share_dir(Path::new("lua_modules/a.lua")),
            PathBuf::from("/usr/share/sandpiper/lua_modules/a.lua")
        );
        assert_eq!(c.prepend_share_dir(Path::new("/opt/x.lua")), PathBuf::from("/opt/x.lua"));
    }
}
