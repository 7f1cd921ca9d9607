//! Reports: the `heka.all-report` message (JSON payload in the spirit of
//! Heka's, later read by the dashboard), its plain-text form for SIGUSR1,
//! and the thread that injects it periodically.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::PluginInfo;
use super::router::{Route, Router};
use super::stats::RunnerStats;
use crate::message::{Field, PackPool};
use crate::plugins::context::{InputStats, StopSignal};

/// Message Type of the report.
pub const ALL_REPORT_TYPE: &str = "heka.all-report";

/// What the report reads for one input.
pub struct InputView {
    /// Name and type.
    pub info: PluginInfo,
    /// Counters.
    pub stats: Arc<InputStats>,
    /// Decoder section name.
    pub decoder: Option<String>,
}

/// What the report reads for one filter or output.
pub struct PluginView {
    /// Name and type.
    pub info: PluginInfo,
    /// Its route (queue and match counters).
    pub route: Arc<Route>,
    /// Runner counters.
    pub stats: Arc<RunnerStats>,
    /// Encoder section name (outputs).
    pub encoder: Option<String>,
}

/// Everything the report reads, shared with the reporter thread.
pub struct ReportView {
    /// `[hekad] hostname`.
    pub hostname: String,
    /// Input pack pool.
    pub input_pool: PackPool,
    /// Inject pack pool.
    pub inject_pool: PackPool,
    /// The router.
    pub router: Arc<Router>,
    /// Inputs.
    pub inputs: Vec<InputView>,
    /// Filters.
    pub filters: Vec<PluginView>,
    /// Outputs.
    pub outputs: Vec<PluginView>,
}

fn v(value: impl Into<Value>, representation: &str) -> Value {
    json!({"value": value.into(), "representation": representation})
}

fn pool_entry(name: &str, pool: &PackPool) -> Value {
    json!({
        "Name": name,
        "InChanCapacity": v(pool.size() as u64, "count"),
        "InChanLength": v(pool.available() as u64, "count"),
    })
}

fn input_entry(i: &InputView) -> Value {
    let s = &i.stats;
    json!({
        "Name": i.info.name,
        "Type": i.info.type_name,
        "Decoder": i.decoder,
        "RecordCount": v(s.records.load(Ordering::Relaxed), "count"),
        "BytesRead": v(s.bytes.load(Ordering::Relaxed), "B"),
        "DroppedRecordCount": v(s.dropped.load(Ordering::Relaxed), "count"),
        "DecodeFailures": v(s.decode_failures.load(Ordering::Relaxed), "count"),
        "ErrorCount": v(s.errors.load(Ordering::Relaxed), "count"),
        "Streams": v(s.streams.load(Ordering::Relaxed), "count"),
    })
}

fn plugin_entry(p: &PluginView) -> Value {
    let s = &p.stats;
    let mut m = Map::new();
    m.insert("Name".into(), json!(p.info.name));
    m.insert("Type".into(), json!(p.info.type_name));
    m.insert("Matcher".into(), json!(p.route.matcher.as_str()));
    m.insert("InChanCapacity".into(), v(p.route.queue_capacity() as u64, "batches"));
    m.insert("InChanLength".into(), v(p.route.queue_len() as u64, "batches"));
    m.insert("MatchCount".into(), v(p.route.stats.matched.load(Ordering::Relaxed), "count"));
    m.insert("DropCount".into(), v(p.route.stats.dropped.load(Ordering::Relaxed), "count"));
    m.insert("ProcessMessageCount".into(), v(RunnerStats::get(&s.processed), "count"));
    m.insert("ProcessMessageFailures".into(), v(RunnerStats::get(&s.failures), "count"));
    m.insert("InjectMessageCount".into(), v(RunnerStats::get(&s.injected), "count"));
    m.insert("ProcessMessageAvgDuration".into(), v(s.avg_process_ns(), "ns"));
    m.insert("TimerEventAvgDuration".into(), v(s.avg_timer_ns(), "ns"));
    m.insert("Restarts".into(), v(RunnerStats::get(&s.restarts), "count"));
    let reloads = RunnerStats::get(&s.reloads);
    let reload_failures = RunnerStats::get(&s.reload_failures);
    if reloads > 0 || reload_failures > 0 {
        m.insert("ReloadCount".into(), v(reloads, "count"));
        m.insert("ReloadFailures".into(), v(reload_failures, "count"));
        m.insert("ReloadPauseLast".into(), v(RunnerStats::get(&s.reload_pause_last_ns), "ns"));
        m.insert("ReloadPauseMax".into(), v(RunnerStats::get(&s.reload_pause_max_ns), "ns"));
    }
    if let Some(e) = s.reload_error.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        m.insert("ReloadError".into(), json!(e));
    }
    if let Some(enc) = &p.encoder {
        m.insert("Encoder".into(), json!(enc));
    }
    if let Some(reason) = s.stopped.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        m.insert("Stopped".into(), json!(reason));
    }
    for (k, val) in &s.plugin.lock().unwrap_or_else(|e| e.into_inner()).values {
        m.insert(k.clone(), val.clone());
    }
    Value::Object(m)
}

