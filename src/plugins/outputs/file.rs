//! `FileOutput`: appends encoded messages to a file. Output is batched in
//! memory and written when `flush_count` messages and/or `flush_interval`
//! ms have accumulated (`flush_operator` AND/OR). SIGHUP reopens the file
//! (for logrotate); `rotation_interval` (1, 4, 12 or 24 hours) starts a new
//! file at each interval boundary, with `path` formatted by strftime.
//!
//! Messages count as delivered (their input may checkpoint past them) only
//! once their bytes have been written to the file. Whatever the flush
//! settings, 1 MiB of buffered output is written at once, so memory stays
//! bounded.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::{DeliveryGuard, PackRef};
use crate::plugins::PluginReport;
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Encoded, Output, OutputContext, OutputFactory, PluginError};

/// Options of `FileOutput`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileOutputConfig {
    /// File path (strftime-formatted when rotating); relative to base_dir.
    pub path: String,
    /// File permissions, octal text.
    pub perm: String,
    /// Permissions of created directories, octal text.
    pub folder_perm: String,
    /// Write at least this often (ms; 0 = no time trigger).
    pub flush_interval: u64,
    /// Write after this many messages.
    pub flush_count: u64,
    /// How the two triggers combine: "AND" or "OR".
    pub flush_operator: String,
    /// Hours between rotations: 0 (none), 1, 4, 12 or 24.
    pub rotation_interval: u64,
}

impl Default for FileOutputConfig {
    fn default() -> Self {
        FileOutputConfig {
            path: String::new(),
            perm: "644".into(),
            folder_perm: "700".into(),
            flush_interval: 1000,
            flush_count: 1,
            flush_operator: "AND".into(),
            rotation_interval: 0,
        }
    }
}

/// Bytes buffered before a write happens regardless of the flush settings.
const MAX_BUFFER: usize = 1 << 20;

#[derive(Debug, Clone)]
struct Settings {
    path: PathBuf,
    perm: u32,
    folder_perm: u32,
    flush_interval: Duration,
    flush_count: u64,
    and: bool,
    rotation_hours: u64,
}

/// The output.
pub struct FileOutput {
    s: Settings,
    file: Option<File>,
    current_path: PathBuf,
    buf: Vec<u8>,
    pending: u64,
    guards: Vec<DeliveryGuard>,
    last_flush: Instant,
    next_rotation: Option<jiff::Timestamp>,
    written: u64,
}

fn parse_octal(cx: &BuildContext<'_>, key: &str, text: &str) -> Result<u32, ConfigError> {
    u32::from_str_radix(text, 8)
        .map_err(|_| cx.error(Some(key), format!("'{text}' is not an octal mode")))
}

impl FileOutput {
    fn new(s: Settings) -> Self {
        FileOutput {
            s,
            file: None,
            current_path: PathBuf::new(),
            buf: super::write_buffer(MAX_BUFFER),
            pending: 0,
            guards: Vec::new(),
            last_flush: Instant::now(),
            next_rotation: None,
            written: 0,
        }
    }

    fn formatted_path(&self) -> PathBuf {
        if self.s.rotation_hours == 0 {
            return self.s.path.clone();
        }
        let text = self.s.path.to_string_lossy();
        match jiff::fmt::strtime::format(text.as_bytes(), &jiff::ZonedDateTime::now()) {
            Ok(p) => PathBuf::from(p),
            Err(_) => self.s.path.clone(),
        }
    }

