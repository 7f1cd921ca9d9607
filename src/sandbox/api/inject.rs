//! `inject_message(table|string)` and the emit half of `inject_payload`,
//! with Heka's per-kind rules (§4.2):
//!
//! - Filter: at most `max_process_inject`/`max_timer_inject` injections per
//!   call (`exceeded InjectMessage count`); Type gets the `heka.sandbox.`
//!   prefix, Logger is the plugin name, Hostname the configured host name.
//!   Payload injections are Type `heka.sandbox-output` with the fields
//!   `payload_type` (representation `file-extension`) and `payload_name`.
//! - Input: missing Logger/Hostname become the plugin and host names.
//! - Decoder: the first injection replaces the original pack's message, later
//!   ones take new packs; headers an injected message lacks (Timestamp, Type,
//!   Hostname, Logger, Severity, Pid) come from the original, a missing
//!   Uuid is a new random one. `tz` re-interprets timestamps.
//! - Encoder: the injected bytes become the encoder's output.
//!
//! Every injected message must encode within `output_limit` (its encoded
//! size is computed, not encoded). Packs leave without protobuf bytes: the
//! outputs that need them (ProtobufEncoder) encode once.

use mlua::{Lua, MultiValue, Value};

use super::super::config::SandboxKind;
use super::super::context::{Context, Current, Shared, borrow};
use super::super::guard::lua_error;
use super::super::limits::OUTPUT_LIMIT_EXCEEDED;
use super::table::{Filled, fill_message};
use crate::message::encoded_len;
use crate::message::{
    DEFAULT_SEVERITY, Field, Message, PackMut, decode_into, encode_into, time, uuid,
};

const TYPE_PREFIX: &[u8] = b"heka.sandbox.";

/// `inject_message(table|string)`.
pub(crate) fn inject_message(lua: &Lua, ctx: &Shared, args: MultiValue) -> mlua::Result<()> {
    let arg = match (args.len(), args.front()) {
        (1, Some(v @ (Value::Table(_) | Value::String(_)))) => v.clone(),
        _ => {
            return Err(lua_error(lua, "inject_message() takes a single table or string argument"));
        }
    };
    let mut c = borrow(lua, ctx)?;
    let c = &mut *c;
    take_inject_slot(lua, c)?;
    match c.kind {
        SandboxKind::Encoder => {
            let mut m = std::mem::take(&mut c.build);
            let r = build(lua, c, &arg, &mut m).and_then(|filled| {
                set_defaults(&mut m, filled);
                check_size(lua, c, &m)?;
                c.encoder.output.clear();
                match &arg {
                    Value::String(s) => c.encoder.output.extend_from_slice(&s.as_bytes()),
                    _ => encode_into(&m, &mut c.encoder.output),
                }
                c.encoder.injected = true;
                Ok(())
            });
            c.build = m;
            r
        }
        SandboxKind::Decoder => decoder_inject(lua, c, &arg),
        SandboxKind::Filter | SandboxKind::Input => {
            let mut pack = c.host.new_pack().map_err(|e| lua_error(lua, e))?;
            adopt_spares(&mut c.spare_fields, &mut pack);
            let filled = build(lua, c, &arg, &mut pack.message)?;
            let m = &mut pack.message;
            set_defaults(m, filled);
            if c.kind == SandboxKind::Filter {
                m.msg_type.splice(0..0, TYPE_PREFIX.iter().copied());
                replace(&mut m.logger, c.name.as_bytes());
                replace(&mut m.hostname, c.hostname.as_bytes());
            } else {
                if m.logger.is_empty() {
                    m.logger.extend_from_slice(c.name.as_bytes());
                }
                if m.hostname.is_empty() {
                    m.hostname.extend_from_slice(c.hostname.as_bytes());
                }
                apply_tz(c, m);
            }
            route(lua, c, pack)
        }
        SandboxKind::Output => Err(lua_error(lua, "inject_message() is not available in outputs")),
    }
}

