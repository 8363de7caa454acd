//! A memory-mapped file of fixed-size entries, the storage under both sparse indexes.
//!
//! While a segment is active the file is preallocated to its maximum size so appends are plain
//! memory writes; when the segment is sealed (rolled or closed) the file is trimmed to the used
//! size, which is also how a later open tells a finished index from an interrupted one.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

/// Fixed-size entries in a memory-mapped file.
#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    file: File,
    /// `None` when the mapped length would be zero (mmap rejects empty mappings).
    mmap: Option<MmapMut>,
    entry_size: usize,
    entries: usize,
    capacity: usize,
}

fn map(file: &File, len: usize) -> io::Result<Option<MmapMut>> {
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: the file belongs to this log directory and is only modified through this
    // mapping (or by truncation under `&mut self`, after which we remap); other processes
    // modifying the log directory concurrently are not supported.
    let mmap = unsafe { memmap2::MmapOptions::new().len(len).map_mut(file)? };
    Ok(Some(mmap))
}

impl IndexFile {
    /// Creates an empty index (truncating any existing file) preallocated for appends.
    pub(crate) fn create(path: &Path, entry_size: usize, max_bytes: u32) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        let mut index = Self {
            path: path.to_path_buf(),
            file,
            mmap: None,
            entry_size,
            entries: 0,
            capacity: 0,
        };
        index.grow(max_bytes)?;
        Ok(index)
    }

    /// Opens an existing, sealed index. Every whole entry in the file counts as used; returns
    /// `Ok(None)` when the file is missing or its length is not a whole number of entries.
    pub(crate) fn open_sealed(path: &Path, entry_size: usize) -> io::Result<Option<Self>> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = usize::try_from(file.metadata()?.len()).map_err(|_| io::Error::other("index file too large"))?;
        if len % entry_size != 0 {
            return Ok(None);
        }
        let mmap = map(&file, len)?;
        Ok(Some(Self {
            path: path.to_path_buf(),
            file,
            mmap,
            entry_size,
            entries: len / entry_size,
            capacity: len / entry_size,
        }))
    }

    /// Extends the file to `max_bytes` (rounded down to whole entries, never below the used
    /// size) so it can take appends again.
    pub(crate) fn grow(&mut self, max_bytes: u32) -> io::Result<()> {
        let capacity = (max_bytes as usize / self.entry_size).max(self.entries);
        let len = capacity * self.entry_size;
        self.mmap = None;
        self.file.set_len(len as u64)?;
        self.mmap = map(&self.file, len)?;
        self.capacity = capacity;
        Ok(())
    }

    /// Shrinks the file to the used entries; no more appends fit afterwards.
    pub(crate) fn trim(&mut self) -> io::Result<()> {
        if self.capacity == self.entries {
            return Ok(());
        }
        if let Some(m) = &self.mmap {
            m.flush()?;
        }
        let len = self.entries * self.entry_size;
        self.mmap = None;
        self.file.set_len(len as u64)?;
        self.mmap = map(&self.file, len)?;
        self.capacity = self.entries;
        Ok(())
    }

    /// Writes mapped pages and file metadata to disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        if let Some(m) = &self.mmap {
            m.flush()?;
        }
        self.file.sync_all()
    }

    /// Number of used entries.
    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    /// Whether no more entries fit.
    pub(crate) fn is_full(&self) -> bool {
        self.entries >= self.capacity
    }

    /// The bytes of entry `i` (which must be `< len()`).
    pub(crate) fn entry(&self, i: usize) -> &[u8] {
        match &self.mmap {
            Some(m) => &m[i * self.entry_size..(i + 1) * self.entry_size],
            None => &[],
        }
    }

    /// Appends an entry; returns false (and writes nothing) when the file is full.
    pub(crate) fn push(&mut self, entry: &[u8]) -> bool {
        debug_assert_eq!(entry.len(), self.entry_size);
        if self.is_full() {
            return false;
        }
        let at = self.entries * self.entry_size;
        match &mut self.mmap {
            Some(m) => m[at..at + self.entry_size].copy_from_slice(entry),
            None => return false,
        }
        self.entries += 1;
        true
    }

    /// Number of leading entries for which `pred` holds (`pred` must be monotone: true for a
    /// prefix of the entries, false after).
    pub(crate) fn partition_point(&self, pred: impl Fn(&[u8]) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.entries);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.entry(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_push_trim_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        let mut idx = IndexFile::create(&path, 8, 40).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 40);
        for i in 0..5u64 {
            assert!(idx.push(&i.to_be_bytes()));
        }
        assert!(idx.is_full());
        assert!(!idx.push(&9u64.to_be_bytes()));
        idx.grow(80).unwrap();
        assert!(idx.push(&5u64.to_be_bytes()));
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 48);
        drop(idx);
        let idx = IndexFile::open_sealed(&path, 8).unwrap().unwrap();
        assert_eq!(idx.len(), 6);
        assert_eq!(idx.entry(5), &5u64.to_be_bytes());
        let n = idx.partition_point(|e| u64::from_be_bytes(e.try_into().unwrap()) <= 3);
        assert_eq!(n, 4);
    }

    #[test]
    fn empty_index_has_no_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.index");
        let mut idx = IndexFile::create(&path, 12, 5).unwrap();
        assert!(idx.is_full());
        assert!(!idx.push(&[0; 12]));
        idx.trim().unwrap();
        drop(idx);
        let idx = IndexFile::open_sealed(&path, 12).unwrap().unwrap();
        assert_eq!(idx.len(), 0);
        assert!(IndexFile::open_sealed(&dir.path().join("missing"), 12).unwrap().is_none());
        std::fs::write(dir.path().join("odd"), [0u8; 13]).unwrap();
        assert!(IndexFile::open_sealed(&dir.path().join("odd"), 12).unwrap().is_none());
    }
}
