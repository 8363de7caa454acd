//! One segment: a `.log` file of whole batches plus its sparse offset and time indexes.
//!
//! Appends are serialized by the partition's writer lock; readers use positioned reads and
//! only look below [`Segment::size`], which is published after the bytes are written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::LogError;
use crate::batch::{self, BatchHeader, HEADER_LEN};
use crate::index::OffsetIndex;
use crate::time_index::TimeIndex;

/// Extension of segment data files.
pub(crate) const LOG_EXT: &str = "log";
/// Extension of offset index files.
pub(crate) const INDEX_EXT: &str = "index";
/// Extension of time index files.
pub(crate) const TIME_INDEX_EXT: &str = "timeindex";

/// `{base_offset:020}.{ext}` in `dir`.
pub(crate) fn file_path(dir: &Path, base_offset: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// Mutable per-segment state, written only by the partition's appender.
#[derive(Debug)]
pub(crate) struct SegState {
    pub(crate) offset_index: OffsetIndex,
    pub(crate) time_index: TimeIndex,
    /// Log bytes appended since the last offset-index entry.
    bytes_since_index: u64,
    /// Largest batch max timestamp in the segment (`i64::MIN` when empty).
    pub(crate) max_timestamp: i64,
    /// Base offset of the first batch that reached `max_timestamp`.
    pub(crate) offset_of_max: i64,
    /// Indexes trimmed: no more index entries are added.
    sealed: bool,
}

/// One segment of a partition log.
#[derive(Debug)]
pub(crate) struct Segment {
    base_offset: i64,
    log_path: PathBuf,
    file: File,
    /// Bytes of whole batches in the file (readers never look past this).
    size: AtomicU64,
    /// Offset after the last batch (the base offset when empty).
    end_offset: AtomicI64,
    pub(crate) state: RwLock<SegState>,
}

/// What recovery cut from a segment.
#[derive(Debug, Clone)]
pub(crate) struct Truncation {
    /// Position where the first invalid batch starts.
    pub(crate) position: u64,
    /// Bytes removed.
    pub(crate) bytes: u64,
    /// Why the batch was rejected.
    pub(crate) reason: String,
}

/// Whole batches a read takes from one segment: `len` bytes from `pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Position of the first batch.
    pub(crate) pos: u64,
    /// Bytes of whole batches (0: nothing to take).
    pub(crate) len: u64,
    /// Offset after the last batch taken.
    pub(crate) next_offset: i64,
}

/// Outcome of reading the next batch in a scan.
pub(crate) enum ScanItem {
    /// A valid batch starting at `pos`.
    Batch { pos: u64, header: BatchHeader },
    /// Clean end of the scanned range.
    End,
    /// A torn or malformed batch at `pos`.
    Invalid { pos: u64, reason: String },
}

/// Sequential batch reader over a file range, reading in large chunks.
pub(crate) struct BatchScanner<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    buf_pos: u64,
    /// Bytes read at a time (never past `end`).
    chunk: usize,
}

const SCAN_CHUNK: usize = 256 * 1024;

/// Chunk of a read's header walk: it covers one default index interval (4 KiB) of small batches
/// in one positioned read without reading far ahead of what the read returns.
const READ_SCAN_CHUNK: usize = 16 * 1024;

impl<'f> BatchScanner<'f> {
    pub(crate) fn new(file: &'f File, start: u64, end: u64) -> Self {
        Self::with_chunk(file, start, end, SCAN_CHUNK)
    }

    fn with_chunk(file: &'f File, start: u64, end: u64, chunk: usize) -> Self {
        Self {
            file,
            pos: start,
            end,
            buf: Vec::new(),
            buf_pos: start,
            chunk,
        }
    }

    /// Makes `[pos, pos + n)` available in the buffer (the caller checked it is below `end`).
    fn fill(&mut self, pos: u64, n: usize) -> io::Result<()> {
        let have = pos >= self.buf_pos && pos + n as u64 <= self.buf_pos + self.buf.len() as u64;
        if have {
            return Ok(());
        }
        let avail = usize::try_from(self.end - pos).unwrap_or(usize::MAX);
        let len = n.max(self.chunk).min(avail);
        self.buf.resize(len, 0);
        self.file.read_exact_at(&mut self.buf, pos)?;
        self.buf_pos = pos;
        Ok(())
    }

