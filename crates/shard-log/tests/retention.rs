mod common;

use common::*;
use shard_log::{LogError, PartitionLog};

#[test]
fn retention_by_time_deletes_old_segments_but_never_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 2, 0).len() as u64;
    let mut cfg = page_cache(len * 2, 4096);
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    for ts in [100, 100, 200, 200, 300, 300, 400] {
        log.append(&batch("a", 2, ts), 0).unwrap();
    }
    assert_eq!(log.segment_base_offsets(), [0, 4, 8, 12]);
    assert_eq!(log.apply_retention(10_000).unwrap(), 0, "retention_ms = -1 keeps everything");

    cfg.retention_ms = 150;
    log.set_config(cfg.clone());
    assert_eq!(log.apply_retention(360).unwrap(), 2);
    assert_eq!(log.segment_base_offsets(), [8, 12]);
    assert_eq!(log.log_start_offset(), 8);
    assert_eq!(log.size_bytes(), 3 * len);
    assert!(!dir.path().join(format!("{:020}.log", 0)).exists());
    assert!(!dir.path().join(format!("{:020}.index", 4)).exists());
    assert!(matches!(
        log.read(7, 100),
        Err(LogError::OffsetOutOfRange {
            offset: 7,
            start: 8,
            end: 14
        })
    ));
    assert_eq!(records_in(&log.read(8, 1).unwrap().records)[0].0, 8);
    let r = log.read(8, 1).unwrap();
    assert_eq!(r.log_start_offset, 8);

    // Everything is old now, but the active segment stays.
    assert_eq!(log.apply_retention(1_000_000).unwrap(), 1);
    assert_eq!(log.segment_base_offsets(), [12]);
    assert_eq!(log.apply_retention(1_000_000).unwrap(), 0);
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(log.append(&batch("b", 1, 500), 0).unwrap().log_start_offset, 12);

    // The log start survives a restart (it is the first segment's base offset).
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(read_all(&log, 12).len(), 3);
}

#[test]
fn retention_by_bytes_keeps_the_newest_data() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 2, 0).len() as u64;
    let mut cfg = page_cache(len * 2, 4096);
    cfg.retention_bytes = 3 * len as i64;
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    for _ in 0..7 {
        log.append(&batch("a", 2, 100), 0).unwrap();
    }
    assert_eq!(log.size_bytes(), 7 * len);
    assert_eq!(log.apply_retention(0).unwrap(), 2);
    assert_eq!(log.segment_base_offsets(), [8, 12]);
    assert_eq!(log.size_bytes(), 3 * len);
    assert_eq!(log.log_start_offset(), 8);
    assert!(matches!(log.read(0, 100), Err(LogError::OffsetOutOfRange { .. })));
    assert_eq!(read_all(&log, 8).len(), 6);
}

#[test]
fn retention_by_time_after_reopen_uses_indexed_max_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 1, 0).len() as u64;
    let mut cfg = page_cache(len, 4096);
    {
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        for ts in [10, 20, 30, 40] {
            log.append(&batch("a", 1, ts), 0).unwrap();
        }
        log.close().unwrap();
    }
    cfg.retention_ms = 100;
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    // cutoff = 125 - 100 = 25: segments with max 10 and 20 go.
    assert_eq!(log.apply_retention(125).unwrap(), 2);
    assert_eq!(log.log_start_offset(), 2);
}
