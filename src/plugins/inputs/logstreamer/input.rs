//! `LogstreamerInput`: the pipeline side of log tailing. One thread reads
//! every logstream of the input in turn, feeds each stream's splitter and
//! decoder, and checkpoints each stream's journal to the position that the
//! whole pipeline has finished with (see `pipeline::ack`), so a restart —
//! even after `kill -9` — never skips a line.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    Journal, JournalStore, LogstreamerInputConfig, LogstreamerSettings, ReadOutcome, ReaderOptions,
    StreamReader, discover, stream_files,
};
use crate::config::{Category, ConfigError};
use crate::message::max_record_size;
use crate::pipeline::ack::{DeliveryTracker, as_delivery_guard};
use crate::pipeline::log_limit::LogLimiter;
use crate::plugins::context::{InputStats, InputStream, StreamHeaders};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Input, InputContext, PluginError};

/// Bytes read per call.
const READ_SIZE: usize = 128 * 1024;
/// Reads per stream before moving to the next stream.
const READS_PER_TURN: usize = 64;
/// Journals are saved at least this often while data flows.
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// One logstream being read.
struct Logstream {
    reader: StreamReader,
    tracker: DeliveryTracker<Journal>,
    last_saved: Option<Journal>,
    last_save: Instant,
}

/// The input.
pub struct LogstreamerInput {
    name: String,
    settings: LogstreamerSettings,
    store: JournalStore,
    max_unconsumed: usize,
    streams: BTreeMap<String, Logstream>,
    limiter: LogLimiter,
}

impl LogstreamerInput {
    fn reader_options(&self, initial_tail: bool) -> ReaderOptions {
        ReaderOptions {
            initial_tail,
            max_unconsumed: self.max_unconsumed,
            ..ReaderOptions::default()
        }
    }

    /// Finds streams; new ones get a reader (resuming from their journal).
    fn rescan(&mut self, startup: bool, stats: &InputStats) {
        let discovery = match discover(&self.settings, &self.name) {
            Ok(d) => d,
            Err(e) => {
                InputStats::inc(&stats.errors);
                self.limiter.warn(&self.name, &format!("Scanning for log files failed: {e}"));
                return;
            }
        };
        for (name, files) in discovery.streams {
            if let Some(s) = self.streams.get_mut(&name) {
                s.reader.rescan(files);
                continue;
            }
            let journal = self.store.load_or_warn(&name);
            let tail = startup && self.settings.initial_tail;
            let mut reader =
                StreamReader::new(name.clone(), files, journal.clone(), self.reader_options(tail));
            let (settings, plugin, stream) =
                (self.settings.clone(), self.name.clone(), name.clone());
            reader.set_rescanner(Box::new(move || stream_files(&settings, &plugin, &stream).ok()));
            tracing::info!(plugin = %self.name, stream = %name, "Reading logstream: {:?}", reader.start_decision());
            let s = Logstream {
                reader,
                tracker: DeliveryTracker::new(),
                last_saved: journal,
                last_save: Instant::now(),
            };
            self.streams.insert(name, s);
        }
    }

    /// Saves the journal of `name` if the committed position moved.
    fn save(
        store: &JournalStore,
        name: &str,
        s: &mut Logstream,
        limiter: &mut LogLimiter,
        plugin: &str,
    ) {
        s.last_save = Instant::now();
        let Some(j) = s.tracker.committed() else { return };
        if s.last_saved.as_ref() == Some(&j) {
            return;
        }
        match store.save(name, &j) {
            Ok(()) => s.last_saved = Some(j),
            Err(e) => limiter.warn(plugin, &format!("Saving the journal of {name} failed: {e}")),
        }
    }
}

/// Delivers `data` of `s` through `out`, tracking the position after it.
fn deliver(
    s: &mut Logstream,
    out: &mut dyn InputStream,
    data: Option<&[u8]>,
    limiter: &mut LogLimiter,
    plugin: &str,
) {
    let guard = s.tracker.begin();
    out.set_guard(Some(as_delivery_guard(&guard)));
    match data {
        Some(d) => out.deliver(d),
        None => out.flush_partial(),
    }
    out.set_guard(None);
    match s.reader.checkpoint(out.buffered() as u64) {
        Ok(Some(j)) => guard.set_position(j),
        Ok(None) => {}
        Err(e) => limiter
            .warn(plugin, &format!("Cannot compute the checkpoint of {}: {e}", s.reader.name())),
    }
}

