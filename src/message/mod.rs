//! The message model: Heka's `Message`/`Field`, the protobuf codec, stream
//! framing, UUIDs and time helpers.

mod codec;
mod framing;
pub mod pack;
mod schema;
pub mod time;
pub mod uuid;

pub use codec::{
    DecodeError, Reader, WireValue, decode, decode_into, encode, encode_into, encoded_len,
};
pub use framing::{
    AuthError, DEFAULT_MAX_MESSAGE_SIZE, FrameError, HEADER_FRAMING_SIZE, Header, HmacHashFunction,
    MAX_HEADER_SIZE, RECORD_SEPARATOR, Scan, Signer, UNIT_SEPARATOR, authenticate, hmac_digest,
    max_record_size, scan_record, write_framed,
};
pub use pack::{DeliveryGuard, Pack, PackMut, PackPool, PackRef, hold_guard, recycle_batch};
pub use schema::{DEFAULT_SEVERITY, Field, FieldValue, Message, Scalar, ValueType};