/// Emits and clears the payload buffer (`inject_payload`); nothing happens
/// when the buffer is empty.
pub(crate) fn inject_payload_buffer(
    lua: &Lua,
    ctx: &Shared,
    payload_type: &str,
    payload_name: &str,
) -> mlua::Result<()> {
    let mut c = borrow(lua, ctx)?;
    let c = &mut *c;
    if c.payload.is_empty() {
        return Ok(());
    }
    take_inject_slot(lua, c)?;
    // The payload buffer becomes `m`'s payload, with Heka's two fields.
    let fill = |m: &mut Message, payload: &mut Vec<u8>| {
        std::mem::swap(&mut m.payload, payload);
        payload.clear();
        m.fields.push(
            Field::string("payload_type", payload_type).with_representation("file-extension"),
        );
        m.fields.push(Field::string("payload_name", payload_name));
    };
    match c.kind {
        SandboxKind::Encoder => {
            std::mem::swap(&mut c.encoder.output, &mut c.payload);
            c.payload.clear();
            c.encoder.injected = true;
            Ok(())
        }
        SandboxKind::Decoder => {
            let first = !c.decoder.original_used;
            if first && let Current::Owned(pack) = &mut c.current {
                c.decoder.headers.save(&pack.message);
                c.decoder.original_used = true;
                fill(&mut pack.message, &mut c.payload);
                pack.invalidate_bytes();
                c.inject_count += 1;
                return Ok(());
            }
            if first {
                save_original(c);
            }
            let mut pack = c.host.new_pack().map_err(|e| lua_error(lua, e))?;
            let m = &mut pack.message;
            m.severity = None;
            fill(m, &mut c.payload);
            c.decoder.headers.fill(m, false);
            c.decoder.extra.push(pack);
            c.inject_count += 1;
            Ok(())
        }
        SandboxKind::Filter => {
            let mut pack = c.host.new_pack().map_err(|e| lua_error(lua, e))?;
            let m = &mut pack.message;
            m.uuid.clear();
            m.uuid.extend_from_slice(&uuid::new_v4());
            m.timestamp = time::now_ns();
            replace(&mut m.msg_type, b"heka.sandbox-output");
            replace(&mut m.logger, c.name.as_bytes());
            replace(&mut m.hostname, c.hostname.as_bytes());
            m.severity = Some(DEFAULT_SEVERITY);
            m.pid = Some(c.pid);
            fill(m, &mut c.payload);
            route(lua, c, pack)
        }
        SandboxKind::Input | SandboxKind::Output => {
            Err(lua_error(lua, "inject_payload() is not available in this sandbox kind"))
        }
    }
}

/// Counts an injection against the filter caps.
fn take_inject_slot(lua: &Lua, c: &mut Context) -> mlua::Result<()> {
    if let Some(left) = c.inject_left {
        if left == 0 {
            return Err(lua_error(lua, "exceeded InjectMessage count"));
        }
        c.inject_left = Some(left - 1);
    }
    Ok(())
}

/// Fills `m` from a table or a protobuf string.
fn build(lua: &Lua, c: &mut Context, arg: &Value, m: &mut Message) -> mlua::Result<Filled> {
    recycle_fields(c, &mut m.fields);
    m.clear();
    m.severity = None;
    match arg {
        Value::Table(t) => {
            fill_message(lua, &c.extensions, &mut c.names, &mut c.spare_fields, t, m)
        }
        Value::String(s) => {
            decode_into(&s.as_bytes(), m).map_err(|e| {
                lua_error(lua, format!("inject_message() protobuf unmarshal failed: {e}"))
            })?;
            Ok(Filled { timestamp: true })
        }
        _ => Err(lua_error(lua, "inject_message() takes a table or a string")),
    }
}

/// Spare field objects kept for refilling (bounded).
const MAX_SPARE_FIELDS: usize = 256;

/// Keeps `fields` (emptied) as spares for the next injections.
fn recycle_fields(c: &mut Context, fields: &mut Vec<Field>) {
    let room = MAX_SPARE_FIELDS.saturating_sub(c.spare_fields.len());
    let keep = fields.len().min(room);
    c.spare_fields.extend(fields.drain(..keep));
    fields.clear();
}

/// Takes a pack's spare fields (see `Pack::clear`) for refilling.
fn adopt_spares(spares: &mut Vec<Field>, pack: &mut PackMut) {
    if spares.len() < MAX_SPARE_FIELDS {
        pack.take_spare_fields(spares);
    }
}

