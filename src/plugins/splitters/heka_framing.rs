//! `HekaFramingSplitter`: records in Heka stream framing
//! (`0x1E | hlen | header | 0x1F | message`), with HMAC authentication of
//! signed records against `[<input>.signer.<name>_<version>] hmac_key`.
//!
//! By default (`use_message_bytes = true`) the message bytes go to the
//! pack's protobuf buffer for ProtobufDecoder. Records whose signer is
//! unknown or whose digest does not match are dropped (and counted).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Category, ConfigError};
use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, Header, Pack, Scan, authenticate, scan_record};
use crate::plugins::registry::{BuildContext, Built, Defaults, PluginSpec};
use crate::plugins::{SignerKeys, Split, Splitter};

/// One `[x.signer.<name>_<version>]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerKeyConfig {
    /// The shared HMAC key.
    pub hmac_key: String,
}

/// Turns `signer` tables into the key lookup.
pub fn signer_keys(tables: &HashMap<String, SignerKeyConfig>) -> SignerKeys {
    tables.iter().map(|(k, v)| (k.clone(), v.hmac_key.as_bytes().to_vec())).collect()
}

/// Options of `HekaFramingSplitter`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HekaFramingSplitterConfig {
    /// Accept signed records without checking them.
    pub skip_authentication: bool,
    /// Signer keys.
    pub signer: HashMap<String, SignerKeyConfig>,
}

/// The splitter.
#[derive(Debug, Clone)]
pub struct HekaFramingSplitter {
    max_message_size: usize,
    skip_authentication: bool,
    keys: Arc<SignerKeys>,
}

impl HekaFramingSplitter {
    /// A splitter accepting messages up to `max_message_size` bytes.
    pub fn new(max_message_size: usize, skip_authentication: bool, keys: SignerKeys) -> Self {
        HekaFramingSplitter { max_message_size, skip_authentication, keys: Arc::new(keys) }
    }
}

impl Default for HekaFramingSplitter {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_SIZE, false, SignerKeys::new())
    }
}

impl Splitter for HekaFramingSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        match scan_record(buf, self.max_message_size) {
            Scan::NeedMore { skip } => Split::NeedMore { skip },
            // Garbage first, so the stream counts it; the record comes next.
            Scan::Record { skipped, .. } if skipped > 0 => Split::NeedMore { skip: skipped },
            Scan::Record { start, end, .. } => Split::Record { consumed: end, record: start..end },
            Scan::TooBig { start, length } => Split::Oversize { consumed: start + 1, size: length },
        }
    }

    fn unframe<'a>(&mut self, record: &'a [u8], pack: &mut Pack) -> Result<&'a [u8], String> {
        let hlen = usize::from(*record.get(1).ok_or("short record")?);
        let header = Header::decode(record.get(2..2 + hlen).ok_or("short header")?)
            .map_err(|e| e.to_string())?;
        let msg = record.get(3 + hlen..).ok_or("short record")?;
        if !self.skip_authentication {
            let signer = authenticate(&header, msg, |k| self.keys.get(k).map(Vec::as_slice))
                .map_err(|e| e.to_string())?;
            pack.signer = signer.map(Arc::from);
        }
        Ok(msg)
    }

    fn use_message_bytes(&self) -> bool {
        true
    }

    fn set_signers(&mut self, keys: Arc<SignerKeys>) {
        let mut merged = (*self.keys).clone();
        merged.extend(keys.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.keys = Arc::new(merged);
    }
}

fn build(cx: &BuildContext<'_>) -> Result<Built, ConfigError> {
    let c: HekaFramingSplitterConfig = cx.config()?;
    Ok(Built::Splitter(Arc::new(HekaFramingSplitter::new(
        cx.hekad.max_message_size,
        c.skip_authentication,
        signer_keys(&c.signer),
    ))))
}

/// Registry entry.
pub const SPEC: PluginSpec = PluginSpec {
    type_name: "HekaFramingSplitter",
    category: Category::Splitter,
    build,
    defaults: Defaults::NONE,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{HmacHashFunction, PackMut, Signer, write_framed};

    fn framed(msg: &[u8], signer: Option<&Signer>) -> Vec<u8> {
        let mut v = Vec::new();
        write_framed(msg, signer, 1024, &mut v).unwrap();
        v
    }

    #[test]
    fn finds_records_and_unframes_message_bytes() {
        let mut s = HekaFramingSplitter::new(1024, false, SignerKeys::new());
        let mut buf = b"junk".to_vec();
        buf.extend(framed(b"first", None));
        // The garbage in front is reported first, so the stream counts it.
        let Split::NeedMore { skip } = s.find_record(&buf) else { panic!() };
        assert_eq!(skip, 4);
        let rest = &buf[skip..];
        let Split::Record { consumed, record } = s.find_record(rest) else { panic!() };
        assert_eq!(skip + consumed, buf.len());
        let mut pack = PackMut::standalone();
        assert_eq!(s.unframe(&rest[record], &mut pack).unwrap(), b"first");
        assert!(pack.signer.is_none());
    }

    #[test]
    fn signed_records_need_the_right_key() {
        let signer = Signer {
            name: "ops".into(),
            version: 0,
            hash: HmacHashFunction::Sha1,
            key: b"k".to_vec(),
        };
        let rec = framed(b"m", Some(&signer));
        let mut keys = SignerKeys::new();
        keys.insert("ops_0".into(), b"k".to_vec());
        let mut good = HekaFramingSplitter::new(1024, false, keys);
        let mut pack = PackMut::standalone();
        assert_eq!(good.unframe(&rec, &mut pack).unwrap(), b"m");
        assert_eq!(pack.signer.as_deref(), Some("ops"));
        let mut none = HekaFramingSplitter::new(1024, false, SignerKeys::new());
        assert!(none.unframe(&rec, &mut PackMut::standalone()).is_err());
        let mut skip = HekaFramingSplitter::new(1024, true, SignerKeys::new());
        assert!(skip.unframe(&rec, &mut PackMut::standalone()).is_ok());
    }

    #[test]
    fn oversize_announcements_are_reported() {
        let mut big = Vec::new();
        write_framed(&[0u8; 2000], None, 4096, &mut big).unwrap();
        let mut s = HekaFramingSplitter::new(1024, false, SignerKeys::new());
        assert_eq!(s.find_record(&big), Split::Oversize { consumed: 1, size: 2000 });
    }
}
