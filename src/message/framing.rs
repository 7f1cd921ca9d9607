//! Heka stream framing (reference §1.3–1.4):
//! `0x1E | hlen | Header protobuf | 0x1F | message protobuf`, with optional
//! HMAC signing of the message bytes.
//!
//! Used by TcpInput/TcpOutput, FileOutput with `use_framing`, the
//! HekaFramingSplitter, the disk queue and `sandpiper cat`.

use hmac::{Hmac, KeyInit, Mac};

use super::codec::{DecodeError, Reader, WireValue, put_bytes, put_key, put_varint};

/// Record separator: first byte of every framed record.
pub const RECORD_SEPARATOR: u8 = 0x1E;
/// Unit separator: between header and message.
pub const UNIT_SEPARATOR: u8 = 0x1F;
/// RS + length byte + US.
pub const HEADER_FRAMING_SIZE: usize = 3;
/// A header must fit in one length byte.
pub const MAX_HEADER_SIZE: usize = 255;
/// Default `[hekad] max_message_size`, in bytes.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Largest framed record for a given maximum message size.
pub fn max_record_size(max_message_size: usize) -> usize {
    HEADER_FRAMING_SIZE + MAX_HEADER_SIZE + max_message_size
}

/// HMAC hash function named in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HmacHashFunction {
    /// `MD5 = 0` (Heka's default).
    #[default]
    Md5,
    /// `SHA1 = 1`.
    Sha1,
}

impl HmacHashFunction {
    /// `"sha1"` (any case) selects SHA1; anything else MD5, as in Heka.
    pub fn from_name(name: &str) -> Self {
        if name.eq_ignore_ascii_case("sha1") { Self::Sha1 } else { Self::Md5 }
    }
}

/// The framing header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// Length of the message that follows.
    pub message_length: u32,
    /// Hash function of `hmac`.
    pub hmac_hash_function: Option<HmacHashFunction>,
    /// Signer name.
    pub hmac_signer: Option<String>,
    /// Signer key version.
    pub hmac_key_version: Option<u32>,
    /// HMAC of the message bytes.
    pub hmac: Option<Vec<u8>>,
}

impl Header {
    /// Encodes the header protobuf.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_key(out, 1, 0);
        put_varint(out, u64::from(self.message_length));
        if let Some(f) = self.hmac_hash_function {
            put_key(out, 3, 0);
            put_varint(out, f as u64);
        }
        if let Some(s) = &self.hmac_signer {
            put_bytes(out, 4, s.as_bytes());
        }
        if let Some(v) = self.hmac_key_version {
            put_key(out, 5, 0);
            put_varint(out, u64::from(v));
        }
        if let Some(h) = &self.hmac {
            put_bytes(out, 6, h);
        }
    }

    /// Decodes a header protobuf; `message_length` is required.
    pub fn decode(buf: &[u8]) -> Result<Header, DecodeError> {
        let mut r = Reader::new(buf);
        let mut h = Header::default();
        let mut has_len = false;
        while !r.is_done() {
            match r.next_field()? {
                (1, WireValue::Varint(n)) => {
                    h.message_length = n as u32;
                    has_len = true;
                }
                (3, WireValue::Varint(n)) => {
                    h.hmac_hash_function =
                        Some(if n == 1 { HmacHashFunction::Sha1 } else { HmacHashFunction::Md5 })
                }
                (4, WireValue::Bytes(b)) => {
                    h.hmac_signer = Some(String::from_utf8_lossy(b).into_owned())
                }
                (5, WireValue::Varint(n)) => h.hmac_key_version = Some(n as u32),
                (6, WireValue::Bytes(b)) => h.hmac = Some(b.to_vec()),
                _ => {}
            }
        }
        if !has_len {
            return Err(DecodeError::MissingRequired("message_length"));
        }
        Ok(h)
    }
}

/// A signing identity (`[signer]` in heka-sbmgr / heka-flood configs,
/// `message_signer` on outputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// Signer name.
    pub name: String,
    /// Key version.
    pub version: u32,
    /// Hash function.
    pub hash: HmacHashFunction,
    /// Shared key.
    pub key: Vec<u8>,
}

/// Computes the HMAC of `data` with `hash` and `key`.
pub fn hmac_digest(hash: HmacHashFunction, key: &[u8], data: &[u8]) -> Vec<u8> {
    match hash {
        HmacHashFunction::Md5 => digest::<Hmac<md5::Md5>>(key, data),
        HmacHashFunction::Sha1 => digest::<Hmac<sha1::Sha1>>(key, data),
    }
}

