//! Filters: process routed messages and inject new ones.

pub mod counter;
pub mod sandbox;
pub mod sandbox_manager;
pub mod script_watch;

/// Test helpers shared by the filters' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::atomic::AtomicU64;
    use std::sync::{Arc, Mutex};

    use crate::config::HekadConfig;
    use crate::message::{PackMut, PackPool};
    use crate::plugins::context::{InjectPath, StopSignal};
    use crate::plugins::{FilterEnv, RouteSink};

    /// A route sink that keeps everything routed to it.
    #[derive(Default)]
    pub(crate) struct Collect(pub(crate) Mutex<Vec<PackMut>>);

    impl RouteSink for Collect {
        fn route(&self, packs: &mut Vec<PackMut>) {
            self.0.lock().unwrap().append(packs);
        }
    }

    /// The environment of a filter called `name` whose injections go to
    /// `sink` (hostname `h`, no plugin manager, default `[hekad]`).
    pub(crate) fn env(name: &str, sink: &Arc<Collect>) -> FilterEnv {
        FilterEnv {
            name: name.into(),
            hostname: "h".into(),
            inject: InjectPath {
                sink: Arc::clone(sink) as Arc<dyn RouteSink>,
                pool: PackPool::new(16),
                own: None,
                max_loops: 4,
                injected: Arc::new(AtomicU64::new(0)),
                stop: StopSignal::new(),
            },
            manager: None,
            hekad: Arc::new(HekadConfig::default()),
            replacing: false,
        }
    }
}