    fn open(&mut self) -> Result<(), PluginError> {
        let path = self.formatted_path();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(self.s.folder_perm)
                .create(dir)
                .map_err(|e| PluginError::io(format!("creating {}", dir.display()), e))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(self.s.perm)
            .open(&path)
            .map_err(|e| PluginError::io(format!("opening {}", path.display()), e))?;
        // `mode` only applies to new files; make an existing one match too.
        let _ = file.set_permissions(std::fs::Permissions::from_mode(self.s.perm));
        self.file = Some(file);
        self.current_path = path;
        self.next_rotation = next_rotation(self.s.rotation_hours);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PluginError> {
        if !self.buf.is_empty() {
            if self.file.is_none() {
                self.open()?;
            }
            if let Some(f) = self.file.as_mut() {
                f.write_all(&self.buf).map_err(|e| {
                    PluginError::io(format!("writing {}", self.current_path.display()), e)
                })?;
            }
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        self.pending = 0;
        self.guards.clear();
        self.last_flush = Instant::now();
        Ok(())
    }

    fn flush_due(&self) -> bool {
        if self.pending == 0 {
            return false;
        }
        let by_count = self.pending >= self.s.flush_count;
        if self.s.flush_interval.is_zero() {
            return by_count;
        }
        let by_time = self.last_flush.elapsed() >= self.s.flush_interval;
        if self.s.and { by_count && by_time } else { by_count || by_time }
    }

    /// Writes what is buffered and opens the file anew.
    fn flush_and_reopen(&mut self) -> Result<(), PluginError> {
        self.flush()?;
        self.file = None;
        self.open()
    }

    fn rotate_if_due(&mut self) -> Result<(), PluginError> {
        match self.next_rotation {
            Some(at) if jiff::Timestamp::now() >= at => self.flush_and_reopen(),
            _ => Ok(()),
        }
    }
}

/// The next boundary of `hours`-hour periods since local midnight.
fn next_rotation(hours: u64) -> Option<jiff::Timestamp> {
    if hours == 0 {
        return None;
    }
    let now = jiff::ZonedDateTime::now();
    let midnight = now.start_of_day().ok()?;
    let step = jiff::SignedDuration::from_hours(hours as i64);
    let mut t = midnight.timestamp();
    while t <= now.timestamp() {
        t = t.checked_add(step).ok()?;
    }
    Some(t)
}

impl Output for FileOutput {
    fn process_message(
        &mut self,
        pack: &PackRef,
        cx: &mut OutputContext<'_>,
    ) -> Result<(), PluginError> {
        if cx.encode(pack, &mut self.buf)? == Encoded::Output {
            self.pending += 1;
            crate::message::hold_guard(&mut self.guards, pack);
        }
        // Memory stays bounded whatever the flush settings: a full buffer
        // is written at once.
        if self.buf.len() >= MAX_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    fn poll(&mut self, _cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        self.rotate_if_due()?;
        if self.flush_due() {
            self.flush()?;
        }
        Ok(())
    }

    fn reopen(&mut self, _cx: &mut OutputContext<'_>) -> Result<(), PluginError> {
        self.flush_and_reopen()
    }

    fn stop(&mut self, cx: &mut OutputContext<'_>) {
        if let Err(e) = self.flush() {
            tracing::error!("FileOutput final flush failed: {e}");
            cx.keep_undelivered(std::mem::take(&mut self.guards));
        }
    }

    fn report(&self, report: &mut PluginReport) {
        report.set("Path", self.current_path.display().to_string());
        report.set("BytesWritten", self.written);
    }
}

struct Factory {
    s: Settings,
}

impl OutputFactory for Factory {
    fn build(&self) -> Result<Box<dyn Output>, PluginError> {
        let mut out = FileOutput::new(self.s.clone());
        out.open()?;
        Ok(Box::new(out))
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: FileOutputConfig = cx.config()?;
    if c.path.is_empty() {
        return Err(cx.error(Some("path"), "is required"));
    }
    let and = match c.flush_operator.to_ascii_uppercase().as_str() {
        "AND" => true,
        "OR" => false,
        other => {
            return Err(
                cx.error(Some("flush_operator"), format!("must be AND or OR, not '{other}'"))
            );
        }
    };
    if ![0, 1, 4, 12, 24].contains(&c.rotation_interval) {
        return Err(cx.error(Some("rotation_interval"), "must be 0, 1, 4, 12 or 24"));
    }
    let s = Settings {
        path: cx.hekad.prepend_base_dir(Path::new(&c.path)),
        perm: parse_octal(cx, "perm", &c.perm)?,
        folder_perm: parse_octal(cx, "folder_perm", &c.folder_perm)?,
        flush_interval: Duration::from_millis(c.flush_interval),
        flush_count: c.flush_count.max(1),
        and,
        rotation_hours: c.rotation_interval,
    };
    Ok(Built::Output(Box::new(Factory { s })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "FileOutput",
    category: Category::Output,
    build,
    defaults: Defaults { needs_encoder: true, ..Defaults::NONE },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, PackMut};
    use crate::plugins::context::{EncodeSettings, StopSignal};
    use crate::plugins::encoders::payload::{PayloadEncoder, PayloadEncoderConfig};
    use std::sync::Arc;

    fn settings(path: PathBuf, count: u64, interval_ms: u64, and: bool) -> Settings {
        Settings {
            path,
            perm: 0o600,
            folder_perm: 0o700,
            flush_interval: Duration::from_millis(interval_ms),
            flush_count: count,
            and,
            rotation_hours: 0,
        }
    }

    fn pack(text: &str) -> PackRef {
        let mut m = Message::new();
        m.payload = text.as_bytes().to_vec();
        PackMut::from_message(m).freeze()
    }

    /// An opened output, with what its context needs: a PayloadEncoder
    /// and a stop signal.
    fn opened(s: Settings) -> (FileOutput, EncodeSettings, StopSignal) {
        let mut out = FileOutput::new(s);
        out.open().unwrap();
        let encoding = EncodeSettings {
            encoder: Some(Box::new(PayloadEncoder::new(PayloadEncoderConfig::default()))),
            use_framing: false,
            signer: None,
            max_message_size: 65536,
        };
        (out, encoding, StopSignal::new())
    }

    #[test]
    fn flushes_by_count_with_or_and_keeps_guards_until_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.log");
        let (mut out, mut enc, stop) = opened(settings(path.clone(), 2, 60_000, false));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let mut cx = OutputContext::new("f", &mut enc, &stop);
        let guard: DeliveryGuard = Arc::new(());
        let mut p = PackMut::standalone();
        p.message.payload = b"a".to_vec();
        p.guard = Some(Arc::clone(&guard));
        out.process_message(&p.freeze(), &mut cx).unwrap();
        out.poll(&mut cx).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        assert_eq!(Arc::strong_count(&guard), 2, "output holds the guard until written");
        out.process_message(&pack("b"), &mut cx).unwrap();
        out.poll(&mut cx).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a\nb\n");
        assert_eq!(Arc::strong_count(&guard), 1);
    }

    #[test]
    fn a_full_buffer_is_written_without_growing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        // Flush settings that never fire: only the buffer bound writes.
        let (mut out, mut enc, stop) = opened(settings(path.clone(), 1_000_000, 3_600_000, true));
        let mut cx = OutputContext::new("f", &mut enc, &stop);
        let capacity = out.buf.capacity();
        let line = "x".repeat(999);
        let records = MAX_BUFFER / 1000 + 1;
        for _ in 0..records {
            out.process_message(&pack(&line), &mut cx).unwrap();
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), (records * 1000) as u64);
        assert!(out.buf.is_empty());
        assert_eq!(out.buf.capacity(), capacity, "the record that filled it fit in the room left");
    }

    #[test]
    fn and_operator_waits_for_the_interval_and_stop_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let (mut out, mut enc, stop) = opened(settings(path.clone(), 1, 60_000, true));
        let mut cx = OutputContext::new("f", &mut enc, &stop);
        out.process_message(&pack("x"), &mut cx).unwrap();
        out.poll(&mut cx).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"", "interval not reached");
        out.stop(&mut cx);
        assert_eq!(std::fs::read(&path).unwrap(), b"x\n");
    }

