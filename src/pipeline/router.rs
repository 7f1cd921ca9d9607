//! The router: evaluates each filter's and output's matcher once per message
//! and hands the pack to the bounded queue of every plugin that matched.
//!
//! There is no router thread. Whoever produced a batch (an input stream, a
//! decoder thread, a filter injecting) routes it itself, so routing runs in
//! parallel and takes no global lock: the route table is an immutable
//! snapshot swapped as a whole.
//!
//! Back-pressure rule: a queue holds `plugin_chansize` batches. Sending to a
//! full queue waits, so a slow plugin holds up its producers only once its
//! own queue is full; until then every other plugin gets its messages at
//! full speed. Packs come from fixed pools, so the total in flight is bounded
//! and memory stays flat whatever the speed of the slowest plugin.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::matcher::Matcher;
use crate::message::{PackMut, PackRef};

/// What travels on a plugin's queue.
pub enum QueueItem {
    /// Messages in routing order.
    Batch(Vec<PackRef>),
    /// Drain what came before, then stop.
    Stop,
    /// Reopen files (SIGHUP).
    Reopen,
    /// Swap the filter for a new one, carrying its state over; messages
    /// behind this item wait in the queue, so none is lost or reordered.
    ReplaceFilter(Box<super::filter_runner::Replacement>),
    /// Swap the output for a new one (the old one flushes first).
    ReplaceOutput(Box<super::output_runner::Replacement>),
}

/// Counters of one route.
#[derive(Debug, Default)]
pub struct RouteStats {
    /// Messages that matched.
    pub matched: AtomicU64,
    /// Messages dropped because the plugin had stopped.
    pub dropped: AtomicU64,
}

/// One filter or output as the router sees it.
pub struct Route {
    /// Plugin name.
    pub name: String,
    /// Compiled `message_matcher`.
    pub matcher: Matcher,
    /// `message_signer`: only packs signed by this signer are delivered.
    pub signer: Option<String>,
    /// The plugin's queue.
    pub tx: flume::Sender<QueueItem>,
    /// Counters.
    pub stats: RouteStats,
    /// False once the plugin stopped for good (nothing is sent any more).
    pub alive: AtomicBool,
}

impl Route {
    /// A live route.
    pub fn new(
        name: String,
        matcher: Matcher,
        signer: Option<String>,
        tx: flume::Sender<QueueItem>,
    ) -> Self {
        Route {
            name,
            matcher,
            signer,
            tx,
            stats: RouteStats::default(),
            alive: AtomicBool::new(true),
        }
    }

    fn accepts(&self, pack: &PackRef) -> bool {
        if let Some(signer) = &self.signer {
            match &pack.signer {
                Some(s) if s.as_ref() == signer => {}
                _ => return false,
            }
        }
        self.matcher.is_match_all() || self.matcher.matches(&pack.message)
    }

