//! The set of running plugins and the primitives that change it: start an
//! input, filter or output; stop one (draining its queue); replace a filter
//! or output in place. Start-up, shutdown, SIGHUP reloads and dynamic
//! sandboxes all go through these.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{HekadConfig, PluginSection};
use crate::message::PackPool;
use crate::plugins::RouteSink;
use crate::plugins::context::{InputContext, InputStats, PluginManager, StopSignal, Undelivered};

use super::build::{FilterPlan, InputPlan, OutputPlan};
use super::input_runner::{self, InputReturn};
use super::report::{InputView, PluginView, ReportView};
use super::router::{QueueItem, Route, Router};
use super::stats::RunnerStats;
use super::stream::StreamSetup;
use super::{Events, MAX_BATCH, PluginInfo, filter_runner, output_runner};

/// A running input.
pub(crate) struct RunningInput {
    pub info: PluginInfo,
    pub section: PluginSection,
    pub decoder: Option<String>,
    pub stats: Arc<InputStats>,
    pub stop: StopSignal,
    pub handle: Option<JoinHandle<InputReturn>>,
}

/// A running filter or output.
pub(crate) struct RunningPlugin {
    pub info: PluginInfo,
    /// `None` for plugins started at run time (dynamic sandboxes), which a
    /// config reload leaves alone.
    pub section: Option<PluginSection>,
    pub encoder: Option<String>,
    pub route: Arc<Route>,
    pub stats: Arc<RunnerStats>,
    pub handle: Option<JoinHandle<()>>,
}

/// The plugins running now.
#[derive(Default)]
pub(crate) struct Plugins {
    pub inputs: Vec<RunningInput>,
    pub filters: Vec<RunningPlugin>,
    pub outputs: Vec<RunningPlugin>,
    /// Every section of the configuration in force (for reload diffs).
    pub sections: Vec<PluginSection>,
}

/// What every part of the running pipeline shares.
pub(crate) struct Shared {
    /// `[hekad]` settings, shared with plugin factories.
    pub hekad: Arc<HekadConfig>,
    pub router: Arc<Router>,
    pub input_pool: PackPool,
    pub inject_pool: PackPool,
    pub runtime: tokio::runtime::Handle,
    pub events: Events,
    /// Raised once everything has drained (aborts waits in plugins).
    pub plugin_stop: StopSignal,
    /// Raised when shutdown begins (the reporter stops).
    pub shutting_down: StopSignal,
    pub undelivered: Undelivered,
    pub decoder_handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
    pub plugins: Mutex<Plugins>,
    /// Itself, for handing out [`PluginManager`] handles to filters.
    pub me: std::sync::Weak<Shared>,
}

/// Takes the first plugin in `list` that `is_it` picks out of it.
pub(crate) fn take_where<T>(list: &mut Vec<T>, is_it: impl FnMut(&T) -> bool) -> Option<T> {
    let at = list.iter().position(is_it)?;
    Some(list.remove(at))
}

/// Packs per batch for a pool: small pools get small batches so inputs and
/// consumers still overlap.
fn batch_size(poolsize: usize) -> usize {
    (poolsize / 8).clamp(1, MAX_BATCH)
}

