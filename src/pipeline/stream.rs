//! Input streams: the splitter runner (buffering, record limits, truncation),
//! the decode step, and routing of what comes out.
//!
//! Each stream of an input (a file sequence, a TCP connection) owns its own
//! splitter and decoder instances, as in Heka. Native decoders run inline in
//! the input's thread; decoders that must stay on one thread (Lua sandboxes)
//! get a thread of their own per stream, fed through a bounded channel, so a
//! stream's messages keep their order either way.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::message::{DeliveryGuard, PackMut, PackPool, time::now_ns, uuid};
use crate::plugins::context::{InputStats, InputStream, StreamFactory, StreamHeaders};
use crate::plugins::{Decoder, DecoderFactory, PluginError, Split, Splitter, SplitterFactory};

use super::decode::{DecodeStep, DecoderThreads, spawn_decoder_threads};
use super::log_limit::LogLimiter;
use super::router::Router;

/// Splitter options shared by a stream's splitter runner.
#[derive(Debug, Clone)]
pub struct SplitterSettings {
    /// Deliver oversize records truncated instead of dropping them.
    pub keep_truncated: bool,
    /// Largest record, in bytes (Heka's MAX_RECORD_SIZE).
    pub max_record_size: usize,
    /// Deliver a partial final record at end of stream.
    pub deliver_incomplete_final: bool,
    /// Put records in the raw protobuf buffer instead of Payload.
    pub use_message_bytes: bool,
}

/// Decode-failure options of the input.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Route failed messages with `decode_failure`/`decode_error` fields.
    pub send_decode_failures: bool,
    /// Log failures (rate-limited).
    pub log_decode_failures: bool,
}

/// Everything needed to make streams for one input.
pub struct StreamSetup {
    /// Input name (for logs).
    pub input_name: String,
    /// The splitter template.
    pub splitter: Arc<dyn SplitterFactory>,
    /// Splitter runner options.
    pub settings: SplitterSettings,
    /// The decoder template, if any.
    pub decoder: Option<Arc<dyn DecoderFactory>>,
    /// Failure options.
    pub decode_options: DecodeOptions,
    /// Where decoded packs go.
    pub router: Arc<Router>,
    /// The input pack pool.
    pub pool: PackPool,
    /// Packs per routed batch.
    pub batch_max: usize,
    /// The input's counters.
    pub stats: Arc<InputStats>,
    /// Decoder threads per stream, for decoders that run on their own
    /// thread (`decoder_threads`).
    pub decoder_threads: usize,
    /// Decoder thread handles, joined at shutdown.
    pub decoder_handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl StreamSetup {
    pub(crate) fn decoder_env(&self) -> crate::plugins::DecoderEnv {
        crate::plugins::DecoderEnv { pool: self.pool.clone(), input_name: self.input_name.clone() }
    }
}

impl StreamFactory for StreamSetup {
    fn new_stream(&self) -> Result<Box<dyn InputStream>, PluginError> {
        let stage = match &self.decoder {
            None => Stage::None,
            Some(factory) => match factory.build_send(&self.decoder_env()) {
                Some(decoder) => Stage::Inline(DecodeStep::new(self), decoder?),
                None => Stage::Threads(spawn_decoder_threads(factory, self)?),
            },
        };
        self.stats.streams.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Box::new(Stream {
            input_name: self.input_name.clone(),
            splitter: self.splitter.build(),
            settings: self.settings.clone(),
            buf: Vec::new(),
            skipping: false,
            stage,
            router: Arc::clone(&self.router),
            pool: self.pool.clone(),
            spare: Vec::new(),
            out: Vec::new(),
            decoded: Vec::new(),
            headers: StreamHeaders::default(),
            guard: None,
            batch_max: self.batch_max.max(1),
            stats: Arc::clone(&self.stats),
            limiter: LogLimiter::new(),
            now: 0,
        }))
    }
}

enum Stage {
    None,
    Inline(DecodeStep, Box<dyn Decoder + Send>),
    Threads(DecoderThreads),
}

