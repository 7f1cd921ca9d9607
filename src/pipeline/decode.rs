//! The decode step of input streams: decoding packs and handling failures
//! (counted, logged, optionally sent on marked), and the decoder threads of
//! decoders that must stay on one thread (Lua), run in parallel with the
//! stream's order kept.

use std::sync::{Arc, Condvar, Mutex};

use crate::message::{Field, PackMut, PackPool};
use crate::plugins::context::InputStats;
use crate::plugins::{DecodeFailure, DecodeOut, Decoder, DecoderFactory, PluginError};

use super::log_limit::LogLimiter;
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

/// Whose batch may be routed next, so parallel decoder threads keep the
/// stream's order.
struct Turn {
    next: Mutex<u64>,
    changed: Condvar,
}

impl Turn {
    fn wait_for(&self, seq: u64) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        while *next != seq {
            next = self.changed.wait(next).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn pass(&self) {
        *self.next.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.changed.notify_all();
    }
}

/// Decoder threads of one stream: batches go round-robin, each numbered;
/// a thread routes its decoded batch only when every earlier batch has
/// been routed, so messages leave in the order they were read.
pub(crate) struct DecoderThreads {
    senders: Vec<flume::Sender<(u64, Vec<PackMut>)>>,
    next_thread: usize,
    next_seq: u64,
}

impl DecoderThreads {
    /// Hands a batch to the next thread; gives it back if that thread died.
    pub(crate) fn send(&mut self, batch: Vec<PackMut>) -> Result<(), Vec<PackMut>> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let tx = &self.senders[self.next_thread];
        self.next_thread = (self.next_thread + 1) % self.senders.len();
        tx.send((seq, batch)).map_err(|flume::SendError((_, b))| b)
    }
}

pub(crate) fn spawn_decoder_threads(
    factory: &Arc<dyn DecoderFactory>,
    setup: &StreamSetup,
) -> Result<DecoderThreads, PluginError> {
    let turn = Arc::new(Turn { next: Mutex::new(0), changed: Condvar::new() });
    let mut senders = Vec::new();
    for i in 0..setup.decoder_threads.max(1) {
        let (tx, rx) = flume::bounded::<(u64, Vec<PackMut>)>(4);
        let (ready_tx, ready_rx) = flume::bounded::<Result<(), String>>(1);
        let env = setup.decoder_env();
        let factory = Arc::clone(factory);
        let router = Arc::clone(&setup.router);
        let turn = Arc::clone(&turn);
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
                    step.decode_all(decoder.as_mut(), &mut batch, &mut out);
                    turn.wait_for(seq);
                    router.route(&mut out);
                    turn.pass();
                }
            })
            .map_err(|e| PluginError::io("spawning decoder thread", e))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(PluginError::Fatal(format!("decoder: {e}"))),
            Err(_) => return Err(PluginError::Fatal("decoder thread died".into())),
        }
        setup.decoder_handles.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
        senders.push(tx);
    }
    Ok(DecoderThreads { senders, next_thread: 0, next_seq: 0 })
}
