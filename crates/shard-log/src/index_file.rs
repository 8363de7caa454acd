//! A memory-mapped file of fixed-size entries, the storage under both sparse indexes.
//!
//! While a segment is active the file is preallocated to its maximum size, with real blocks
//! (fallocate), so appends are plain memory writes that a full disk cannot turn into a SIGBUS; when the segment is sealed (rolled or closed) the file is trimmed to the used
//! size, which is also how a later open tells a finished index from an interrupted one.

use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

/// One entry of a sparse index, stored as `LEN` big-endian bytes.
pub(crate) trait IndexEntry: Copy {
    /// Bytes per entry.
    const LEN: usize;
    /// Reads an entry from exactly `LEN` bytes.
    fn read(bytes: &[u8]) -> Self;
    /// Writes the entry into exactly `LEN` bytes.
    fn write(self, bytes: &mut [u8]);
}

/// Fixed-size entries of type `E` in a memory-mapped file.
#[derive(Debug)]
pub(crate) struct IndexFile<E> {
    path: PathBuf,
    file: File,
    /// `None` when the mapped length would be zero (mmap rejects empty mappings).
    mmap: Option<MmapMut>,
    entries: usize,
    capacity: usize,
    entry: PhantomData<E>,
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

/// Gives `file` real blocks for its first `len` bytes (extending it), so stores through a
/// mapping never hit a hole. Falls back to writing zeros where the filesystem has no fallocate.
fn allocate(file: &File, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => write_zeros(file, len),
        Err(e) => Err(e.into()),
    }
}

/// Writes zeros over the holes of `file` up to `len` (the slow path of [`allocate`]): every
/// byte past the current end, and the existing bytes are kept.
fn write_zeros(file: &File, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let zeros = vec![0u8; 64 * 1024];
    let mut at = file.metadata()?.len();
    while at < len {
        let n = (len - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

impl<E: IndexEntry> IndexFile<E> {
    /// Creates an empty index (truncating any existing file) preallocated for appends.
    pub(crate) fn create(path: &Path, max_bytes: u32) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        let mut index = Self {
            path: path.to_path_buf(),
            file,
            mmap: None,
            entries: 0,
            capacity: 0,
            entry: PhantomData,
        };
        index.grow(max_bytes)?;
        Ok(index)
    }

    /// Opens an existing, sealed index. Every whole entry in the file counts as used; returns
    /// `Ok(None)` when the file is missing or its length is not a whole number of entries.
    pub(crate) fn open_sealed(path: &Path) -> io::Result<Option<Self>> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = usize::try_from(file.metadata()?.len()).map_err(|_| io::Error::other("index file too large"))?;
        if len % E::LEN != 0 {
            return Ok(None);
        }
        let mmap = map(&file, len)?;
        Ok(Some(Self {
            path: path.to_path_buf(),
            file,
            mmap,
            entries: len / E::LEN,
            capacity: len / E::LEN,
            entry: PhantomData,
        }))
    }

    /// Extends the file to `max_bytes` (rounded down to whole entries, never below the used
    /// size) so it can take appends again (reopened active segment).
    pub(crate) fn grow(&mut self, max_bytes: u32) -> io::Result<()> {
        let capacity = (max_bytes as usize / E::LEN).max(self.entries);
        let len = capacity * E::LEN;
        self.mmap = None;
        // Blocks first: a store through the mapping into a hole the disk cannot fill is a
        // SIGBUS, so a full disk must fail here, as an error, instead.
        allocate(&self.file, len as u64)?;
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
        let len = self.entries * E::LEN;
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

    /// Entry `i`, which must be `< len()`.
    pub(crate) fn get(&self, i: usize) -> E {
        let bytes = self.mmap.as_deref().map_or(&[][..], |m| &m[i * E::LEN..(i + 1) * E::LEN]);
        E::read(bytes)
    }

    /// The last entry, if any.
    pub(crate) fn last(&self) -> Option<E> {
        self.entries.checked_sub(1).map(|i| self.get(i))
    }

    /// Appends an entry; returns false (and writes nothing) when the file is full.
    pub(crate) fn push(&mut self, entry: E) -> bool {
        if self.is_full() {
            return false;
        }
        let at = self.entries * E::LEN;
        match &mut self.mmap {
            Some(m) => entry.write(&mut m[at..at + E::LEN]),
            None => return false,
        }
        self.entries += 1;
        true
    }

    /// The last entry of the leading run for which `pred` holds (`pred` must be monotone: true
    /// for a prefix of the entries, false after), by binary search.
    pub(crate) fn last_where(&self, pred: impl Fn(E) -> bool) -> Option<E> {
        let (mut lo, mut hi) = (0, self.entries);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.get(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1).map(|i| self.get(i))
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    impl IndexEntry for u64 {
        const LEN: usize = 8;
        fn read(bytes: &[u8]) -> Self {
            u64::from_be_bytes(bytes.try_into().unwrap())
        }
        fn write(self, bytes: &mut [u8]) {
            bytes.copy_from_slice(&self.to_be_bytes());
        }
    }

    /// A 12-byte entry, so small files do not hold a whole number of them.
    #[derive(Debug, Clone, Copy)]
    struct Wide;

    impl IndexEntry for Wide {
        const LEN: usize = 12;
        fn read(_: &[u8]) -> Self {
            Wide
        }
        fn write(self, bytes: &mut [u8]) {
            bytes.fill(0);
        }
    }

    #[test]
    fn create_push_trim_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        let mut idx = IndexFile::<u64>::create(&path, 40).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 40);
        for i in 0..5u64 {
            assert!(idx.push(i));
        }
        assert!(idx.is_full());
        assert!(!idx.push(9));
        idx.grow(80).unwrap();
        assert!(idx.push(5));
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 48);
        drop(idx);
        let idx = IndexFile::<u64>::open_sealed(&path).unwrap().unwrap();
        assert_eq!(idx.len(), 6);
        assert_eq!(idx.get(5), 5);
        assert_eq!(idx.last(), Some(5));
        assert_eq!(idx.last_where(|e| e <= 3), Some(3));
        assert_eq!(idx.last_where(|_| false), None);
    }

    #[test]
    fn preallocated_index_has_its_blocks() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.index");
        let _idx = IndexFile::<u64>::create(&path, 1 << 20).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 1 << 20);
        // st_blocks counts 512-byte units actually allocated: no hole left for a mapped store.
        assert!(meta.blocks() * 512 >= 1 << 20, "{} blocks", meta.blocks());
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("z"))
            .unwrap();
        f.write_all_at(b"abc", 0).unwrap();
        write_zeros(&f, 100_000).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 100_000);
        let mut head = [0u8; 3];
        f.read_exact_at(&mut head, 0).unwrap();
        assert_eq!(&head, b"abc");
    }

    #[test]
    fn empty_index_has_no_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.index");
        let mut idx = IndexFile::<Wide>::create(&path, 5).unwrap();
        assert!(idx.is_full());
        assert!(!idx.push(Wide));
        idx.trim().unwrap();
        drop(idx);
        let idx = IndexFile::<Wide>::open_sealed(&path).unwrap().unwrap();
        assert_eq!(idx.len(), 0);
        assert!(idx.last().is_none());
        assert!(IndexFile::<Wide>::open_sealed(&dir.path().join("missing")).unwrap().is_none());
        std::fs::write(dir.path().join("odd"), [0u8; 13]).unwrap();
        assert!(IndexFile::<Wide>::open_sealed(&dir.path().join("odd")).unwrap().is_none());
    }
}
