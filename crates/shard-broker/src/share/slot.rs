//! One share-partition as the broker holds it: the pure state machine behind a lock, the log it
//! reads, and a signal that wakes waiting fetches when records become acquirable again.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use shard_log::{LogError, PartitionLog, batch};
use shard_share::{
    AckOutcome, AckRange, AcquireMode, AcquiredRange, LogBatch, MemberId, ResetError, ShareConfig, SharePartition, StateDelta,
};
use tokio::sync::watch;

use super::group_configs::ShareGroupSettings;

/// What one partition gave a fetch.
#[derive(Debug, Default)]
pub struct Acquired {
    /// Whole stored batches covering the acquired offsets (a slice of the read, not a copy).
    pub records: Bytes,
    /// The acquired offsets with their delivery counts.
    pub ranges: Vec<AcquiredRange>,
}

impl Acquired {
    /// Records acquired.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(|r| (r.last_offset - r.first_offset + 1) as u64).sum()
    }
}

/// A share-partition of one group.
#[derive(Debug)]
pub struct PartitionSlot {
    log: Arc<PartitionLog>,
    state: Mutex<SharePartition>,
    /// Bumped whenever records may have become acquirable (release, expiry, window freed).
    available: watch::Sender<u64>,
}

/// The state machine's settings for a group's effective configs.
pub fn share_config(s: &ShareGroupSettings) -> ShareConfig {
    ShareConfig {
        lock_duration_ms: i64::from(s.record_lock_duration_ms),
        delivery_count_limit: u16::try_from(s.delivery_count_limit).unwrap_or(u16::MAX),
        max_in_flight: u32::try_from(s.partition_max_record_locks).unwrap_or(0),
        renew_enabled: s.renew_acknowledge_enable,
    }
}

impl PartitionSlot {
    /// A share-partition starting where `share.auto.offset.reset` says.
    pub fn initialize(log: Arc<PartitionLog>, settings: &ShareGroupSettings, now_ms: i64) -> PartitionSlot {
        let start = settings
            .auto_offset_reset
            .start_offset(log.log_start_offset(), log.high_watermark(), now_ms, |ts| {
                log.offset_for_timestamp(ts).ok().flatten().map(|t| t.offset)
            });
        PartitionSlot {
            state: Mutex::new(SharePartition::new(share_config(settings), start)),
            log,
            available: watch::channel(0).0,
        }
    }

    /// A share-partition whose delivery starts at `start_offset` (AlterShareGroupOffsets on a
    /// partition the group had no state for).
    pub fn starting_at(log: Arc<PartitionLog>, settings: &ShareGroupSettings, start_offset: i64) -> PartitionSlot {
        PartitionSlot {
            state: Mutex::new(SharePartition::new(share_config(settings), start_offset)),
            log,
            available: watch::channel(0).0,
        }
    }

    /// The log this share-partition consumes.
    pub fn log(&self) -> &Arc<PartitionLog> {
        &self.log
    }

    /// A receiver that changes when records may have become acquirable.
    pub fn watch_available(&self) -> watch::Receiver<u64> {
        self.available.subscribe()
    }

    fn signal(&self, delta: &StateDelta) {
        if !delta.is_empty() {
            self.available.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// Acquires up to `max_records` for `member` from at most about `max_bytes` of log.
    pub fn acquire(
        &self,
        member: MemberId,
        settings: &ShareGroupSettings,
        max_records: u32,
        max_bytes: usize,
        mode: AcquireMode,
        now_ms: i64,
    ) -> Result<Acquired, LogError> {
        let mut sp = self.state.lock();
        let config = share_config(settings);
        if *sp.config() != config {
            sp.set_config(config);
        }
        let offset = sp.next_fetch_offset();
        let read = match self.log.read(offset, max_bytes) {
            Ok(read) => read,
            Err(LogError::OffsetOutOfRange { start, .. }) if offset < start => {
                // Retention or deletion moved the log start past us: those records are gone.
                let delta = sp.advance_log_start(start);
                self.signal(&delta);
                return Ok(Acquired::default());
            }
            Err(LogError::OffsetOutOfRange { offset, end, .. }) => {
                tracing::warn!(offset, end, "share-partition is ahead of its log; waiting for the log to catch up");
                return Ok(Acquired::default());
            }
            Err(e) => return Err(e),
        };
        let spans = batch_spans(&read.records)?;
        let batches: Vec<LogBatch> = spans.iter().map(|s| s.batch).collect();
        let acquisition = sp.acquire(member, offset, &batches, max_records, mode, now_ms);
        drop(sp);
        self.signal(&acquisition.delta);
        let ranges = acquisition.ranges;
        let (Some(lo), Some(hi)) = (
            ranges.iter().map(|r| r.first_offset).min(),
            ranges.iter().map(|r| r.last_offset).max(),
        ) else {
            return Ok(Acquired::default());
        };
        let from = spans.iter().find(|s| s.batch.last_offset >= lo).map_or(0, |s| s.start);
        let to = spans
            .iter()
            .rev()
            .find(|s| s.batch.first_offset <= hi)
            .map_or(read.records.len(), |s| s.end);
        Ok(Acquired {
            records: read.records.slice(from..to),
            ranges,
        })
    }

    /// Applies acknowledgements from `member`.
    pub fn acknowledge(&self, member: MemberId, ranges: &[AckRange], now_ms: i64) -> AckOutcome {
        let outcome = self.state.lock().acknowledge(member, ranges, now_ms);
        self.signal(&outcome.delta);
        outcome
    }

    /// Releases every record `member` holds here.
    pub fn release_member(&self, member: MemberId) {
        let delta = self.state.lock().release_member(member);
        self.signal(&delta);
    }

    /// Returns expired locks to Available (or Archived at the delivery limit).
    pub fn expire(&self, now_ms: i64) {
        let mut sp = self.state.lock();
        if sp.next_deadline().is_some_and(|d| d <= now_ms) {
            let delta = sp.expire(now_ms);
            drop(sp);
            self.signal(&delta);
        }
    }

    /// Drops all record state and starts delivery at `offset` (AlterShareGroupOffsets); refused
    /// while any record is acquired.
    pub fn reset_start(&self, offset: i64) -> Result<(), ResetError> {
        let delta = self.state.lock().reset_start(offset)?;
        // Records below the old start may have become deliverable again.
        self.signal(&delta);
        Ok(())
    }

    /// A copy of the state machine's counters and start offset, for describe and lag.
    pub fn stats(&self) -> shard_share::ShareStats {
        self.state.lock().stats()
    }

    /// Log bytes from the next fetch offset, counted up to `limit`, without acquiring anything
    /// (for `MinBytes`: Kafka acquires nothing until a fetch would return enough).
    pub fn readable_bytes(&self, limit: usize) -> usize {
        let offset = self.state.lock().next_fetch_offset();
        self.log.read(offset, limit).map_or(0, |r| r.records.len())
    }
}

/// One stored batch's offsets and byte span within a read.
#[derive(Debug, Clone, Copy)]
struct BatchSpan {
    batch: LogBatch,
    start: usize,
    end: usize,
}

/// Splits a read into its batches (the log only returns whole, validated batches).
fn batch_spans(records: &Bytes) -> Result<Vec<BatchSpan>, LogError> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at < records.len() {
        let header = batch::parse_header(&records[at..])?;
        let end = at + header.total_len;
        if end > records.len() {
            break;
        }
        spans.push(BatchSpan {
            batch: LogBatch::new(header.base_offset, header.last_offset()),
            start: at,
            end,
        });
        at = end;
    }
    Ok(spans)
}