    fn slice(&self, pos: u64, n: usize) -> &[u8] {
        let at = (pos - self.buf_pos) as usize;
        &self.buf[at..at + n]
    }

    /// Reads the next batch; with `whole` the full batch is returned and its CRC checked.
    pub(crate) fn next(&mut self, whole: bool) -> io::Result<ScanItem> {
        let pos = self.pos;
        if pos >= self.end {
            return Ok(ScanItem::End);
        }
        let remaining = self.end - pos;
        if remaining < HEADER_LEN as u64 {
            return Ok(ScanItem::Invalid {
                pos,
                reason: format!("{remaining} trailing bytes, shorter than a batch header"),
            });
        }
        self.fill(pos, HEADER_LEN)?;
        let header = match batch::parse_header_prefix(self.slice(pos, HEADER_LEN)) {
            Ok(h) => h,
            Err(e) => {
                return Ok(ScanItem::Invalid {
                    pos,
                    reason: e.to_string(),
                });
            }
        };
        if header.total_len as u64 > remaining {
            return Ok(ScanItem::Invalid {
                pos,
                reason: format!("batch of {} bytes torn after {remaining} bytes", header.total_len),
            });
        }
        let n = if whole { header.total_len } else { HEADER_LEN };
        self.fill(pos, n)?;
        if whole && let Err(e) = batch::check_batch(self.slice(pos, n), &header) {
            return Ok(ScanItem::Invalid {
                pos,
                reason: e.to_string(),
            });
        }
        self.pos = pos + header.total_len as u64;
        Ok(ScanItem::Batch { pos, header })
    }
}

impl SegState {
    fn new(offset_index: OffsetIndex, time_index: TimeIndex) -> Self {
        Self {
            offset_index,
            time_index,
            bytes_since_index: 0,
            max_timestamp: i64::MIN,
            offset_of_max: 0,
            sealed: false,
        }
    }

    /// Index bookkeeping for a batch appended at `pos` (same rule on append and on rebuild, so
    /// rebuilt indexes equal the original ones).
    fn on_batch(&mut self, seg_base: i64, header: &BatchHeader, pos: u64, interval: u32) {
        if !self.sealed && self.bytes_since_index >= u64::from(interval) {
            let rel = (header.base_offset - seg_base) as u32;
            if self.offset_index.push((rel, pos as u32)) {
                if self.max_timestamp != i64::MIN {
                    let max_rel = (self.offset_of_max - seg_base) as u32;
                    self.time_index.maybe_append(self.max_timestamp, max_rel);
                }
                self.bytes_since_index = 0;
            }
        }
        self.bytes_since_index += header.total_len as u64;
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max = header.base_offset;
        }
    }

    /// Whether either index has no room left (the segment must roll).
    pub(crate) fn indexes_full(&self) -> bool {
        self.sealed || self.offset_index.is_full() || self.time_index.is_full()
    }
}

fn open_log_file(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .truncate(false)
        .open(path)
        .and_then(|f| {
            if truncate {
                f.set_len(0)?;
            }
            Ok(f)
        })
}

impl Segment {
    /// Creates a new empty segment at `base_offset` (replacing stale files of that name).
    pub(crate) fn create(dir: &Path, base_offset: i64, index_max_bytes: u32) -> io::Result<Self> {
        let log_path = file_path(dir, base_offset, LOG_EXT);
        let file = open_log_file(&log_path, true)?;
        let offset_index = OffsetIndex::create(&file_path(dir, base_offset, INDEX_EXT), index_max_bytes)?;
        let time_index = TimeIndex::create(&file_path(dir, base_offset, TIME_INDEX_EXT), index_max_bytes)?;
        Ok(Self {
            base_offset,
            log_path,
            file,
            size: AtomicU64::new(0),
            end_offset: AtomicI64::new(base_offset),
            state: RwLock::new(SegState::new(offset_index, time_index)),
        })
    }

