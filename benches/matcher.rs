//! Matcher benchmarks, after Heka's `BenchmarkMatcher*`: compiling an
//! expression, and evaluating typical expressions against a test message.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sandpiper::matcher::{Matcher, test_message};

const CASES: [(&str, &str); 10] = [
    ("simple", "Type == 'TEST' && Severity == 6"),
    ("regex", "Payload =~ /Test/"),
    ("regex_class", "Type =~ /[Tt]EST/ && Severity == 6"),
    ("regex_capture", "Type =~ /^(TEST)/ && Severity == 6"),
    ("field_string", "Fields[foo] == 'bar'"),
    ("field_numeric", "Fields[number] == 64"),
    ("field_nonexistence", "Fields[missing] == NIL"),
    ("field_existence", "Fields[int] != NIL"),
    ("starts_with", "Payload =~ /^Test/"),
    ("ends_with", "Payload =~ /load$/"),
];

fn bench_create(c: &mut Criterion) {
    c.bench_function("matcher/create", |b| {
        b.iter(|| Matcher::new(black_box("Type == 'TEST' && Severity == 6")))
    });
}

fn bench_match(c: &mut Criterion) {
    let msg = test_message();
    let mut group = c.benchmark_group("matcher/match");
    for (name, expr) in CASES {
        let m = Matcher::new(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert!(m.matches(&msg), "{expr} should match the bench message");
        group.bench_function(name, |b| b.iter(|| m.matches(black_box(&msg))));
    }
    group.finish();
}

criterion_group!(benches, bench_create, bench_match);
criterion_main!(benches);