impl ReportView {
    /// The report as JSON (`heka.all-report` payload).
    pub fn json(&self) -> Value {
        json!({
            "hostname": self.hostname,
            "globals": [
                pool_entry("inputRecycleChan", &self.input_pool),
                pool_entry("injectRecycleChan", &self.inject_pool),
                {"Name": "Router", "ProcessMessageCount": v(self.router.routed(), "count")},
            ],
            "inputs": self.inputs.iter().map(input_entry).collect::<Vec<_>>(),
            "filters": self.filters.iter().map(plugin_entry).collect::<Vec<_>>(),
            "outputs": self.outputs.iter().map(plugin_entry).collect::<Vec<_>>(),
        })
    }

    /// The report as plain text (SIGUSR1).
    pub fn text(&self) -> String {
        let mut out = String::from("========[heka.all-report]========\n");
        let report = self.json();
        for section in ["globals", "inputs", "filters", "outputs"] {
            let Some(entries) = report[section].as_array() else { continue };
            out.push_str(section);
            out.push_str(":\n");
            for e in entries {
                let Some(obj) = e.as_object() else { continue };
                let name = obj.get("Name").and_then(Value::as_str).unwrap_or("");
                out.push_str(&format!("  {name}:\n"));
                for (k, val) in obj.iter().filter(|(k, _)| k.as_str() != "Name") {
                    let shown = match val.get("value") {
                        Some(x) => format!("{x} {}", val["representation"].as_str().unwrap_or("")),
                        None => val.to_string(),
                    };
                    out.push_str(&format!("    {k}: {}\n", shown.trim()));
                }
            }
        }
        out.push_str("========\n");
        out
    }
}

/// Starts the thread that injects `heka.all-report` every `interval`
/// until `stop` is raised.
pub(super) fn spawn_reporter(
    shared: Arc<super::running::Shared>,
    stop: StopSignal,
    interval: Duration,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("reporter".into()).spawn(move || {
        while !stop.wait(interval) {
            let Some(mut pack) = shared.inject_pool.get_timeout(Duration::from_secs(1)) else {
                tracing::warn!("No free pack for the periodic report; skipped.");
                continue;
            };
            let view = shared.report_view();
            let msg = &mut pack.message;
            msg.stamp_new();
            msg.msg_type = ALL_REPORT_TYPE.as_bytes().to_vec();
            msg.logger = b"hekad".to_vec();
            msg.hostname = view.hostname.as_bytes().to_vec();
            msg.payload = view.json().to_string().into_bytes();
            msg.add_field(
                Field::string("payload_type", "json").with_representation("file-extension"),
            );
            msg.add_field(Field::string("payload_name", "all-report"));
            shared.router.route_one(pack);
        }
    })
}