    /// Opens a segment whose sealed indexes are trusted, if they are present and consistent
    /// with the log file; `None` means the segment must be recovered instead.
    pub(crate) fn open_trusted(dir: &Path, base_offset: i64) -> io::Result<Option<Self>> {
        let log_path = file_path(dir, base_offset, LOG_EXT);
        let file = open_log_file(&log_path, false)?;
        let len = file.metadata()?.len();
        let Some(offset_index) = OffsetIndex::open_checked(&file_path(dir, base_offset, INDEX_EXT), len)? else {
            return Ok(None);
        };
        let Some(time_index) = TimeIndex::open_checked(&file_path(dir, base_offset, TIME_INDEX_EXT))? else {
            return Ok(None);
        };
        let mut state = SegState::new(offset_index, time_index);
        state.sealed = true;
        match state.time_index.last() {
            Some((ts, rel)) => {
                state.max_timestamp = ts;
                state.offset_of_max = base_offset + i64::from(rel);
            }
            // A sealed non-empty segment always has a final time entry.
            None if len > 0 => return Ok(None),
            None => {}
        }
        // The last indexed batch must really start where the index says.
        let (start, expected) = match state.offset_index.last() {
            Some((rel, pos)) => (u64::from(pos), Some(base_offset + i64::from(rel))),
            None => (0, None),
        };
        let mut scanner = BatchScanner::new(&file, start, len);
        let mut end_offset = base_offset;
        let mut first = true;
        loop {
            match scanner.next(false)? {
                ScanItem::Batch { header, .. } => {
                    if first && expected.is_some_and(|e| e != header.base_offset) {
                        return Ok(None);
                    }
                    first = false;
                    end_offset = header.last_offset() + 1;
                }
                ScanItem::End => break,
                ScanItem::Invalid { .. } => return Ok(None),
            }
        }
        state.bytes_since_index = len - start;
        Ok(Some(Self {
            base_offset,
            log_path,
            file,
            size: AtomicU64::new(len),
            end_offset: AtomicI64::new(end_offset),
            state: RwLock::new(state),
        }))
    }

    /// Opens a segment by scanning every batch (header and CRC), rebuilding both indexes, and
    /// truncating the file at the first torn or corrupt batch. `on_batch` sees each valid batch.
    pub(crate) fn open_recover(
        dir: &Path,
        base_offset: i64,
        index_interval: u32,
        index_max_bytes: u32,
        mut on_batch: impl FnMut(&BatchHeader),
    ) -> io::Result<(Self, Option<Truncation>)> {
        let log_path = file_path(dir, base_offset, LOG_EXT);
        let file = open_log_file(&log_path, false)?;
        let len = file.metadata()?.len();
        let offset_index = OffsetIndex::create(&file_path(dir, base_offset, INDEX_EXT), index_max_bytes)?;
        let time_index = TimeIndex::create(&file_path(dir, base_offset, TIME_INDEX_EXT), index_max_bytes)?;
        let mut state = SegState::new(offset_index, time_index);
        let mut next_offset = base_offset;
        let mut valid_end = 0;
        let mut invalid = None;
        {
            let mut scanner = BatchScanner::new(&file, 0, len);
            loop {
                match scanner.next(true)? {
                    ScanItem::Batch { pos, header, .. } => {
                        if header.base_offset < next_offset || header.last_offset() - base_offset > i64::from(i32::MAX) {
                            invalid = Some((
                                pos,
                                format!(
                                    "batch base offset {} out of sequence (expected >= {next_offset})",
                                    header.base_offset
                                ),
                            ));
                            break;
                        }
                        state.on_batch(base_offset, &header, pos, index_interval);
                        on_batch(&header);
                        next_offset = header.last_offset() + 1;
                        valid_end = pos + header.total_len as u64;
                    }
                    ScanItem::End => break,
                    ScanItem::Invalid { pos, reason } => {
                        invalid = Some((pos, reason));
                        break;
                    }
                }
            }
        }
        let truncation = match invalid {
            Some((pos, reason)) => {
                file.set_len(pos)?;
                Some(Truncation {
                    position: pos,
                    bytes: len - pos,
                    reason,
                })
            }
            None => None,
        };
        Ok((
            Self {
                base_offset,
                log_path,
                file,
                size: AtomicU64::new(valid_end),
                end_offset: AtomicI64::new(next_offset),
                state: RwLock::new(state),
            },
            truncation,
        ))
    }

