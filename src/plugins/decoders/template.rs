//! Heka's message templates (`[x.message_fields]`): header names set
//! headers, other keys (`Name` or `Name|representation`) add string fields,
//! and values may interpolate `%capture%` names.

use std::collections::BTreeMap;

use crate::message::{Field, Message, uuid};

/// Looks up a capture by name.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<&'a str>;

/// A parsed `message_fields` table.
#[derive(Debug, Clone, Default)]
pub struct MessageTemplate {
    entries: Vec<(Target, String)>,
}

#[derive(Debug, Clone)]
enum Target {
    Logger,
    Type,
    Payload,
    Hostname,
    EnvVersion,
    Pid,
    Severity,
    Uuid,
    Field { name: String, representation: String },
}

impl MessageTemplate {
    /// Parses the table (keys sorted, so results do not depend on map order).
    pub fn new(fields: &BTreeMap<String, String>) -> Self {
        let entries = fields
            .iter()
            .map(|(k, v)| {
                let target = match k.as_str() {
                    "Logger" => Target::Logger,
                    "Type" => Target::Type,
                    "Payload" => Target::Payload,
                    "Hostname" => Target::Hostname,
                    "EnvVersion" => Target::EnvVersion,
                    "Pid" => Target::Pid,
                    "Severity" => Target::Severity,
                    "Uuid" => Target::Uuid,
                    other => {
                        let (name, rep) = other.split_once('|').unwrap_or((other, ""));
                        Target::Field { name: name.to_string(), representation: rep.to_string() }
                    }
                };
                (target, v.clone())
            })
            .collect();
        MessageTemplate { entries }
    }

    /// Applies the template, interpolating `%name%` from `subs` (unknown
    /// names become `<name>`, as in Heka).
    pub fn populate(&self, msg: &mut Message, subs: Option<Lookup<'_>>) -> Result<(), String> {
        for (target, raw) in &self.entries {
            let val = match subs {
                Some(lookup) => interpolate(raw, lookup),
                None => raw.clone(),
            };
            match target {
                Target::Logger => msg.logger = val.into_bytes(),
                Target::Type => msg.msg_type = val.into_bytes(),
                Target::Payload => msg.payload = val.into_bytes(),
                Target::Hostname => msg.hostname = val.into_bytes(),
                Target::EnvVersion => msg.env_version = val.into_bytes(),
                Target::Pid => {
                    let int_part = val.split('.').next().unwrap_or("");
                    msg.pid = Some(int_part.parse().map_err(|_| format!("invalid Pid '{val}'"))?);
                }
                Target::Severity => {
                    msg.severity =
                        Some(val.parse().map_err(|_| format!("invalid Severity '{val}'"))?);
                }
                Target::Uuid => {
                    let bytes = if val.len() == 16 {
                        val.into_bytes()
                    } else {
                        uuid::parse(&val).ok_or("Invalid UUID string.")?.to_vec()
                    };
                    msg.uuid = bytes;
                }
                Target::Field { name, representation } => {
                    msg.add_field(
                        Field::string(name.clone(), val)
                            .with_representation(representation.clone()),
                    );
                }
            }
        }
        Ok(())
    }
}

/// Replaces each `%word%` with its value from `lookup`.
pub fn interpolate(template: &str, lookup: Lookup<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let word_len =
            after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        if word_len > 0 && after[word_len..].starts_with('%') {
            let name = &after[..word_len];
            match lookup(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push('<');
                    out.push_str(name);
                    out.push('>');
                }
            }
            rest = &after[word_len + 1..];
        } else {
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Scalar;

    #[test]
    fn interpolates_known_and_marks_unknown() {
        let lookup = |k: &str| (k == "Host").then_some("web1");
        assert_eq!(interpolate("at %Host% by %Who% 100%", &lookup), "at web1 by <Who> 100%");
    }

    #[test]
    fn populates_headers_and_fields() {
        let mut t = BTreeMap::new();
        t.insert("Type".to_string(), "access".to_string());
        t.insert("Severity".to_string(), "%sev%".to_string());
        t.insert("status|count".to_string(), "%code%".to_string());
        let tpl = MessageTemplate::new(&t);
        let mut m = Message::default();
        let subs = |k: &str| match k {
            "sev" => Some("3"),
            "code" => Some("404"),
            _ => None,
        };
        tpl.populate(&mut m, Some(&subs)).unwrap();
        assert_eq!(m.msg_type, b"access");
        assert_eq!(m.severity, Some(3));
        let f = m.field("status").unwrap();
        assert_eq!(f.representation, "count");
        assert_eq!(f.value.get(0), Some(Scalar::String(b"404")));
        let bad = |_: &str| Some("x");
        assert!(tpl.populate(&mut Message::default(), Some(&bad)).is_err());
    }
}
