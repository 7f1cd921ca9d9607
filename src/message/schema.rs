//! Heka's `Message` and `Field` (reference §1.1–1.2) as plain Rust data.
//!
//! Header strings and string field values are byte strings, as they are in
//! Heka's Go code and in Lua: a log line that is not valid UTF-8 passes through
//! untouched, and nothing is lost converting it.

use super::uuid;

/// Syslog severity given to new messages, as Heka does (7 = debug).
pub const DEFAULT_SEVERITY: i32 = 7;

/// Protobuf `ValueType` of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `STRING = 0`
    String = 0,
    /// `BYTES = 1`
    Bytes = 1,
    /// `INTEGER = 2`
    Integer = 2,
    /// `DOUBLE = 3`
    Double = 3,
    /// `BOOL = 4`
    Bool = 4,
}

impl ValueType {
    /// The enum for a wire number; unknown numbers are `None`.
    pub fn from_i32(n: i64) -> Option<Self> {
        Some(match n {
            0 => ValueType::String,
            1 => ValueType::Bytes,
            2 => ValueType::Integer,
            3 => ValueType::Double,
            4 => ValueType::Bool,
            _ => return None,
        })
    }

    /// Heka's upper-case name (`STRING`, `BYTES`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "STRING",
            ValueType::Bytes => "BYTES",
            ValueType::Integer => "INTEGER",
            ValueType::Double => "DOUBLE",
            ValueType::Bool => "BOOL",
        }
    }
}

/// The values of one field: an array of one type, usually of length one.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// `value_string`
    String(Vec<Vec<u8>>),
    /// `value_bytes`
    Bytes(Vec<Vec<u8>>),
    /// `value_integer`
    Integer(Vec<i64>),
    /// `value_double`
    Double(Vec<f64>),
    /// `value_bool`
    Bool(Vec<bool>),
}

impl FieldValue {
    /// The protobuf value type of this array.
    pub fn value_type(&self) -> ValueType {
        match self {
            FieldValue::String(_) => ValueType::String,
            FieldValue::Bytes(_) => ValueType::Bytes,
            FieldValue::Integer(_) => ValueType::Integer,
            FieldValue::Double(_) => ValueType::Double,
            FieldValue::Bool(_) => ValueType::Bool,
        }
    }

    /// Number of values in the array.
    pub fn len(&self) -> usize {
        match self {
            FieldValue::String(v) | FieldValue::Bytes(v) => v.len(),
            FieldValue::Integer(v) => v.len(),
            FieldValue::Double(v) => v.len(),
            FieldValue::Bool(v) => v.len(),
        }
    }

    /// True when the array holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty array of the given type.
    pub fn empty(vt: ValueType) -> Self {
        match vt {
            ValueType::String => FieldValue::String(Vec::new()),
            ValueType::Bytes => FieldValue::Bytes(Vec::new()),
            ValueType::Integer => FieldValue::Integer(Vec::new()),
            ValueType::Double => FieldValue::Double(Vec::new()),
            ValueType::Bool => FieldValue::Bool(Vec::new()),
        }
    }

    /// Element `i` as a borrowed scalar.
    pub fn get(&self, i: usize) -> Option<Scalar<'_>> {
        match self {
            FieldValue::String(v) => v.get(i).map(|s| Scalar::String(s)),
            FieldValue::Bytes(v) => v.get(i).map(|s| Scalar::Bytes(s)),
            FieldValue::Integer(v) => v.get(i).map(|n| Scalar::Integer(*n)),
            FieldValue::Double(v) => v.get(i).map(|n| Scalar::Double(*n)),
            FieldValue::Bool(v) => v.get(i).map(|b| Scalar::Bool(*b)),
        }
    }
}

/// One value of a field, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    /// A string value (any bytes).
    String(&'a [u8]),
    /// A bytes value.
    Bytes(&'a [u8]),
    /// An integer value.
    Integer(i64),
    /// A double value.
    Double(f64),
    /// A boolean value.
    Bool(bool),
}

/// A named, typed field of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name; several fields may share one.
    pub name: String,
    /// Free-form unit or format hint ("B", "ms", "date-time", ...).
    pub representation: String,
    /// The values.
    pub value: FieldValue,
}

impl Field {
    /// A field with no representation.
    pub fn new(name: impl Into<String>, value: FieldValue) -> Self {
        Field { name: name.into(), representation: String::new(), value }
    }

    /// A single string value.
    pub fn string(name: impl Into<String>, v: impl Into<Vec<u8>>) -> Self {
        Self::new(name, FieldValue::String(vec![v.into()]))
    }

    /// A single integer value.
    pub fn integer(name: impl Into<String>, v: i64) -> Self {
        Self::new(name, FieldValue::Integer(vec![v]))
    }

    /// A single double value.
    pub fn double(name: impl Into<String>, v: f64) -> Self {
        Self::new(name, FieldValue::Double(vec![v]))
    }

    /// A single boolean value.
    pub fn bool(name: impl Into<String>, v: bool) -> Self {
        Self::new(name, FieldValue::Bool(vec![v]))
    }

    /// Sets the representation, builder style.
    pub fn with_representation(mut self, rep: impl Into<String>) -> Self {
        self.representation = rep.into();
        self
    }
}