/// Uuid, Timestamp and Severity for messages with no original to copy from.
fn set_defaults(m: &mut Message, filled: Filled) {
    if m.uuid.len() != 16 {
        m.uuid.clear();
        m.uuid.extend_from_slice(&uuid::new_v4());
    }
    if !filled.timestamp {
        m.timestamp = time::now_ns();
    }
    if m.severity.is_none() {
        m.severity = Some(DEFAULT_SEVERITY);
    }
}

fn replace(dst: &mut Vec<u8>, src: &[u8]) {
    dst.clear();
    dst.extend_from_slice(src);
}

fn check_size(lua: &Lua, c: &mut Context, m: &Message) -> mlua::Result<usize> {
    let len = encoded_len(m);
    if c.output_limit > 0 && len > c.output_limit {
        return Err(lua_error(lua, OUTPUT_LIMIT_EXCEEDED));
    }
    c.note_output(len);
    Ok(len)
}

/// Size check, encoding, and hand-over to the host (filters, inputs).
fn route(lua: &Lua, c: &mut Context, mut pack: PackMut) -> mlua::Result<()> {
    check_size(lua, c, &pack.message)?;
    pack.invalidate_bytes();
    pack.loop_count = c.loop_count;
    c.host.inject(pack).map_err(|e| lua_error(lua, e))?;
    c.inject_count += 1;
    Ok(())
}

fn save_original(c: &mut Context) {
    let Context { current, decoder, .. } = c;
    match current.message() {
        Some(m) => decoder.headers.save(m),
        None => decoder.headers.save(&Message::default()),
    }
    decoder.original_used = true;
}

/// The decoder's injection of `arg`: into the original pack the first
/// time, into a new pack after that.
fn decoder_inject(lua: &Lua, c: &mut Context, arg: &Value) -> mlua::Result<()> {
    let first = !c.decoder.original_used;
    if first && let Current::Owned(pack) = &mut c.current {
        adopt_spares(&mut c.spare_fields, pack);
        // Build aside, then swap in: a failure leaves the original intact.
        let mut b = std::mem::take(&mut c.build);
        let r = build(lua, c, arg, &mut b).and_then(|filled| {
            if let Some(orig) = c.current.message() {
                c.decoder.headers.save(orig);
            }
            c.decoder.headers.fill(&mut b, filled.timestamp);
            apply_tz(c, &mut b);
            check_size(lua, c, &b)
        });
        if r.is_ok()
            && let Current::Owned(pack) = &mut c.current
        {
            std::mem::swap(&mut pack.message, &mut b);
            pack.invalidate_bytes();
            c.decoder.original_used = true;
            c.inject_count += 1;
        }
        c.build = b;
        return r.map(|_| ());
    }
    if first {
        save_original(c);
    }
    let mut pack = c.host.new_pack().map_err(|e| lua_error(lua, e))?;
    adopt_spares(&mut c.spare_fields, &mut pack);
    let filled = build(lua, c, arg, &mut pack.message)?;
    c.decoder.headers.fill(&mut pack.message, filled.timestamp);
    apply_tz(c, &mut pack.message);
    check_size(lua, c, &pack.message)?;
    pack.invalidate_bytes();
    c.decoder.extra.push(pack);
    c.inject_count += 1;
    Ok(())
}

/// Re-interprets the timestamp (and a DOUBLE `timegenerated` field) as
/// wall-clock time in the configured zone, as Heka's `tz` option did.
fn apply_tz(c: &Context, m: &mut Message) {
    let Some(tz) = &c.tz else { return };
    let convert = |ns: i64| -> i64 {
        let Ok(ts) = jiff::Timestamp::from_nanosecond(i128::from(ns)) else { return ns };
        let civil = jiff::tz::TimeZone::UTC.to_datetime(ts);
        match tz.to_timestamp(civil) {
            Ok(t) => i64::try_from(t.as_nanosecond()).unwrap_or(ns),
            Err(_) => ns,
        }
    };
    m.timestamp = convert(m.timestamp);
    if let Some(f) = m.fields.iter_mut().find(|f| f.name == "timegenerated")
        && let crate::message::FieldValue::Double(v) = &mut f.value
        && let Some(first) = v.first_mut()
    {
        *first = convert(*first as i64) as f64;
    }
}
