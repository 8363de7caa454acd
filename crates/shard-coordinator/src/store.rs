//! [`ShareStateStore`]: share-partition state and group configs in one `__share_group_state`
//! partition log, with the current state of every key kept in memory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use parking_lot::Mutex;
use shard_log::{LogConfig, LogError, PartitionLog};
use shard_share::{ShareSnapshot, StateDelta, StateRange};
use uuid::Uuid;

use crate::record::{
    FormatError, GroupConfigValue, RecordKey, RecordValue, SharePartitionKey, ShareSnapshotValue, ShareUpdateValue, StateRecord,
};

/// Name of the internal topic.
pub const STATE_TOPIC: &str = "__share_group_state";
/// Directory of its single partition under `log.dir` (Kafka's `<topic>-<partition>` layout).
pub const STATE_PARTITION_DIR: &str = "__share_group_state-0";
/// Leader epoch written in every record (one broker: the leader never changes).
const LEADER_EPOCH: i32 = 0;
/// Most records put in one batch by [`ShareStateStore::snapshot_cold`] and deletions.
const RECORDS_PER_BATCH: usize = 500;

/// Tuning of a [`ShareStateStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Updates written for a share-partition before the next write becomes a full snapshot
    /// (`share.coordinator.snapshot.update.records.per.snapshot`, default 500). 0 = every write
    /// is a snapshot.
    pub updates_per_snapshot: u32,
    /// Bytes read per step while recovering.
    pub recovery_read_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            updates_per_snapshot: 500,
            recovery_read_bytes: 1 << 20,
        }
    }
}

/// What [`ShareStateStore::open`] rebuilt from the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// State of every share-partition that has state: its latest snapshot with the later
    /// updates applied in order (or the updates applied to an empty start, if it has no
    /// snapshot). Deleted share-partitions are absent.
    pub partitions: BTreeMap<SharePartitionKey, ShareSnapshot>,
    /// Explicit configs of every group that has some.
    pub group_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// Records replayed.
    pub records: u64,
    /// First offset replayed (the log start offset).
    pub start_offset: i64,
    /// Log end offset after recovery.
    pub end_offset: i64,
}

/// What [`ShareStateStore::prune`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneOutcome {
    /// Lowest offset recovery still needs.
    pub needed_offset: i64,
    /// Whole segments deleted.
    pub segments_deleted: usize,
    /// Log start offset afterwards.
    pub log_start_offset: i64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The log failed. [`LogError::Poisoned`] means an earlier fsync failed: nothing can be
    /// written until the broker restarts and recovers from what is really on disk.
    #[error("__share_group_state log: {0}")]
    Log(#[from] LogError),
    /// A record passed the batch CRC but is not a valid record: the log is corrupt.
    #[error("corrupt __share_group_state record at offset {offset}: {source}")]
    CorruptRecord {
        /// Offset of the record.
        offset: i64,
        /// What is wrong with it.
        #[source]
        source: FormatError,
    },
    /// A batch could not be decoded (bad framing, unsupported compression).
    #[error("undecodable __share_group_state batch at offset {offset}: {reason}")]
    CorruptBatch {
        /// Base offset of the batch (or the offset being read).
        offset: i64,
        /// The decoder's complaint.
        reason: String,
    },
    /// The caller passed state that cannot be stored (inverted range, negative offset, delivery
    /// count above `i16::MAX`, group id too long for an int16-length string).
    #[error("invalid share state: {0}")]
    InvalidInput(String),
    /// The record batch encoder failed.
    #[error("cannot encode record batch: {0}")]
    Encode(String),
}

impl StoreError {
    /// Whether the store refuses writes for good (a failed fsync or an append it cannot undo).
    pub fn is_poisoned(&self) -> bool {
        matches!(self, StoreError::Log(LogError::Poisoned))
    }
}

/// The in-memory view of one share-partition.
#[derive(Debug, Clone)]
struct Entry {
    /// Current state: latest snapshot plus every later update.
    state: ShareSnapshot,
    snapshot_epoch: i32,
    state_epoch: i32,
    /// When the state was created.
    created_ms: i64,
    /// Write time of the latest snapshot (or of the first update, if there is no snapshot).
    snapshot_ms: i64,
    /// Updates written since the latest snapshot.
    updates_since_snapshot: u32,
    /// Offset recovery must start from for this key: its latest snapshot, or its first update.
    replay_from: i64,
}

