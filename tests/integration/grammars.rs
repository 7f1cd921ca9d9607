//! The two implementations of the shipped log decoders (`grammar =
//! "lpeg"` and `grammar = "pattern"`): each passes the reviewed outputs,
//! and both print exactly the same messages for thousands of generated,
//! varied lines (a deterministic generator below), so switching the
//! implementation never changes what is decoded. The LPeg builders' own
//! assertions and a module-level differential check run from
//! `lpeg_grammars_test.lua`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::common::{repo_file, sandbox_fixture, sandpiper_test, sandpiper_test_ok};

/// A copy of fixture config `name` with `grammar = "<grammar>"` added to
/// its `.config` table (the last table in those files).
fn with_grammar(dir: &Path, name: &str, grammar: &str) -> String {
    let cfg = std::fs::read_to_string(sandbox_fixture(name)).unwrap();
    assert!(cfg.trim_end().lines().any(|l| l.ends_with(".config]")), "{name}");
    let path = dir.join(format!("{grammar}-{name}"));
    std::fs::write(&path, format!("{}\ngrammar = \"{grammar}\"\n", cfg.trim_end())).unwrap();
    path.display().to_string()
}

/// xorshift64: the same lines on every run and machine.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const MONTHS: &[&str] =
    &["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `n` varied "combined" access-log lines, some of them damaged: IPv4,
/// IPv6 and odd client addresses, impossible dates, "-" and non-numeric
/// statuses and sizes, quotes and escapes in the request and user agent,
/// CRLF and missing line ends, truncated lines and garbage.
fn access_lines(n: usize, seed: u64) -> String {
    let mut r = Rng(seed);
    let mut out = String::new();
    for _ in 0..n {
        let addr = r.pick(&[
            "10.0.0.1",
            "192.168.1.20",
            "8.8.4.4",
            "::1",
            "2001:db8::ff00:42:8329",
            "::ffff:10.1.2.3",
            "proxy.example.com",
            "-",
        ]);
        let user = r.pick(&["-", "-", "-", "frank", "alice@example.com"]);
        let day = r.below(31) + 1;
        let month = MONTHS[r.below(12) as usize];
        let (year, hour, min, sec) = (2000 + r.below(30), r.below(25), r.below(60), r.below(61));
        let zone = r.pick(&["+0000", "-0800", "+0530", "-0700"]);
        let method = r.pick(&["GET", "GET", "GET", "POST", "HEAD", "DELETE"]);
        let path =
            r.pick(&["/", "/index.html", "/api/v1/items?id=42&page=3", "/a%20b", "/q?x=\\\"y\\\""]);
        let status = r.pick(&["200", "200", "200", "301", "304", "404", "500", "-", "2xx"]);
        let size = match r.below(10) {
            0 => "-".to_string(),
            1 => "12345678901234567890".to_string(),
            2 => "1.5".to_string(),
            _ => r.below(100_000).to_string(),
        };
        let referer = r.pick(&["-", "-", "https://www.example.com/", "https://example.com/?q=a b"]);
        let agent = r.pick(&[
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
            "curl/8.5.0",
            "-",
            "",
            "agent \\\"quoted\\\" inside",
            "agent \"raw quotes\" inside",
        ]);
        let mut line = format!(
            "{addr} - {user} [{day:02}/{month}/{year}:{hour:02}:{min:02}:{sec:02} {zone}] \"{method} {path} HTTP/1.1\" {status} {size} \"{referer}\" \"{agent}\""
        );
        match r.below(40) {
            0 => line.truncate(r.below(line.len() as u64) as usize),
            1 => line = "garbage that is no log line".into(),
            2 => line.push_str(" trailing"),
            _ => {}
        }
        // Lines end with "\n" (the tool splits on it); a few carry a "\r".
        let end = if r.below(20) == 0 { "\r\n" } else { "\n" };
        let _ = write!(out, "{line}{end}");
    }
    out
}

/// `n` varied rsyslog lines in the fixture's template
/// (`%pri% %TIMESTAMP% %TIMEGENERATED:::date-rfc3339% %HOSTNAME% %syslogtag%%msg%`).
fn syslog_lines(n: usize, seed: u64) -> String {
    let mut r = Rng(seed);
    let mut out = String::new();
    for _ in 0..n {
        let pri = r.pick(&["13", "28", "191", "x", "0x1F"]);
        let day = r.below(31) + 1;
        let day = if r.below(2) == 0 { format!("{day:2}") } else { day.to_string() };
        let month = MONTHS[r.below(12) as usize];
        let iso = format!(
            "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}{}{}",
            r.below(30),
            r.below(13),
            r.below(32),
            r.below(24),
            r.below(60),
            r.below(60),
            r.pick(&["", ".5"]),
            r.pick(&["Z", "-08:00", "+0100", ""])
        );
        let host = r.pick(&["testhost", "10.0.0.1", "h"]);
        let tag = r.pick(&["widget[4322]:", "cron:", "kernel:", "app[]:", "sshd[99]"]);
        let msg = r.pick(&["test message.", "", " leading space", "a  b", "colon: inside"]);
        let mut line = format!(
            "{pri} {month} {day} {:02}:{:02}:{:02} {iso} {host} {tag}{}{msg}",
            r.below(25),
            r.below(60),
            r.below(60),
            r.pick(&["", " "])
        );
        if r.below(30) == 0 {
            line.truncate(r.below(line.len() as u64) as usize);
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The summary line and how many messages were emitted and failed.
fn counts(stdout: &str) -> (usize, usize) {
    let last = stdout.lines().last().unwrap_or_default();
    let num = |word: &str| -> usize {
        let before = &last[..last.find(word).unwrap_or_else(|| panic!("{word} in {last}"))];
        before.trim_end().rsplit(' ').next().unwrap().parse().unwrap()
    };
    (num(" emitted"), num(" failed"))
}

/// Both implementations of decoder `rel` print the same messages for
/// `input` with fixture config `config`; returns (emitted, failed).
fn implementations_agree(dir: &Path, rel: &str, config: &str, input: &Path) -> (usize, usize) {
    let input = input.to_str().unwrap();
    let lpeg = sandpiper_test_ok(&[
        &repo_file(rel),
        "--config",
        &with_grammar(dir, config, "lpeg"),
        "--input",
        input,
    ]);
    let pattern = sandpiper_test_ok(&[
        &repo_file(rel),
        "--config",
        &with_grammar(dir, config, "pattern"),
        "--input",
        input,
    ]);
    if lpeg != pattern {
        let (l, p): (Vec<_>, Vec<_>) = (lpeg.lines().collect(), pattern.lines().collect());
        let at = l.iter().zip(&p).position(|(a, b)| a != b).unwrap_or(l.len().min(p.len()));
        let from = at.saturating_sub(12);
        panic!(
            "{rel}: outputs differ at line {at}\nlpeg:\n{}\npattern:\n{}",
            l[from..(at + 3).min(l.len())].join("\n"),
            p[from..(at + 3).min(p.len())].join("\n")
        );
    }
    counts(&lpeg)
}

#[test]
fn both_implementations_pass_the_reviewed_outputs() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["nginx_access", "apache_access"] {
        for grammar in ["lpeg", "pattern"] {
            let stdout = sandpiper_test_ok(&[
                &repo_file(&format!("sandboxes/decoders/{name}.lua")),
                "--config",
                &with_grammar(dir.path(), &format!("{name}.toml"), grammar),
                "--input",
                &sandbox_fixture(&format!("{name}.log")),
                "--expect",
                &sandbox_fixture(&format!("{name}.expected")),
            ]);
            assert!(stdout.contains("output matches"), "{name} {grammar}:\n{stdout}");
        }
    }
    // rsyslog has no reviewed file (its dates depend on the current year):
    // the fixture lines, both ways.
    let input = PathBuf::from(sandbox_fixture("rsyslog.log"));
    let (emitted, failed) =
        implementations_agree(dir.path(), "sandboxes/decoders/rsyslog.lua", "rsyslog.toml", &input);
    assert_eq!((emitted, failed), (2, 1));
}

#[test]
fn lpeg_and_pattern_decoders_agree_on_generated_lines() {
    let dir = tempfile::tempdir().unwrap();
    let access = dir.path().join("access.log");
    std::fs::write(&access, access_lines(3000, 0x9E37_79B9_7F4A_7C15)).unwrap();
    for (rel, config) in [
        ("sandboxes/decoders/nginx_access.lua", "nginx_access.toml"),
        ("sandboxes/decoders/apache_access.lua", "apache_access.toml"),
    ] {
        let (emitted, failed) = implementations_agree(dir.path(), rel, config, &access);
        // Most lines decode, the damaged ones and impossible dates do not.
        assert!(emitted > 2000 && failed > 100, "{rel}: {emitted} emitted, {failed} failed");
    }
    let syslog = dir.path().join("syslog.log");
    std::fs::write(&syslog, syslog_lines(3000, 0xD1B5_4A32_D192_ED03)).unwrap();
    let (emitted, failed) = implementations_agree(
        dir.path(),
        "sandboxes/decoders/rsyslog.lua",
        "rsyslog.toml",
        &syslog,
    );
    assert!(emitted > 1000 && failed > 100, "rsyslog: {emitted} emitted, {failed} failed");
}

#[test]
fn lpeg_builders_pass_their_assertions_and_the_module_differential_check() {
    let stdout = sandpiper_test_ok(&[
        &sandbox_fixture("lpeg_grammars_test.lua"),
        "--config",
        &sandbox_fixture("lpeg_grammars.toml"),
        "--input",
        &sandbox_fixture("rsyslog.log"),
        "--quiet",
    ]);
    assert!(stdout.ends_with("=== 3 processed, 0 failed, 3 emitted\n"), "{stdout}");
}

#[test]
fn an_unknown_grammar_is_a_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = with_grammar(dir.path(), "nginx_access.toml", "regex");
    let out = sandpiper_test(&[
        &repo_file("sandboxes/decoders/nginx_access.lua"),
        "--config",
        &cfg,
        "--input",
        &sandbox_fixture("nginx_access.log"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("grammar must be \"lpeg\" or \"pattern\""), "{stderr}");
}