fn digest<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time comparison of two digests.
pub fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a message could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The message exceeds `max_message_size`.
    #[error("Message too big: {size} bytes (max {max})")]
    TooBig {
        /// Message size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The header (with signer data) exceeds 255 bytes.
    #[error("header too big: {0} bytes")]
    HeaderTooBig(usize),
}

/// Appends the framed record for `msg_bytes` to `out`, signing it when a
/// signer is given.
pub fn write_framed(
    msg_bytes: &[u8],
    signer: Option<&Signer>,
    max_message_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    if msg_bytes.len() > max_message_size {
        return Err(FrameError::TooBig { size: msg_bytes.len(), max: max_message_size });
    }
    let mut header = Header { message_length: msg_bytes.len() as u32, ..Header::default() };
    if let Some(s) = signer {
        header.hmac_signer = Some(s.name.clone());
        header.hmac_key_version = Some(s.version);
        header.hmac_hash_function = Some(s.hash);
        header.hmac = Some(hmac_digest(s.hash, &s.key, msg_bytes));
    }
    let start = out.len();
    out.push(RECORD_SEPARATOR);
    out.push(0);
    header.encode_into(out);
    let hlen = out.len() - start - 2;
    if hlen > MAX_HEADER_SIZE {
        out.truncate(start);
        return Err(FrameError::HeaderTooBig(hlen));
    }
    out[start + 1] = hlen as u8;
    out.push(UNIT_SEPARATOR);
    out.extend_from_slice(msg_bytes);
    Ok(())
}

/// Result of scanning a buffer for one framed record.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// Not enough bytes yet; `skip` leading bytes are garbage and can go.
    NeedMore {
        /// Bytes before the next record separator.
        skip: usize,
    },
    /// A complete record. `start..end` is the whole record (from RS),
    /// `msg_start..end` the message bytes.
    Record {
        /// Garbage bytes skipped before this record.
        skipped: usize,
        /// Offset of the RS byte.
        start: usize,
        /// Offset of the first message byte.
        msg_start: usize,
        /// One past the last message byte.
        end: usize,
        /// The decoded header.
        header: Header,
    },
    /// A record whose header announces a message over the limit; the caller
    /// drops `start..start + 1` (resynchronises) and reports it.
    TooBig {
        /// Offset of the RS byte.
        start: usize,
        /// Announced length.
        length: usize,
    },
}

/// Finds the next framed record in `buf` (Heka's HekaFramingSplitter rules):
/// garbage before `0x1E` is skipped; an undecodable header makes the scan
/// resume one byte after that `0x1E`.
pub fn scan_record(buf: &[u8], max_message_size: usize) -> Scan {
    let mut from = 0;
    loop {
        let Some(rel) = memchr::memchr(RECORD_SEPARATOR, &buf[from..]) else {
            return Scan::NeedMore { skip: buf.len() };
        };
        let start = from + rel;
        let Some(&hlen) = buf.get(start + 1) else {
            return Scan::NeedMore { skip: start };
        };
        let hlen = usize::from(hlen);
        let header_end = start + 2 + hlen;
        if buf.len() <= header_end {
            return Scan::NeedMore { skip: start };
        }
        let header = if buf[header_end] == UNIT_SEPARATOR {
            Header::decode(&buf[start + 2..header_end]).ok()
        } else {
            None
        };
        let Some(header) = header else {
            from = start + 1;
            continue;
        };
        let length = header.message_length as usize;
        if length > max_message_size {
            return Scan::TooBig { start, length };
        }
        let msg_start = header_end + 1;
        let end = msg_start + length;
        if buf.len() < end {
            return Scan::NeedMore { skip: start };
        }
        return Scan::Record { skipped: start, start, msg_start, end, header };
    }
}

/// Checks a record's signature against a lookup of `"<signer>_<version>"`
/// keys. `Ok(None)`: unsigned. `Ok(Some(name))`: valid signature by `name`.
/// `Err`: unknown signer or wrong digest (the record must be dropped).
pub fn authenticate<'k>(
    header: &Header,
    msg_bytes: &[u8],
    key_for: impl Fn(&str) -> Option<&'k [u8]>,
) -> Result<Option<String>, AuthError> {
    let Some(signer) = &header.hmac_signer else {
        return Ok(None);
    };
    let lookup = format!("{}_{}", signer, header.hmac_key_version.unwrap_or(0));
    let key = key_for(&lookup).ok_or_else(|| AuthError::UnknownSigner(lookup.clone()))?;
    let hash = header.hmac_hash_function.unwrap_or_default();
    let expected = hmac_digest(hash, key, msg_bytes);
    match &header.hmac {
        Some(got) if digest_eq(got, &expected) => Ok(Some(signer.clone())),
        _ => Err(AuthError::BadDigest(lookup)),
    }
}

