//! `sandpiper cat FILE`: reads a Heka-framed protobuf stream (FileOutput
//! with `use_framing`, a disk queue segment, a `multi.dat`), filters it with
//! a matcher and prints it as text, JSON, raw framed records or a count —
//! heka-cat's behaviour and exit codes. The banner and the final
//! "Processed" line go to stderr so stdout stays clean for piping.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::ExitCode;
use crate::matcher::Matcher;
use crate::message::{FieldValue, Message, Scan, decode_into, scan_record};
use crate::plugins::encoders::rst::go_time_string;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text.
    Txt,
    /// One JSON object per line.
    Json,
    /// The framed records as they are.
    Heka,
    /// Only the final counts.
    Count,
}

impl Format {
    /// Parses a `-format` value.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "txt" => Format::Txt,
            "json" => Format::Json,
            "heka" => Format::Heka,
            "count" => Format::Count,
            _ => return None,
        })
    }
}

/// heka-cat's options.
#[derive(Debug, Clone)]
pub struct CatArgs {
    /// The framed file.
    pub file: PathBuf,
    /// Matcher expression.
    pub matcher: String,
    /// Output format.
    pub format: Format,
    /// Output file (stdout when `None`).
    pub output: Option<PathBuf>,
    /// Keep reading at EOF.
    pub tail: bool,
    /// Start offset in bytes.
    pub offset: u64,
    /// Largest message accepted.
    pub max_message_size: usize,
}

/// JSON of a message in the shape Go's `json.Marshal` gives Heka's struct.
pub fn message_json(m: &Message) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut o = serde_json::Map::new();
    o.insert("uuid".into(), json!(b64(&m.uuid)));
    o.insert("timestamp".into(), json!(m.timestamp));
    let strings: [(&str, &[u8]); 5] = [
        ("type", &m.msg_type),
        ("logger", &m.logger),
        ("payload", &m.payload),
        ("env_version", &m.env_version),
        ("hostname", &m.hostname),
    ];
    for (k, v) in strings.iter().filter(|(_, v)| !v.is_empty()) {
        o.insert((*k).into(), json!(text(v)));
    }
    if let Some(s) = m.severity {
        o.insert("severity".into(), json!(s));
    }
    if let Some(p) = m.pid {
        o.insert("pid".into(), json!(p));
    }
    let fields: Vec<Value> = m
        .fields
        .iter()
        .map(|f| {
            let mut fo = serde_json::Map::new();
            fo.insert("name".into(), json!(f.name));
            fo.insert("value_type".into(), json!(f.value.value_type() as i32));
            fo.insert("representation".into(), json!(f.representation));
            let (k, v) = match &f.value {
                FieldValue::String(v) => {
                    ("value_string", json!(v.iter().map(|s| text(s)).collect::<Vec<_>>()))
                }
                FieldValue::Bytes(v) => {
                    ("value_bytes", json!(v.iter().map(|s| b64(s)).collect::<Vec<_>>()))
                }
                FieldValue::Integer(v) => ("value_integer", json!(v)),
                FieldValue::Double(v) => ("value_double", json!(v)),
                FieldValue::Bool(v) => ("value_bool", json!(v)),
            };
            fo.insert(k.into(), v);
            Value::Object(fo)
        })
        .collect();
    if !fields.is_empty() {
        o.insert("fields".into(), Value::Array(fields));
    }
    Value::Object(o)
}

