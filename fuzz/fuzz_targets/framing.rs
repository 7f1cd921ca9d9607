//! Fuzz target: scanning arbitrary bytes for Heka stream framing never
//! panics and never reports a record outside the buffer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sandpiper::message::{Scan, scan_record};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match scan_record(rest, 1 << 16) {
            Scan::Record { start, msg_start, end, .. } => {
                assert!(start < msg_start && msg_start <= end && end <= rest.len());
                rest = &rest[end..];
            }
            Scan::TooBig { start, .. } => rest = &rest[start + 1..],
            Scan::NeedMore { .. } => break,
        }
    }
});
