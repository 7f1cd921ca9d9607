//! `RstEncoder`: a reStructuredText rendering of every header and field,
//! for debugging (Heka's format: `:Name: value` lines, then `:Fields:` with
//! one `| name:"x" value_type:...` line per field).

use std::fmt::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::{FieldValue, Message, PackRef};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{Encoded, Encoder, PluginError};

/// `RstEncoder` has no options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RstEncoderConfig {}

/// The encoder.
#[derive(Debug, Clone, Default)]
pub struct RstEncoder;

/// Go's `time.Time.String()` for a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn go_time_string(ns: i64) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ns)) {
        Ok(ts) => {
            let z = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC);
            let mut s = z.strftime("%Y-%m-%d %H:%M:%S").to_string();
            let frac = z.subsec_nanosecond();
            if frac != 0 {
                let digits = format!("{frac:09}");
                s.push('.');
                s.push_str(digits.trim_end_matches('0'));
            }
            s.push_str(" +0000 UTC");
            s
        }
        Err(_) => ns.to_string(),
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: shortest round-trip digits,
/// exponent form when the decimal exponent is < -4 or >= 6 (Go's rule for
/// the shortest precision).
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&exp) {
        let s = format!("{v:e}");
        // Rust writes "1e21"/"1.5e-7"; Go writes "1e+21"/"1.5e-07".
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        format!("{mant}e{sign}{digits:0>2}")
    } else {
        format!("{v}")
    }
}

/// Renders `msg` as Heka's RstEncoder does.
pub fn render(msg: &Message, out: &mut String) {
    out.push('\n');
    let mut attr = |name: &str, value: &str| {
        let _ = writeln!(out, ":{name}: {value}");
    };
    attr("Timestamp", &go_time_string(msg.timestamp));
    attr("Type", &msg.type_str());
    attr("Hostname", &msg.hostname_str());
    attr("Pid", &msg.pid.unwrap_or(0).to_string());
    attr("Uuid", &msg.uuid_string());
    attr("Logger", &msg.logger_str());
    attr("Payload", &msg.payload_str());
    attr("EnvVersion", &msg.env_version_str());
    attr("Severity", &msg.severity().to_string());
    if !msg.fields.is_empty() {
        out.push_str(":Fields:\n");
    }
    for f in &msg.fields {
        let (type_name, values): (&str, Vec<String>) = match &f.value {
            FieldValue::String(v) => (
                "string",
                v.iter().map(|s| format!("\"{}\"", String::from_utf8_lossy(s))).collect(),
            ),
            FieldValue::Bytes(v) => (
                "bytes",
                v.iter().map(|b| base64::engine::general_purpose::STANDARD.encode(b)).collect(),
            ),
            FieldValue::Integer(v) => ("integer", v.iter().map(i64::to_string).collect()),
            FieldValue::Double(v) => ("double", v.iter().map(|d| go_float(*d)).collect()),
            FieldValue::Bool(v) => ("bool", v.iter().map(bool::to_string).collect()),
        };
        let _ = write!(out, "    | name:\"{}\" value_{type_name}:", f.name);
        if values.len() == 1 {
            out.push_str(&values[0]);
        } else {
            let _ = write!(out, "[{}]", values.join(","));
        }
        if !f.representation.is_empty() {
            let _ = write!(out, " repr:\"{}\"", f.representation);
        }
        out.push('\n');
    }
    out.push('\n');
}

impl Encoder for RstEncoder {
    fn encode(&mut self, pack: &PackRef, out: &mut Vec<u8>) -> Result<Encoded, PluginError> {
        let mut s = String::new();
        render(&pack.message, &mut s);
        out.extend_from_slice(s.as_bytes());
        Ok(Encoded::Output)
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let _: RstEncoderConfig = cx.config()?;
    Ok(Built::Encoder(Arc::new(RstEncoder)))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "RstEncoder",
    category: Category::Encoder,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Field;

    #[test]
    fn renders_headers_and_fields_like_heka() {
        let mut m = Message {
            uuid: vec![0; 16],
            timestamp: 1392050801000000000,
            msg_type: b"TEST".to_vec(),
            payload: b"hi".to_vec(),
            ..Default::default()
        };
        m.add_field(Field::string("foo", "bar"));
        m.add_field(Field::new("n", FieldValue::Integer(vec![1, 2])));
        m.add_field(Field::double("d", 99.9).with_representation("ms"));
        m.add_field(Field::new("b", FieldValue::Bytes(vec![b"data".to_vec()])));
        let mut s = String::new();
        render(&m, &mut s);
        let expected = "\n:Timestamp: 2014-02-10 16:46:41 +0000 UTC\n:Type: TEST\n:Hostname: \n:Pid: 0\n\
            :Uuid: 00000000-0000-0000-0000-000000000000\n:Logger: \n:Payload: hi\n:EnvVersion: \n:Severity: 7\n\
            :Fields:\n    | name:\"foo\" value_string:\"bar\"\n    | name:\"n\" value_integer:[1,2]\n\
            \x20   | name:\"d\" value_double:99.9 repr:\"ms\"\n    | name:\"b\" value_bytes:ZGF0YQ==\n\n";
        assert_eq!(s, expected);
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_float(99.9), "99.9");
        assert_eq!(go_float(100000.0), "100000");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(1.5e-7), "1.5e-07");
        assert_eq!(go_time_string(1_500_000_000), "1970-01-01 00:00:01.5 +0000 UTC");
    }
}
