//! End-to-end scenarios of the logstreamer file handling on real files in
//! temp dirs: restarts at the exact byte, rotations (rename, copytruncate,
//! compression) while running and while stopped, truncation, vanished and
//! empty files, `.gz` streams, `initial_tail`. The helpers are shared with
//! the randomized loop in `simulation`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use flate2::{Compression, write::GzEncoder};

use super::*;

pub(super) const PLUGIN: &str = "test";

/// A log directory with one stream `access.log[.N][.gz]`, newest last.
pub(super) struct Logs {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    settings: LogstreamerSettings,
    pub(super) store: JournalStore,
}

impl Logs {
    pub(super) fn new() -> Logs {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("logs");
        fs::create_dir(&dir).expect("mkdir");
        let cfg: LogstreamerInputConfig = toml::from_str(&format!(
            "log_directory = {:?}\n\
             file_match = 'access\\.log(\\.(?P<Seq>\\d+))?(\\.gz)?'\n\
             priority = ['^Seq']",
            dir.display().to_string()
        ))
        .expect("toml");
        let settings = cfg.validate(tmp.path()).expect("valid");
        let store = JournalStore::new(&settings.journal_directory);
        Logs { _tmp: tmp, dir, settings, store }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(super) fn files(&self) -> Vec<PathBuf> {
        stream_files(&self.settings, PLUGIN, PLUGIN).expect("scan")
    }

    /// A reader with no switch grace and a rescanner.
    pub(super) fn reader(&self, journal: Option<Journal>) -> StreamReader {
        self.reader_with(journal, no_grace())
    }

    fn reader_with(&self, journal: Option<Journal>, options: ReaderOptions) -> StreamReader {
        let mut reader = StreamReader::new(PLUGIN, self.files(), journal, options);
        let settings = self.settings.clone();
        reader.set_rescanner(Box::new(move || stream_files(&settings, PLUGIN, PLUGIN).ok()));
        reader
    }

    fn append(&self, name: &str, data: &[u8]) {
        let mut f =
            OpenOptions::new().create(true).append(true).open(self.path(name)).expect("open");
        f.write_all(data).expect("append");
    }

    /// Renames `access.log.N[.gz]` to `N+1`, highest first.
    fn shift_numbered(&self) {
        let mut numbered: Vec<(u32, String)> = fs::read_dir(&self.dir)
            .expect("list")
            .filter_map(|e| {
                let name = e.expect("entry").file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix("access.log.")?;
                let (n, gz) = match rest.strip_suffix(".gz") {
                    Some(n) => (n, ".gz"),
                    None => (rest, ""),
                };
                Some((n.parse().ok()?, gz.to_owned()))
            })
            .collect();
        numbered.sort_by(|a, b| b.cmp(a));
        for (n, gz) in numbered {
            fs::rename(
                self.path(&format!("access.log.{n}{gz}")),
                self.path(&format!("access.log.{}{gz}", n + 1)),
            )
            .expect("shift");
        }
    }

    /// logrotate without copytruncate: shift, rename access.log to .1 (a
    /// new access.log is the caller's business).
    pub(super) fn rotate(&self) {
        self.shift_numbered();
        fs::rename(self.path("access.log"), self.path("access.log.1")).expect("rotate");
    }

    /// logrotate copytruncate: shift, copy access.log to .1, truncate it.
    pub(super) fn copytruncate(&self) {
        self.shift_numbered();
        fs::copy(self.path("access.log"), self.path("access.log.1")).expect("copy");
        OpenOptions::new()
            .write(true)
            .open(self.path("access.log"))
            .expect("open")
            .set_len(0)
            .expect("truncate");
    }

    /// Compresses `name` into `name.gz` and deletes `name`.
    pub(super) fn gzip(&self, name: &str) {
        let data = fs::read(self.path(name)).expect("read");
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&data).expect("compress");
        fs::write(self.path(&format!("{name}.gz")), enc.finish().expect("finish")).expect("write");
        fs::remove_file(self.path(name)).expect("remove");
    }

    fn set_age(&self, name: &str, age: Duration) {
        File::options()
            .write(true)
            .open(self.path(name))
            .expect("open")
            .set_modified(SystemTime::now() - age)
            .expect("mtime");
    }
}