struct Stream {
    input_name: String,
    splitter: Box<dyn Splitter>,
    settings: SplitterSettings,
    /// Bytes received but not yet part of a delivered record.
    buf: Vec<u8>,
    /// Discarding the rest of an oversize record up to the next delimiter.
    skipping: bool,
    stage: Stage,
    router: Arc<Router>,
    pool: PackPool,
    spare: Vec<PackMut>,
    out: Vec<PackMut>,
    /// What the inline decoder made of `out` (kept for its capacity).
    decoded: Vec<PackMut>,
    headers: StreamHeaders,
    guard: Option<DeliveryGuard>,
    batch_max: usize,
    stats: Arc<InputStats>,
    limiter: LogLimiter,
    now: i64,
}

impl Stream {
    /// Scans `data`, delivering records; returns bytes consumed.
    fn scan(&mut self, data: &[u8]) -> usize {
        let mut off = 0;
        while off < data.len() {
            match self.splitter.find_record(&data[off..]) {
                Split::NeedMore { skip: 0 } => break,
                Split::NeedMore { skip } => {
                    // Garbage is dropped and counted; what follows may be a
                    // complete record, so look again.
                    InputStats::inc(&self.stats.dropped);
                    self.limiter.warn(
                        &self.input_name,
                        &format!("Skipped {skip} bytes of garbage between records"),
                    );
                    off += skip;
                }
                Split::Record { consumed, record } => {
                    let consumed = consumed.max(1);
                    if self.skipping {
                        self.skipping = false;
                    } else if !record.is_empty() {
                        self.emit(&data[off + record.start..off + record.end]);
                    }
                    off += consumed;
                }
                Split::Oversize { consumed, size } => {
                    InputStats::inc(&self.stats.dropped);
                    self.limiter.warn(
                        &self.input_name,
                        &format!("record of {size} bytes exceeded the maximum message size and was dropped"),
                    );
                    off += consumed.max(1);
                }
            }
        }
        off
    }

    /// Handles a partial record that has grown past the record limit.
    fn check_oversize(&mut self) {
        let max = self.settings.max_record_size;
        if self.buf.len() <= max {
            return;
        }
        InputStats::inc(&self.stats.dropped);
        if self.settings.keep_truncated && !self.skipping {
            let head = self.buf[..max].to_vec();
            self.emit(&head);
            self.limiter.warn(
                &self.input_name,
                &format!(
                    "record exceeded the maximum record size of {max} bytes and was truncated"
                ),
            );
        } else if !self.skipping {
            self.limiter.warn(
                &self.input_name,
                &format!("record exceeded the maximum record size of {max} bytes and was dropped"),
            );
        }
        self.buf.clear();
        self.skipping = true;
    }

    fn emit(&mut self, record: &[u8]) {
        if self.spare.is_empty() {
            // Route what we hold before waiting for packs: never wait on
            // packs this stream itself is holding.
            self.flush_out();
            self.pool.get_many(self.batch_max, &mut self.spare);
        }
        let Some(mut pack) = self.spare.pop() else { return };
        let bytes = match self.splitter.unframe(record, &mut pack) {
            Ok(b) => b,
            Err(reason) => {
                InputStats::inc(&self.stats.dropped);
                self.limiter.warn(&self.input_name, &format!("record dropped: {reason}"));
                self.spare.push(pack);
                return;
            }
        };
        InputStats::inc(&self.stats.records);
        if self.settings.use_message_bytes {
            pack.raw_buffer().extend_from_slice(bytes);
        } else {
            pack.message.payload.extend_from_slice(bytes);
        }
        let msg = &mut pack.message;
        msg.uuid.extend_from_slice(&uuid::new_v4());
        msg.timestamp = self.now;
        msg.logger.extend_from_slice(&self.headers.logger);
        msg.msg_type.extend_from_slice(&self.headers.msg_type);
        msg.hostname.extend_from_slice(&self.headers.hostname);
        pack.guard = self.guard.clone();
        self.out.push(pack);
        if self.out.len() >= self.batch_max {
            self.flush_out();
        }
    }

    /// Ends the partial record held, delivering it if `deliver` (unless it
    /// is the rest of an oversize record being skipped), and routes
    /// everything made so far.
    fn end_record(&mut self, deliver: bool) {
        if deliver && !self.buf.is_empty() && !self.skipping {
            let rest = std::mem::take(&mut self.buf);
            self.now = now_ns();
            self.emit(&rest);
        }
        self.buf.clear();
        self.skipping = false;
        self.flush_out();
        self.spare.clear();
    }

