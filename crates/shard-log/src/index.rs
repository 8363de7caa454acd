//! The sparse offset index: `(relative offset u32, file position u32)` big-endian entries,
//! one per `index_interval_bytes` of log, each pointing at the start of a batch.

use std::io;
use std::path::Path;

use crate::index_file::{IndexEntry, IndexFile};

/// Sparse map from offsets to batch positions in one segment: `(relative offset, position)`.
pub(crate) type OffsetIndex = IndexFile<(u32, u32)>;

impl IndexEntry for (u32, u32) {
    const LEN: usize = 8;

    fn read(e: &[u8]) -> Self {
        let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        (rel, pos)
    }

    fn write(self, e: &mut [u8]) {
        e[..4].copy_from_slice(&self.0.to_be_bytes());
        e[4..].copy_from_slice(&self.1.to_be_bytes());
    }
}

impl OffsetIndex {
    /// Opens a sealed index, returning `None` unless it is present and well formed for a log
    /// file of `log_len` bytes (strictly increasing offsets and positions, all in the file).
    pub(crate) fn open_checked(path: &Path, log_len: u64) -> io::Result<Option<Self>> {
        let Some(index) = Self::open_sealed(path)? else {
            return Ok(None);
        };
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..index.len() {
            let (rel, pos) = index.get(i);
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

    /// Position of the batch with the largest indexed offset <= `rel`, or 0 (segment start).
    pub(crate) fn lookup(&self, rel: u32) -> (u32, u32) {
        self.last_where(|(r, _)| r <= rel).unwrap_or((0, 0))
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
        assert!(idx.push((10, 100)));
        assert!(idx.push((20, 200)));
        assert!(idx.push((30, 300)));
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
        assert!(idx.push((10, 100)));
        drop(idx); // crash: never trimmed, zero entries follow
        assert!(OffsetIndex::open_checked(&path, 1000).unwrap().is_none());
    }
}