impl Input for LogstreamerInput {
    fn run(&mut self, cx: &mut InputContext) -> Result<(), PluginError> {
        let hostname = self.settings.hostname.clone().unwrap_or_else(|| cx.hostname.clone());
        self.rescan(self.streams.is_empty(), &cx.report);
        let mut outs: BTreeMap<String, Box<dyn InputStream>> = BTreeMap::new();
        let mut buf = vec![0u8; READ_SIZE];
        let mut next_rescan = Instant::now() + self.settings.rescan_interval;
        while !cx.is_stopping() {
            let mut busy = false;
            for (name, s) in self.streams.iter_mut() {
                let out = match outs.get_mut(name) {
                    Some(o) => o,
                    None => {
                        let headers = StreamHeaders {
                            msg_type: b"logfile".to_vec(),
                            logger: name.as_bytes().to_vec(),
                            hostname: hostname.as_bytes().to_vec(),
                        };
                        outs.entry(name.clone()).or_insert(cx.stream(headers)?)
                    }
                };
                for _ in 0..READS_PER_TURN {
                    if cx.is_stopping() {
                        break;
                    }
                    match s.reader.read(&mut buf) {
                        Ok(ReadOutcome::Data { n }) => {
                            busy = true;
                            deliver(
                                s,
                                out.as_mut(),
                                Some(&buf[..n]),
                                &mut self.limiter,
                                &self.name,
                            );
                        }
                        Ok(ReadOutcome::Switched { from, to }) => {
                            busy = true;
                            tracing::info!(plugin = %self.name, stream = %name, "Finished {}; now reading {}", from.display(), to.display());
                            // The rest of the old file is its last record.
                            deliver(s, out.as_mut(), None, &mut self.limiter, &self.name);
                        }
                        Ok(ReadOutcome::Eof) => {
                            Self::save(&self.store, name, s, &mut self.limiter, &self.name);
                            break;
                        }
                        Err(e) => {
                            InputStats::inc(&cx.report.errors);
                            self.limiter.warn(&self.name, &format!("Reading {name} failed: {e}"));
                            break;
                        }
                    }
                }
                if s.last_save.elapsed() >= SAVE_EVERY {
                    Self::save(&self.store, name, s, &mut self.limiter, &self.name);
                }
            }
            if Instant::now() >= next_rescan {
                self.rescan(false, &cx.report);
                next_rescan = Instant::now() + self.settings.rescan_interval;
            }
            if !busy && cx.stop.wait(self.settings.check_data_interval) {
                break;
            }
        }
        // Partial records stay unread: the journal excludes them and they
        // are read again, whole, at the next start.
        drop(outs);
        Ok(())
    }

    fn in_flight(&self) -> usize {
        self.streams.values().map(|s| s.tracker.in_flight()).sum()
    }

    fn finish(&mut self, _cx: &InputContext) {
        for (name, s) in self.streams.iter_mut() {
            if s.tracker.in_flight() > 0 {
                tracing::warn!(plugin = %self.name, stream = %name, "Some lines were not delivered; they will be read again.");
            }
            Self::save(&self.store, name, s, &mut self.limiter, &self.name);
        }
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: LogstreamerInputConfig = cx.config()?;
    let settings = c.validate(&cx.hekad.base_dir).map_err(|errors| {
        let first = errors.0.first();
        let key = first.map(|e| e.key());
        let message = errors.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
        cx.error(key, message)
    })?;
    let store = JournalStore::new(&settings.journal_directory);
    Ok(Built::Input(Box::new(LogstreamerInput {
        name: cx.section.name.clone(),
        settings,
        store,
        max_unconsumed: max_record_size(cx.hekad.max_message_size) + 1,
        streams: BTreeMap::new(),
        limiter: LogLimiter::new(),
    })))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "LogstreamerInput",
    category: Category::Input,
    build,
    defaults: Defaults { splitter: Some("TokenSplitter"), ..Defaults::NONE },
};

/// The dry-run description of every LogstreamerInput in a configuration.
pub fn describe_all(config: &crate::config::Config) -> String {
    let mut out = String::new();
    for s in config.plugins.iter().filter(|s| s.type_name == "LogstreamerInput") {
        match crate::config::plugin_config::<LogstreamerInputConfig>(s) {
            Ok(c) => out.push_str(&super::describe(&c, Path::new(&config.hekad.base_dir), &s.name)),
            Err(e) => out.push_str(&format!("{e}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_key() {
        let config = crate::config::load_str(
            "[ls]\ntype='LogstreamerInput'\nlog_directory='/tmp'\nfile_match='('\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let decoders = std::collections::HashMap::new();
        let cx =
            BuildContext { hekad: &config.hekad, section: &config.plugins[0], decoders: &decoders };
        let Err(e) = build(&cx) else { panic!("bad regex accepted") };
        assert_eq!(e.key.as_deref(), Some("file_match"));
        assert_eq!(e.section.as_deref(), Some("ls"));
    }
}