fn no_grace() -> ReaderOptions {
    ReaderOptions { switch_grace: Duration::ZERO, ..ReaderOptions::default() }
}

/// `n` numbered lines with a tag.
fn lines(tag: &str, from: usize, n: usize) -> Vec<u8> {
    (from..from + n)
        .flat_map(|i| format!("{tag} line {i:05} some payload\n").into_bytes())
        .collect()
}

/// Reads until `Eof`, appending data to `out`; returns the other outcomes.
fn drain(reader: &mut StreamReader, out: &mut Vec<u8>, buf_size: usize) -> Vec<ReadOutcome> {
    let mut buf = vec![0u8; buf_size];
    let mut events = Vec::new();
    for _ in 0..1_000_000 {
        match reader.read(&mut buf).expect("read") {
            ReadOutcome::Data { n } => out.extend_from_slice(&buf[..n]),
            ReadOutcome::Eof => return events,
            other => events.push(other),
        }
    }
    panic!("reader never reached Eof");
}

/// Reads exactly `limit` more bytes (stopping early only at `Eof`).
fn read_exactly(reader: &mut StreamReader, out: &mut Vec<u8>, limit: usize, buf_size: usize) {
    let mut buf = vec![0u8; buf_size];
    let target = out.len() + limit;
    while out.len() < target {
        let want = (target - out.len()).min(buf_size);
        match reader.read(&mut buf[..want]).expect("read") {
            ReadOutcome::Data { n } => out.extend_from_slice(&buf[..n]),
            ReadOutcome::Eof => return,
            ReadOutcome::Switched { .. } => {}
        }
    }
}

/// Bytes as text, for readable assertion failures.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(super) fn name(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn switched(from: PathBuf, to: PathBuf) -> ReadOutcome {
    ReadOutcome::Switched { from, to }
}

#[test]
fn resume_after_restart_at_the_exact_byte_including_short_files() {
    let logs = Logs::new();
    let short = lines("old", 0, 5); // < 500 bytes
    let long = lines("cur", 0, 100);
    logs.append("access.log.1", &short);
    logs.append("access.log", &long);
    let all = [short.clone(), long.clone()].concat();
    let cuts =
        [0, 1, 57, short.len() - 1, short.len(), short.len() + 1, short.len() + 700, all.len()];
    for &cut in &cuts {
        for back in [0usize, 3] {
            let mut reader = logs.reader(None);
            let mut got = Vec::new();
            read_exactly(&mut reader, &mut got, cut, 97);
            assert_eq!(got.len(), cut);
            let pos = reader.position().expect("open");
            let back = back.min(pos.offset as usize);
            let journal = reader.checkpoint(back as u64).expect("checkpoint").expect("open");
            assert_eq!(journal.seek, pos.offset - back as u64, "cut {cut}");
            logs.store.save(PLUGIN, &journal).expect("save");
            drop(reader);

            let journal_seek = journal.seek;
            let journal = logs.store.load(PLUGIN).expect("load");
            let mut reader = logs.reader(journal);
            let expected = match reader.start_decision() {
                StartDecision::Journal { offset, .. } => *offset == journal_seek,
                // Byte 0 of a file is recorded as the end of the one before.
                StartDecision::AfterPrevious { .. } => journal_seek == 0,
                _ => false,
            };
            assert!(expected, "cut {cut}: {}", reader.start_decision());
            got.truncate(cut - back);
            drain(&mut reader, &mut got, 64);
            assert_eq!(text(&got), text(&all), "cut {cut} back {back}");
        }
    }
}

#[test]
fn rotation_while_running_reads_every_byte_once_in_order() {
    for with_rescanner in [true, false] {
        let logs = Logs::new();
        let mut writer = OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.path("access.log"))
            .expect("open");
        let mut expected = lines("a", 0, 30);
        writer.write_all(&expected).expect("write");
        let mut reader = if with_rescanner {
            logs.reader(None)
        } else {
            StreamReader::new(PLUGIN, logs.files(), None, no_grace())
        };
        let mut got = Vec::new();
        read_exactly(&mut reader, &mut got, 100, 64);
        // More lines, rotation, late lines through the old handle, then the
        // writer reopens a new access.log.
        let b = lines("b", 0, 20);
        writer.write_all(&b).expect("write");
        logs.rotate();
        let c = lines("late", 0, 3);
        writer.write_all(&c).expect("late write");
        let events = drain(&mut reader, &mut got, 64);
        assert!(events.is_empty(), "no new file yet: {events:?}");
        let d = lines("d", 0, 40);
        logs.append("access.log", &d);
        expected.extend([b, c, d].concat());
        let events = drain(&mut reader, &mut got, 64);
        assert_eq!(text(&got), text(&expected), "rescanner {with_rescanner}");
        let from = if with_rescanner { logs.path("access.log.1") } else { logs.path("access.log") };
        assert_eq!(events, vec![switched(from, logs.path("access.log"))]);
        assert_eq!(reader.position().map(|p| p.file), Some(logs.path("access.log")));
    }
}

