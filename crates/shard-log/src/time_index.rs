//! The sparse time index: `(timestamp i64, relative offset u32)` big-endian entries.
//!
//! An entry `(t, o)` is added at an offset-index point when the segment's max timestamp grew
//! since the previous entry: `t` is the max timestamp of all batches before that point and `o`
//! the base offset of the first batch that reached it. A final entry is added when the segment
//! is sealed, so a sealed segment's last entry is its max timestamp.

use std::io;
use std::path::Path;

use crate::index_file::IndexFile;

/// Bytes per time-index entry.
pub(crate) const ENTRY_LEN: usize = 12;

/// Sparse map from timestamps to offsets in one segment.
#[derive(Debug)]
pub(crate) struct TimeIndex {
    file: IndexFile,
}

fn decode(e: &[u8]) -> (i64, u32) {
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&e[..8]);
    (i64::from_be_bytes(ts), u32::from_be_bytes([e[8], e[9], e[10], e[11]]))
}

impl TimeIndex {
    /// Creates an empty index preallocated to `max_bytes`.
    pub(crate) fn create(path: &Path, max_bytes: u32) -> io::Result<Self> {
        Ok(Self {
            file: IndexFile::create(path, ENTRY_LEN, max_bytes)?,
        })
    }

    /// Opens a sealed index, returning `None` unless it is present and monotonic.
    pub(crate) fn open_checked(path: &Path) -> io::Result<Option<Self>> {
        let Some(file) = IndexFile::open_sealed(path, ENTRY_LEN)? else {
            return Ok(None);
        };
        let index = Self { file };
        for i in 1..index.file.len() {
            let (pts, prel) = index.entry(i - 1);
            let (ts, rel) = index.entry(i);
            if ts <= pts || rel < prel {
                return Ok(None);
            }
        }
        Ok(Some(index))
    }

    fn entry(&self, i: usize) -> (i64, u32) {
        decode(self.file.entry(i))
    }

    /// The entry with the largest timestamp < `ts`, if any.
    pub(crate) fn lookup_before(&self, ts: i64) -> Option<(i64, u32)> {
        let n = self.file.partition_point(|e| decode(e).0 < ts);
        n.checked_sub(1).map(|i| self.entry(i))
    }

    /// The last entry with relative offset < `rel`, if any.
    pub(crate) fn last_below_offset(&self, rel: u32) -> Option<(i64, u32)> {
        let n = self.file.partition_point(|e| decode(e).1 < rel);
        n.checked_sub(1).map(|i| self.entry(i))
    }

    /// The last entry, if any.
    pub(crate) fn last(&self) -> Option<(i64, u32)> {
        self.file.len().checked_sub(1).map(|i| self.entry(i))
    }

    /// Appends `(ts, rel)` if `ts` is larger than the last entry; false if it did not fit.
    pub(crate) fn maybe_append(&mut self, ts: i64, rel: u32) -> bool {
        if self.last().is_some_and(|(last, _)| ts <= last) {
            return true;
        }
        let mut e = [0u8; ENTRY_LEN];
        e[..8].copy_from_slice(&ts.to_be_bytes());
        e[8..].copy_from_slice(&rel.to_be_bytes());
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
    fn lookups_and_monotonic_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut idx = TimeIndex::create(&path, 120).unwrap();
        assert!(idx.maybe_append(100, 0));
        assert!(idx.maybe_append(100, 5)); // not larger: ignored
        assert!(idx.maybe_append(200, 7));
        assert!(idx.maybe_append(300, 9));
        assert_eq!(idx.last(), Some((300, 9)));
        assert_eq!(idx.lookup_before(100), None);
        assert_eq!(idx.lookup_before(101), Some((100, 0)));
        assert_eq!(idx.lookup_before(1000), Some((300, 9)));
        assert_eq!(idx.last_below_offset(9), Some((200, 7)));
        assert_eq!(idx.last_below_offset(0), None);
        idx.trim().unwrap();
        drop(idx);
        let idx = TimeIndex::open_checked(&path).unwrap().unwrap();
        assert_eq!(idx.last(), Some((300, 9)));
    }
}
