//! The sparse time index: `(timestamp i64, relative offset u32)` big-endian entries.
//!
//! An entry `(t, o)` is added at an offset-index point when the segment's max timestamp grew
//! since the previous entry: `t` is the max timestamp of all batches before that point and `o`
//! the base offset of the first batch that reached it. A final entry is added when the segment
//! is sealed, so a sealed segment's last entry is its max timestamp.

use std::io;
use std::path::Path;

use crate::index_file::{IndexEntry, IndexFile};

/// Sparse map from timestamps to offsets in one segment: `(timestamp, relative offset)`.
pub(crate) type TimeIndex = IndexFile<(i64, u32)>;

impl IndexEntry for (i64, u32) {
    const LEN: usize = 12;

    fn read(e: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&e[..8]);
        (i64::from_be_bytes(ts), u32::from_be_bytes([e[8], e[9], e[10], e[11]]))
    }

    fn write(self, e: &mut [u8]) {
        e[..8].copy_from_slice(&self.0.to_be_bytes());
        e[8..].copy_from_slice(&self.1.to_be_bytes());
    }
}

impl TimeIndex {
    /// Opens a sealed index, returning `None` unless it is present and monotonic.
    pub(crate) fn open_checked(path: &Path) -> io::Result<Option<Self>> {
        let Some(index) = Self::open_sealed(path)? else {
            return Ok(None);
        };
        for i in 1..index.len() {
            let (pts, prel) = index.get(i - 1);
            let (ts, rel) = index.get(i);
            if ts <= pts || rel < prel {
                return Ok(None);
            }
        }
        Ok(Some(index))
    }

    /// The entry with the largest timestamp < `ts`, if any.
    pub(crate) fn lookup_before(&self, ts: i64) -> Option<(i64, u32)> {
        self.last_where(|(t, _)| t < ts)
    }

    /// The last entry with relative offset < `rel`, if any.
    pub(crate) fn last_below_offset(&self, rel: u32) -> Option<(i64, u32)> {
        self.last_where(|(_, r)| r < rel)
    }

    /// Appends `(ts, rel)` if `ts` is larger than the last entry; false if it did not fit.
    pub(crate) fn maybe_append(&mut self, ts: i64, rel: u32) -> bool {
        if self.last().is_some_and(|(last, _)| ts <= last) {
            return true;
        }
        self.push((ts, rel))
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