    fn flush_out(&mut self) {
        if self.out.is_empty() {
            return;
        }
        match &mut self.stage {
            Stage::None => self.router.route(&mut self.out),
            Stage::Inline(step, decoder) => {
                step.decode_all(decoder.as_mut(), &mut self.out, &mut self.decoded);
                self.router.route(&mut self.decoded);
            }
            Stage::Threads(threads) => {
                let batch = std::mem::take(&mut self.out);
                if let Err(lost) = threads.send(batch) {
                    self.stats
                        .decode_failures
                        .fetch_add(lost.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    self.limiter.warn(&self.input_name, "decoder thread is gone; batch dropped");
                }
            }
        }
    }
}

impl InputStream for Stream {
    fn deliver(&mut self, data: &[u8]) {
        self.stats.bytes.fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.now = now_ns();
        if self.splitter.per_read() {
            let mut data = data;
            if data.len() > self.settings.max_record_size {
                InputStats::inc(&self.stats.dropped);
                if !self.settings.keep_truncated {
                    self.limiter.warn(
                        &self.input_name,
                        "read exceeded the maximum record size and was dropped",
                    );
                    return;
                }
                data = &data[..self.settings.max_record_size];
            }
            if !data.is_empty() {
                self.scan(data);
            }
        } else if self.buf.is_empty() {
            // Fast path: split straight from the caller's buffer.
            let used = self.scan(data);
            self.buf.extend_from_slice(&data[used..]);
        } else {
            self.buf.extend_from_slice(data);
            let buf = std::mem::take(&mut self.buf);
            let used = self.scan(&buf);
            self.buf = buf;
            self.buf.drain(..used);
        }
        self.check_oversize();
        self.flush_out();
        self.spare.clear();
    }

    fn finish_record(&mut self) {
        self.end_record(self.settings.deliver_incomplete_final);
    }

