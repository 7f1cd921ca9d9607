//! Criterion benchmarks for the Rust `lpeg`: compiling a grammar, and
//! matching nginx "combined" lines with a grammar written in Lua (from Rust
//! one line per call, and from a Lua loop), with and without the sandbox's
//! instruction budget and memory limit. Throughput is in lines.

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use mlua::{Function, Lua, ObjectLike, Table};
use sandpiper::sandbox::budget::InstructionBudget;
use sandpiper::sandbox::limits::MemoryLimit;
use sandpiper::sandbox::lpeg::{open_lpeg, open_re};

const GRAMMAR: &str = include_str!("nginx_grammar.lua");

/// Lines per batch in the Lua-loop benchmark.
const BATCH: usize = 1000;

/// Generates the benchmark lines (shared with `lpeg_compare.lua`).
const LINES: &str = include_str!("nginx_lines.lua");

/// `n` deterministic, varied nginx combined lines, as Lua strings.
fn lines(lua: &Lua, n: usize) -> Table {
    let generate: Function = lua.load(LINES).eval().expect("line generator");
    generate.call(n).expect("lines")
}

struct Setup {
    lua: Lua,
    matcher: Function,
    loop_matcher: Function,
    subjects: Vec<mlua::LuaString>,
    batch: Table,
}

fn setup(limits: bool) -> Setup {
    let lua = Lua::new();
    let lpeg = open_lpeg(&lua).expect("lpeg");
    lua.globals().set("lpeg", lpeg).expect("global");
    let build: Function = lua.load(GRAMMAR).eval().expect("grammar chunk");
    let grammar: mlua::Value =
        build.call(lua.globals().get::<Table>("lpeg").expect("lpeg")).expect("grammar");
    lua.globals().set("grammar", grammar).expect("global");
    let matcher: Function =
        lua.load("return function(line) return grammar:match(line) end").eval().expect("matcher");
    let loop_matcher: Function = lua
        .load("return function(batch) local n = 0 for i = 1, #batch do if grammar:match(batch[i]) then n = n + 1 end end return n end")
        .eval()
        .expect("loop");
    let batch = lines(&lua, BATCH);
    let subjects: Vec<mlua::LuaString> =
        batch.sequence_values().collect::<mlua::Result<_>>().expect("strings");
    for s in &subjects {
        let t: Table = matcher.call(s).expect("every generated line parses");
        assert!(t.get::<i64>("status").is_ok());
    }
    if limits {
        lua.set_app_data(InstructionBudget::new(1_000_000));
        let limit = lua.used_memory() + 8 * 1024 * 1024;
        lua.set_memory_limit(limit).expect("memory limit");
        lua.set_app_data(MemoryLimit(limit));
    }
    Setup { lua, matcher, loop_matcher, subjects, batch }
}

fn reset_budget(lua: &Lua) {
    if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
        b.reset();
    }
}

fn bench_matching(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, limits: bool) {
    let s = setup(limits);
    let tag = if limits { "limits" } else { "plain" };
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function(format!("match_line_from_rust/{tag}"), |b| {
        b.iter(|| {
            i = (i + 1) % s.subjects.len();
            reset_budget(&s.lua);
            let t: Table = s.matcher.call(&s.subjects[i]).expect("match");
            t
        })
    });
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(format!("match_lines_in_lua_loop/{tag}"), |b| {
        b.iter(|| {
            reset_budget(&s.lua);
            let n: usize = s.loop_matcher.call(&s.batch).expect("loop");
            assert_eq!(n, BATCH);
        })
    });
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("lpeg");
    g.sample_size(20);
    bench_matching(&mut g, false);
    bench_matching(&mut g, true);

    let lua = Lua::new();
    let lpeg = open_lpeg(&lua).expect("lpeg");
    let re = open_re(&lua).expect("re");
    let build: Function = lua.load(GRAMMAR).eval().expect("grammar chunk");
    let line: String = lines(&lua, 1).get(1).expect("a line");
    g.throughput(Throughput::Elements(1));
    g.bench_function("compile_nginx_grammar", |b| {
        b.iter(|| {
            let p: mlua::AnyUserData = build.call(&lpeg).expect("grammar");
            // The first match compiles the pattern.
            let m: mlua::Value = p.call_method("match", line.as_str()).expect("match");
            m
        })
    });
    let src = r#"
        line <- {| {:remote_addr: ip :} ' - ' {:remote_user: [^ ]+ :} ' [' {:time: [^]]+ :} '] "'
                   {:request_method: [A-Z]+ :} ' ' {:request_uri: [^ ]+ :} ' ' {:server_protocol: 'HTTP/' %d '.' %d :} '" '
                   {:status: %d+ -> tonumber :} ' ' {:body_bytes_sent: %d+ -> tonumber :} ' '
                   {:http_referer: quoted :} ' ' {:http_user_agent: quoted :} |} !.
        ip <- %d+ '.' %d+ '.' %d+ '.' %d+
        quoted <- '"' { ([^"\] / '\' .)* } '"'
    "#;
    let compile: Function = re.get("compile").expect("re.compile");
    let defs = lua.create_table().expect("defs");
    defs.set("tonumber", lua.globals().get::<Function>("tonumber").expect("tonumber"))
        .expect("defs");
    g.bench_function("re_compile_nginx_grammar", |b| {
        b.iter(|| {
            let p: mlua::AnyUserData = compile.call((src, &defs)).expect("re.compile");
            let m: Table = p.call_method("match", line.as_str()).expect("match");
            m
        })
    });
    g.finish();
}

criterion_group!(lpeg_benches, benches);
criterion_main!(lpeg_benches);