#[test]
fn two_rotations_between_reads_are_followed_with_a_rescanner() {
    let logs = Logs::new();
    let a = lines("a", 0, 30);
    logs.append("access.log", &a);
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    read_exactly(&mut reader, &mut got, 10, 64);
    logs.rotate();
    let b = lines("b", 0, 30);
    logs.append("access.log", &b);
    logs.rotate();
    logs.gzip("access.log.2");
    let c = lines("c", 0, 30);
    logs.append("access.log", &c);
    let events = drain(&mut reader, &mut got, 1000);
    assert_eq!(text(&got), text(&[a, b, c].concat()));
    // The first file vanished (compressed) while open: its handle was read
    // to the end, then the copy was recognised as already read.
    assert_eq!(events.len(), 2, "{events:?}");
}

#[test]
fn rotation_while_stopped_resumes_in_the_rotated_file_then_the_new_one() {
    for compress in [false, true] {
        let logs = Logs::new();
        let a = lines("a", 0, 50);
        logs.append("access.log", &a);
        let mut reader = logs.reader(None);
        let mut got = Vec::new();
        read_exactly(&mut reader, &mut got, 600, 128);
        let journal = reader.checkpoint(0).expect("checkpoint").expect("open");
        assert_eq!((journal.seek, &journal.file_name), (600, &logs.path("access.log")));
        logs.store.save(PLUGIN, &journal).expect("save");
        drop(reader);

        let x = lines("x", 0, 5);
        logs.append("access.log", &x);
        logs.rotate();
        let rotated = if compress {
            logs.gzip("access.log.1");
            logs.path("access.log.1.gz")
        } else {
            logs.path("access.log.1")
        };
        let y = lines("y", 0, 20);
        logs.append("access.log", &y);

        let mut reader = logs.reader(logs.store.load(PLUGIN).expect("load"));
        assert_eq!(
            reader.start_decision(),
            &StartDecision::Relocated {
                journal_file: logs.path("access.log"),
                file: rotated.clone(),
                offset: 600
            }
        );
        let events = drain(&mut reader, &mut got, 128);
        assert_eq!(text(&got), text(&[a, x, y].concat()), "compress {compress}");
        assert_eq!(events, vec![switched(rotated, logs.path("access.log"))]);
    }
}

#[test]
fn checkpoint_at_offset_zero_survives_rotations_and_compression_while_stopped() {
    let logs = Logs::new();
    let p = lines("p", 0, 30);
    logs.append("access.log.1", &p);
    logs.append("access.log", b"");
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    let events = drain(&mut reader, &mut got, 256);
    assert_eq!(events, vec![switched(logs.path("access.log.1"), logs.path("access.log"))]);
    let journal = reader.checkpoint(0).expect("checkpoint").expect("open");
    assert_eq!(journal.seek, 0);
    let after = journal.after.as_deref().expect("previous end");
    assert_eq!((after.seek, &after.file_name), (p.len() as u64, &logs.path("access.log.1")));
    logs.store.save(PLUGIN, &journal).expect("save");
    drop(reader);

    // While stopped: the journaled file fills up, is rotated twice and
    // compressed (new inode): only the previous file's end identifies where
    // to go on. Its hash at offset 0 would match any file.
    let q = lines("q", 0, 10);
    logs.append("access.log", &q);
    logs.rotate();
    let r = lines("r", 0, 10);
    logs.append("access.log", &r);
    logs.rotate();
    logs.gzip("access.log.2");
    logs.gzip("access.log.3");
    let s = lines("s", 0, 10);
    logs.append("access.log", &s);

    let mut reader = logs.reader(logs.store.load(PLUGIN).expect("load"));
    assert_eq!(
        reader.start_decision(),
        &StartDecision::AfterPrevious {
            journal_file: logs.path("access.log"),
            previous: logs.path("access.log.3.gz"),
            offset: p.len() as u64,
        }
    );
    drain(&mut reader, &mut got, 256);
    assert_eq!(text(&got), text(&[p, q, r, s].concat()));
}