    fn send(&self, batch: Vec<PackRef>) {
        let n = batch.len() as u64;
        self.stats.matched.fetch_add(n, Ordering::Relaxed);
        if !self.alive.load(Ordering::Relaxed) || self.tx.send(QueueItem::Batch(batch)).is_err() {
            self.stats.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Messages waiting in the queue (in batches).
    pub fn queue_len(&self) -> usize {
        self.tx.len()
    }

    /// Queue capacity (in batches).
    pub fn queue_capacity(&self) -> usize {
        self.tx.capacity().unwrap_or(0)
    }
}

/// The shared route table.
#[derive(Default)]
pub struct Router {
    routes: RwLock<Arc<Vec<Arc<Route>>>>,
    routed: AtomicU64,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current routes.
    pub fn routes(&self) -> Arc<Vec<Arc<Route>>> {
        Arc::clone(&self.routes.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Replaces the route table.
    pub fn set_routes(&self, routes: Vec<Arc<Route>>) {
        *self.routes.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(routes);
    }

    /// Adds one route, or replaces the route of the same name in place.
    pub fn add_route(&self, route: Arc<Route>) {
        let mut guard = self.routes.write().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Arc<Route>> = guard.as_ref().clone();
        match v.iter_mut().find(|r| r.name == route.name) {
            Some(slot) => *slot = route,
            None => v.push(route),
        }
        *guard = Arc::new(v);
    }

    /// Removes the route called `name`; producers stop sending to it at
    /// once (a batch being routed right now may still arrive).
    pub fn remove_route(&self, name: &str) -> Option<Arc<Route>> {
        let mut guard = self.routes.write().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Arc<Route>> = guard.as_ref().clone();
        let at = v.iter().position(|r| r.name == name)?;
        let removed = v.remove(at);
        *guard = Arc::new(v);
        Some(removed)
    }

    /// Messages routed so far.
    pub fn routed(&self) -> u64 {
        self.routed.load(Ordering::Relaxed)
    }

    /// Routes a batch: freezes each pack and sends it to every matching
    /// route, keeping order. Packs no route wants go straight home.
    pub fn route(&self, packs: &mut Vec<PackMut>) {
        if packs.is_empty() {
            return;
        }
        let routes = self.routes();
        self.routed.fetch_add(packs.len() as u64, Ordering::Relaxed);
        let mut per_route: Vec<Vec<PackRef>> = routes.iter().map(|_| Vec::new()).collect();
        for pack in packs.drain(..) {
            let pack = pack.freeze();
            for (i, route) in routes.iter().enumerate() {
                if route.accepts(&pack) {
                    per_route[i].push(pack.clone());
                }
            }
        }
        for (route, batch) in routes.iter().zip(per_route) {
            if !batch.is_empty() {
                route.send(batch);
            }
        }
    }

    /// Routes one pack.
    pub fn route_one(&self, pack: PackMut) {
        let mut v = vec![pack];
        self.route(&mut v);
    }

    /// Names of the routes that would accept `pack`.
    pub fn matching_routes(&self, pack: &PackRef) -> Vec<String> {
        self.routes().iter().filter(|r| r.accepts(pack)).map(|r| r.name.clone()).collect()
    }
}

impl crate::plugins::RouteSink for Router {
    fn route(&self, packs: &mut Vec<PackMut>) {
        Router::route(self, packs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::PackPool;

    fn route(name: &str, expr: &str, cap: usize) -> (Arc<Route>, flume::Receiver<QueueItem>) {
        let (tx, rx) = flume::bounded(cap);
        (Arc::new(Route::new(name.into(), Matcher::new(expr).unwrap(), None, tx)), rx)
    }

    fn drain(rx: &flume::Receiver<QueueItem>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Ok(QueueItem::Batch(b)) = rx.try_recv() {
            out.extend(b.iter().map(|p| p.message.msg_type.clone()));
        }
        out
    }

    #[test]
    fn fans_out_by_matcher_in_order() {
        let pool = PackPool::new(8);
        let router = Router::new();
        let (all, all_rx) = route("all", "TRUE", 4);
        let (a, a_rx) = route("a", "Type == 'a'", 4);
        router.set_routes(vec![all, a]);
        let mut batch: Vec<PackMut> = ["a", "b", "a"]
            .iter()
            .map(|t| {
                let mut p = pool.get();
                p.message.msg_type = t.as_bytes().to_vec();
                p
            })
            .collect();
        router.route(&mut batch);
        assert_eq!(drain(&all_rx), vec![b"a".to_vec(), b"b".to_vec(), b"a".to_vec()]);
        assert_eq!(drain(&a_rx), vec![b"a".to_vec(), b"a".to_vec()]);
        assert_eq!(pool.available(), 8, "every pack went home after the last holder");
    }

    #[test]
    fn signer_restricts_delivery() {
        let pool = PackPool::new(2);
        let router = Router::new();
        let (tx, rx) = flume::bounded(4);
        let r = Route::new("signed".into(), Matcher::new("TRUE").unwrap(), Some("ops".into()), tx);
        router.set_routes(vec![Arc::new(r)]);
        let unsigned = pool.get();
        let mut signed = pool.get();
        signed.signer = Some(Arc::from("ops"));
        signed.message.msg_type = b"s".to_vec();
        router.route(&mut vec![unsigned, signed]);
        assert_eq!(drain(&rx), vec![b"s".to_vec()]);
    }

    #[test]
    fn dead_routes_drop_and_count() {
        let pool = PackPool::new(2);
        let router = Router::new();
        let (r, rx) = route("dead", "TRUE", 1);
        r.alive.store(false, Ordering::Relaxed);
        router.set_routes(vec![Arc::clone(&r)]);
        router.route_one(pool.get());
        assert!(drain(&rx).is_empty());
        assert_eq!(r.stats.dropped.load(Ordering::Relaxed), 1);
    }
}
