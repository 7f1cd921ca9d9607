//! One open file of a logstream: a plain file or a transparently
//! decompressed `.gz`, its identity (device + inode), and the window of
//! bytes before the read position.
//!
//! Offsets in a `.gz` file count decompressed bytes; opening one at an
//! offset decompresses and discards everything before it.

use std::fs::{self, File, Metadata};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::journal::HASH_WINDOW;
use super::window::Window;

/// A file's identity on its filesystem: survives renames, changes when a
/// new file takes the name. The birth time (where the filesystem records
/// one) tells a new file from a deleted one whose inode number it reuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// Device number.
    pub device: u64,
    /// Inode number.
    pub inode: u64,
    /// Creation time, nanoseconds since the Unix epoch, when known.
    pub born: Option<u64>,
}

impl FileId {
    /// The identity in `meta`; `None` where the platform has no inodes.
    pub fn of(meta: &Metadata) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let born = meta
                .created()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| u64::try_from(d.as_nanos()).ok());
            Some(FileId { device: meta.dev(), inode: meta.ino(), born })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }

    /// The identity of the file now at `path` (following symlinks).
    pub fn at(path: &Path) -> Option<FileId> {
        fs::metadata(path).ok().and_then(|m| FileId::of(&m))
    }

    /// Whether both are known and name the same file (birth times are only
    /// compared when both sides have one).
    pub fn same(a: Option<FileId>, b: Option<FileId>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => {
                a.device == b.device
                    && a.inode == b.inode
                    && (a.born.is_none() || b.born.is_none() || a.born == b.born)
            }
            _ => false,
        }
    }
}

/// Whether a path is read through a gzip decoder (by its `.gz` extension).
pub fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

enum Source {
    Plain(File),
    Gz(Box<MultiGzDecoder<BufReader<File>>>),
}

/// Where to position a file when opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// This offset (decompressed for `.gz`).
    Offset(u64),
    /// The current end.
    End,
}

/// An open file of a stream, positioned at `offset()`.
pub(crate) struct OpenFile {
    /// The file's current name (updated when a rename is noticed).
    pub path: PathBuf,
    /// The name it was opened under.
    pub opened_path: PathBuf,
    /// Its identity, when the platform has one.
    pub id: Option<FileId>,
    /// Bytes before the position, for checkpoint hashes.
    pub window: Window,
    /// A gzip stream that failed to decode: treated as finished.
    pub broken: bool,
    /// The largest size seen for this (plain) file: shrinking below it
    /// means truncation, even when the read position is still below the
    /// new size.
    pub len_seen: u64,
    source: Source,
}

impl OpenFile {
    /// Opens `path` at `target`, with the up to 500 bytes before that
    /// position in the window (`window_cap` bytes are kept as reading goes
    /// on). `Ok(None)`: the file has fewer bytes than the target offset.
    pub(crate) fn open(
        path: &Path,
        target: Target,
        window_cap: usize,
    ) -> io::Result<Option<OpenFile>> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let id = FileId::of(&meta);
        let len_seen = meta.len();
        let (source, window) = if is_gz(path) {
            let mut decoder = Box::new(MultiGzDecoder::new(BufReader::new(file)));
            let limit = match target {
                Target::Offset(n) => n,
                Target::End => u64::MAX,
            };
            let window = skip_gz(&mut decoder, limit, window_cap)?;
            if matches!(target, Target::Offset(n) if window.end() < n) {
                return Ok(None);
            }
            (Source::Gz(decoder), window)
        } else {
            let mut file = file;
            let offset = match target {
                Target::Offset(n) if n > meta.len() => return Ok(None),
                Target::Offset(n) => n,
                Target::End => meta.len(),
            };
            let from = offset.saturating_sub(HASH_WINDOW as u64);
            let mut before = vec![0u8; (offset - from) as usize];
            file.seek(SeekFrom::Start(from))?;
            match file.read_exact(&mut before) {
                Ok(()) => {}
                // Shrank since the metadata call: shorter than the target.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
            let mut window = Window::new(window_cap, from);
            window.push(&before);
            (Source::Plain(file), window)
        };
        Ok(Some(OpenFile {
            path: path.to_path_buf(),
            opened_path: path.to_path_buf(),
            id,
            window,
            broken: false,
            len_seen,
            source,
        }))
    }