    /// First offset of the segment (from its file name).
    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Bytes of whole batches.
    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    /// Offset after the last batch.
    pub(crate) fn end_offset(&self) -> i64 {
        self.end_offset.load(Ordering::Acquire)
    }

    /// Sets the end offset of a trusted sealed segment from its successor's base offset.
    pub(crate) fn set_end_offset(&self, end: i64) {
        self.end_offset.store(end, Ordering::Release);
    }

    /// Path of the `.log` file.
    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The `.log` file (for positioned reads and scans).
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Appends `batches` (whole, validated batches) writing `new_bases[i]` over each batch's
    /// base offset. On a write error the file is cut back so no partial batch stays behind; if
    /// even that fails the error is returned with `false` (the caller must poison the log).
    pub(crate) fn append(
        &self,
        batches: &[u8],
        headers: &[BatchHeader],
        new_bases: &[i64],
        index_interval: u32,
    ) -> Result<(), (io::Error, bool)> {
        let start = self.size();
        let base_bytes: Vec<[u8; 8]> = new_bases.iter().map(|b| b.to_be_bytes()).collect();
        let mut slices = Vec::with_capacity(headers.len() * 2);
        let mut at = 0;
        for (h, base) in headers.iter().zip(&base_bytes) {
            slices.push(IoSlice::new(base));
            slices.push(IoSlice::new(&batches[at + 8..at + h.total_len]));
            at += h.total_len;
        }
        if let Err(e) = write_all_vectored(&self.file, &mut slices) {
            let restored = self.file.set_len(start).is_ok();
            return Err((e, restored));
        }
        let mut state = self.state.write();
        let mut pos = start;
        let mut end = self.end_offset();
        for (h, base) in headers.iter().zip(new_bases) {
            let h = BatchHeader { base_offset: *base, ..*h };
            state.on_batch(self.base_offset, &h, pos, index_interval);
            pos += h.total_len as u64;
            end = h.last_offset() + 1;
        }
        drop(state);
        self.end_offset.store(end, Ordering::Release);
        self.size.store(pos, Ordering::Release);
        Ok(())
    }