/// A Heka message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// 16 raw bytes (type-4 UUID); other lengths are kept as received.
    pub uuid: Vec<u8>,
    /// Nanoseconds since the UNIX epoch.
    pub timestamp: i64,
    /// Message type.
    pub msg_type: Vec<u8>,
    /// Data source, e.g. the input or stream name.
    pub logger: Vec<u8>,
    /// Syslog severity; `None` when the encoded message had none.
    pub severity: Option<i32>,
    /// Payload (any bytes).
    pub payload: Vec<u8>,
    /// Envelope version.
    pub env_version: Vec<u8>,
    /// Process id of the producer.
    pub pid: Option<i32>,
    /// Host name of the producer.
    pub hostname: Vec<u8>,
    /// Fields in order; names may repeat.
    pub fields: Vec<Field>,
}

impl Default for Message {
    fn default() -> Self {
        Message {
            uuid: Vec::new(),
            timestamp: 0,
            msg_type: Vec::new(),
            logger: Vec::new(),
            severity: Some(DEFAULT_SEVERITY),
            payload: Vec::new(),
            env_version: Vec::new(),
            pid: None,
            hostname: Vec::new(),
            fields: Vec::new(),
        }
    }
}

impl Message {
    /// A new message with a random UUID, the current time and severity 7.
    pub fn new() -> Self {
        let mut m = Message::default();
        m.stamp_new();
        m
    }

    /// Gives the message a fresh random UUID and the current time.
    pub fn stamp_new(&mut self) {
        self.uuid.clear();
        self.uuid.extend_from_slice(&uuid::new_v4());
        self.timestamp = super::time::now_ns();
    }

    /// Empties the message but keeps its allocations (for pack recycling).
    /// Severity returns to the default 7.
    pub fn clear(&mut self) {
        self.uuid.clear();
        self.timestamp = 0;
        self.msg_type.clear();
        self.logger.clear();
        self.severity = Some(DEFAULT_SEVERITY);
        self.payload.clear();
        self.env_version.clear();
        self.pid = None;
        self.hostname.clear();
        self.fields.clear();
    }

    /// The UUID in `8-4-4-4-12` form, or "" if it is not 16 bytes long.
    pub fn uuid_string(&self) -> String {
        uuid::format(&self.uuid)
    }

    /// The first field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The `index`-th field called `name` (0-based over same-name fields).
    pub fn field_nth(&self, name: &str, index: usize) -> Option<&Field> {
        self.fields.iter().filter(|f| f.name == name).nth(index)
    }

    /// Mutable access to the `index`-th field called `name`.
    pub fn field_nth_mut(&mut self, name: &str, index: usize) -> Option<&mut Field> {
        self.fields.iter_mut().filter(|f| f.name == name).nth(index)
    }

    /// Value `ai` of the `fi`-th field called `name` (Heka's `GetFieldValue`).
    pub fn field_value(&self, name: &str, fi: usize, ai: usize) -> Option<Scalar<'_>> {
        self.field_nth(name, fi)?.value.get(ai)
    }

    /// Severity, with an absent value read as the protobuf default 7.
    pub fn severity(&self) -> i32 {
        self.severity.unwrap_or(DEFAULT_SEVERITY)
    }

    /// Appends a field.
    pub fn add_field(&mut self, field: Field) {
        self.fields.push(field);
    }

    /// Type as text (lossy for invalid UTF-8).
    pub fn type_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.msg_type)
    }

    /// Logger as text (lossy for invalid UTF-8).
    pub fn logger_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.logger)
    }

    /// Payload as text (lossy for invalid UTF-8).
    pub fn payload_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.payload)
    }

    /// Hostname as text (lossy for invalid UTF-8).
    pub fn hostname_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.hostname)
    }

    /// Env version as text (lossy for invalid UTF-8).
    pub fn env_version_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.env_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_message_has_uuid_time_and_severity() {
        let m = Message::new();
        assert_eq!(m.uuid.len(), 16);
        assert_eq!(m.uuid[6] >> 4, 4, "version nibble");
        assert!(m.timestamp > 1_600_000_000_000_000_000);
        assert_eq!(m.severity, Some(7));
        assert_eq!(m.uuid_string().len(), 36);
    }

    #[test]
    fn field_lookup_by_name_and_index() {
        let mut m = Message::default();
        m.add_field(Field::string("foo", "bar"));
        m.add_field(Field::new("int", FieldValue::Integer(vec![999, 1024])));
        m.add_field(Field::string("foo", "alternate"));
        assert_eq!(m.field_value("foo", 0, 0), Some(Scalar::String(b"bar")));
        assert_eq!(m.field_value("foo", 1, 0), Some(Scalar::String(b"alternate")));
        assert_eq!(m.field_value("int", 0, 1), Some(Scalar::Integer(1024)));
        assert_eq!(m.field_value("int", 0, 2), None);
        assert_eq!(m.field_value("missing", 0, 0), None);
    }

    #[test]
    fn clear_keeps_capacity() {
        let mut m = Message::new();
        m.payload.extend_from_slice(&[b'x'; 1000]);
        let cap = m.payload.capacity();
        m.clear();
        assert!(m.payload.is_empty());
        assert_eq!(m.payload.capacity(), cap);
        assert_eq!(m.severity, Some(7));
    }
}