impl Entry {
    fn from_update(offset: i64, now_ms: i64, snapshot_epoch: i32) -> Entry {
        Entry {
            state: ShareSnapshot::default(),
            snapshot_epoch,
            state_epoch: 0,
            created_ms: now_ms,
            snapshot_ms: now_ms,
            updates_since_snapshot: 0,
            replay_from: offset,
        }
    }

    fn from_snapshot(v: &ShareSnapshotValue, offset: i64) -> Entry {
        Entry {
            state: v.to_snapshot(),
            snapshot_epoch: v.snapshot_epoch,
            state_epoch: v.state_epoch,
            created_ms: v.create_timestamp,
            snapshot_ms: v.write_timestamp,
            updates_since_snapshot: 0,
            replay_from: offset,
        }
    }
}

#[derive(Debug, Clone)]
struct ConfigEntry {
    configs: BTreeMap<String, String>,
    offset: i64,
    written_ms: i64,
}

#[derive(Debug, Default)]
struct Inner {
    partitions: HashMap<SharePartitionKey, Entry>,
    configs: HashMap<String, ConfigEntry>,
}

impl Inner {
    /// Applies one record at `offset` (written at `timestamp`), as recovery and writes do.
    fn apply(&mut self, record: &StateRecord, offset: i64, timestamp: i64) {
        match (&record.key, &record.value) {
            (RecordKey::ShareSnapshot(k), Some(RecordValue::ShareSnapshot(v))) => {
                self.partitions.insert(k.clone(), Entry::from_snapshot(v, offset));
            }
            (RecordKey::ShareUpdate(k), Some(RecordValue::ShareUpdate(v))) => {
                let e = self
                    .partitions
                    .entry(k.clone())
                    .or_insert_with(|| Entry::from_update(offset, timestamp, v.snapshot_epoch));
                e.state.apply(&v.to_delta());
                e.updates_since_snapshot = e.updates_since_snapshot.saturating_add(1);
            }
            (RecordKey::ShareSnapshot(k) | RecordKey::ShareUpdate(k), None) => {
                self.partitions.remove(k);
            }
            (RecordKey::GroupConfig(g), Some(RecordValue::GroupConfig(v))) => {
                self.configs.insert(
                    g.clone(),
                    ConfigEntry {
                        configs: v.configs.clone(),
                        offset,
                        written_ms: timestamp,
                    },
                );
            }
            (RecordKey::GroupConfig(g), None) => {
                self.configs.remove(g);
            }
            // `StateRecord::decode` and the writers below never pair a value with another
            // record type's key.
            _ => debug_assert!(false, "value does not match key: {record:?}"),
        }
    }

    /// Lowest offset recovery needs, if any key is live.
    fn needed_offset(&self) -> Option<i64> {
        let parts = self.partitions.values().map(|e| e.replay_from);
        let configs = self.configs.values().map(|c| c.offset);
        parts.chain(configs).min()
    }
}

/// Share-group state persisted in the `__share_group_state` log: snapshots and updates per
/// share-partition, group configs, tombstones. `Send + Sync`; writes are serialized by an
/// internal lock held only while a batch is encoded and appended (no fsync under the lock), so
/// concurrent writers share fsyncs through [`ShareStateStore::durable`].
///
/// Dropping the store without [`ShareStateStore::close`] is like a crash: the next open
/// recovers from the log.
#[derive(Debug)]
pub struct ShareStateStore {
    log: PartitionLog,
    options: StoreOptions,
    inner: Mutex<Inner>,
}

fn invalid(msg: String) -> StoreError {
    StoreError::InvalidInput(msg)
}

fn check_group(group: &str) -> Result<(), StoreError> {
    if group.len() > i16::MAX as usize {
        return Err(invalid(format!("group id of {} bytes is longer than {}", group.len(), i16::MAX)));
    }
    Ok(())
}

