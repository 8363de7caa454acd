//! One partition's log: a directory of segments plus the idempotent-producer state.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::batch::{self, BatchHeader};
use crate::durability::Durability;
use crate::log_start;
use crate::producer_state::{self, ProducerState, SeqCheck};
use crate::records;
use crate::recovery::{self, CLEAN_MARKER, sync_dir};
use crate::segment::{Segment, Span};
use crate::{FlushMode, LogConfig, LogError};

/// Snapshots kept besides the newest (older ones only help after a truncation).
const SNAPSHOTS_KEPT: usize = 2;

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first record of the appended data.
    pub base_offset: i64,
    /// Offset of the last appended record.
    pub last_offset: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    /// True when an idempotent producer re-sent a batch already in the log: nothing was written
    /// and `base_offset`/`last_offset` are those of the original append.
    pub duplicate: bool,
}

/// Data read from the log.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole record batches, as stored (may start before the requested offset, since batches
    /// are not split). Empty when there is nothing at or after the offset below `upper`.
    pub records: Bytes,
    /// High watermark at the time of the read.
    pub high_watermark: i64,
    /// Log start offset at the time of the read.
    pub log_start_offset: i64,
}

/// The whole batches a read returns, before any data is read.
struct ReadPlan {
    /// Each segment's share, in offset order.
    spans: Vec<(Arc<Segment>, Span)>,
    /// Their total size.
    bytes: u64,
    high_watermark: i64,
    log_start_offset: i64,
}

/// An offset found by timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// Offset of the record.
    pub offset: i64,
    /// Its timestamp.
    pub timestamp: i64,
}

/// One partition's log. `Send + Sync`; appends are serialized internally, reads run concurrently.
///
/// Dropping a log without [`Self::close`] is like a crash: the next [`Self::open`] scans and,
/// if needed, truncates the tail of the active segment.
pub struct PartitionLog {
    dir: PathBuf,
    config: RwLock<LogConfig>,
    /// Segments in offset order; the last is the active one. Readers clone the `Arc`s they need.
    segments: RwLock<Vec<Arc<Segment>>>,
    /// Serializes appends, rolls, retention and close.
    writer: Mutex<Writer>,
    log_start: AtomicI64,
    log_end: AtomicI64,
    /// The high watermark; the channel holds the current value.
    hw_tx: watch::Sender<i64>,
    durability: Durability,
    closed: AtomicBool,
}

/// State owned by the appender.
#[derive(Debug)]
struct Writer {
    producers: ProducerState,
    /// When the active segment got its first data (drives `segment_ms` rolls).
    active_created_ms: Option<i64>,
    /// Segments rolled since the last fsync round (they need one more fsync).
    unsynced: Vec<Arc<Segment>>,
    /// Files were created in the directory since the last fsync round.
    dir_dirty: bool,
}

impl fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionLog")
            .field("dir", &self.dir)
            .field("log_start", &self.log_start.load(Ordering::Relaxed))
            .field("log_end", &self.log_end.load(Ordering::Relaxed))
            .field("high_watermark", &*self.hw_tx.borrow())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