    #[test]
    fn rotation_boundaries_are_aligned_to_midnight() {
        assert_eq!(next_rotation(0), None);
        for hours in [1u64, 4, 12, 24] {
            let next = next_rotation(hours).unwrap();
            let now = jiff::Timestamp::now();
            assert!(next > now);
            assert!(next.as_second() - now.as_second() <= (hours * 3600) as i64);
            let local = next.to_zoned_datetime(jiff::tz::TimeZone::system());
            assert_eq!((local.minute(), local.second()), (0, 0), "on the hour");
            assert_eq!(local.hour() as u64 % hours, 0, "a multiple of {hours} h after midnight");
        }
    }

    #[test]
    fn rotation_writes_to_a_new_strftime_named_file() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("out-%Y%m%d.log");
        let mut s = settings(pattern, 1, 0, true);
        s.rotation_hours = 24;
        let (mut out, mut enc, stop) = opened(s);
        let mut cx = OutputContext::new("f", &mut enc, &stop);
        out.process_message(&pack("x"), &mut cx).unwrap();
        out.poll(&mut cx).unwrap();
        let today = jiff::ZonedDateTime::now().strftime("out-%Y%m%d.log").to_string();
        assert_eq!(std::fs::read(dir.path().join(today)).unwrap(), b"x\n");
        // Pretend the boundary passed: the next write goes to a reopened file.
        out.next_rotation = Some(jiff::Timestamp::UNIX_EPOCH);
        out.process_message(&pack("y"), &mut cx).unwrap();
        out.poll(&mut cx).unwrap();
        assert!(out.next_rotation.unwrap() > jiff::Timestamp::now());
    }

    #[test]
    fn reopen_follows_a_renamed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let (mut out, mut enc, stop) = opened(settings(path.clone(), 1, 0, true));
        let mut cx = OutputContext::new("f", &mut enc, &stop);
        out.process_message(&pack("old"), &mut cx).unwrap();
        out.poll(&mut cx).unwrap();
        std::fs::rename(&path, dir.path().join("out.log.1")).unwrap();
        out.reopen(&mut cx).unwrap();
        out.process_message(&pack("new"), &mut cx).unwrap();
        out.poll(&mut cx).unwrap();
        assert_eq!(std::fs::read(dir.path().join("out.log.1")).unwrap(), b"old\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
    }
}
