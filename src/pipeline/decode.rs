//! The decode step of input streams: decoding packs and handling failures
//! (counted, logged, optionally sent on marked), and the decoder threads of
//! decoders that must stay on one thread (Lua), run in parallel with the
//! stream's order kept.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::message::{Field, PackMut, PackPool};
use crate::plugins::context::InputStats;
use crate::plugins::{DecodeFailure, DecodeOut, Decoder, DecoderFactory, PluginError};

use super::log_limit::LogLimiter;
use super::router::Router;
use super::stream::{DecodeOptions, StreamSetup};

/// Decodes packs and handles failures (shared by inline and thread stages).
pub(crate) struct DecodeStep {
    options: DecodeOptions,
    input_name: String,
    stats: Arc<InputStats>,
    limiter: LogLimiter,
    pool: PackPool,
}

impl DecodeStep {
    pub(crate) fn new(setup: &StreamSetup) -> Self {
        DecodeStep {
            options: setup.decode_options,
            input_name: setup.input_name.clone(),
            stats: Arc::clone(&setup.stats),
            limiter: LogLimiter::new(),
            pool: setup.pool.clone(),
        }
    }

    /// Decodes `packs` with `decoder` into `out`.
    pub(crate) fn decode_all(
        &mut self,
        decoder: &mut dyn Decoder,
        packs: &mut Vec<PackMut>,
        out: &mut Vec<PackMut>,
    ) {
        for pack in packs.drain(..) {
            let mut dout = DecodeOut::new(out, &self.pool);
            if let Err(failure) = decoder.decode(pack, &mut dout) {
                self.failed(failure, out);
            }
        }
    }

    fn failed(&mut self, failure: DecodeFailure, out: &mut Vec<PackMut>) {
        InputStats::inc(&self.stats.decode_failures);
        if self.options.log_decode_failures {
            self.limiter.warn(&self.input_name, &format!("Decode failure: {}", failure.message));
        }
        if self.options.send_decode_failures
            && let Some(mut pack) = failure.pack
        {
            pack.message.add_field(Field::bool("decode_failure", true));
            pack.message.add_field(Field::string("decode_error", failure.message));
            pack.invalidate_bytes();
            out.push(pack);
        }
    }
}

/// Decoded batches waiting for their turn, so parallel decoder threads keep
/// the stream's order without waiting for each other: a thread that
/// finishes a batch early leaves it here and decodes its next one; the
/// thread that finishes the batch whose turn it is routes it and every
/// batch after it that is ready.
#[derive(Default)]
struct Reorder {
    state: Mutex<ReorderState>,
}

#[derive(Default)]
struct ReorderState {
    /// The sequence number of the next batch to route.
    next: u64,
    ready: BTreeMap<u64, Vec<PackMut>>,
    /// A thread is routing (it will take every batch whose turn comes).
    routing: bool,
    /// Emptied batch vectors, handed back for reuse.
    spares: Vec<Vec<PackMut>>,
}

/// Emptied vectors kept for reuse (one or two per thread are in use).
const SPARE_BATCHES: usize = 8;

impl Reorder {
    /// Adds decoded batch `seq` and routes what may go now, unless another
    /// thread is routing already. Returns an emptied vector to reuse.
    fn done(&self, seq: u64, batch: Vec<PackMut>, router: &Router) -> Vec<PackMut> {
        let lock = || self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = lock();
        st.ready.insert(seq, batch);
        if !st.routing {
            st.routing = true;
            loop {
                let next = st.next;
                let Some(mut batch) = st.ready.remove(&next) else { break };
                st.next += 1;
                drop(st);
                router.route(&mut batch);
                st = lock();
                if st.spares.len() < SPARE_BATCHES {
                    st.spares.push(batch);
                }
            }
            st.routing = false;
        }
        st.spares.pop().unwrap_or_default()
    }
}

/// A batch a decoder thread is working on: if the thread dies (a panic in
/// a decoder), its turn is passed on with nothing in it, so the stream's
/// later batches still leave.
struct InFlight<'a> {
    seq: Option<u64>,
    reorder: &'a Reorder,
    router: &'a Router,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(seq) = self.seq.take() {
            self.reorder.done(seq, Vec::new(), self.router);
        }
    }
}