    /// Offset of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.window.end()
    }

    /// Whether this is a gzip stream.
    pub(crate) fn is_gz(&self) -> bool {
        matches!(self.source, Source::Gz(_))
    }

    /// Reads the next bytes (0 at the current end) into `buf`.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            let result = match &mut self.source {
                Source::Plain(file) => file.read(buf),
                Source::Gz(decoder) => decoder.read(buf),
            };
            match result {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.window.push(&buf[..n]);
        Ok(n)
    }

    /// The open handle's metadata (not the path's: the name may have moved).
    pub(crate) fn metadata(&self) -> io::Result<Metadata> {
        match &self.source {
            Source::Plain(file) => file.metadata(),
            Source::Gz(decoder) => decoder.get_ref().get_ref().metadata(),
        }
    }

    /// Goes back to offset 0 of a plain file (after a truncation).
    pub(crate) fn rewind(&mut self) -> io::Result<()> {
        if let Source::Plain(file) = &mut self.source {
            file.seek(SeekFrom::Start(0))?;
            self.window.reset(0);
            self.len_seen = 0;
        }
        Ok(())
    }
}

/// Decompresses and discards up to `limit` bytes, keeping the tail in a
/// window. Returns the window (its end is where decoding stopped).
fn skip_gz(
    decoder: &mut MultiGzDecoder<BufReader<File>>,
    limit: u64,
    window_cap: usize,
) -> io::Result<Window> {
    let mut window = Window::new(window_cap, 0);
    let mut scratch = vec![0u8; 64 * 1024];
    while window.end() < limit {
        let want = (limit - window.end()).min(scratch.len() as u64) as usize;
        let n = decoder.read(&mut scratch[..want])?;
        if n == 0 {
            break;
        }
        window.push(&scratch[..n]);
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use super::super::journal::hash_window;
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).expect("compress");
        enc.finish().expect("finish")
    }

    #[test]
    fn plain_open_at_offset_has_the_preceding_bytes_hashed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.log");
        let data: Vec<u8> = (0..2000u32).map(|i| (i % 253) as u8).collect();
        fs::write(&path, &data).expect("write");
        for at in [0u64, 1, 499, 500, 501, 2000] {
            let f = OpenFile::open(&path, Target::Offset(at), 1000)
                .expect("open")
                .expect("long enough");
            assert_eq!(f.offset(), at);
            let lo = at.saturating_sub(500) as usize;
            assert_eq!(f.window.hash_before(at), Some(hash_window(&data[lo..at as usize])));
        }
        assert!(OpenFile::open(&path, Target::Offset(2001), 1000).expect("open").is_none());
        let end = OpenFile::open(&path, Target::End, 1000).expect("open").expect("some");
        assert_eq!(end.offset(), 2000);
    }

    #[test]
    fn gz_offsets_are_decompressed_offsets_and_members_concatenate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.log.1.gz");
        let mut bytes = gz(b"first member\n");
        bytes.extend(gz(b"second member\n"));
        fs::write(&path, &bytes).expect("write");
        let mut f = OpenFile::open(&path, Target::Offset(6), 1000).expect("open").expect("some");
        assert!(f.is_gz());
        let mut out = Vec::new();
        let mut buf = [0u8; 5];
        loop {
            let n = f.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, b"member\nsecond member\n");
        assert_eq!(f.offset(), 27);
        assert_eq!(f.window.hash_before(27), Some(hash_window(b"first member\nsecond member\n")));
        assert!(OpenFile::open(&path, Target::Offset(28), 1000).expect("open").is_none());
        let end = OpenFile::open(&path, Target::End, 1000).expect("open").expect("some");
        assert_eq!(end.offset(), 27);
    }

    #[test]
    fn corrupt_gz_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.gz");
        fs::write(&path, b"\x1f\x8bthis is not deflate data at all").expect("write");
        assert!(OpenFile::open(&path, Target::Offset(10), 1000).is_err());
    }
}
