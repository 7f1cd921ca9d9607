//! Input of `sandpiper test`: raw lines, and the one-object-per-line JSON
//! form of messages documented in the module above.

use std::io::BufRead;

use serde_json::Value;

use crate::message::{Field, FieldValue, Message, time, uuid};

/// A bad JSON input line.
#[derive(Debug, thiserror::Error)]
#[error("input line {line}: {message}")]
pub struct InputError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads the next line (newline kept) into `buf`; false at end of input.
pub fn next_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    Ok(r.read_until(b'\n', buf)? > 0)
}

/// Parses one JSON input line. `None` for blank and `#` comment lines.
/// Messages without a Timestamp get `default_ts`.
pub fn parse_message(
    text: &[u8],
    line: usize,
    default_ts: i64,
) -> Result<Option<Message>, InputError> {
    let err = |message: String| InputError { line, message };
    let trimmed = text.trim_ascii();
    if trimmed.is_empty() || trimmed.starts_with(b"#") {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(trimmed).map_err(|e| err(format!("not JSON: {e}")))?;
    let Value::Object(o) = v else {
        return Err(err("expected a JSON object".into()));
    };
    let mut m = Message::new();
    m.timestamp = default_ts;
    for (k, v) in &o {
        let text = || match v {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            _ => Err(err(format!("{k} must be a string"))),
        };
        let int = || {
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| err(format!("{k} must be a 32-bit integer")))
        };
        match k.as_str() {
            "Timestamp" => {
                m.timestamp = timestamp(v)
                    .ok_or_else(|| err("Timestamp must be nanoseconds or RFC 3339 text".into()))?
            }
            "Type" => m.msg_type = text()?,
            "Logger" => m.logger = text()?,
            "Hostname" => m.hostname = text()?,
            "Payload" => m.payload = text()?,
            "EnvVersion" => m.env_version = text()?,
            "Severity" => m.severity = Some(int()?),
            "Pid" => m.pid = Some(int()?),
            "Uuid" => {
                let s = v.as_str().unwrap_or_default();
                m.uuid = uuid::parse(s).ok_or_else(|| err(format!("bad Uuid '{s}'")))?.to_vec();
            }
            "Fields" => m.fields = fields(v).map_err(err)?,
            other => {
                return Err(err(format!(
                    "unknown key '{other}' (Timestamp, Type, Logger, Hostname, Payload, \
                     EnvVersion, Severity, Pid, Uuid, Fields)"
                )));
            }
        }
    }
    Ok(Some(m))
}

fn timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => time::parse_rfc3339(s).or_else(|| s.parse().ok()),
        _ => None,
    }
}

fn fields(v: &Value) -> Result<Vec<Field>, String> {
    match v {
        Value::Object(o) => o.iter().map(|(name, v)| field(name, v)).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("each item of a Fields array needs a \"name\"")?;
                field(name, item)
            })
            .collect(),
        _ => Err("Fields must be an object or an array".into()),
    }
}

