//! Cost of the sandbox and its limits.
//!
//! - `filter/*`: a counting filter reading `Fields[status]` of decoded
//!   nginx messages, with Heka's default limits and with none.
//! - `decoder/*`: a decoder parsing an nginx access line with
//!   `string.match` and injecting a message of 9 fields.
//! - `http_status/*`: the shipped `sandboxes/filters/http_status.lua` on
//!   the same decoded messages, with the default limits and with none.
//!
//! Run with `cargo bench --bench sandbox`; figures go to `BENCHMARKS.md`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sandpiper::message::{Field, Message, PackMut, PackPool, PackRef};
use sandpiper::sandbox::{
    DecodeOutcome, ProcessStatus, Sandbox, SandboxConfig, SandboxHost, SandboxKind,
};

const FILTER: &str = r#"
local counts = {}
function process_message()
  local status = read_message("Fields[status]")
  counts[status] = (counts[status] or 0) + 1
  return 0
end
"#;

const DECODER: &str = r#"
local pattern = '^(%S+) %S+ (%S+) %[([^%]]+)%] "(%S+) (%S+) (%S+)" (%d+) (%d+) "([^"]*)" "([^"]*)"'
local msg = {Type = "nginx.access", Fields = {}}
function process_message()
  local line = read_message("Payload")
  local addr, user, time, method, path, proto, status, bytes, referer, agent = line:match(pattern)
  if not addr then return -1, "no match" end
  local f = msg.Fields
  f.remote_addr = addr
  f.remote_user = user
  f.time_local = time
  f.request_method = method
  f.request = path
  f.server_protocol = proto
  f.status = tonumber(status)
  f.body_bytes_sent = {value = tonumber(bytes), value_type = 2, representation = "B"}
  f.http_user_agent = agent
  inject_message(msg)
  return 0
end
"#;

const STATUSES: [i64; 8] = [200, 200, 200, 304, 404, 500, 301, 200];

fn line(i: usize) -> String {
    format!(
        "10.{}.{}.{} - user{} [10/Feb/2014:08:46:{:02} -0800] \"GET /api/v1/items/{}?page={} HTTP/1.1\" {} {} \"https://example.com/\" \"Mozilla/5.0 (X11; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0\"",
        i % 200,
        i % 7,
        i % 250,
        i % 13,
        i % 60,
        i * 31 % 10007,
        i % 9,
        STATUSES[i % STATUSES.len()],
        i * 17 % 50_000,
    )
}

fn decoded(i: usize) -> PackRef {
    let mut m = Message::new();
    m.msg_type = b"nginx.access".to_vec();
    m.fields.push(Field::string("remote_addr", format!("10.0.0.{}", i % 250)));
    m.fields.push(Field::string("remote_user", "-"));
    m.fields.push(Field::string("request_method", "GET"));
    m.fields.push(Field::string("request", format!("/api/v1/items/{i}")));
    m.fields.push(Field::string("server_protocol", "HTTP/1.1"));
    m.fields.push(Field::double("status", STATUSES[i % STATUSES.len()] as f64));
    m.fields.push(Field::integer("body_bytes_sent", (i * 17 % 50_000) as i64));
    m.fields.push(Field::string("http_user_agent", "Mozilla/5.0"));
    PackMut::from_message(m).freeze()
}

fn script(name: &str, src: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, src).expect("write script");
    (dir, path)
}

struct PoolHost(PackPool);

impl SandboxHost for PoolHost {
    fn new_pack(&mut self) -> Result<PackMut, String> {
        Ok(self.0.get())
    }
    fn inject(&mut self, _: PackMut) -> Result<(), String> {
        Ok(())
    }
}

/// `limits_on` and `limits_off` runs of the filter `cfg` over `packs`.
fn bench_filter(c: &mut Criterion, group: &str, cfg: SandboxConfig, packs: &[PackRef]) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    for (name, limits) in [("limits_on", true), ("limits_off", false)] {
        let mut cfg = cfg.clone();
        if !limits {
            cfg.memory_limit = 0;
            cfg.instruction_limit = 0;
            cfg.output_limit = 0;
        }
        let mut sb = Sandbox::new(cfg, Box::new(PoolHost(PackPool::new(4)))).expect("filter loads");
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let r = sb.process_message(black_box(&packs[i]));
                debug_assert_eq!(r, Ok(ProcessStatus::Ok));
                black_box(r)
            })
        });
    }
    group.finish();
}

fn filter(c: &mut Criterion) {
    let (_dir, path) = script("filter.lua", FILTER);
    let packs: Vec<PackRef> = (0..1024).map(decoded).collect();
    bench_filter(c, "filter", SandboxConfig::new(SandboxKind::Filter, "bench", &path), &packs);
}

fn decoder(c: &mut Criterion) {
    let (_dir, path) = script("decoder.lua", DECODER);
    let lines: Vec<Vec<u8>> = (0..1024).map(|i| line(i).into_bytes()).collect();
    let mut group = c.benchmark_group("decoder");
    group.throughput(Throughput::Elements(1));
    for (name, limits) in [("limits_on", true), ("limits_off", false)] {
        let pool = PackPool::new(8);
        let mut cfg = SandboxConfig::new(SandboxKind::Decoder, "bench", &path);
        if !limits {
            cfg.memory_limit = 0;
            cfg.instruction_limit = 0;
            cfg.output_limit = 0;
        }
        let mut sb = Sandbox::new(cfg, Box::new(PoolHost(pool.clone()))).expect("decoder loads");
        let mut out = Vec::with_capacity(4);
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let mut pack = pool.get();
                pack.message.payload.extend_from_slice(&lines[i]);
                let r = sb.decode(pack, &mut out);
                debug_assert_eq!(r, Ok(DecodeOutcome::Injected(1)));
                out.clear();
                black_box(r)
            })
        });
    }
    group.finish();
}

/// The shipped `http_status.lua` (a circular buffer of status classes per
/// minute) on decoded messages, and a sandbox's idle memory above an empty
/// Lua state.
fn shipped_http_status(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let packs: Vec<PackRef> = (0..1024).map(decoded).collect();
    let mut cfg = SandboxConfig::new(
        SandboxKind::Filter,
        "http_status",
        root.join("sandboxes/filters/http_status.lua"),
    );
    cfg.module_directories = vec![root.join("lua_modules")];
    bench_filter(c, "http_status", cfg, &packs);
    let (_dir, path) = script("idle.lua", "function process_message() return 0 end");
    let idle = Sandbox::new(
        SandboxConfig::new(SandboxKind::Filter, "idle", &path),
        Box::new(PoolHost(PackPool::new(1))),
    )
    .expect("idle loads");
    let bare = mlua::Lua::new_with(
        mlua::StdLib::COROUTINE
            | mlua::StdLib::TABLE
            | mlua::StdLib::STRING
            | mlua::StdLib::UTF8
            | mlua::StdLib::MATH
            | mlua::StdLib::OS
            | mlua::StdLib::PACKAGE,
        mlua::LuaOptions::default(),
    )
    .expect("bare state");
    eprintln!(
        "idle sandbox: {} B of Lua memory; an empty Lua state with the same libraries: {} B; difference {} B",
        idle.stats().memory,
        bare.used_memory(),
        idle.stats().memory.saturating_sub(bare.used_memory())
    );
}

criterion_group!(benches, filter, decoder, shipped_http_status);
criterion_main!(benches);
