//! One partition's log: a directory of segments plus the idempotent-producer state.

use std::path::Path;

use bytes::Bytes;
use tokio::sync::watch;

use crate::{LogConfig, LogError};

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

/// An offset found by timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// Offset of the record.
    pub offset: i64,
    /// Its timestamp.
    pub timestamp: i64,
}

/// One partition's log. `Send + Sync`; appends are serialized internally, reads run concurrently.
#[derive(Debug)]
pub struct PartitionLog {
    _private: (),
}

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`, recovering from a crash: validates the tail
    /// of the active segment, truncates a torn or corrupt tail at the last valid batch (logging
    /// what was cut), rebuilds indexes that are missing or stale, and rebuilds producer state.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Self, LogError> {
        let _ = (dir, config);
        todo!()
    }

    /// Appends already-validated batches (see [`crate::batch::validate_batches`]), assigning
    /// offsets by rewriting each batch's base offset. Checks idempotent-producer sequences per
    /// (producer id, epoch): a re-sent batch is answered as a duplicate without writing; a gap
    /// fails with [`LogError::OutOfOrderSequence`]. Rolls segments by size and age.
    /// The data is in the OS after this returns; call [`Self::flush_to`] for durability.
    pub fn append(&self, batches: &[u8], now_ms: i64) -> Result<AppendInfo, LogError> {
        let _ = (batches, now_ms);
        todo!()
    }

    /// Blocks until every offset below `end_offset` is durable, sharing fsyncs between
    /// concurrent callers (group commit). In page-cache mode it returns at once.
    pub fn flush_to(&self, end_offset: i64) -> Result<(), LogError> {
        let _ = end_offset;
        todo!()
    }

    /// Forces an fsync of everything written so far (used by the page-cache background flusher
    /// and at shutdown).
    pub fn flush(&self) -> Result<(), LogError> {
        todo!()
    }

    /// Reads whole batches starting with the one that contains `offset`, up to about
    /// `max_bytes` (at least one whole batch is returned even when larger), never past the high
    /// watermark. `offset` equal to the high watermark returns empty records.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult, LogError> {
        let _ = (offset, max_bytes);
        todo!()
    }

    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        todo!()
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        todo!()
    }

    /// Offset below which data is visible to consumers: the durable end in fsync mode, the log
    /// end in page-cache mode.
    pub fn high_watermark(&self) -> i64 {
        todo!()
    }

    /// A receiver that sees every high-watermark change (for long-poll fetches).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        todo!()
    }

    /// Offset and timestamp of the first record whose timestamp is >= `timestamp`, or `None`
    /// if there is none below the high watermark.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>, LogError> {
        let _ = timestamp;
        todo!()
    }

    /// Offset and timestamp of the record with the largest timestamp (the first one, if tied),
    /// or `None` for an empty log.
    pub fn max_timestamp_offset(&self) -> Result<Option<TimestampOffset>, LogError> {
        todo!()
    }

    /// Replaces the config (after an alter). Takes effect for later appends and retention.
    pub fn set_config(&self, config: LogConfig) {
        let _ = config;
        todo!()
    }

    /// Deletes whole segments past retention (never the active one) and returns how many.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        let _ = now_ms;
        todo!()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        todo!()
    }

    /// Flushes and closes files; later calls fail with [`LogError::Closed`].
    pub fn close(&self) -> Result<(), LogError> {
        todo!()
    }

    /// Closes the log and removes its directory.
    pub fn delete(&self) -> Result<(), LogError> {
        todo!()
    }
}
