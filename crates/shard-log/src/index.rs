//! The sparse offset index: `(relative offset u32, file position u32)` big-endian entries,
//! one per `index_interval_bytes` of log, each pointing at the start of a batch.

use std::io;
use std::path::Path;

use crate::index_file::IndexFile;

/// Bytes per offset-index entry.
pub(crate) const ENTRY_LEN: usize = 8;

/// Sparse map from offsets to batch positions in one segment.
#[derive(Debug)]
pub(crate) struct OffsetIndex {
    file: IndexFile,
}

fn decode(e: &[u8]) -> (u32, u32) {
    let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
    let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
    (rel, pos)
}

impl OffsetIndex {
    /// Creates an empty index preallocated to `max_bytes`.
    pub(crate) fn create(path: &Path, max_bytes: u32) -> io::Result<Self> {
        Ok(Self {
            file: IndexFile::create(path, ENTRY_LEN, max_bytes)?,
        })
    }

    /// Opens a sealed index, returning `None` unless it is present and well formed for a log
    /// file of `log_len` bytes (strictly increasing offsets and positions, all in the file).
    pub(crate) fn open_checked(path: &Path, log_len: u64) -> io::Result<Option<Self>> {
        let Some(file) = IndexFile::open_sealed(path, ENTRY_LEN)? else {
            return Ok(None);
        };
        let index = Self { file };
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..index.file.len() {
            let (rel, pos) = index.entry(i);
            if u64::from(pos) >= log_len {
                return Ok(None);
            }
            if let Some((prel, ppos)) = prev
                && (rel <= prel || pos <= ppos)
            {
                return Ok(None);
            }
            prev = Some((rel, pos));
        }
        Ok(Some(index))
    }

    fn entry(&self, i: usize) -> (u32, u32) {
        decode(self.file.entry(i))
    }

    /// Position of the batch with the largest indexed offset <= `rel`, or 0 (segment start).
    pub(crate) fn lookup(&self, rel: u32) -> (u32, u32) {
        let n = self.file.partition_point(|e| decode(e).0 <= rel);
        if n == 0 { (0, 0) } else { self.entry(n - 1) }
    }

    /// The last entry, if any.
    pub(crate) fn last(&self) -> Option<(u32, u32)> {
        self.file.len().checked_sub(1).map(|i| self.entry(i))
    }

    /// Appends an entry; returns false if the index is full.
    pub(crate) fn append(&mut self, rel: u32, pos: u32) -> bool {
        let mut e = [0u8; ENTRY_LEN];
        e[..4].copy_from_slice(&rel.to_be_bytes());
        e[4..].copy_from_slice(&pos.to_be_bytes());
        self.file.push(&e)
    }

    /// Whether no more entries fit.
    pub(crate) fn is_full(&self) -> bool {
        self.file.is_full()
    }

    /// Makes room for appends again (reopened active segment).
    pub(crate) fn grow(&mut self, max_bytes: u32) -> io::Result<()> {
        self.file.grow(max_bytes)
    }

    /// Trims the file to its entries.
    pub(crate) fn trim(&mut self) -> io::Result<()> {
        self.file.trim()
    }

    /// Flushes the mapping and the file.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.file.sync()
    }

    /// Path of the index file.
    pub(crate) fn path(&self) -> &Path {
        self.file.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_floor_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut idx = OffsetIndex::create(&path, 800).unwrap();
        assert_eq!(idx.lookup(5), (0, 0));
        assert!(idx.append(10, 100));
        assert!(idx.append(20, 200));
        assert!(idx.append(30, 300));
        assert_eq!(idx.lookup(9), (0, 0));
        assert_eq!(idx.lookup(10), (10, 100));
        assert_eq!(idx.lookup(29), (20, 200));
        assert_eq!(idx.lookup(1000), (30, 300));
        assert_eq!(idx.last(), Some((30, 300)));
        idx.trim().unwrap();
        drop(idx);
        assert!(OffsetIndex::open_checked(&path, 301).unwrap().is_some());
        // An entry pointing past the log means the index does not match the log.
        assert!(OffsetIndex::open_checked(&path, 300).unwrap().is_none());
    }

    #[test]
    fn untrimmed_index_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut idx = OffsetIndex::create(&path, 80).unwrap();
        assert!(idx.append(10, 100));
        drop(idx); // crash: never trimmed, zero entries follow
        assert!(OffsetIndex::open_checked(&path, 1000).unwrap().is_none());
    }
}
