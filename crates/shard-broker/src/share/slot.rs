//! One share-partition as the broker holds it: the pure state machine behind a lock, the log it
//! reads, a signal that wakes waiting fetches when records become acquirable again, and where
//! its state is persisted.
//!
//! Every state change is written to the share-state store while the share-partition's lock is
//! still held, so the writes of one share-partition reach the store in the order the state
//! machine made them. Only acknowledgements (and admin resets) return the end offset for the
//! caller to make durable before answering; expiries, releases and archiving are written and
//! left to the next group commit or flush.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;
use shard_coordinator::{SharePartitionKey, ShareStateStore, StoreError};
use shard_log::{LogError, PartitionLog, batch};
use shard_share::{
    AckOutcome, AckRange, AcquireMode, AcquiredRange, LogBatch, MemberId, ResetError, ShareConfig, SharePartition, StateDelta,
};
use tokio::sync::watch;

use super::group_configs::ShareGroupSettings;

/// Where a share-partition's state is persisted.
#[derive(Debug, Clone)]
pub struct Persist {
    /// The broker's share-state store.
    pub store: Arc<ShareStateStore>,
    /// This share-partition's key in it.
    pub key: SharePartitionKey,
}

/// The result of persisting one change: the store end offset to make durable (none if nothing
/// was written), or why the write failed.
pub type Written = Result<Option<i64>, StoreError>;

#[derive(Debug)]
struct SlotState {
    sp: SharePartition,
    /// The share-partition's state was deleted (DeleteGroups, DeleteTopics, offsets deleted):
    /// nothing more may be written for it, or the store would recreate it.
    retired: bool,
}

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
    state: Mutex<SlotState>,
    /// Bumped whenever records may have become acquirable (release, expiry, window freed).
    available: watch::Sender<u64>,
    persist: Option<Persist>,
    /// End offset of the initial snapshot written when the share-partition was created (0 if it
    /// was restored or is not persisted).
    init_end: i64,
    /// Whether the initial snapshot is known to be durable.
    init_durable: AtomicBool,
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

/// Where `share.auto.offset.reset` starts a new share-partition of `log`.
pub fn reset_start_offset(log: &PartitionLog, settings: &ShareGroupSettings, now_ms: i64) -> i64 {
    settings
        .auto_offset_reset
        .start_offset(log.log_start_offset(), log.high_watermark(), now_ms, |ts| {
            log.offset_for_timestamp(ts).ok().flatten().map(|t| t.offset)
        })
}

impl PartitionSlot {
    /// A share-partition in state `sp`, persisted to `persist` (if any). `init_end` is the end
    /// offset of its initial snapshot, which must be durable before its records are answered
    /// (0 when nothing was written).
    pub fn new(log: Arc<PartitionLog>, sp: SharePartition, persist: Option<Persist>, init_end: i64) -> PartitionSlot {
        PartitionSlot {
            state: Mutex::new(SlotState { sp, retired: false }),
            log,
            available: watch::channel(0).0,
            init_durable: AtomicBool::new(persist.is_none() || init_end <= 0),
            persist,
            init_end,
        }
    }

    /// The end offset of the initial snapshot still to be made durable, if any.
    pub fn pending_init(&self) -> Option<(Arc<ShareStateStore>, i64)> {
        if self.init_durable.load(Ordering::Acquire) {
            return None;
        }
        self.persist.as_ref().map(|p| (p.store.clone(), self.init_end))
    }

    /// Whether this share-partition's state can no longer be persisted (the store is poisoned):
    /// records acquired now could never be acknowledged.
    pub fn store_failed(&self) -> bool {
        self.persist.as_ref().is_some_and(|p| p.store.is_poisoned())
    }

    /// Records that the initial snapshot is durable.
    pub fn init_made_durable(&self) {
        self.init_durable.store(true, Ordering::Release);
    }

    /// Writes `delta` (the caller holds the state lock); logs a failure.
    fn persist(&self, st: &SlotState, delta: &StateDelta, now_ms: i64, what: &'static str) -> Written {
        let Some(p) = &self.persist else { return Ok(None) };
        if st.retired || delta.is_empty() {
            return Ok(None);
        }
        match p.store.write_delta(&p.key, delta, now_ms) {
            Ok(end) => Ok(Some(end)),
            Err(e) => {
                tracing::error!(group = %p.key.group_id, topic_id = %p.key.topic_id, partition = p.key.partition, what, error = %e,
                    "cannot persist share-partition state");
                Err(e)
            }
        }
    }