/// How long a stopping input may wait for its messages to be delivered
/// before it writes its checkpoint (a restarted input resumes there).
const INPUT_DRAIN_WAIT: Duration = Duration::from_secs(5);

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Plugins> {
        self.plugins.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> (flume::Sender<QueueItem>, flume::Receiver<QueueItem>) {
        flume::bounded(self.hekad.plugin_chansize.max(1))
    }

    /// Starts an output and adds its route.
    pub fn start_output(
        &self,
        o: OutputPlan,
        section: Option<PluginSection>,
    ) -> std::io::Result<RunningPlugin> {
        let (tx, rx) = self.queue();
        let route = Arc::new(Route::new(o.name.clone(), o.matcher, o.signer, tx));
        let stats = Arc::new(RunnerStats::default());
        let signer = o.factory.signer();
        let encoder = o.encoder.as_ref().map(|(n, _)| n.clone());
        let handle = output_runner::spawn(output_runner::OutputSetup {
            name: o.name.clone(),
            factory: o.factory,
            encoder: o.encoder.map(|(_, f)| f),
            use_framing: o.use_framing,
            signer,
            undelivered: Arc::clone(&self.undelivered),
            max_message_size: self.hekad.max_message_size,
            rx,
            route: Arc::clone(&route),
            ticker: o.ticker,
            can_exit: o.can_exit,
            retries: o.retries,
            stats: Arc::clone(&stats),
            stop: self.plugin_stop.clone(),
            events: self.events.clone(),
        })?;
        self.router.add_route(Arc::clone(&route));
        Ok(RunningPlugin {
            info: PluginInfo { name: o.name, type_name: o.type_name },
            section,
            encoder,
            route,
            stats,
            handle: Some(handle),
        })
    }

    /// Starts a filter and adds its route.
    pub fn start_filter(
        &self,
        f: FilterPlan,
        section: Option<PluginSection>,
    ) -> std::io::Result<RunningPlugin> {
        let (tx, rx) = self.queue();
        let route = Arc::new(Route::new(f.name.clone(), f.matcher, f.signer, tx));
        let stats = Arc::new(RunnerStats::default());
        let handle = filter_runner::spawn(filter_runner::FilterSetup {
            name: f.name.clone(),
            factory: f.factory,
            rx,
            route: Arc::clone(&route),
            ticker: f.ticker,
            router: Arc::clone(&self.router),
            inject_pool: self.inject_pool.clone(),
            can_exit: f.can_exit,
            retries: f.retries,
            stats: Arc::clone(&stats),
            stop: self.plugin_stop.clone(),
            events: self.events.clone(),
            manager: Some(Arc::new(Manager(self.me.clone())) as Arc<dyn PluginManager>),
            hekad: Arc::clone(&self.hekad),
        })?;
        self.router.add_route(Arc::clone(&route));
        Ok(RunningPlugin {
            info: PluginInfo { name: f.name, type_name: f.type_name },
            section,
            encoder: None,
            route,
            stats,
            handle: Some(handle),
        })
    }

    /// Starts an input with its own stop signal.
    pub fn start_input(&self, i: InputPlan) -> std::io::Result<RunningInput> {
        let stats = Arc::new(InputStats::default());
        let stop = StopSignal::new();
        let decoder = i.decoder.as_ref().map(|(n, _)| n.clone());
        let streams = Arc::new(StreamSetup {
            input_name: i.name.clone(),
            splitter: i.splitter,
            settings: i.splitter_settings,
            decoder: i.decoder.map(|(_, f)| f),
            decode_options: i.decode_options,
            router: Arc::clone(&self.router),
            pool: self.input_pool.clone(),
            batch_max: batch_size(self.hekad.poolsize),
            stats: Arc::clone(&stats),
            decoder_threads: i.decoder_threads,
            decoder_handles: Arc::clone(&self.decoder_handles),
        });
        let cx = InputContext {
            name: i.name.clone(),
            hostname: self.hekad.hostname.clone(),
            base_dir: self.hekad.base_dir.clone(),
            ticker_interval: i.ticker_interval,
            stop: stop.clone(),
            runtime: self.runtime.clone(),
            streams,
            report: Arc::clone(&stats),
            router: Arc::clone(&self.router) as Arc<dyn RouteSink>,
            pool: self.input_pool.clone(),
        };
        let handle = input_runner::spawn(i.input, cx, i.can_exit, i.retries, self.events.clone())?;
        Ok(RunningInput {
            info: PluginInfo { name: i.name, type_name: i.type_name },
            section: i.section,
            decoder,
            stats,
            stop,
            handle: Some(handle),
        })
    }

    /// Stops an input on its own (a reload): its thread ends, what it read
    /// is given a moment to be delivered, then it writes its checkpoint.
    pub fn stop_input(&self, mut input: RunningInput) {
        input.stop.set();
        let Some(handle) = input.handle.take() else { return };
        match handle.join() {
            Ok((mut plugin, cx)) => {
                let deadline = Instant::now() + INPUT_DRAIN_WAIT;
                while plugin.in_flight() > 0 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                plugin.finish(&cx);
            }
            Err(_) => tracing::error!(plugin = %input.info.name, "Input thread panicked."),
        }
    }

    /// Stops a filter or output: no new messages are routed to it, what
    /// is queued is processed, then it stops (saving state).
    pub fn stop_plugin(&self, mut p: RunningPlugin) {
        self.router.remove_route(&p.info.name);
        let _ = p.route.tx.send(QueueItem::Stop);
        if let Some(h) = p.handle.take()
            && h.join().is_err()
        {
            tracing::error!(plugin = %p.info.name, "Plugin thread panicked.");
        }
    }

    /// Swaps a running filter for `f` in place, carrying its state over.
    pub fn replace_filter(&self, running: &mut RunningPlugin, f: FilterPlan) -> Result<(), String> {
        let route =
            Arc::new(Route::new(f.name.clone(), f.matcher, f.signer, running.route.tx.clone()));
        let (reply, answer) = flume::bounded(1);
        let r = filter_runner::Replacement {
            factory: f.factory,
            route: Arc::clone(&route),
            ticker: f.ticker,
            reply: Some(reply),
        };
        self.swap(running, route, QueueItem::ReplaceFilter(Box::new(r)), answer, "filter")?;
        running.info.type_name = f.type_name;
        Ok(())
    }

    /// Swaps a running output for `o` (the old one flushes first).
    pub fn replace_output(&self, running: &mut RunningPlugin, o: OutputPlan) -> Result<(), String> {
        let route =
            Arc::new(Route::new(o.name.clone(), o.matcher, o.signer, running.route.tx.clone()));
        let (reply, answer) = flume::bounded(1);
        let encoder_name = o.encoder.as_ref().map(|(n, _)| n.clone());
        let r = output_runner::Replacement {
            factory: o.factory,
            encoder: o.encoder.map(|(_, f)| f),
            use_framing: o.use_framing,
            route: Arc::clone(&route),
            ticker: o.ticker,
            reply: Some(reply),
        };
        self.swap(running, route, QueueItem::ReplaceOutput(Box::new(r)), answer, "output")?;
        running.encoder = encoder_name;
        running.info.type_name = o.type_name;
        Ok(())
    }

    /// Hands a replacement to the running plugin's thread and waits for its
    /// answer; on success, routes to the plugin with its new `route`.
    fn swap(
        &self,
        running: &mut RunningPlugin,
        route: Arc<Route>,
        replacement: QueueItem,
        answer: flume::Receiver<Result<(), String>>,
        what: &str,
    ) -> Result<(), String> {
        running.route.tx.send(replacement).map_err(|_| format!("the {what} has stopped"))?;
        answer.recv().unwrap_or_else(|_| Err(format!("the {what} stopped during the reload")))?;
        self.router.add_route(Arc::clone(&route));
        running.route = route;
        Ok(())
    }

    /// A snapshot of what the report reads.
    pub fn report_view(&self) -> ReportView {
        let p = self.lock();
        let view = |r: &RunningPlugin| PluginView {
            info: r.info.clone(),
            route: Arc::clone(&r.route),
            stats: Arc::clone(&r.stats),
            encoder: r.encoder.clone(),
        };
        ReportView {
            hostname: self.hekad.hostname.clone(),
            input_pool: self.input_pool.clone(),
            inject_pool: self.inject_pool.clone(),
            router: Arc::clone(&self.router),
            inputs: p
                .inputs
                .iter()
                .map(|i| InputView {
                    info: i.info.clone(),
                    stats: Arc::clone(&i.stats),
                    decoder: i.decoder.clone(),
                })
                .collect(),
            filters: p.filters.iter().map(view).collect(),
            outputs: p.outputs.iter().map(view).collect(),
        }
    }
}