/// Parses the headers of the whole batches in `buf` (validated earlier by the caller).
fn split_batches(buf: &[u8]) -> Result<Vec<BatchHeader>, LogError> {
    let mut headers = Vec::with_capacity(1);
    let mut pos = 0;
    while pos < buf.len() {
        let h = batch::parse_header(&buf[pos..])?;
        if h.last_offset_delta < 0 {
            return Err(LogError::Corrupt(format!("negative last offset delta {}", h.last_offset_delta)));
        }
        pos += h.total_len;
        headers.push(h);
    }
    if headers.is_empty() {
        return Err(LogError::Corrupt("no record batches to append".into()));
    }
    Ok(headers)
}

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`, recovering from a crash: validates the tail
    /// of the active segment, truncates a torn or corrupt tail at the last valid batch (logging
    /// what was cut), rebuilds indexes that are missing or stale, and rebuilds producer state.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Self, LogError> {
        let rec = recovery::recover(dir, &config)?;
        let first = rec.segments.first().map(|s| s.base_offset()).unwrap_or(0);
        let active = rec
            .segments
            .last()
            .cloned()
            .ok_or_else(|| LogError::Corrupt("log has no segments".into()))?;
        // What survived the previous run may still sit in the page cache only (a killed
        // process, not a machine crash): make it durable so the high watermark can start at the
        // log end. After a clean close only the active segment can be touched since.
        if rec.clean {
            active.sync_data()?;
        } else {
            for seg in &rec.segments {
                seg.sync_data()?;
            }
        }
        let log_end = active.end_offset();
        let log_start = Self::recovered_log_start(dir, first, log_end)?;
        let (hw_tx, _) = watch::channel(log_end);
        Ok(Self {
            dir: dir.to_path_buf(),
            config: RwLock::new(config),
            segments: RwLock::new(rec.segments),
            writer: Mutex::new(Writer {
                producers: rec.producers,
                active_created_ms: rec.active_created_ms,
                unsynced: Vec::new(),
                dir_dirty: false,
            }),
            log_start: AtomicI64::new(log_start),
            log_end: AtomicI64::new(log_end),
            hw_tx,
            durability: Durability::new(log_end),
            closed: AtomicBool::new(false),
        })
    }

    /// The log start offset after a restart: the first segment's base offset, or the
    /// checkpointed start of a DeleteRecords if higher. A checkpoint past the recovered log end
    /// (data lost in a machine crash in page-cache mode) is capped at the log end.
    fn recovered_log_start(dir: &Path, first_base: i64, log_end: i64) -> Result<i64, LogError> {
        let checkpoint = log_start::read(dir).map_err(|e| LogError::Corrupt(e.to_string()))?;
        let start = checkpoint.map_or(first_base, |c| c.max(first_base));
        if start > log_end {
            tracing::warn!(dir = %dir.display(), checkpoint = start, log_end, "log start offset checkpoint is past the log end; starting at the log end");
            return Ok(log_end);
        }
        Ok(start)
    }

    fn check_open(&self) -> Result<(), LogError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(LogError::Closed);
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<(), LogError> {
        self.check_open()?;
        self.durability.check()
    }

    /// Joins the log directory `dir`: a failed fsync here takes the whole directory offline,
    /// and an offline directory stops this log's appends and flushes
    /// ([`LogError::LogDirOffline`]), as Kafka takes a failed log dir offline.
    pub fn join_log_dir(&self, dir: Arc<crate::LogDirHealth>) {
        self.durability.join_log_dir(dir, self.dir.clone());
    }

    /// The segment appends go to. The list is only empty after `close()`.
    fn active_segment(&self) -> Result<Arc<Segment>, LogError> {
        self.segments.read().last().cloned().ok_or(LogError::Closed)
    }

    /// The segment that holds `offset`: the last one whose base offset is <= `offset`.
    fn segment_for(&self, offset: i64) -> Option<Arc<Segment>> {
        let segs = self.segments.read();
        let i = segs.partition_point(|s| s.base_offset() <= offset);
        i.checked_sub(1).map(|i| Arc::clone(&segs[i]))
    }

    /// Raises the high watermark (it never moves back) and notifies subscribers.
    fn raise_hw(&self, hw: i64) {
        self.hw_tx.send_if_modified(|cur| {
            if hw > *cur {
                *cur = hw;
                true
            } else {
                false
            }
        });
    }

    /// Appends already-validated batches (see [`crate::batch::validate_batches`]), assigning
    /// offsets by rewriting each batch's base offset. Checks idempotent-producer sequences per
    /// (producer id, epoch): a re-sent batch is answered as a duplicate without writing; a gap
    /// fails with [`LogError::OutOfOrderSequence`]. Rolls segments by size and age.
    /// The data is in the OS after this returns; call [`Self::flush_to`] for durability.
    pub fn append(&self, batches: &[u8], now_ms: i64) -> Result<AppendInfo, LogError> {
        self.check_writable()?;
        let headers = split_batches(batches)?;
        let config = self.config.read().clone();
        let mut w = self.writer.lock();
        self.check_writable()?;

        let log_end = self.log_end.load(Ordering::Acquire);
        let mut offsets = Vec::with_capacity(headers.len());
        let mut next = log_end;
        for h in &headers {
            let last = next + i64::from(h.last_offset_delta);
            offsets.push((next, last));
            next = last + 1;
        }
        let staged = match w.producers.check(&headers, &offsets)? {
            SeqCheck::Duplicate(base_offset, last_offset) => {
                return Ok(AppendInfo {
                    base_offset,
                    last_offset,
                    log_start_offset: self.log_start.load(Ordering::Acquire),
                    duplicate: true,
                });
            }
            SeqCheck::Append(staged) => staged,
        };

        let total_bytes: u64 = headers.iter().map(|h| h.total_len as u64).sum();
        let mut active = self.active_segment()?;
        if Self::should_roll(&active, &w, &config, total_bytes, next - 1, now_ms) {
            active = self.roll(&mut w, &config, log_end)?;
        }
        if w.active_created_ms.is_none() {
            w.active_created_ms = Some(now_ms);
        }
        let bases: Vec<i64> = offsets.iter().map(|o| o.0).collect();
        if let Err((e, restored)) = active.append(batches, &headers, &bases, config.index_interval_bytes) {
            if !restored {
                // A partial batch may remain at the tail: refuse further writes.
                tracing::error!(error = %e, dir = %self.dir.display(), "cannot undo a failed append; partition log poisoned");
                self.durability.poison();
            }
            return Err(LogError::Io(e));
        }
        w.producers.commit(staged);
        self.log_end.store(next, Ordering::Release);
        if matches!(config.flush, FlushMode::PageCache { .. }) {
            self.raise_hw(next);
        }
        Ok(AppendInfo {
            base_offset: log_end,
            last_offset: next - 1,
            log_start_offset: self.log_start.load(Ordering::Acquire),
            duplicate: false,
        })
    }

    /// Appends the records of one partition of a produce request after validating them as
    /// Kafka's `LogValidator` does (see `validate`): exactly one v2 batch with base offset 0,
    /// within `max.message.bytes`, a good CRC, consistent counts and offset deltas, well-formed
    /// records (decompressed within `message.max.uncompressed.bytes`) with timestamps within
    /// `message.timestamp.before/after.max.ms` of `now_ms`. Nothing is written when any check
    /// fails.
    pub fn append_client_records(&self, records: &[u8], now_ms: i64) -> Result<AppendInfo, LogError> {
        let limits = {
            let c = self.config.read();
            crate::validate::Limits {
                max_message_bytes: c.max_message_bytes,
                max_uncompressed_bytes: c.max_uncompressed_batch_bytes,
                now_ms,
                timestamp_before_max_ms: c.message_timestamp_before_max_ms,
                timestamp_after_max_ms: c.message_timestamp_after_max_ms,
            }
        };
        let (_, len) = crate::validate::validate_produce(records, limits)?;
        self.append(&records[..len], now_ms)
    }

    fn should_roll(active: &Segment, w: &Writer, config: &LogConfig, incoming: u64, last_offset: i64, now_ms: i64) -> bool {
        let size = active.size();
        if size == 0 {
            return false;
        }
        // Positions and relative offsets in the indexes are 32-bit.
        let max_bytes = config.segment_bytes.min(i32::MAX as u64);
        size + incoming > max_bytes
            || last_offset - active.base_offset() > i64::from(i32::MAX)
            || w.active_created_ms
                .is_some_and(|created| now_ms.saturating_sub(created) >= config.segment_ms)
            || active.state.read().indexes_full()
    }

    /// Seals the active segment and starts a new one at `new_base`; snapshots producer state.
    fn roll(&self, w: &mut Writer, config: &LogConfig, new_base: i64) -> Result<Arc<Segment>, LogError> {
        let old = self.active_segment()?;
        old.seal()?;
        let new = Arc::new(Segment::create(&self.dir, new_base, config.index_max_bytes)?);
        self.segments.write().push(Arc::clone(&new));
        w.unsynced.push(old);
        w.dir_dirty = true;
        w.active_created_ms = None;
        // The snapshot is only a cache for faster restarts: failing to write it is not fatal.
        if let Err(e) = w.producers.write_snapshot(&self.dir, new_base, false) {
            tracing::warn!(error = %e, dir = %self.dir.display(), "cannot write producer snapshot");
        }
        let _ = producer_state::prune_snapshots(&self.dir, SNAPSHOTS_KEPT);
        Ok(new)
    }

    /// One group-commit round: fsyncs rolled segments, the active segment and (if files were
    /// created) the directory, then publishes the new durable end. Returns the end covered.
    fn sync_round(&self) -> std::io::Result<i64> {
        let (target, active, pending, dir_dirty) = {
            let mut w = self.writer.lock();
            (
                self.log_end.load(Ordering::Acquire),
                self.active_segment().map_err(std::io::Error::other)?,
                std::mem::take(&mut w.unsynced),
                std::mem::take(&mut w.dir_dirty),
            )
        };
        for seg in &pending {
            seg.sync_all()?;
        }
        active.sync_data()?;
        if dir_dirty {
            sync_dir(&self.dir)?;
        }
        if self.config.read().flush == FlushMode::Fsync {
            self.raise_hw(target);
        }
        Ok(target)
    }

    /// Blocks until every offset below `end_offset` is durable, sharing fsyncs between
    /// concurrent callers (group commit). In page-cache mode it returns at once.
    pub fn flush_to(&self, end_offset: i64) -> Result<(), LogError> {
        self.check_writable()?;
        if matches!(self.config.read().flush, FlushMode::PageCache { .. }) {
            return Ok(());
        }
        let end = end_offset.min(self.log_end.load(Ordering::Acquire));
        self.durability.flush_to(end, || self.sync_round())
    }

    /// Forces an fsync of everything written so far (used by the page-cache background flusher
    /// and at shutdown).
    pub fn flush(&self) -> Result<(), LogError> {
        self.check_writable()?;
        self.flush_inner()
    }

    fn flush_inner(&self) -> Result<(), LogError> {
        let end = self.log_end.load(Ordering::Acquire);
        self.durability.flush_to(end, || self.sync_round())
    }

    /// Reads whole batches starting with the one that contains `offset`, at most `max_bytes`
    /// of them except that at least one whole batch is returned even when larger, never past
    /// the high watermark. `offset` equal to the high watermark returns empty records.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult, LogError> {
        self.read_with(offset, max_bytes, true)
    }

    /// Like [`Self::read`], but with `min_one_batch` false a first batch larger than
    /// `max_bytes` is not returned either (Kafka's `minOneMessage`: only the first batch of a
    /// fetch response may exceed the limits). Allocates exactly the bytes it returns: the
    /// batches are chosen from their headers first, then read in one buffer of that size.
    pub fn read_with(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<ReadResult, LogError> {
        let plan = self.plan_read(offset, max_bytes, min_one_batch)?;
        let total = usize::try_from(plan.bytes).map_err(|_| LogError::Corrupt(format!("read of {} bytes", plan.bytes)))?;
        let mut out = vec![0u8; total];
        let mut at = 0;
        for (seg, span) in &plan.spans {
            use std::os::unix::fs::FileExt;
            let len = span.len as usize;
            seg.file().read_exact_at(&mut out[at..at + len], span.pos)?;
            at += len;
        }
        Ok(ReadResult {
            records: Bytes::from(out),
            high_watermark: plan.high_watermark,
            log_start_offset: plan.log_start_offset,
        })
    }

    /// How many bytes [`Self::read_with`] would return now, without reading them (for a fetch
    /// waiting for `MinBytes`).
    pub fn readable_bytes(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<u64, LogError> {
        Ok(self.plan_read(offset, max_bytes, min_one_batch)?.bytes)
    }

    /// Chooses the whole batches a read returns, segment by segment, from headers and indexes.
    fn plan_read(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<ReadPlan, LogError> {
        self.check_open()?;
        // Load the high watermark before the log end so that hw <= end holds.
        let hw = self.high_watermark();
        let start = self.log_start.load(Ordering::Acquire);
        let end = self.log_end.load(Ordering::Acquire);
        if offset < start || offset > end {
            return Err(LogError::OffsetOutOfRange { offset, start, end });
        }
        let max_bytes = max_bytes as u64;
        let mut plan = ReadPlan {
            spans: Vec::new(),
            bytes: 0,
            high_watermark: hw,
            log_start_offset: start,
        };
        let mut next = offset;
        while next < hw {
            let Some(seg) = self.segment_for(next) else {
                return Err(LogError::OffsetOutOfRange { offset, start, end });
            };
            let limit = seg.size();
            let Some((pos, first)) = seg.find_batch(next, limit)? else {
                // Past this segment's data (only possible at a segment boundary): move on.
                let seg_end = seg.end_offset().max(seg.base_offset() + 1);
                if seg_end <= next {
                    break;
                }
                next = seg_end;
                continue;
            };
            let min_one = min_one_batch && plan.spans.is_empty();
            let span = seg.readable_span(pos, &first, limit, hw, max_bytes.saturating_sub(plan.bytes), min_one)?;
            if span.len == 0 {
                break;
            }
            plan.bytes += span.len;
            next = span.next_offset;
            let reached_segment_end = span.pos + span.len == limit;
            plan.spans.push((seg, span));
            if !reached_segment_end || plan.bytes >= max_bytes {
                break;
            }
        }
        Ok(plan)
    }

    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start.load(Ordering::Acquire)
    }

    /// Base offset of the active segment (the one appends go to): everything below it is in
    /// sealed segments, which [`Self::delete_records_before`] can delete.
    pub fn active_segment_base_offset(&self) -> i64 {
        self.segments
            .read()
            .last()
            .map_or_else(|| self.log_end_offset(), |s| s.base_offset())
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end.load(Ordering::Acquire)
    }

    /// Offset below which data is visible to consumers: the durable end in fsync mode, the log
    /// end in page-cache mode.
    pub fn high_watermark(&self) -> i64 {
        *self.hw_tx.borrow()
    }

    /// A receiver that sees every high-watermark change (for long-poll fetches).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.hw_tx.subscribe()
    }

    /// Offset and timestamp of the first record whose timestamp is >= `timestamp`, or `None`
    /// if there is none below the high watermark.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>, LogError> {
        self.check_open()?;
        let hw = self.high_watermark();
        let start = self.log_start.load(Ordering::Acquire);
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        for seg in segments {
            if seg.base_offset() >= hw {
                break;
            }
            if seg.end_offset() <= start {
                continue;
            }
            let limit = seg.size();
            let start_offset = {
                let st = seg.state.read();
                if seg.end_offset() <= hw && st.max_timestamp < timestamp {
                    continue;
                }
                st.time_index
                    .lookup_before(timestamp)
                    .map(|(_, rel)| seg.base_offset() + i64::from(rel))
            };
            let mut pos = match start_offset {
                Some(o) => seg.find_batch(o, limit)?.map_or(0, |(p, _)| p),
                None => 0,
            };
            while pos < limit {
                let h = seg.header_at(pos, limit)?;
                if h.base_offset >= hw {
                    return Ok(None);
                }
                if h.max_timestamp >= timestamp {
                    let bytes = seg.read_batch(pos, &h)?;
                    if let Some((offset, ts)) = records::first_record_at_or_after(&bytes, &h, timestamp, start, self.max_uncompressed())? {
                        return Ok(Some(TimestampOffset { offset, timestamp: ts }));
                    }
                }
                pos += h.total_len as u64;
            }
        }
        Ok(None)
    }

    /// Largest batch timestamp among the batches of `seg` below `hw`, with the base offset of
    /// the first batch that has it. Uses the indexes, then scans at most one index interval.
    fn max_timestamp_below(&self, seg: &Segment, hw: i64) -> Result<(i64, i64), LogError> {
        let base = seg.base_offset();
        let (mut best, start_pos) = {
            let st = seg.state.read();
            if seg.end_offset() <= hw {
                return Ok((st.max_timestamp, st.offset_of_max));
            }
            let hw_rel = (hw - base).clamp(0, i64::from(u32::MAX)) as u32;
            let (rel_k, pos_k) = st.offset_index.lookup(hw_rel);
            // Time entries below the index point cover every batch before it.
            let best = st
                .time_index
                .last_below_offset(rel_k)
                .map_or((i64::MIN, base), |(ts, rel)| (ts, base + i64::from(rel)));
            (best, u64::from(pos_k))
        };
        let limit = seg.size();
        seg.scan_from(start_pos, limit, |h| {
            if h.base_offset >= hw {
                return true;
            }
            if h.max_timestamp > best.0 {
                best = (h.max_timestamp, h.base_offset);
            }
            false
        })?;
        Ok(best)
    }

    /// Offset and timestamp of the record with the largest timestamp (the first one, if tied),
    /// or `None` for an empty log.
    pub fn max_timestamp_offset(&self) -> Result<Option<TimestampOffset>, LogError> {
        self.check_open()?;
        let hw = self.high_watermark();
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        let mut best: Option<(i64, i64, Arc<Segment>)> = None;
        for seg in segments {
            if seg.base_offset() >= hw {
                break;
            }
            let (ts, offset) = self.max_timestamp_below(&seg, hw)?;
            if ts != i64::MIN && best.as_ref().is_none_or(|b| ts > b.0) {
                best = Some((ts, offset, seg));
            }
        }
        let Some((ts, batch_offset, seg)) = best else {
            return Ok(None);
        };
        let found = match seg.batch_starting_at(batch_offset, seg.size())? {
            Some((pos, h)) => {
                let bytes = seg.read_batch(pos, &h)?;
                records::first_record_at_or_after(&bytes, &h, ts, i64::MIN, self.max_uncompressed())?
            }
            None => None,
        };
        let (offset, timestamp) = found.unwrap_or((batch_offset, ts));
        Ok(Some(TimestampOffset { offset, timestamp }))
    }

    fn max_uncompressed(&self) -> u64 {
        self.config.read().max_uncompressed_batch_bytes
    }

    /// Replaces the config (after an alter). Takes effect for later appends and retention.
    pub fn set_config(&self, config: LogConfig) {
        let page_cache = matches!(config.flush, FlushMode::PageCache { .. });
        *self.config.write() = config;
        if page_cache {
            // Page-cache mode shows everything written; the watermark never moves back.
            let _w = self.writer.lock();
            self.raise_hw(self.log_end.load(Ordering::Acquire));
        }
    }

    /// Deletes whole segments past retention (never the active one) and returns how many.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        self.check_open()?;
        let config = self.config.read().clone();
        let _w = self.writer.lock();
        self.check_open()?;
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        let mut remaining: u64 = segments.iter().map(|s| s.size()).sum();
        let cutoff = now_ms.saturating_sub(config.retention_ms);
        let log_start = self.log_start.load(Ordering::Acquire);
        let mut count = 0;
        for (i, seg) in segments[..segments.len().saturating_sub(1)].iter().enumerate() {
            // Wholly below the log start (a DeleteRecords whose segment deletion failed or that
            // ended inside the then active segment): Kafka's log-start-offset breach.
            let by_start = segments[i + 1].base_offset() <= log_start;
            let by_time = config.retention_ms >= 0 && seg.state.read().max_timestamp < cutoff;
            let by_size = config.retention_bytes >= 0 && remaining - seg.size() >= config.retention_bytes as u64;
            if !(by_start || by_time || by_size) {
                break;
            }
            remaining -= seg.size();
            count += 1;
        }
        if count == 0 {
            return Ok(0);
        }
        let removed: Vec<Arc<Segment>> = {
            let mut segs = self.segments.write();
            let removed = segs.drain(..count).collect();
            // Never lower: a DeleteRecords start may lie inside the first segment kept.
            self.log_start.fetch_max(segs[0].base_offset(), Ordering::AcqRel);
            removed
        };
        for seg in &removed {
            tracing::info!(segment = %seg.log_path().display(), "deleting segment past retention");
            seg.delete_files()?;
        }
        Ok(count)
    }

    /// Kafka's DeleteRecords (`UnifiedLog.maybeIncrementLogStartOffset`): raises the log start
    /// offset to `offset` and deletes the segments wholly below it (never the active one).
    /// Records below the new start become unreadable at once (reads, ListOffsets EARLIEST and
    /// timestamp lookups start there) even when their segment is kept.
    ///
    /// The new start is checkpointed before this returns, so an answered DeleteRecords
    /// survives `kill -9`; in fsync mode the checkpoint is fsynced and survives power loss too
    /// (Kafka writes its checkpoint only every `log.flush.start.offset.checkpoint.interval.ms`).
    /// Returns the log start offset after the call: `offset` or, when `offset` is not above
    /// the current start, the current start unchanged (Kafka's no-op). Either way no segment
    /// wholly below the start remains when it returns (unless deleting one failed). Fails with
    /// [`LogError::OffsetOutOfRange`] when `offset` is negative or above the high watermark.
    pub fn delete_records(&self, offset: i64) -> Result<i64, LogError> {
        self.check_writable()?;
        let durable = self.config.read().flush == FlushMode::Fsync;
        let _w = self.writer.lock();
        self.check_writable()?;
        let start = self.log_start.load(Ordering::Acquire);
        let hw = self.high_watermark();
        if offset < 0 || offset > hw {
            return Err(LogError::OffsetOutOfRange { offset, start, end: hw });
        }
        if offset <= start {
            // Kafka's no-op; segments that a roll since left wholly below the start still go,
            // so that none remains once this returns.
            if let Err(e) = self.drop_segments_below_start(start, durable) {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot delete segments below the log start yet");
            }
            return Ok(start);
        }
        log_start::write(&self.dir, offset, durable)?;
        self.log_start.store(offset, Ordering::Release);
        tracing::info!(dir = %self.dir.display(), log_start = offset, "log start offset moved by DeleteRecords");
        // The start is durable; segment files left behind by a failure here go at the next
        // retention pass, which deletes segments wholly below the start.
        if let Err(e) = self.drop_segments_below_start(offset, durable) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot delete segments below the log start yet");
        }
        Ok(offset)
    }

    /// Deletes the segments (never the active one) that lie wholly below `start`, oldest first
    /// so that a crash part-way leaves a contiguous suffix of the log. The caller holds the
    /// writer lock.
    fn drop_segments_below_start(&self, start: i64, durable: bool) -> Result<usize, LogError> {
        let removed: Vec<Arc<Segment>> = {
            let mut segs = self.segments.write();
            let count = segs.windows(2).take_while(|pair| pair[1].base_offset() <= start).count();
            segs.drain(..count).collect()
        };
        for seg in &removed {
            tracing::info!(segment = %seg.log_path().display(), log_start = start, "deleting segment below the log start offset");
            seg.delete_files()?;
        }
        if durable && !removed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(removed.len())
    }

    /// Deletion at segment granularity (the share coordinator's pruning; clients' DeleteRecords
    /// is [`Self::delete_records`]): deletes the whole segments whose records all
    /// lie below `offset` (never the active one), oldest first, and raises the log start offset
    /// to the base offset of the first segment kept. Records below `offset` in a kept segment stay
    /// readable, so the log start offset, which is the first segment's base offset, survives a
    /// restart without a checkpoint file. Returns how many segments were deleted.
    pub fn delete_records_before(&self, offset: i64) -> Result<usize, LogError> {
        self.check_open()?;
        let _w = self.writer.lock();
        self.check_open()?;
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        // Segment i holds only offsets below the next segment's base offset.
        let count = segments.windows(2).take_while(|pair| pair[1].base_offset() <= offset).count();
        if count == 0 {
            return Ok(0);
        }
        let removed: Vec<Arc<Segment>> = {
            let mut segs = self.segments.write();
            let removed = segs.drain(..count).collect();
            // Never lower: a DeleteRecords start may lie inside the first segment kept.
            self.log_start.fetch_max(segs[0].base_offset(), Ordering::AcqRel);
            removed
        };
        // Oldest first: a crash part-way leaves a contiguous suffix of the log.
        for seg in &removed {
            tracing::info!(segment = %seg.log_path().display(), before = offset, "deleting segment below requested offset");
            seg.delete_files()?;
        }
        sync_dir(&self.dir)?;
        Ok(count)
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments.read().iter().map(|s| s.size()).sum()
    }

    /// Flushes and closes files; later calls fail with [`LogError::Closed`].
    pub fn close(&self) -> Result<(), LogError> {
        {
            let _w = self.writer.lock();
            if self.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
        }
        // No appends can start now; make everything durable, then seal and mark clean.
        let flushed = self.flush_inner();
        let w = self.writer.lock();
        let active = self.active_segment()?;
        let log_end = self.log_end.load(Ordering::Acquire);
        let sealed = active
            .seal()
            .and_then(|()| active.sync_all())
            .and_then(|()| w.producers.write_snapshot(&self.dir, log_end, true))
            .and_then(|()| producer_state::prune_snapshots(&self.dir, SNAPSHOTS_KEPT));
        let result = flushed.and(sealed.map_err(LogError::from));
        if result.is_ok() {
            // Only a log whose data and indexes are all durable may skip recovery next time.
            std::fs::File::create(self.dir.join(CLEAN_MARKER))?;
            sync_dir(&self.dir)?;
        }
        drop(w);
        self.segments.write().clear();
        result
    }

    /// Closes the log and removes its directory.
    pub fn delete(&self) -> Result<(), LogError> {
        if let Err(e) = self.close() {
            tracing::warn!(error = %e, dir = %self.dir.display(), "error closing log before delete");
        }
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Number of fsync rounds run so far (for tests of group commit).
    #[doc(hidden)]
    pub fn fsync_count(&self) -> u64 {
        self.durability.rounds()
    }

    /// Whether a failed fsync (or an append that could not be undone) poisoned this log: every
    /// later write fails with [`LogError::Poisoned`].
    pub fn is_poisoned(&self) -> bool {
        self.durability.is_poisoned()
    }

    /// Makes the next fsync fail, as a disk error would (for tests of poisoning).
    #[doc(hidden)]
    pub fn inject_fsync_failure(&self) {
        self.durability.fail_next_sync();
    }

    /// Base offsets of the segments, oldest first (for tests).
    #[doc(hidden)]
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.read().iter().map(|s| s.base_offset()).collect()
    }

    /// Offsets below this are durable (for tests).
    #[doc(hidden)]
    pub fn durable_end_offset(&self) -> i64 {
        self.durability.durable_end()
    }
}