fn check_ranges(ranges: &[StateRange]) -> Result<(), StoreError> {
    for r in ranges {
        if r.first_offset < 0 || r.last_offset < r.first_offset {
            return Err(invalid(format!("state range {}..={}", r.first_offset, r.last_offset)));
        }
        if r.delivery_count > i16::MAX as u16 {
            return Err(invalid(format!("delivery count {} above {}", r.delivery_count, i16::MAX)));
        }
    }
    Ok(())
}

fn check_delta(delta: &StateDelta) -> Result<(), StoreError> {
    if let Some(s) = delta.start_offset
        && s < 0
    {
        return Err(invalid(format!("start offset {s}")));
    }
    check_ranges(&delta.ranges)
}

fn check_snapshot(snapshot: &ShareSnapshot) -> Result<(), StoreError> {
    snapshot.validate().map_err(|e| invalid(e.to_string()))?;
    check_ranges(&snapshot.ranges)
}

/// Encodes records as one uncompressed v2 batch (offsets are assigned by the log).
fn encode_batch(records: &[StateRecord], now_ms: i64) -> Result<BytesMut, StoreError> {
    let recs: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (key, value) = r.encode();
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: LEADER_EPOCH,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // No producer: the batch's base sequence must be -1, and offset - sequence must
                // stay constant for the encoder to keep the records in one batch.
                sequence: i as i32 - 1,
                timestamp: now_ms,
                key: Some(Bytes::from(key)),
                value: value.map(Bytes::from),
                headers: IndexMap::new(),
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &recs,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(buf)
}

impl ShareStateStore {
    /// Opens (creating if needed) `<log_dir>/__share_group_state-0` and rebuilds every key's
    /// state from it. The log engine cuts a torn tail at open (a crash mid-append loses only the
    /// unacknowledged last batch); a record that passed the CRC but does not decode is
    /// corruption and fails the open with [`StoreError::CorruptRecord`] naming its offset.
    pub fn open(log_dir: &Path, log_config: LogConfig, options: StoreOptions) -> Result<(ShareStateStore, Recovered), StoreError> {
        let log = PartitionLog::open(&log_dir.join(STATE_PARTITION_DIR), log_config)?;
        let (inner, records) = match Self::replay(&log, &options) {
            Ok(r) => r,
            Err(e) => {
                let _ = log.close();
                return Err(e);
            }
        };
        let recovered = Recovered {
            partitions: inner.partitions.iter().map(|(k, e)| (k.clone(), e.state.clone())).collect(),
            group_configs: inner.configs.iter().map(|(g, c)| (g.clone(), c.configs.clone())).collect(),
            records,
            start_offset: log.log_start_offset(),
            end_offset: log.log_end_offset(),
        };
        tracing::info!(
            partitions = recovered.partitions.len(),
            groups_with_configs = recovered.group_configs.len(),
            records,
            start_offset = recovered.start_offset,
            end_offset = recovered.end_offset,
            "recovered share-group state"
        );
        let store = ShareStateStore {
            log,
            options,
            inner: Mutex::new(inner),
        };
        Ok((store, recovered))
    }

    fn replay(log: &PartitionLog, options: &StoreOptions) -> Result<(Inner, u64), StoreError> {
        let mut inner = Inner::default();
        let mut count = 0u64;
        let end = log.log_end_offset();
        let mut next = log.log_start_offset();
        while next < end {
            let data = log.read(next, options.recovery_read_bytes.max(1))?.records;
            if data.is_empty() {
                return Err(StoreError::CorruptBatch {
                    offset: next,
                    reason: format!("nothing readable below the log end {end}"),
                });
            }
            let mut pos = 0;
            while pos < data.len() {
                let header = shard_log::batch::parse_header(&data[pos..]).map_err(|e| StoreError::CorruptBatch {
                    offset: next,
                    reason: e.to_string(),
                })?;
                let batch_end = pos + header.total_len;
                if batch_end > data.len() {
                    return Err(StoreError::CorruptBatch {
                        offset: header.base_offset,
                        reason: "batch extends past the data read".into(),
                    });
                }
                let mut slice = data.slice(pos..batch_end);
                let set = RecordBatchDecoder::decode(&mut slice).map_err(|e| StoreError::CorruptBatch {
                    offset: header.base_offset,
                    reason: e.to_string(),
                })?;
                for rec in set.records.iter().filter(|r| r.offset >= next && !r.control) {
                    let record =
                        StateRecord::decode(rec.key.as_deref(), rec.value.as_deref()).map_err(|source| StoreError::CorruptRecord {
                            offset: rec.offset,
                            source,
                        })?;
                    inner.apply(&record, rec.offset, rec.timestamp);
                    count += 1;
                }
                next = next.max(header.last_offset() + 1);
                pos = batch_end;
            }
        }
        Ok((inner, count))
    }

