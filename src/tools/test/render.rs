//! The stable text form `sandpiper test` prints: one block per emitted
//! message or encoder output, one line per failure, a count line.

use std::fmt::Write as _;

use crate::message::{FieldValue, Message};

/// Where a printed message came from.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    /// Decoded from (or injected while processing) input item `n` (1-based).
    Input(usize),
    /// Injected by `timer_event(ns)`.
    Timer(i64),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Input(n) => write!(f, "input {n}"),
            Origin::Timer(ns) => write!(f, "timer_event {}", timestamp_text(*ns)),
        }
    }
}

/// The wall-clock span of the run: timestamps inside it were taken from
/// the clock (the script set none) and print as `(now)`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// When the run started, in ns.
    pub start: i64,
}

impl Clock {
    fn is_now(&self, ns: i64) -> bool {
        ns >= self.start - 1_000_000_000 && ns <= crate::message::time::now_ns() + 1_000_000_000
    }
}

/// `2014-02-10T16:46:41Z (1392050801000000000)`.
pub fn timestamp_text(ns: i64) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ns)) {
        Ok(ts) => format!("{ts} ({ns})"),
        Err(_) => ns.to_string(),
    }
}

/// Renders one message block.
pub fn message(out: &mut String, title: &str, m: &Message, clock: Clock) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let _ = writeln!(out, "--- {title}");
    if clock.is_now(m.timestamp) {
        let _ = writeln!(out, "Timestamp: (now)");
    } else {
        let _ = writeln!(out, "Timestamp: {}", timestamp_text(m.timestamp));
    }
    let headers: [(&str, &[u8]); 4] = [
        ("Type", &m.msg_type),
        ("Logger", &m.logger),
        ("Hostname", &m.hostname),
        ("EnvVersion", &m.env_version),
    ];
    for (name, v) in headers {
        if !v.is_empty() {
            let _ = writeln!(out, "{name}: {}", text(v));
        }
    }
    if let Some(s) = m.severity {
        let _ = writeln!(out, "Severity: {s}");
    }
    if let Some(p) = m.pid {
        let _ = writeln!(out, "Pid: {p}");
    }
    if !m.fields.is_empty() {
        let _ = writeln!(out, "Fields:");
    }
    // Lua 5.4 randomizes the order of hash tables per state, so a script's
    // `Fields = {...}` table comes out in a different order on every run:
    // fields print sorted by name (same-name fields keep their order).
    let mut sorted: Vec<&crate::message::Field> = m.fields.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for f in sorted {
        let rep = if f.representation.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.representation)
        };
        let _ = writeln!(
            out,
            "  {} {}{rep}: {}",
            f.name,
            f.value.value_type().name(),
            values(&f.value)
        );
    }
    if !m.payload.is_empty() {
        let _ = writeln!(out, "Payload ({} bytes):", m.payload.len());
        bytes_block(out, &m.payload);
    }
}

/// Renders encoder output: `| `-prefixed text lines, or hex for binary.
pub fn output(out: &mut String, title: &str, bytes: &[u8]) {
    let _ = writeln!(out, "--- {title} ({} bytes)", bytes.len());
    bytes_block(out, bytes);
}

fn bytes_block(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let body = text.strip_suffix('\n').unwrap_or(text);
            for line in body.split('\n') {
                let _ = writeln!(out, "| {line}");
            }
        }
        Err(_) => {
            for chunk in bytes.chunks(32) {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                let _ = writeln!(out, "# {}", hex.join(" "));
            }
        }
    }
}

/// The values of a field: one value bare, several as `[a, b]`.
fn values(v: &FieldValue) -> String {
    let quoted = |b: &Vec<u8>| format!("{:?}", String::from_utf8_lossy(b));
    let items: Vec<String> = match v {
        FieldValue::String(s) | FieldValue::Bytes(s) => s.iter().map(quoted).collect(),
        FieldValue::Integer(n) => n.iter().map(ToString::to_string).collect(),
        FieldValue::Double(n) => n.iter().map(ToString::to_string).collect(),
        FieldValue::Bool(b) => b.iter().map(ToString::to_string).collect(),
    };
    if items.len() == 1 { items.concat() } else { format!("[{}]", items.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Field;

    #[test]
    fn a_message_renders_headers_fields_by_name_and_payload_lines() {
        let mut m = Message {
            timestamp: 1_392_050_801_000_000_000,
            msg_type: b"nginx".to_vec(),
            hostname: b"h".to_vec(),
            pid: Some(3),
            ..Message::default()
        };
        m.fields.push(Field::double("status", 304.0));
        m.fields.push(Field::string("name", "a\"b"));
        m.fields.push(Field::double("bytes", 0.0).with_representation("B"));
        m.fields.push(Field::new("ids", FieldValue::Integer(vec![1, 2])));
        m.payload = b"one\ntwo\n".to_vec();
        let mut out = String::new();
        message(&mut out, "message 1 (input 1)", &m, Clock { start: i64::MAX / 2 });
        assert_eq!(
            out,
            "--- message 1 (input 1)\n\
             Timestamp: 2014-02-10T16:46:41Z (1392050801000000000)\n\
             Type: nginx\nHostname: h\nSeverity: 7\nPid: 3\nFields:\n\
             \x20 bytes DOUBLE (B): 0\n\
             \x20 ids INTEGER: [1, 2]\n\
             \x20 name STRING: \"a\\\"b\"\n\
             \x20 status DOUBLE: 304\n\
             Payload (8 bytes):\n| one\n| two\n"
        );
    }

    #[test]
    fn wall_clock_timestamps_print_as_now_and_binary_as_hex() {
        let start = crate::message::time::now_ns();
        let m = Message { timestamp: start + 5, ..Message::default() };
        let mut out = String::new();
        message(&mut out, "m", &m, Clock { start });
        assert!(out.contains("Timestamp: (now)\n"), "{out}");
        let mut out = String::new();
        output(&mut out, "output 1", &[0xff, 0x00, 0x41]);
        assert_eq!(out, "--- output 1 (3 bytes)\n# ff 00 41\n");
    }
}