#[test]
fn copytruncate_continues_in_the_copy_then_the_truncated_file() {
    let logs = Logs::new();
    let a = lines("a", 0, 40);
    logs.append("access.log", &a);
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    read_exactly(&mut reader, &mut got, 400, 100);
    let b = lines("b", 0, 10);
    logs.append("access.log", &b);
    logs.copytruncate();
    // New lines, fewer bytes than the read position, before the reader looks.
    let c = lines("c", 0, 2);
    logs.append("access.log", &c);
    let events = drain(&mut reader, &mut got, 100);
    assert_eq!(text(&got), text(&[a.clone(), b.clone(), c.clone()].concat()));
    assert_eq!(events, vec![switched(logs.path("access.log.1"), logs.path("access.log"))]);
    let pos = reader.position().expect("open");
    assert_eq!((pos.file, pos.offset), (logs.path("access.log"), c.len() as u64));
}

#[test]
fn truncation_regrown_beyond_the_position_is_still_noticed() {
    // The reader saw the file at 1000+ bytes and read 100; after the
    // truncation new lines grow it past 100 but not to the size seen.
    let logs = Logs::new();
    let a = lines("a", 0, 40);
    logs.append("access.log", &a);
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    read_exactly(&mut reader, &mut got, 100, 100);
    logs.copytruncate();
    let c = lines("c", 0, 8);
    assert!(c.len() > 100 && c.len() < a.len());
    logs.append("access.log", &c);
    drain(&mut reader, &mut got, 100);
    assert_eq!(text(&got), text(&[a, c].concat()));
}

#[test]
fn truncation_without_a_copy_rereads_from_zero_and_says_so() {
    let logs = Logs::new();
    let a = lines("a", 0, 10);
    logs.append("access.log", &a);
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    drain(&mut reader, &mut got, 100);
    OpenOptions::new()
        .write(true)
        .open(logs.path("access.log"))
        .expect("open")
        .set_len(0)
        .expect("truncate");
    let c = lines("c", 0, 2);
    logs.append("access.log", &c);
    let events = drain(&mut reader, &mut got, 100);
    assert_eq!(text(&got), text(&[a, c].concat()));
    assert_eq!(events, vec![switched(logs.path("access.log"), logs.path("access.log"))]);
}

#[test]
fn gz_files_are_read_transparently_and_resumed_inside() {
    let logs = Logs::new();
    let old = lines("gz", 0, 50);
    logs.append("access.log.2", &old[..700]);
    logs.gzip("access.log.2");
    // A second gzip member appended: concatenated members are one stream.
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&old[700..]).expect("compress");
    logs.append("access.log.2.gz", &enc.finish().expect("finish"));
    let mid = lines("mid", 0, 10);
    logs.append("access.log.1", &mid);
    let cur = lines("cur", 0, 10);
    logs.append("access.log", &cur);
    let all = [old.clone(), mid, cur].concat();

    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    let events = drain(&mut reader, &mut got, 33);
    assert_eq!(text(&got), text(&all));
    assert_eq!(events.len(), 2);

    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    read_exactly(&mut reader, &mut got, 900, 50);
    assert_eq!(reader.position().map(|p| p.file), Some(logs.path("access.log.2.gz")));
    let journal = reader.checkpoint(20).expect("checkpoint").expect("open");
    assert_eq!(journal.seek, 880, "decompressed offset");
    drop(reader);
    let mut reader = logs.reader(Some(journal));
    assert_eq!(
        reader.start_decision(),
        &StartDecision::Journal { file: logs.path("access.log.2.gz"), offset: 880 }
    );
    got.truncate(880);
    drain(&mut reader, &mut got, 50);
    assert_eq!(text(&got), text(&all));
}

