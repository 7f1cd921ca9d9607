//! Criterion benchmarks of the native hot path: splitting a stream of log
//! lines into packs and routing them to a consumer thread, and protobuf
//! encode/decode of a typical decoded message.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sandpiper::matcher::Matcher;
use sandpiper::message::{Field, Message, PackPool, decode, encode};
use sandpiper::pipeline::router::{QueueItem, Route, Router};
use sandpiper::pipeline::stream::{DecodeOptions, SplitterSettings, StreamSetup};
use sandpiper::plugins::context::{InputStats, StreamFactory};
use sandpiper::plugins::splitters::token::TokenSplitter;

const LINE: &str = "142.157.10.7 - - [15/Jan/2024:00:00:00 +0000] \"GET /static/fonts/main.85db3e4a.js HTTP/1.1\" 200 2290 \"-\" \"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\"\n";

fn split_and_route(c: &mut Criterion) {
    let chunk: Vec<u8> = LINE.repeat(64 * 1024 / LINE.len()).into_bytes();
    let lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
    let router = Arc::new(Router::new());
    let (tx, rx) = flume::bounded(30);
    router.set_routes(vec![Arc::new(Route::new(
        "sink".into(),
        Matcher::new("TRUE").unwrap(),
        None,
        tx,
    ))]);
    let consumer = std::thread::spawn(move || {
        let mut n = 0u64;
        while let Ok(item) = rx.recv() {
            if let QueueItem::Batch(b) = item {
                n += b.len() as u64;
            }
        }
        n
    });
    let setup = StreamSetup {
        input_name: "bench".into(),
        splitter: Arc::new(TokenSplitter::new(b'\n', 1)),
        settings: SplitterSettings {
            keep_truncated: false,
            max_record_size: 65794,
            deliver_incomplete_final: false,
            use_message_bytes: false,
        },
        decoder: None,
        decode_options: DecodeOptions { send_decode_failures: false, log_decode_failures: false },
        router: Arc::clone(&router),
        pool: PackPool::new(1024),
        batch_max: 64,
        stats: Arc::new(InputStats::default()),
        decoder_threads: 1,
        decoder_handles: Arc::new(Mutex::new(Vec::new())),
    };
    let mut stream = setup.new_stream().unwrap();
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(lines));
    g.bench_function("split_route_64KiB_of_nginx_lines", |b| b.iter(|| stream.deliver(&chunk)));
    g.finish();
    drop(stream);
    router.set_routes(Vec::new());
    drop(setup);
    let _ = consumer.join();
}

fn codec(c: &mut Criterion) {
    let mut m = Message::new();
    m.msg_type = b"nginx.access".to_vec();
    m.logger = b"access.log".to_vec();
    m.hostname = b"web-01".to_vec();
    m.payload = LINE.as_bytes().to_vec();
    m.add_field(Field::string("remote_addr", "142.157.10.7"));
    m.add_field(Field::string("request", "GET /static/fonts/main.85db3e4a.js HTTP/1.1"));
    m.add_field(Field::double("status", 200.0));
    m.add_field(Field::integer("body_bytes_sent", 2290).with_representation("B"));
    m.add_field(Field::string("http_user_agent", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0)"));
    let bytes = encode(&m);
    let mut g = c.benchmark_group("protobuf");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("encode", |b| b.iter(|| encode(&m)));
    g.bench_function("decode", |b| b.iter(|| decode(&bytes).unwrap()));
    g.finish();
}

criterion_group!(benches, split_and_route, codec);
criterion_main!(benches);