/// One field from a plain value or a `{"value", "type", "representation"}`
/// object.
fn field(name: &str, v: &Value) -> Result<Field, String> {
    let (value, vtype, rep) = match v {
        Value::Object(o) => {
            let value = o.get("value").ok_or_else(|| format!("field {name}: no \"value\""))?;
            let vtype = o.get("type").and_then(Value::as_str);
            let rep = o.get("representation").and_then(Value::as_str).unwrap_or_default();
            (value, vtype, rep)
        }
        other => (other, None, ""),
    };
    let items: Vec<&Value> = match value {
        Value::Array(a) if a.is_empty() => return Err(format!("field {name}: empty array")),
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let vtype = match vtype {
        Some(t) => t,
        None => match items[0] {
            Value::String(_) => "string",
            Value::Number(_) => "double",
            Value::Bool(_) => "bool",
            _ => return Err(format!("field {name}: unsupported value {}", items[0])),
        },
    };
    let bad = || format!("field {name}: every value must be a {vtype}");
    let strings = || -> Result<Vec<Vec<u8>>, String> {
        items.iter().map(|v| v.as_str().map(|s| s.as_bytes().to_vec()).ok_or_else(bad)).collect()
    };
    let value = match vtype {
        "string" => FieldValue::String(strings()?),
        "bytes" => FieldValue::Bytes(strings()?),
        "integer" => FieldValue::Integer(
            items.iter().map(|v| v.as_i64().ok_or_else(bad)).collect::<Result<_, _>>()?,
        ),
        "double" => FieldValue::Double(
            items.iter().map(|v| v.as_f64().ok_or_else(bad)).collect::<Result<_, _>>()?,
        ),
        "bool" => FieldValue::Bool(
            items.iter().map(|v| v.as_bool().ok_or_else(bad)).collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(format!(
                "field {name}: unknown type '{other}' (string, bytes, integer, double, bool)"
            ));
        }
    };
    Ok(Field::new(name, value).with_representation(rep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Scalar;

    #[test]
    fn json_messages_take_every_header_and_typed_fields() {
        let line = br#"{"Timestamp": "2014-02-10T16:46:41Z", "Type": "t", "Logger": "l",
            "Hostname": "h", "Payload": "p", "Severity": 3, "Pid": 9, "EnvVersion": "1",
            "Fields": {"status": 200, "name": "x", "ok": true, "list": [1, 2],
                       "bytes": {"value": 512, "type": "integer", "representation": "B"}}}"#;
        let m = parse_message(line, 1, 0).unwrap().unwrap();
        assert_eq!(m.timestamp, 1_392_050_801_000_000_000);
        assert_eq!((m.msg_type.as_slice(), m.logger.as_slice()), (&b"t"[..], &b"l"[..]));
        assert_eq!((m.severity, m.pid), (Some(3), Some(9)));
        assert_eq!(m.field_value("status", 0, 0), Some(Scalar::Double(200.0)));
        assert_eq!(m.field_value("list", 0, 1), Some(Scalar::Double(2.0)));
        assert_eq!(m.field_value("ok", 0, 0), Some(Scalar::Bool(true)));
        let bytes = m.field("bytes").unwrap();
        assert_eq!(bytes.value, FieldValue::Integer(vec![512]));
        assert_eq!(bytes.representation, "B");
        // Object fields come in name order.
        let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["bytes", "list", "name", "ok", "status"]);
    }

    #[test]
    fn array_fields_keep_order_and_repeats_and_defaults_apply() {
        let line = br#"{"Timestamp": 5, "Fields": [{"name": "b", "value": "1"},
            {"name": "a", "value": 2, "type": "integer"}, {"name": "b", "value": "2"}]}"#;
        let m = parse_message(line, 1, 0).unwrap().unwrap();
        let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "b"]);
        assert_eq!(m.timestamp, 5);
        let m = parse_message(b"{}", 1, 77).unwrap().unwrap();
        assert_eq!(m.timestamp, 77);
        assert_eq!(m.severity, Some(7));
        assert!(parse_message(b"  # comment\n", 1, 0).unwrap().is_none());
        assert!(parse_message(b"\n", 1, 0).unwrap().is_none());
    }

    #[test]
    fn bad_lines_say_what_and_where() {
        let e = parse_message(b"{\"Tyep\": \"x\"}", 4, 0).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("Tyep"), "{e}");
        assert!(parse_message(b"not json", 1, 0).unwrap_err().message.contains("not JSON"));
        let e = parse_message(br#"{"Fields": {"a": [1, "x"]}}"#, 1, 0).unwrap_err();
        assert!(e.message.contains("double"), "{e}");
        let e =
            parse_message(br#"{"Fields": {"a": {"value": 1, "type": "int"}}}"#, 1, 0).unwrap_err();
        assert!(e.message.contains("unknown type"), "{e}");
    }
}