#[test]
fn corrupt_gz_reports_an_error_and_moves_on() {
    let logs = Logs::new();
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&lines("gz", 0, 200)).expect("compress");
    let mut bytes = enc.finish().expect("finish");
    let len = bytes.len();
    bytes[len / 2..].fill(0x55);
    logs.append("access.log.1.gz", &bytes);
    let cur = lines("cur", 0, 3);
    logs.append("access.log", &cur);
    let mut reader = logs.reader(None);
    let mut buf = vec![0u8; 256];
    let mut got = Vec::new();
    let mut errors = 0;
    for _ in 0..10_000 {
        match reader.read(&mut buf) {
            Ok(ReadOutcome::Data { n }) => got.extend_from_slice(&buf[..n]),
            Ok(ReadOutcome::Eof) => break,
            Ok(ReadOutcome::Switched { .. }) => {}
            Err(e) => {
                assert!(e.to_string().contains("access.log.1.gz"), "{e}");
                errors += 1;
            }
        }
    }
    assert_eq!(errors, 1);
    assert!(got.ends_with(&cur), "the next file is read after the error");
}

#[test]
fn initial_tail_starts_at_the_end_of_the_newest_file_unless_journaled() {
    let logs = Logs::new();
    logs.append("access.log.1", &lines("old", 0, 5));
    let cur = lines("cur", 0, 5);
    logs.append("access.log", &cur);
    let tail = ReaderOptions { initial_tail: true, ..no_grace() };
    let mut reader = logs.reader_with(None, tail.clone());
    assert_eq!(
        reader.start_decision(),
        &StartDecision::Tail { file: logs.path("access.log"), offset: cur.len() as u64 }
    );
    let mut got = Vec::new();
    assert!(drain(&mut reader, &mut got, 64).is_empty());
    assert!(got.is_empty());
    logs.append("access.log", b"new line\n");
    drain(&mut reader, &mut got, 64);
    assert_eq!(text(&got), text(b"new line\n"));

    let journal = reader.checkpoint(4).expect("checkpoint");
    let mut reader = logs.reader_with(journal, tail);
    let mut got = Vec::new();
    drain(&mut reader, &mut got, 64);
    assert_eq!(text(&got), text(b"ine\n"), "a journal wins over initial_tail");
}

#[test]
fn vanished_file_is_read_to_the_end_through_its_handle() {
    let logs = Logs::new();
    let mut writer =
        OpenOptions::new().create(true).append(true).open(logs.path("access.log")).expect("open");
    let a = lines("a", 0, 20);
    writer.write_all(&a).expect("write");
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    read_exactly(&mut reader, &mut got, 50, 50);
    fs::remove_file(logs.path("access.log")).expect("delete");
    let b = lines("b", 0, 5);
    writer.write_all(&b).expect("write to the deleted file");
    let events = drain(&mut reader, &mut got, 50);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(text(&got), text(&[a.clone(), b.clone()].concat()));
    // Checkpoints still work on the vanished file.
    assert_eq!(
        reader.checkpoint(0).expect("checkpoint").map(|j| j.seek),
        Some((a.len() + b.len()) as u64)
    );
    let c = lines("c", 0, 5);
    logs.append("access.log", &c);
    let events = drain(&mut reader, &mut got, 50);
    assert_eq!(events, vec![switched(logs.path("access.log"), logs.path("access.log"))]);
    assert_eq!(text(&got), text(&[a, b, c].concat()));
}

#[test]
fn an_empty_file_compressed_away_while_open_is_placed_by_its_predecessor() {
    // The reader sits at byte 0 of an empty access.log (after access.log.1).
    // It is rotated twice and compressed: nothing identifies it any more,
    // and the file at its old name is two rotations newer. The previous
    // file (by identity) tells where the stream goes on.
    let logs = Logs::new();
    let p = lines("p", 0, 10);
    logs.append("access.log.1", &p);
    logs.append("access.log", b"");
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    drain(&mut reader, &mut got, 64);
    assert_eq!(reader.position().map(|p| p.offset), Some(0));
    logs.rotate();
    let b = lines("b", 0, 10);
    logs.append("access.log", &b);
    logs.rotate();
    logs.gzip("access.log.2");
    let c = lines("c", 0, 10);
    logs.append("access.log", &c);
    drain(&mut reader, &mut got, 64);
    assert_eq!(text(&got), text(&[p, b, c].concat()));
}

