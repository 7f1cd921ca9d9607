//! Fuzz target: decoding arbitrary bytes as a Heka protobuf message never
//! panics, and whatever decodes re-encodes to something that decodes equal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sandpiper::message::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = decode(data) {
        let again = decode(&encode(&m)).expect("re-encoded message decodes");
        assert_eq!(again.uuid, m.uuid);
        assert_eq!(again.fields.len(), m.fields.len());
    }
});
