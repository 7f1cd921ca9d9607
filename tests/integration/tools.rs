//! `sandpiper cat` (heka-cat) on a framed file written here with the
//! library (`inject`'s message shape is checked in `tcp.rs`).

use std::path::Path;

use sandpiper::message::{Field, Message, Scan, encode, write_framed};

use crate::common::run;

fn framed_file(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let mut bytes = Vec::new();
    for i in 0..5 {
        let mut m = Message::new();
        m.msg_type = if i % 2 == 0 { b"even".to_vec() } else { b"odd".to_vec() };
        m.payload = format!("message {i}").into_bytes();
        m.add_field(Field::integer("n", i));
        write_framed(&encode(&m), None, 65536, &mut bytes).unwrap();
    }
    let path = dir.join("out.dat");
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[test]
fn cat_formats_matcher_offset_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = framed_file(dir.path());
    let file = path.to_str().unwrap();

    let out = run(&["cat", "-format=count", "-match", "Type == 'even'", file]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Processed: 5, matched: 3 messages"));

    let out = run(&["cat", "-format=txt", "-match", "Fields[n] == 3", file]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Type: odd\n") && text.contains("Payload: message 3\n"), "{text}");
    assert!(text.contains("name:\"n\" value_type:INTEGER"), "{text}");
    assert_eq!(text.matches("Payload: ").count(), 1);

    let out = run(&["cat", "-format=heka", file]);
    assert_eq!(out.stdout, bytes, "heka format writes the records unchanged");

    // Start at the second record.
    let first = sandpiper::message::scan_record(&bytes, 65536);
    let Scan::Record { start: 0, end: first_len, .. } = first else { panic!("{first:?}") };
    let out = run(&["cat", "-format=count", &format!("-offset={first_len}"), file]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");

    // Corruption is reported, the rest still read.
    let mut broken = b"junk".to_vec();
    broken.extend_from_slice(&bytes);
    let bad = dir.path().join("bad.dat");
    std::fs::write(&bad, &broken).unwrap();
    let out = run(&["cat", "-format=count", bad.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Corruption detected at offset: 0 bytes: 4")
    );

    // heka-cat's exit codes: bad matcher 2, missing file 3.
    assert_eq!(run(&["cat", "-match", "Type ==", file]).status.code(), Some(2));
    assert_eq!(run(&["cat", "/no/such/file"]).status.code(), Some(3));
}