    /// Stops persisting this share-partition (its state is being deleted). Writes already made
    /// stay ordered before the caller's tombstone, which it writes after this returns.
    pub fn retire(&self) {
        self.state.lock().retired = true;
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

    /// Acquires up to `max_records` for `member` from at most `max_bytes` of log; with
    /// `min_one_batch` the first batch is read even when larger (the response's first records).
    #[allow(clippy::too_many_arguments)]
    pub fn acquire(
        &self,
        member: MemberId,
        settings: &ShareGroupSettings,
        max_records: u32,
        max_bytes: usize,
        min_one_batch: bool,
        mode: AcquireMode,
        now_ms: i64,
    ) -> Result<Acquired, LogError> {
        let mut st = self.state.lock();
        let config = share_config(settings);
        if *st.sp.config() != config {
            st.sp.set_config(config);
        }
        let offset = st.sp.next_fetch_offset();
        let read = match self.log.read_with(offset, max_bytes, min_one_batch) {
            Ok(read) => read,
            Err(LogError::OffsetOutOfRange { start, .. }) if offset < start => {
                // Retention or deletion moved the log start past us: those records are gone.
                let delta = st.sp.advance_log_start(start);
                let _ = self.persist(&st, &delta, now_ms, "log start moved");
                drop(st);
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
        let acquisition = st.sp.acquire(member, offset, &batches, max_records, mode, now_ms);
        // Acquisitions are not persisted; what acquiring archived or skipped is.
        let _ = self.persist(&st, &acquisition.delta, now_ms, "acquire");
        drop(st);
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

    /// Applies acknowledgements from `member` and writes what they changed. The caller makes
    /// the returned end offset durable before answering.
    pub fn acknowledge(&self, member: MemberId, ranges: &[AckRange], now_ms: i64) -> (AckOutcome, Written) {
        let mut st = self.state.lock();
        let outcome = st.sp.acknowledge(member, ranges, now_ms);
        let written = self.persist(&st, &outcome.delta, now_ms, "acknowledge");
        drop(st);
        self.signal(&outcome.delta);
        (outcome, written)
    }

    /// Releases every record `member` holds here (writing the new delivery states).
    pub fn release_member(&self, member: MemberId) {
        let mut st = self.state.lock();
        let delta = st.sp.release_member(member);
        let _ = self.persist(&st, &delta, crate::clock::now_ms(), "release member");
        drop(st);
        self.signal(&delta);
    }

    /// Returns expired locks to Available (or Archived at the delivery limit), writing the change.
    pub fn expire(&self, now_ms: i64) {
        let mut st = self.state.lock();
        if st.sp.next_deadline().is_some_and(|d| d <= now_ms) {
            let delta = st.sp.expire(now_ms);
            let _ = self.persist(&st, &delta, now_ms, "lock expiry");
            drop(st);
            self.signal(&delta);
        }
    }

    /// Drops all record state and starts delivery at `offset` (AlterShareGroupOffsets), writing
    /// a snapshot; refused while any record is acquired. Returns what [`Self::acknowledge`] does.
    pub fn reset_start(&self, offset: i64) -> Result<Written, ResetError> {
        let mut st = self.state.lock();
        let delta = st.sp.reset_start(offset)?;
        let written = self.persist(&st, &delta, crate::clock::now_ms(), "reset start offset");
        drop(st);
        // Records below the old start may have become deliverable again.
        self.signal(&delta);
        Ok(written)
    }

    /// A copy of the state machine's counters and start offset, for describe and lag.
    pub fn stats(&self) -> shard_share::ShareStats {
        self.state.lock().sp.stats()
    }

    /// Log bytes from the next fetch offset, counted up to `limit` from batch headers, without
    /// reading or acquiring anything (for `MinBytes`: Kafka acquires nothing until a fetch would
    /// return enough).
    pub fn readable_bytes(&self, limit: usize) -> usize {
        let offset = self.state.lock().sp.next_fetch_offset();
        self.log
            .readable_bytes(offset, limit, true)
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
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