    fn flush_partial(&mut self) {
        self.end_record(true);
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn set_guard(&mut self, guard: Option<DeliveryGuard>) {
        self.guard = guard;
    }

    fn set_headers(&mut self, headers: StreamHeaders) {
        self.headers = headers;
    }

    fn set_signers(&mut self, keys: Arc<crate::plugins::SignerKeys>) {
        self.splitter.set_signers(keys);
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.flush_out();
        self.stats.streams.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Matcher;
    use crate::message::{Message, encode, write_framed};
    use crate::pipeline::router::{QueueItem, Route};
    use crate::plugins::decoders::protobuf::ProtobufDecoder;
    use crate::plugins::splitters::heka_framing::HekaFramingSplitter;
    use crate::plugins::splitters::token::TokenSplitter;
    use crate::plugins::{DecodeFailure, DecodeOut};

    struct Harness {
        setup: StreamSetup,
        rx: flume::Receiver<QueueItem>,
    }

    fn harness(
        splitter: Arc<dyn SplitterFactory>,
        decoder: Option<Arc<dyn DecoderFactory>>,
        settings: SplitterSettings,
        send_decode_failures: bool,
    ) -> Harness {
        let router = Arc::new(Router::new());
        let (tx, rx) = flume::unbounded();
        router.set_routes(vec![Arc::new(Route::new(
            "all".into(),
            Matcher::new("TRUE").unwrap(),
            None,
            tx,
        ))]);
        let setup = StreamSetup {
            input_name: "in".into(),
            splitter,
            settings,
            decoder,
            decode_options: DecodeOptions { send_decode_failures, log_decode_failures: false },
            router,
            pool: PackPool::new(16),
            batch_max: 4,
            stats: Arc::new(InputStats::default()),
            decoder_threads: 1,
            decoder_handles: Arc::new(Mutex::new(Vec::new())),
        };
        Harness { setup, rx }
    }

    /// A harness splitting lines, without a decoder.
    fn lines(settings: SplitterSettings) -> Harness {
        harness(Arc::new(TokenSplitter::new(b'\n', 1)), None, settings, false)
    }

    fn settings(
        max: usize,
        keep_truncated: bool,
        incomplete: bool,
        message_bytes: bool,
    ) -> SplitterSettings {
        SplitterSettings {
            keep_truncated,
            max_record_size: max,
            deliver_incomplete_final: incomplete,
            use_message_bytes: message_bytes,
        }
    }

    fn received(rx: &flume::Receiver<QueueItem>) -> Vec<Message> {
        let mut out = Vec::new();
        while let Ok(QueueItem::Batch(b)) = rx.try_recv() {
            out.extend(b.iter().map(|p| p.message.clone()));
        }
        out
    }

    fn payloads(rx: &flume::Receiver<QueueItem>) -> Vec<String> {
        received(rx).iter().map(|m| m.payload_str().into_owned()).collect()
    }

    #[test]
    fn records_split_across_reads_are_joined_and_stamped() {
        let h = lines(settings(1024, false, false, false));
        let mut s = h.setup.new_stream().unwrap();
        s.set_headers(StreamHeaders {
            msg_type: b"logfile".to_vec(),
            logger: b"access".to_vec(),
            hostname: b"box".to_vec(),
        });
        s.deliver(b"one\ntw");
        assert_eq!(s.buffered(), 2);
        s.deliver(b"o\nthree\n");
        let msgs = received(&h.rx);
        let texts: Vec<_> = msgs.iter().map(|m| m.payload_str().into_owned()).collect();
        assert_eq!(texts, vec!["one\n", "two\n", "three\n"]);
        assert_eq!(msgs[0].msg_type, b"logfile");
        assert_eq!(msgs[0].logger, b"access");
        assert_eq!(msgs[0].hostname, b"box");
        assert_eq!(msgs[0].uuid.len(), 16);
        assert_ne!(msgs[0].uuid, msgs[1].uuid);
        assert_eq!(h.setup.stats.records.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert_eq!(h.setup.pool.available(), 16, "every pack went home");
    }

    #[test]
    fn oversize_records_are_dropped_or_truncated_and_the_stream_recovers() {
        for keep in [false, true] {
            let h = lines(settings(8, keep, false, false));
            let mut s = h.setup.new_stream().unwrap();
            s.deliver(b"ok\n0123456789");
            s.deliver(b"abcdef\nnext\n");
            let got = payloads(&h.rx);
            if keep {
                assert_eq!(got, vec!["ok\n", "01234567", "next\n"]);
            } else {
                assert_eq!(got, vec!["ok\n", "next\n"]);
            }
            assert_eq!(h.setup.stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
        }
    }

    #[test]
    fn incomplete_final_record_is_delivered_only_when_asked() {
        for incomplete in [false, true] {
            let h = lines(settings(64, false, incomplete, false));
            let mut s = h.setup.new_stream().unwrap();
            s.deliver(b"a\npartial");
            s.finish_record();
            let expected: Vec<&str> = if incomplete { vec!["a\n", "partial"] } else { vec!["a\n"] };
            assert_eq!(payloads(&h.rx), expected);
            assert_eq!(s.buffered(), 0);
        }
    }

    #[test]
    fn framed_protobuf_is_decoded_and_garbage_counted() {
        let h = harness(
            Arc::new(HekaFramingSplitter::default()),
            Some(Arc::new(ProtobufDecoder)),
            settings(70_000, false, false, true),
            true,
        );
        let mut m = Message::new();
        m.msg_type = b"forwarded".to_vec();
        let mut bytes = b"garbage".to_vec();
        write_framed(&encode(&m), None, 65536, &mut bytes).unwrap();
        // A record that frames fine but is not protobuf: a decode failure,
        // sent on marked as failed.
        write_framed(b"\xff\xff", None, 65536, &mut bytes).unwrap();
        let mut s = h.setup.new_stream().unwrap();
        for chunk in bytes.chunks(3) {
            s.deliver(chunk);
        }
        let got = received(&h.rx);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], m, "decoded message equals the original");
        assert_eq!(
            got[1].field("decode_failure").map(|f| f.value.clone()),
            Some(crate::message::FieldValue::Bool(vec![true]))
        );
        let stats = &h.setup.stats;
        assert_eq!(stats.decode_failures.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(stats.dropped.load(std::sync::atomic::Ordering::Relaxed) >= 1, "garbage counted");
    }

    #[test]
    fn garbage_before_a_whole_record_in_one_read_is_counted() {
        let h = harness(
            Arc::new(HekaFramingSplitter::default()),
            Some(Arc::new(ProtobufDecoder)),
            settings(70_000, false, false, true),
            true,
        );
        let mut m = Message::new();
        m.msg_type = b"after-junk".to_vec();
        let mut bytes = b"junk".to_vec();
        write_framed(&encode(&m), None, 65536, &mut bytes).unwrap();
        let mut s = h.setup.new_stream().unwrap();
        s.deliver(&bytes);
        assert_eq!(received(&h.rx), vec![m], "the record after the garbage is delivered at once");
        assert_eq!(h.setup.stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    /// A thread-bound decoder that is slow on some records.
    struct Sleepy;

    impl Decoder for Sleepy {
        fn decode(
            &mut self,
            mut pack: PackMut,
            out: &mut DecodeOut<'_>,
        ) -> Result<(), DecodeFailure> {
            let n = pack.message.payload.len();
            if n.is_multiple_of(3) {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            let name = std::thread::current().name().unwrap_or("").to_string();
            pack.message.msg_type = name.into_bytes();
            out.push(pack);
            Ok(())
        }
    }

    /// Makes `D` decoders that must stay on one thread (as Lua ones).
    struct OnOneThread<D>(fn() -> D);

    impl<D: Decoder + 'static> DecoderFactory for OnOneThread<D> {
        fn build_send(
            &self,
            _env: &crate::plugins::DecoderEnv,
        ) -> Option<Result<Box<dyn Decoder + Send>, PluginError>> {
            None
        }
        fn build(
            &self,
            _env: &crate::plugins::DecoderEnv,
        ) -> Result<Box<dyn Decoder>, PluginError> {
            Ok(Box::new((self.0)()))
        }
    }

    /// Panics on the payload "boom" (a bug in a decoder).
    struct Panicky;

    impl Decoder for Panicky {
        fn decode(&mut self, pack: PackMut, out: &mut DecodeOut<'_>) -> Result<(), DecodeFailure> {
            assert!(!pack.message.payload.starts_with(b"boom"), "decoder bug");
            out.push(pack);
            Ok(())
        }
    }

    #[test]
    fn a_decoder_thread_that_panics_does_not_wedge_the_stream() {
        let mut h = harness(
            Arc::new(TokenSplitter::new(b'\n', 1)),
            Some(Arc::new(OnOneThread(|| Panicky))),
            settings(64, false, false, false),
            false,
        );
        h.setup.decoder_threads = 2;
        h.setup.pool = PackPool::new(512);
        let mut s = h.setup.new_stream().unwrap();
        // One line per delivery, so each batch holds one line.
        s.deliver(b"boom\n");
        let lines: Vec<String> = (0..100).map(|i| format!("line {i}\n")).collect();
        for line in &lines {
            s.deliver(line.as_bytes());
        }
        drop(s);
        for handle in h.setup.decoder_handles.lock().unwrap().drain(..) {
            let _ = handle.join();
        }
        let texts: Vec<String> =
            received(&h.rx).iter().map(|m| m.payload_str().into_owned()).collect();
        assert_eq!(texts, lines, "every line after the lost one, in order");
    }

    #[test]
    fn parallel_decoder_threads_keep_the_stream_order() {
        let mut h = harness(
            Arc::new(TokenSplitter::new(b'\n', 1)),
            Some(Arc::new(OnOneThread(|| Sleepy))),
            settings(64, false, false, false),
            false,
        );
        h.setup.decoder_threads = 3;
        // Nothing drains the route until the end: room for every message.
        h.setup.pool = PackPool::new(512);
        let mut s = h.setup.new_stream().unwrap();
        let lines: Vec<String> = (0..300).map(|i| format!("{i}{}\n", "x".repeat(i % 7))).collect();
        for chunk in lines.chunks(5) {
            s.deliver(chunk.concat().as_bytes());
        }
        drop(s);
        for handle in h.setup.decoder_handles.lock().unwrap().drain(..) {
            handle.join().unwrap();
        }
        let got = received(&h.rx);
        let texts: Vec<String> = got.iter().map(|m| m.payload_str().into_owned()).collect();
        assert_eq!(texts, lines, "order kept");
        let threads: std::collections::HashSet<&[u8]> =
            got.iter().map(|m| m.msg_type.as_slice()).collect();
        assert_eq!(threads.len(), 3, "all three threads decoded");
    }

    #[test]
    fn guards_travel_with_packs() {
        let h = lines(settings(64, false, false, false));
        let mut s = h.setup.new_stream().unwrap();
        let guard: DeliveryGuard = Arc::new(());
        s.set_guard(Some(Arc::clone(&guard)));
        s.deliver(b"a\nb\n");
        s.set_guard(None);
        assert_eq!(Arc::strong_count(&guard), 3, "two packs hold it");
        drop(received(&h.rx));
        assert_eq!(Arc::strong_count(&guard), 1);
    }
}