    /// Appends `records` as one batch and applies them to `inner` at their offsets. Returns the
    /// end offset to make durable. Nothing changes in memory if the append fails.
    fn append(&self, inner: &mut Inner, records: &[StateRecord], now_ms: i64) -> Result<i64, StoreError> {
        if records.is_empty() {
            return Ok(self.log.log_end_offset());
        }
        let batch = encode_batch(records, now_ms)?;
        let info = self.log.append(&batch, now_ms)?;
        for (i, r) in records.iter().enumerate() {
            inner.apply(r, info.base_offset + i as i64, now_ms);
        }
        Ok(info.last_offset + 1)
    }

    /// A snapshot record of `state` for `key`, following `prev` (if the key has state).
    fn snapshot_record(
        key: &SharePartitionKey,
        prev: Option<&Entry>,
        state: ShareSnapshot,
        bump_state_epoch: bool,
        now_ms: i64,
    ) -> StateRecord {
        let value = ShareSnapshotValue {
            snapshot_epoch: prev.map_or(0, |e| e.snapshot_epoch.wrapping_add(1)),
            state_epoch: prev.map_or(0, |e| e.state_epoch.wrapping_add(i32::from(bump_state_epoch))),
            leader_epoch: LEADER_EPOCH,
            start_offset: state.start_offset,
            delivery_complete_count: -1,
            create_timestamp: prev.map_or(now_ms, |e| e.created_ms),
            write_timestamp: now_ms,
            state_batches: state.ranges,
        };
        StateRecord {
            key: RecordKey::ShareSnapshot(key.clone()),
            value: Some(RecordValue::ShareSnapshot(value)),
        }
    }

    /// Persists what one or more state-machine calls changed for `key` (fold several with
    /// [`StateDelta::merge`] first to write them as one record). Writes a `ShareUpdate`, or a full
    /// `ShareSnapshot` when the delta is a reset or `updates_per_snapshot` updates have been
    /// written since the key's last snapshot. A key without state starts from
    /// `ShareSnapshot::default()` (start offset 0), as recovery does.
    ///
    /// Returns the end offset to pass to [`Self::durable`]; the write is in the OS when this
    /// returns, not yet on disk. An empty delta writes nothing and returns the log end.
    pub fn write_delta(&self, key: &SharePartitionKey, delta: &StateDelta, now_ms: i64) -> Result<i64, StoreError> {
        check_group(&key.group_id)?;
        check_delta(delta)?;
        let mut inner = self.inner.lock();
        if delta.is_empty() {
            return Ok(self.log.log_end_offset());
        }
        let prev = inner.partitions.get(key);
        let as_update = !delta.reset
            && match prev {
                Some(e) => e.updates_since_snapshot < self.options.updates_per_snapshot,
                None => self.options.updates_per_snapshot > 0,
            };
        let record = if as_update {
            StateRecord {
                key: RecordKey::ShareUpdate(key.clone()),
                value: Some(RecordValue::ShareUpdate(ShareUpdateValue {
                    snapshot_epoch: prev.map_or(0, |e| e.snapshot_epoch),
                    leader_epoch: LEADER_EPOCH,
                    start_offset: delta.start_offset.unwrap_or(-1),
                    delivery_complete_count: -1,
                    state_batches: delta.ranges.clone(),
                })),
            }
        } else {
            let mut state = prev.map(|e| e.state.clone()).unwrap_or_default();
            state.apply(delta);
            check_snapshot(&state)?;
            Self::snapshot_record(key, prev, state, delta.reset, now_ms)
        };
        self.append(&mut inner, &[record], now_ms)
    }