/// heka-cat's text rendering of a message.
pub fn message_text(m: &Message) -> String {
    let fields: Vec<String> = m
        .fields
        .iter()
        .map(|f| {
            let values: Vec<String> = match &f.value {
                FieldValue::String(v) => v
                    .iter()
                    .map(|s| format!("value_string:{:?}", String::from_utf8_lossy(s)))
                    .collect(),
                FieldValue::Bytes(v) => v
                    .iter()
                    .map(|s| format!("value_bytes:{:?}", String::from_utf8_lossy(s)))
                    .collect(),
                FieldValue::Integer(v) => v.iter().map(|n| format!("value_integer:{n}")).collect(),
                FieldValue::Double(v) => v.iter().map(|n| format!("value_double:{n}")).collect(),
                FieldValue::Bool(v) => v.iter().map(|b| format!("value_bool:{b}")).collect(),
            };
            format!(
                "name:{:?} value_type:{} representation:{:?} {}",
                f.name,
                f.value.value_type().name(),
                f.representation,
                values.join(" ")
            )
        })
        .collect();
    format!(
        "Timestamp: {}\nType: {}\nHostname: {}\nPid: {}\nUUID: {}\nLogger: {}\nPayload: {}\nEnvVersion: {}\nSeverity: {}\nFields: [{}]\n\n",
        go_time_string(m.timestamp),
        m.type_str(),
        m.hostname_str(),
        m.pid.unwrap_or(0),
        m.uuid_string(),
        m.logger_str(),
        m.payload_str(),
        m.env_version_str(),
        m.severity(),
        fields.join(" ")
    )
}

/// Runs `cat`.
pub fn run(args: &CatArgs) -> ExitCode {
    let matcher = match Matcher::new(&args.matcher) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("Match specification - {e}");
            return 2;
        }
    };
    let mut file = match File::open(&args.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: {e}", args.file.display());
            return 3;
        }
    };
    let mut out: Box<dyn Write> = match &args.output {
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        Some(p) => match File::create(p) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("{}: {e}", p.display());
                return 4;
            }
        },
    };
    if let Err(e) = file.seek(SeekFrom::Start(args.offset)) {
        eprintln!("{e}");
        return 5;
    }
    eprintln!(
        "Input:{}  Offset:{}  Match:{}  Format:{:?}  Tail:{}  Output:{}",
        args.file.display(),
        args.offset,
        args.matcher,
        args.format,
        args.tail,
        args.output.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
    );
    let (mut processed, mut matched) = (0u64, 0u64);
    let mut offset = args.offset;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut msg = Message::default();
    let mut eof = false;
    loop {
        match scan_record(&buf, args.max_message_size) {
            Scan::Record { start, msg_start, end, .. } => {
                if start > 0 {
                    eprintln!("Corruption detected at offset: {offset} bytes: {start}");
                }
                processed += 1;
                match decode_into(&buf[msg_start..end], &mut msg) {
                    Err(e) => eprintln!(
                        "Error unmarshalling message at offset: {} error: {e}",
                        offset + start as u64
                    ),
                    Ok(()) if matcher.matches(&msg) => {
                        matched += 1;
                        let written = match args.format {
                            Format::Count => Ok(()),
                            Format::Json => writeln!(out, "{}", message_json(&msg)),
                            Format::Heka => out.write_all(&buf[start..end]),
                            Format::Txt => out.write_all(message_text(&msg).as_bytes()),
                        };
                        if written.is_err() {
                            return 6;
                        }
                    }
                    Ok(()) => {}
                }
                offset += end as u64;
                buf.drain(..end);
                continue;
            }
            Scan::TooBig { start, length } => {
                eprintln!(
                    "Corruption detected at offset: {} (message of {length} bytes too big)",
                    offset + start as u64
                );
                offset += start as u64 + 1;
                buf.drain(..start + 1);
                continue;
            }
            Scan::NeedMore { .. } if eof => {
                if !args.tail || args.format == Format::Count {
                    break;
                }
                let _ = out.flush();
                std::thread::sleep(Duration::from_millis(500));
                eof = false;
            }
            Scan::NeedMore { .. } => {}
        }
        match file.read(&mut chunk) {
            Ok(0) => eof = true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => {
                eprintln!("{e}");
                return 6;
            }
        }
    }
    if !buf.is_empty() {
        eprintln!(
            "Corruption detected at offset: {offset} bytes: {} (incomplete record at end)",
            buf.len()
        );
    }
    let _ = out.flush();
    eprintln!("Processed: {processed}, matched: {matched} messages");
    if args.format == Format::Count {
        println!("{matched}");
    }
    0
}
