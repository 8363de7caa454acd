//! `delete_records_before`: Kafka's DeleteRecords at segment granularity.
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