    /// Writes a full snapshot of `key` (first use of a share-partition, after
    /// `share.auto.offset.reset` chose its start offset; or any time the caller holds the whole
    /// state). Returns the end offset to pass to [`Self::durable`].
    pub fn write_snapshot(&self, key: &SharePartitionKey, snapshot: &ShareSnapshot, now_ms: i64) -> Result<i64, StoreError> {
        check_group(&key.group_id)?;
        check_snapshot(snapshot)?;
        let mut inner = self.inner.lock();
        let record = Self::snapshot_record(key, inner.partitions.get(key), snapshot.clone(), false, now_ms);
        self.append(&mut inner, &[record], now_ms)
    }

    /// Deletes the state of `key` (a tombstone on its snapshot key), e.g. after
    /// DeleteShareGroupOffsets. A key without state writes nothing. Returns the end offset to
    /// pass to [`Self::durable`].
    pub fn delete(&self, key: &SharePartitionKey, now_ms: i64) -> Result<i64, StoreError> {
        self.delete_where(|k| k == key, None, now_ms)
    }

    /// Deletes every share-partition state of `group` and its configs (DeleteGroups), in one
    /// batch. Returns the end offset to pass to [`Self::durable`].
    pub fn delete_group(&self, group: &str, now_ms: i64) -> Result<i64, StoreError> {
        self.delete_where(|k| k.group_id == group, Some(group), now_ms)
    }

    /// Deletes every share-partition state of topic `topic_id`, in every group (DeleteTopics).
    /// Returns the end offset to pass to [`Self::durable`].
    pub fn delete_topic(&self, topic_id: Uuid, now_ms: i64) -> Result<i64, StoreError> {
        self.delete_where(|k| k.topic_id == topic_id, None, now_ms)
    }

    fn delete_where(&self, matches: impl Fn(&SharePartitionKey) -> bool, config_of: Option<&str>, now_ms: i64) -> Result<i64, StoreError> {
        let mut inner = self.inner.lock();
        let mut keys: Vec<SharePartitionKey> = inner.partitions.keys().filter(|k| matches(k)).cloned().collect();
        keys.sort();
        let mut records: Vec<StateRecord> = keys
            .into_iter()
            .map(|k| StateRecord {
                key: RecordKey::ShareSnapshot(k),
                value: None,
            })
            .collect();
        if let Some(group) = config_of
            && inner.configs.contains_key(group)
        {
            records.push(StateRecord {
                key: RecordKey::GroupConfig(group.to_owned()),
                value: None,
            });
        }
        let mut end = self.log.log_end_offset();
        for chunk in records.chunks(RECORDS_PER_BATCH) {
            end = self.append(&mut inner, chunk, now_ms)?;
        }
        Ok(end)
    }

    /// Replaces the explicit configs of `group` (name → value, as IncrementalAlterConfigs left
    /// them); an empty map deletes them (a tombstone). Returns the end offset to pass to
    /// [`Self::durable`].
    pub fn write_group_config(&self, group: &str, configs: &BTreeMap<String, String>, now_ms: i64) -> Result<i64, StoreError> {
        check_group(group)?;
        let mut inner = self.inner.lock();
        if configs.is_empty() && !inner.configs.contains_key(group) {
            return Ok(self.log.log_end_offset());
        }
        let value = (!configs.is_empty()).then(|| RecordValue::GroupConfig(GroupConfigValue { configs: configs.clone() }));
        let record = StateRecord {
            key: RecordKey::GroupConfig(group.to_owned()),
            value,
        };
        self.append(&mut inner, &[record], now_ms)
    }

    /// Blocks until every write that returned an end offset up to `end_offset` is durable
    /// (fsynced in fsync mode, sharing fsyncs with concurrent callers; at once in page-cache
    /// mode). Call it from a blocking thread (`tokio::task::spawn_blocking`). A failed fsync
    /// poisons the store: this and every later write fail ([`StoreError::is_poisoned`]).
    pub fn durable(&self, end_offset: i64) -> Result<(), StoreError> {
        Ok(self.log.flush_to(end_offset)?)
    }

    /// Whether a failed fsync poisoned the store: it refuses every write from then on, so
    /// acknowledgements can no longer be persisted.
    pub fn is_poisoned(&self) -> bool {
        self.log.is_poisoned()
    }