/// Decoder threads of one stream: batches are numbered and go to whichever
/// thread is free; decoded batches are routed in their numbers' order
/// ([`Reorder`]), so messages leave in the order they were read.
pub(crate) struct DecoderThreads {
    sender: flume::Sender<(u64, Vec<PackMut>)>,
    next_seq: u64,
}

impl DecoderThreads {
    /// Hands a batch to the threads; gives it back if they all died.
    pub(crate) fn send(&mut self, batch: Vec<PackMut>) -> Result<(), Vec<PackMut>> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.sender.send((seq, batch)).map_err(|flume::SendError((_, b))| b)
    }
}

pub(crate) fn spawn_decoder_threads(
    factory: &Arc<dyn DecoderFactory>,
    setup: &StreamSetup,
) -> Result<DecoderThreads, PluginError> {
    let reorder = Arc::new(Reorder::default());
    let threads = setup.decoder_threads.max(1);
    let (tx, rx) = flume::bounded::<(u64, Vec<PackMut>)>(4 * threads);
    for i in 0..threads {
        let rx = rx.clone();
        let (ready_tx, ready_rx) = flume::bounded::<Result<(), String>>(1);
        let env = setup.decoder_env();
        let factory = Arc::clone(factory);
        let router = Arc::clone(&setup.router);
        let reorder = Arc::clone(&reorder);
        let mut step = DecodeStep::new(setup);
        let handle = std::thread::Builder::new()
            .name(format!("{}-decoder-{i}", setup.input_name))
            .spawn(move || {
                let mut decoder = match factory.build(&env) {
                    Ok(d) => {
                        let _ = ready_tx.send(Ok(()));
                        d
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let mut out = Vec::new();
                while let Ok((seq, mut batch)) = rx.recv() {
                    let mut in_flight =
                        InFlight { seq: Some(seq), reorder: &reorder, router: &router };
                    step.decode_all(decoder.as_mut(), &mut batch, &mut out);
                    in_flight.seq = None;
                    let decoded = std::mem::take(&mut out);
                    out = reorder.done(seq, decoded, &router);
                }
            })
            .map_err(|e| PluginError::io("spawning decoder thread", e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(PluginError::Fatal(format!("decoder: {e}"))),
            Err(_) => return Err(PluginError::Fatal("decoder thread died".into())),
        }
        setup.decoder_handles.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
    }
    Ok(DecoderThreads { sender: tx, next_seq: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Matcher;
    use crate::message::PackPool;
    use crate::pipeline::router::{QueueItem, Route};

    fn batch(pool: &PackPool, names: &[&str]) -> Vec<PackMut> {
        names
            .iter()
            .map(|n| {
                let mut p = pool.get();
                p.message.msg_type = n.as_bytes().to_vec();
                p
            })
            .collect()
    }

    #[test]
    fn batches_finished_early_wait_for_their_turn() {
        let pool = PackPool::new(16);
        let router = Router::new();
        let (tx, rx) = flume::bounded(16);
        router.set_routes(vec![Arc::new(Route::new(
            "all".into(),
            Matcher::new("TRUE").unwrap(),
            None,
            tx,
        ))]);
        let routed = || {
            let mut names = Vec::new();
            while let Ok(QueueItem::Batch(b)) = rx.try_recv() {
                names.extend(
                    b.iter().map(|p| String::from_utf8_lossy(&p.message.msg_type).into_owned()),
                );
            }
            names
        };
        let reorder = Reorder::default();
        // Batches 2 and 1 finish before batch 0: nothing may leave yet.
        reorder.done(2, batch(&pool, &["e"]), &router);
        reorder.done(1, batch(&pool, &["c", "d"]), &router);
        assert!(routed().is_empty());
        // Batch 0 routes itself and the two waiting, in order.
        let spare = reorder.done(0, batch(&pool, &["a", "b"]), &router);
        assert!(spare.is_empty(), "an emptied vector comes back for reuse");
        assert_eq!(routed(), ["a", "b", "c", "d", "e"]);
        reorder.done(3, batch(&pool, &["f"]), &router);
        assert_eq!(routed(), ["f"]);
    }
}