/// Why a signed record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No key configured for `<signer>_<version>`.
    #[error("unknown signer '{0}'")]
    UnknownSigner(String),
    /// The HMAC does not match.
    #[error("HMAC mismatch for signer '{0}'")]
    BadDigest(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_header_matches_heka_bytes() {
        // multi.dat: 1E 03 08 D0 01 1F for a 208-byte message.
        let msg = vec![0u8; 208];
        let mut out = Vec::new();
        write_framed(&msg, None, DEFAULT_MAX_MESSAGE_SIZE, &mut out).unwrap();
        assert_eq!(&out[..6], &[0x1E, 0x03, 0x08, 0xD0, 0x01, 0x1F]);
        assert_eq!(out.len(), 6 + 208);
    }

    #[test]
    fn scan_finds_records_after_garbage_and_at_chunk_boundaries() {
        // A stray RS whose "header" is not followed by US is skipped.
        let mut stream = b"garb\x1e\x01\x02".to_vec();
        let mut r1 = Vec::new();
        write_framed(b"hello", None, 1024, &mut r1).unwrap();
        stream.extend_from_slice(&r1);
        match scan_record(&stream, 1024) {
            Scan::Record { start, msg_start, end, .. } => {
                assert_eq!(start, 7);
                assert_eq!(&stream[msg_start..end], b"hello");
            }
            other => panic!("{other:?}"),
        }
        // Every prefix is "need more" and never skips past the record start.
        for cut in 0..stream.len() {
            match scan_record(&stream[..cut], 1024) {
                Scan::NeedMore { skip } => {
                    assert!(skip <= 7 || skip == cut, "cut {cut} skip {skip}")
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn oversize_record_is_reported() {
        let mut r = Vec::new();
        write_framed(&[1u8; 2000], None, 4096, &mut r).unwrap();
        assert_eq!(scan_record(&r, 1024), Scan::TooBig { start: 0, length: 2000 });
        assert_eq!(
            write_framed(&[1u8; 2000], None, 1024, &mut Vec::new()),
            Err(FrameError::TooBig { size: 2000, max: 1024 })
        );
    }

    #[test]
    fn signed_records_authenticate() {
        for hash in [HmacHashFunction::Md5, HmacHashFunction::Sha1] {
            let signer = Signer { name: "ops".into(), version: 2, hash, key: b"secret".to_vec() };
            let mut r = Vec::new();
            write_framed(b"payload", Some(&signer), 1024, &mut r).unwrap();
            let Scan::Record { header, msg_start, end, .. } = scan_record(&r, 1024) else {
                panic!("no record")
            };
            let msg = &r[msg_start..end];
            let good = |k: &str| (k == "ops_2").then_some(&b"secret"[..]);
            assert_eq!(authenticate(&header, msg, good), Ok(Some("ops".into())));
            let wrong = |k: &str| (k == "ops_2").then_some(&b"other"[..]);
            assert!(matches!(authenticate(&header, msg, wrong), Err(AuthError::BadDigest(_))));
            let none = |_: &str| None;
            assert!(matches!(authenticate(&header, msg, none), Err(AuthError::UnknownSigner(_))));
        }
    }

    #[test]
    fn reads_heka_recorded_multi_dat_if_present() {
        // Heka's recorded fixture is not part of the project: point
        // SANDPIPER_HEKA_CONFORMANCE at a directory holding multi.dat to run this.
        let Some(dir) = std::env::var_os("SANDPIPER_HEKA_CONFORMANCE") else { return };
        let data = std::fs::read(std::path::Path::new(&dir).join("multi.dat")).unwrap();
        let (mut pos, mut n) = (0, 0);
        while let Scan::Record { end, msg_start, .. } =
            scan_record(&data[pos..], DEFAULT_MAX_MESSAGE_SIZE)
        {
            let m = crate::message::decode(&data[pos + msg_start..pos + end]).unwrap();
            assert_eq!(m.type_str(), "heka.httpdata.request");
            pos += end;
            n += 1;
        }
        assert_eq!(n, 50);
        assert_eq!(pos, data.len());
    }
}