    /// Forces an fsync of everything written (the page-cache mode's periodic flush).
    pub fn flush(&self) -> Result<(), StoreError> {
        Ok(self.log.flush()?)
    }

    /// Rewrites as snapshots the keys whose latest snapshot was written `cold_after_ms` or more
    /// before `now_ms` and that either had updates since or whose snapshot lies in a sealed
    /// segment (so it alone keeps that segment from being pruned); group configs in sealed
    /// segments are rewritten by the same age rule. Run it every
    /// `share.coordinator.cold.partition.snapshot.interval.ms`, before [`Self::prune`]. Returns
    /// how many records were written.
    pub fn snapshot_cold(&self, now_ms: i64, cold_after_ms: i64) -> Result<usize, StoreError> {
        let mut inner = self.inner.lock();
        let sealed_below = self.log.active_segment_base_offset();
        let is_cold = |written: i64| now_ms.saturating_sub(written) >= cold_after_ms;
        let mut keys: Vec<&SharePartitionKey> = inner
            .partitions
            .iter()
            .filter(|(_, e)| is_cold(e.snapshot_ms) && (e.updates_since_snapshot > 0 || e.replay_from < sealed_below))
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        let mut records: Vec<StateRecord> = keys
            .into_iter()
            .map(|k| {
                let e = &inner.partitions[k];
                Self::snapshot_record(k, Some(e), e.state.clone(), false, now_ms)
            })
            .collect();
        let mut groups: Vec<(&String, &ConfigEntry)> = inner
            .configs
            .iter()
            .filter(|(_, c)| is_cold(c.written_ms) && c.offset < sealed_below)
            .collect();
        groups.sort_by_key(|(g, _)| *g);
        records.extend(groups.into_iter().map(|(g, c)| StateRecord {
            key: RecordKey::GroupConfig(g.clone()),
            value: Some(RecordValue::GroupConfig(GroupConfigValue {
                configs: c.configs.clone(),
            })),
        }));
        for chunk in records.chunks(RECORDS_PER_BATCH) {
            self.append(&mut inner, chunk, now_ms)?;
        }
        Ok(records.len())
    }

    /// Deletes the whole segments below the lowest offset recovery still needs: for each live
    /// share-partition the offset of its latest snapshot (or its first update, if it has no
    /// snapshot), for each group with configs its latest config record; with no live key, the
    /// log end. Everything written so far is fsynced first, so the records that supersede the
    /// deleted ones are on disk before anything is removed. The active segment is never
    /// deleted. Run it every `share.coordinator.state.topic.prune.interval.ms`.
    pub fn prune(&self) -> Result<PruneOutcome, StoreError> {
        let needed = self.inner.lock().needed_offset().unwrap_or_else(|| self.log.log_end_offset());
        // Also refuses a poisoned store: its memory may be ahead of the disk, so `needed` could
        // point past records whose replacements never became durable.
        self.log.flush()?;
        let segments_deleted = self.log.delete_records_before(needed)?;
        Ok(PruneOutcome {
            needed_offset: needed,
            segments_deleted,
            log_start_offset: self.log.log_start_offset(),
        })
    }

    /// Current state of `key` (what recovery would rebuild if the writes so far were durable).
    pub fn state(&self, key: &SharePartitionKey) -> Option<ShareSnapshot> {
        self.inner.lock().partitions.get(key).map(|e| e.state.clone())
    }

    /// Every share-partition with state, and its state.
    pub fn states(&self) -> BTreeMap<SharePartitionKey, ShareSnapshot> {
        self.inner
            .lock()
            .partitions
            .iter()
            .map(|(k, e)| (k.clone(), e.state.clone()))
            .collect()
    }

    /// Explicit configs of `group`, if any.
    pub fn group_config(&self, group: &str) -> Option<BTreeMap<String, String>> {
        self.inner.lock().configs.get(group).map(|c| c.configs.clone())
    }

    /// The underlying log (sizes, offsets, metrics; tests inject fsync failures through it).
    pub fn log(&self) -> &PartitionLog {
        &self.log
    }

    /// Flushes and closes the log; later calls fail with [`LogError::Closed`].
    pub fn close(&self) -> Result<(), StoreError> {
        Ok(self.log.close()?)
    }
}
