mod common;

use common::*;
use shard_log::batch::validate_batches;
use shard_log::{LogError, PartitionLog};

#[test]
fn append_assigns_offsets_and_read_returns_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    let a = log.append(&batch("a", 3, 10), 0).unwrap();
    assert_eq!((a.base_offset, a.last_offset, a.duplicate), (0, 2, false));
    let mut two = batch("b", 2, 11);
    two.extend(batch("c", 1, 12));
    let b = log.append(&two, 0).unwrap();
    assert_eq!((b.base_offset, b.last_offset), (3, 5));
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(log.high_watermark(), 6);
    let all = read_all(&log, 0);
    let values: Vec<&str> = all.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, ["a:0", "a:1", "a:2", "b:0", "b:1", "c:0"]);
    assert_eq!(all.iter().map(|r| r.0).collect::<Vec<_>>(), (0..6).collect::<Vec<_>>());
    // A read in the middle of a batch starts at that batch.
    let r = log.read(4, 1).unwrap();
    assert_eq!(records_in(&r.records)[0].0, 3);
    // At the end: empty; past the end: out of range.
    assert!(log.read(6, 100).unwrap().records.is_empty());
    assert!(matches!(
        log.read(7, 100),
        Err(LogError::OffsetOutOfRange {
            offset: 7,
            start: 0,
            end: 6
        })
    ));
    assert!(matches!(log.read(-1, 100), Err(LogError::OffsetOutOfRange { .. })));
}

#[test]
fn read_respects_max_bytes_but_returns_one_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    let b = batch("x", 5, 1);
    for _ in 0..4 {
        log.append(&b, 0).unwrap();
    }
    let r = log.read(0, 1).unwrap();
    assert_eq!(r.records.len(), b.len());
    let r = log.read(0, b.len() * 2 + 10).unwrap();
    assert_eq!(r.records.len(), b.len() * 2);
    let r = log.read(7, 1 << 20).unwrap();
    assert_eq!(r.records.len(), b.len() * 3);
    assert_eq!(r.high_watermark, 20);
    assert_eq!(r.log_start_offset, 0);
}

#[test]
fn stored_batches_keep_valid_crc() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    log.append(&batch("a", 2, 1), 0).unwrap();
    log.append(&batch("b", 2, 1), 0).unwrap();
    let r = log.read(0, 1 << 20).unwrap();
    let headers = validate_batches(&r.records, 1 << 20).unwrap();
    assert_eq!(headers.iter().map(|h| h.base_offset).collect::<Vec<_>>(), [0, 2]);
}

#[test]
fn rolls_by_size_and_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("r", 4, 1);
    let mut cfg = page_cache(b.len() as u64 * 2, 4096);
    cfg.segment_ms = 1000;
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    for _ in 0..5 {
        log.append(&b, 0).unwrap();
    }
    assert_eq!(log.segment_base_offsets(), [0, 8, 16]);
    // Age: the active segment got data at t=0; an append at t=1000 rolls.
    log.append(&b, 1000).unwrap();
    assert_eq!(log.segment_base_offsets(), [0, 8, 16, 20]);
    log.append(&b, 1500).unwrap();
    assert_eq!(log.segment_base_offsets(), [0, 8, 16, 20]);
    assert_eq!(log.size_bytes(), b.len() as u64 * 7);
    assert_eq!(read_all(&log, 0).len(), 28);
}

#[test]
fn malformed_input_is_rejected_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    let b = batch("a", 2, 1);
    assert!(matches!(log.append(&b[..b.len() - 1], 0), Err(LogError::Corrupt(_))));
    assert!(matches!(log.append(&[], 0), Err(LogError::Corrupt(_))));
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.size_bytes(), 0);
}

#[test]
fn closed_log_refuses_operations_and_delete_removes_dir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p0");
    let log = PartitionLog::open(&path, fsync(1 << 20, 4096)).unwrap();
    log.append(&batch("a", 1, 1), 0).unwrap();
    log.close().unwrap();
    assert!(matches!(log.append(&batch("a", 1, 1), 0), Err(LogError::Closed)));
    assert!(matches!(log.read(0, 10), Err(LogError::Closed)));
    assert!(matches!(log.flush_to(1), Err(LogError::Closed)));
    assert!(matches!(log.flush(), Err(LogError::Closed)));
    assert!(matches!(log.apply_retention(0), Err(LogError::Closed)));
    log.delete().unwrap();
    assert!(!path.exists());
}

#[test]
fn concurrent_reads_during_appends_see_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(PartitionLog::open(dir.path(), page_cache(2000, 100)).unwrap());
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0..300 {
                log.append(&batch(&format!("w{i}"), 1 + i % 3, i as i64), 0).unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let hw = log.high_watermark();
        let from = hw / 2;
        let r = log.read(from, 4096).unwrap();
        let recs = records_in(&r.records);
        if from < r.high_watermark {
            assert!(recs.iter().any(|(o, _)| *o == from));
        }
        assert!(recs.iter().all(|(o, _)| *o < r.high_watermark));
        reads += 1;
    }
    writer.join().unwrap();
    assert_eq!(read_all(&log, 0).len(), 600);
}