/// The [`PluginManager`] filters get: loads, unloads and reloads filters
/// started at run time (SandboxManagerFilter's dynamic sandboxes).
struct Manager(std::sync::Weak<Shared>);

impl Manager {
    fn shared(&self) -> Result<Arc<Shared>, String> {
        self.0.upgrade().ok_or_else(|| "the pipeline is shutting down".to_string())
    }

    /// Once shutdown has begun, stops the filter `name` just put back in
    /// the list (shutdown may have taken the list while it was out); true
    /// if shutdown has begun.
    fn stop_if_shutting_down(shared: &Shared, name: &str) -> bool {
        if !shared.shutting_down.is_set() {
            return false;
        }
        let late = take_where(&mut shared.lock().filters, |r| r.info.name == name);
        if let Some(late) = late {
            shared.stop_plugin(late);
        }
        true
    }

    fn plan(shared: &Shared, section: &PluginSection) -> Result<FilterPlan, String> {
        super::build::filter_plan(&shared.hekad, section, &std::collections::HashMap::new())
            .map_err(|e| e.to_string())
    }
}

impl PluginManager for Manager {
    fn load_filter(&self, section: PluginSection) -> Result<(), String> {
        let shared = self.shared()?;
        if shared.shutting_down.is_set() {
            return Err("the pipeline is shutting down".into());
        }
        let name = section.name.clone();
        let stopped = {
            let mut p = shared.lock();
            // A dynamic filter of that name that stopped for good (its
            // sandbox terminated) gives its name up.
            let stopped = take_where(&mut p.filters, |r| {
                r.info.name == name && r.section.is_none() && !r.route.alive.load(Ordering::Relaxed)
            });
            let taken = p.filters.iter().chain(&p.outputs).any(|r| r.info.name == name)
                || p.inputs.iter().any(|r| r.info.name == name);
            if taken {
                return Err(format!("a plugin named '{name}' is already running"));
            }
            stopped
        };
        if let Some(stopped) = stopped {
            shared.stop_plugin(stopped);
        }
        let plan = Self::plan(&shared, &section)?;
        let running = shared.start_filter(plan, None).map_err(|e| e.to_string())?;
        shared.lock().filters.push(running);
        if Self::stop_if_shutting_down(&shared, &name) {
            return Err("the pipeline is shutting down".into());
        }
        tracing::info!(plugin = %name, "Dynamic filter loaded.");
        Ok(())
    }

