//! DeleteRecords: `delete_records` (exact log start, checkpointed) and `delete_records_before` (segment granularity).
mod common;

use common::*;
use shard_log::{LogError, PartitionLog};

#[test]
fn delete_records_before_removes_only_segments_wholly_below_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 2, 0).len() as u64;
    let cfg = page_cache(len * 2, 4096);
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    for _ in 0..7 {
        log.append(&batch("a", 2, 100), 0).unwrap();
    }
    assert_eq!(log.segment_base_offsets(), [0, 4, 8, 12]);
    assert_eq!(log.active_segment_base_offset(), 12);

    // Offset 3 lies in the first segment: nothing is entirely below it.
    assert_eq!(log.delete_records_before(3).unwrap(), 0);
    assert_eq!(log.log_start_offset(), 0);

    // Offset 9: segment 0..4 and 4..8 go; 8..12 holds offset 9 and stays.
    assert_eq!(log.delete_records_before(9).unwrap(), 2);
    assert_eq!(log.segment_base_offsets(), [8, 12]);
    assert_eq!(log.log_start_offset(), 8);
    assert!(!dir.path().join(format!("{:020}.log", 0)).exists());
    assert!(!dir.path().join(format!("{:020}.index", 4)).exists());
    assert!(matches!(
        log.read(7, 100),
        Err(LogError::OffsetOutOfRange { offset: 7, start: 8, .. })
    ));
    assert_eq!(records_in(&log.read(8, 1).unwrap().records)[0].0, 8);

    // An offset at a segment boundary deletes the segment ending there.
    assert_eq!(log.delete_records_before(12).unwrap(), 1);
    assert_eq!(log.segment_base_offsets(), [12]);

    // Never the active segment, even past the log end.
    assert_eq!(log.delete_records_before(1_000).unwrap(), 0);
    assert_eq!(log.segment_base_offsets(), [12]);
    assert_eq!(log.append(&batch("b", 1, 500), 0).unwrap().log_start_offset, 12);

    // The new log start survives a restart.
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(read_all(&log, 12).len(), 3);
}

#[test]
fn delete_records_before_survives_a_crash_and_refuses_a_closed_log() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 1, 0).len() as u64;
    let cfg = page_cache(len * 3, 4096);
    {
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        for _ in 0..10 {
            log.append(&batch("a", 1, 100), 0).unwrap();
        }
        assert_eq!(log.segment_base_offsets(), [0, 3, 6, 9]);
        assert_eq!(log.delete_records_before(6).unwrap(), 2);
        // Dropped without close: a crash.
    }
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.segment_base_offsets(), [6, 9]);
    assert_eq!(log.log_start_offset(), 6);
    assert_eq!(read_all(&log, 6).len(), 4);
    log.close().unwrap();
    assert!(matches!(log.delete_records_before(9), Err(LogError::Closed)));
}

#[test]
fn delete_records_moves_the_start_to_the_exact_offset_and_deletes_segments_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 2, 0).len() as u64;
    let cfg = fsync(len * 2, 4096);
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    for i in 0..7 {
        log.append(&batch("a", 2, 100 + i), 0).unwrap();
    }
    log.flush_to(14).unwrap();
    assert_eq!(log.segment_base_offsets(), [0, 4, 8, 12]);
    assert_eq!(log.high_watermark(), 14);

    // Offset 6 lies in the segment 4..8: 0..4 goes, 4..8 stays but 4 and 5 are gone.
    assert_eq!(log.delete_records(6).unwrap(), 6);
    assert_eq!(log.log_start_offset(), 6);
    assert_eq!(log.segment_base_offsets(), [4, 8, 12]);
    assert!(matches!(
        log.read(5, 100),
        Err(LogError::OffsetOutOfRange { offset: 5, start: 6, .. })
    ));
    // Reads start at the batch holding the start (batches are not split, as in Kafka).
    assert_eq!(records_in(&log.read(6, 1).unwrap().records)[0].0, 6);
    // Timestamp lookups skip deleted records: batch 2 (offsets 4, 5) has timestamp 102.
    assert_eq!(log.offset_for_timestamp(102).unwrap().map(|t| t.offset), Some(6));
    assert_eq!(log.offset_for_timestamp(0).unwrap().map(|t| t.offset), Some(6));

    // A lower or equal offset is a no-op answering the current start.
    assert_eq!(log.delete_records(3).unwrap(), 6);
    assert_eq!(log.delete_records(6).unwrap(), 6);
    // Above the high watermark or negative: out of range, nothing changes.
    assert!(matches!(log.delete_records(15), Err(LogError::OffsetOutOfRange { offset: 15, .. })));
    assert!(matches!(log.delete_records(-2), Err(LogError::OffsetOutOfRange { .. })));
    assert_eq!(log.log_start_offset(), 6);

    // Up to the high watermark: every sealed segment goes, the active one stays, empty reads.
    assert_eq!(log.delete_records(14).unwrap(), 14);
    assert_eq!(log.segment_base_offsets(), [12]);
    assert!(log.read(14, 100).unwrap().records.is_empty());
    assert_eq!(log.append(&batch("b", 1, 500), 0).unwrap().log_start_offset, 14);
}

#[test]
fn delete_records_survives_a_crash_and_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 1, 0).len() as u64;
    for cfg in [page_cache(len * 3, 4096), fsync(len * 3, 4096)] {
        let dir = tempfile::tempdir_in(dir.path()).unwrap();
        {
            let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
            for _ in 0..10 {
                log.append(&batch("a", 1, 100), 0).unwrap();
            }
            log.flush_to(10).unwrap();
            assert_eq!(log.delete_records(7).unwrap(), 7);
            assert_eq!(log.segment_base_offsets(), [6, 9]);
            // Dropped without close: a crash.
        }
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        assert_eq!(log.log_start_offset(), 7);
        assert_eq!(read_all(&log, 7).len(), 3);
        assert!(matches!(log.read(6, 100), Err(LogError::OffsetOutOfRange { .. })));
        // The segment-granularity deletion never lowers it.
        assert_eq!(log.delete_records_before(9).unwrap(), 1);
        assert_eq!(log.log_start_offset(), 9);
        log.close().unwrap();
        let log = PartitionLog::open(dir.path(), cfg).unwrap();
        assert_eq!(log.log_start_offset(), 9);
        log.close().unwrap();
        assert!(matches!(log.delete_records(9), Err(LogError::Closed)));
    }
}

#[test]
fn retention_deletes_segments_left_wholly_below_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch("a", 1, 0).len() as u64;
    let mut cfg = page_cache(len * 3, 4096);
    cfg.retention_ms = -1;
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    for _ in 0..3 {
        log.append(&batch("a", 1, 100), 0).unwrap();
    }
    // The start passes everything in the active segment, which cannot be deleted yet.
    assert_eq!(log.delete_records(3).unwrap(), 3);
    assert_eq!(log.segment_base_offsets(), [0]);
    log.append(&batch("a", 1, 100), 0).unwrap();
    assert_eq!(log.segment_base_offsets(), [0, 3]);
    // Rolled: now wholly below the start, deleted by retention even with retention off.
    assert_eq!(log.apply_retention(0).unwrap(), 1);
    assert_eq!(log.segment_base_offsets(), [3]);
    assert_eq!(log.log_start_offset(), 3);
    assert_eq!(log.apply_retention(0).unwrap(), 0);
}