#[test]
fn empty_files_are_passed_and_an_empty_stream_waits() {
    let logs = Logs::new();
    logs.append("access.log.3", b"");
    let one = lines("one", 0, 2);
    logs.append("access.log.2", &one);
    logs.append("access.log.1", b"");
    logs.append("access.log", b"");
    let mut reader = logs.reader(None);
    let mut got = Vec::new();
    let events = drain(&mut reader, &mut got, 64);
    assert_eq!(text(&got), text(&one));
    assert_eq!(events.len(), 3, "{events:?}");
    // At offset 0 of an empty file after an empty file, the journal still
    // points after the last non-empty one.
    let journal = reader.checkpoint(0).expect("checkpoint").expect("open");
    assert_eq!(journal.after.map(|a| a.file_name), Some(logs.path("access.log.2")));
    logs.append("access.log", b"x\n");
    drain(&mut reader, &mut got, 64);
    assert_eq!(text(&got), text(&[one, b"x\n".to_vec()].concat()));
}

#[test]
fn late_writes_to_a_rotated_file_within_the_grace_are_read() {
    let logs = Logs::new();
    let mut writer =
        OpenOptions::new().create(true).append(true).open(logs.path("access.log")).expect("open");
    let a = lines("a", 0, 5);
    writer.write_all(&a).expect("write");
    let grace = ReaderOptions { switch_grace: Duration::from_secs(30), ..ReaderOptions::default() };
    let mut reader = logs.reader_with(None, grace);
    let mut got = Vec::new();
    drain(&mut reader, &mut got, 64);
    logs.rotate();
    let d = lines("d", 0, 5);
    logs.append("access.log", &d); // logrotate `create` + early writer
    assert!(drain(&mut reader, &mut got, 64).is_empty(), "still within the grace");
    let late = lines("late", 0, 2);
    writer.write_all(&late).expect("late write");
    assert!(drain(&mut reader, &mut got, 64).is_empty());
    assert_eq!(text(&got), text(&[a.clone(), late.clone()].concat()));
    logs.set_age("access.log.1", Duration::from_secs(60));
    let events = drain(&mut reader, &mut got, 64);
    assert_eq!(events, vec![switched(logs.path("access.log.1"), logs.path("access.log"))]);
    assert_eq!(text(&got), text(&[a, late, d].concat()));
}

#[test]
fn date_named_files_are_found_by_rescan() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg: LogstreamerInputConfig = toml::from_str(&format!(
        "log_directory = {:?}\nfile_match = 'app-(?P<Day>\\d+)\\.log'\npriority = ['Day']",
        tmp.path().display().to_string()
    ))
    .expect("toml");
    let settings = cfg.validate(tmp.path()).expect("valid");
    fs::write(tmp.path().join("app-01.log"), b"day one\n").expect("write");
    let files = || stream_files(&settings, PLUGIN, PLUGIN).expect("scan");
    let mut reader = StreamReader::new(PLUGIN, files(), None, no_grace());
    let mut got = Vec::new();
    drain(&mut reader, &mut got, 64);
    fs::write(tmp.path().join("app-02.log"), b"day two\n").expect("write");
    assert!(drain(&mut reader, &mut got, 64).is_empty(), "not listed yet");
    reader.rescan(files());
    let events = drain(&mut reader, &mut got, 64);
    assert_eq!(
        events,
        vec![switched(tmp.path().join("app-01.log"), tmp.path().join("app-02.log"))]
    );
    assert_eq!(text(&got), text(b"day one\nday two\n"));
}

#[test]
fn unmatched_journal_restarts_at_the_oldest_file() {
    let logs = Logs::new();
    let a = lines("a", 0, 30);
    logs.append("access.log", &a);
    let mut reader = logs.reader(None);
    read_exactly(&mut reader, &mut Vec::new(), 700, 100);
    let journal = reader.checkpoint(0).expect("checkpoint");
    drop(reader);
    fs::remove_file(logs.path("access.log")).expect("delete");
    let b = lines("b", 0, 30);
    logs.append("access.log", &b);
    let mut reader = logs.reader(journal);
    assert!(matches!(reader.start_decision(), StartDecision::Unmatched { seek: 700, .. }));
    let mut got = Vec::new();
    drain(&mut reader, &mut got, 100);
    assert_eq!(text(&got), text(&b));
}
