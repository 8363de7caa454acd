//! Test helpers: store configs, keys, ranges, deltas, and a raw view of the log's records.
#![allow(dead_code)]

use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use shard_coordinator::{Recovered, STATE_PARTITION_DIR, SharePartitionKey, ShareStateStore, StoreOptions};
use shard_log::{FlushMode, LogConfig, PartitionLog};
use shard_share::{DurableState, ShareSnapshot, StateDelta, StateRange};
use uuid::Uuid;

/// Page-cache mode with small segments (reads see appends at once; no fsync per test write).
pub fn page_cache(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        index_interval_bytes: 256,
        index_max_bytes: 64 * 1024,
        retention_ms: -1,
        flush: FlushMode::PageCache { interval_ms: 1000 },
        ..LogConfig::default()
    }
}

/// Fsync mode with small segments.
pub fn fsync(segment_bytes: u64) -> LogConfig {
    LogConfig {
        flush: FlushMode::Fsync,
        ..page_cache(segment_bytes)
    }
}

pub fn options(updates_per_snapshot: u32) -> StoreOptions {
    StoreOptions {
        updates_per_snapshot,
        ..StoreOptions::default()
    }
}

pub fn open(dir: &Path, config: LogConfig, updates_per_snapshot: u32) -> (ShareStateStore, Recovered) {
    ShareStateStore::open(dir, config, options(updates_per_snapshot)).unwrap()
}

pub fn topic(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

pub fn key(group: &str, t: u8, partition: i32) -> SharePartitionKey {
    SharePartitionKey::new(group, topic(t), partition)
}

pub fn range(first: i64, last: i64, state: DurableState, delivery_count: u16) -> StateRange {
    StateRange {
        first_offset: first,
        last_offset: last,
        state,
        delivery_count,
    }
}

pub fn acked(first: i64, last: i64, count: u16) -> StateRange {
    range(first, last, DurableState::Acknowledged, count)
}

pub fn released(first: i64, last: i64, count: u16) -> StateRange {
    range(first, last, DurableState::Available, count)
}

pub fn archived(first: i64, last: i64, count: u16) -> StateRange {
    range(first, last, DurableState::Archived, count)
}

pub fn delta(start: Option<i64>, ranges: Vec<StateRange>) -> StateDelta {
    StateDelta {
        reset: false,
        start_offset: start,
        ranges,
    }
}

/// What applying `deltas` in order to `base` gives.
pub fn applied(base: ShareSnapshot, deltas: &[StateDelta]) -> ShareSnapshot {
    let mut s = base;
    for d in deltas {
        s.apply(d);
    }
    s
}

/// `(offset, record type, is tombstone)` of every record in the store's log directory.
pub fn record_types(log_dir: &Path) -> Vec<(i64, i16, bool)> {
    let log = PartitionLog::open(&log_dir.join(STATE_PARTITION_DIR), page_cache(1 << 30)).unwrap();
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let mut data = log.read(next, 1 << 20).unwrap().records;
        for set in RecordBatchDecoder::decode_all(&mut data).unwrap() {
            for r in set.records {
                if r.offset >= next {
                    let k = r.key.unwrap();
                    out.push((r.offset, i16::from_be_bytes([k[0], k[1]]), r.value.is_none()));
                }
            }
        }
        next = out.last().map_or(next + 1, |r| r.0 + 1);
    }
    log.close().unwrap();
    out
}

/// One uncompressed v2 batch holding one record with these raw key and value bytes.
pub fn raw_batch(key: &[u8], value: Option<&[u8]>) -> BytesMut {
    let rec = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 0,
        key: Some(Bytes::copy_from_slice(key)),
        value: value.map(Bytes::copy_from_slice),
        headers: IndexMap::new(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [&rec],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    buf
}

/// The active segment file of the store's log.
pub fn segment_files(log_dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(log_dir.join(STATE_PARTITION_DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}