    /// Reads `len` bytes at `pos`.
    pub(crate) fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, pos)?;
        Ok(buf)
    }

    /// Parses the header of the batch at `pos`, which must end at or before `limit`.
    pub(crate) fn header_at(&self, pos: u64, limit: u64) -> Result<BatchHeader, LogError> {
        let avail = limit.saturating_sub(pos).min(HEADER_LEN as u64) as usize;
        let buf = self.read_at(pos, avail)?;
        let header = batch::parse_header_prefix(&buf)?;
        if pos + header.total_len as u64 > limit {
            return Err(LogError::Corrupt(format!(
                "batch at {} of {} overruns segment {}",
                pos,
                header.total_len,
                self.log_path.display()
            )));
        }
        Ok(header)
    }

    /// Position and header of the batch containing `offset`, scanning forward from the offset
    /// index entry at or below it and stopping at `limit` bytes.
    pub(crate) fn find_batch(&self, offset: i64, limit: u64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let rel = (offset - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32;
        let (_, pos) = self.state.read().offset_index.lookup(rel);
        self.scan_from(u64::from(pos), limit, |h| h.last_offset() >= offset)
    }

    /// Position and header of the batch starting at exactly `base_offset`.
    pub(crate) fn batch_starting_at(&self, base_offset: i64, limit: u64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        match self.find_batch(base_offset, limit)? {
            Some((pos, h)) if h.base_offset == base_offset => Ok(Some((pos, h))),
            _ => Ok(None),
        }
    }

    /// First batch at or after `pos` (below `limit`) for which `stop` holds.
    pub(crate) fn scan_from(
        &self,
        mut pos: u64,
        limit: u64,
        mut stop: impl FnMut(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>, LogError> {
        while pos < limit {
            let header = self.header_at(pos, limit)?;
            if stop(&header) {
                return Ok(Some((pos, header)));
            }
            pos += header.total_len as u64;
        }
        Ok(None)
    }

    /// The whole batches from `pos`, where `first` starts (below `limit`), that a read may
    /// take: those whose base offset is below `hw`, at most `max_len` bytes together, except
    /// that with `min_one` the first batch is taken whatever its size (so a consumer always
    /// makes progress, Kafka's `minOneMessage`). Decides from headers only, reading nothing
    /// else: the offset index skips whole index intervals, then headers are read one by one.
    pub(crate) fn readable_span(
        &self,
        pos: u64,
        first: &BatchHeader,
        limit: u64,
        hw: i64,
        max_len: u64,
        min_one: bool,
    ) -> io::Result<Span> {
        let first_len = first.total_len as u64;
        if first.base_offset >= hw || (first_len > max_len && !min_one) {
            return Ok(Span {
                pos,
                len: 0,
                next_offset: first.base_offset,
            });
        }
        let cap = pos.saturating_add(max_len.max(first_len)).min(limit);
        let mut end = pos + first_len;
        let mut next_offset = first.last_offset() + 1;
        // An index entry at or below `cap` whose offset is at most `hw` starts a batch: the
        // batches before it are whole, inside the budget and below the high watermark.
        let hw_rel = (hw - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32;
        let jump = self
            .state
            .read()
            .offset_index
            .last_where(|(rel, at)| u64::from(at) <= cap && rel <= hw_rel);
        if let Some((rel, at)) = jump
            && u64::from(at) > end
        {
            end = u64::from(at);
            next_offset = self.base_offset + i64::from(rel);
        }
        let mut scanner = BatchScanner::with_chunk(&self.file, end, cap, READ_SCAN_CHUNK);
        // A batch cut by `cap` (or torn) ends the span; `end` only moves past whole batches.
        while let ScanItem::Batch { pos: at, header } = scanner.next(false)? {
            if header.base_offset >= hw {
                break;
            }
            end = at + header.total_len as u64;
            next_offset = header.last_offset() + 1;
        }
        Ok(Span {
            pos,
            len: end - pos,
            next_offset,
        })
    }

    /// Reads the whole batch at `pos`.
    pub(crate) fn read_batch(&self, pos: u64, header: &BatchHeader) -> io::Result<Vec<u8>> {
        self.read_at(pos, header.total_len)
    }

    /// Adds the final time-index entry and trims both indexes (on roll and close).
    pub(crate) fn seal(&self) -> io::Result<()> {
        let mut st = self.state.write();
        if st.sealed {
            return Ok(());
        }
        if st.max_timestamp != i64::MIN {
            let rel = (st.offset_of_max - self.base_offset) as u32;
            let (ts, off) = (st.max_timestamp, rel);
            st.time_index.maybe_append(ts, off);
        }
        st.offset_index.trim()?;
        st.time_index.trim()?;
        st.sealed = true;
        Ok(())
    }

    /// Re-opens sealed indexes for appends (the active segment after a restart).
    pub(crate) fn unseal(&self, index_max_bytes: u32) -> io::Result<()> {
        let mut st = self.state.write();
        if !st.sealed {
            return Ok(());
        }
        st.offset_index.grow(index_max_bytes)?;
        st.time_index.grow(index_max_bytes)?;
        st.sealed = false;
        Ok(())
    }

    /// fsyncs the log data.
    pub(crate) fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// fsyncs the log and both indexes (a sealed segment about to be trusted after a crash).
    pub(crate) fn sync_all(&self) -> io::Result<()> {
        self.file.sync_data()?;
        let st = self.state.read();
        st.offset_index.sync()?;
        st.time_index.sync()
    }

    /// Removes the segment's files.
    pub(crate) fn delete_files(&self) -> io::Result<()> {
        let st = self.state.read();
        for path in [self.log_path.as_path(), st.offset_index.path(), st.time_index.path()] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// `write_all` for vectored writes (std's is unstable): retries short writes.
fn write_all_vectored(mut file: &File, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "short write")),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