    fn unload_filter(&self, name: &str) -> Result<(), String> {
        let shared = self.shared()?;
        let running =
            take_where(&mut shared.lock().filters, |r| r.info.name == name && r.section.is_none());
        let running = running.ok_or_else(|| format!("no dynamic filter named '{name}'"))?;
        shared.stop_plugin(running);
        tracing::info!(plugin = %name, "Dynamic filter unloaded.");
        Ok(())
    }

    fn reload_filter(&self, section: PluginSection) -> Result<(), String> {
        let shared = self.shared()?;
        let name = section.name.clone();
        let plan = Self::plan(&shared, &section)?;
        let running = take_where(&mut shared.lock().filters, |r| r.info.name == name);
        let mut running = running.ok_or_else(|| format!("no filter named '{name}'"))?;
        let outcome = shared.replace_filter(&mut running, plan);
        shared.lock().filters.push(running);
        Self::stop_if_shutting_down(&shared, &name);
        outcome
    }

    fn loaded_filters(&self) -> Vec<String> {
        match self.0.upgrade() {
            Some(shared) => shared
                .lock()
                .filters
                .iter()
                .filter(|r| r.section.is_none() && r.route.alive.load(Ordering::Relaxed))
                .map(|r| r.info.name.clone())
                .collect(),
            None => Vec::new(),
        }
    }
}
