mod common;

use common::*;
use shard_log::{LogError, PartitionLog};

#[test]
fn duplicate_batch_returns_original_offsets_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    let first = log.append(&idem_batch(7, 0, 0, 3), 0).unwrap();
    assert_eq!((first.base_offset, first.last_offset, first.duplicate), (0, 2, false));
    log.append(&batch("plain", 2, 1), 0).unwrap();
    let second = log.append(&idem_batch(7, 0, 3, 2), 0).unwrap();
    assert_eq!((second.base_offset, second.last_offset), (5, 6));
    let size = log.size_bytes();

    let dup = log.append(&idem_batch(7, 0, 0, 3), 0).unwrap();
    assert_eq!((dup.base_offset, dup.last_offset, dup.duplicate), (0, 2, true));
    let dup = log.append(&idem_batch(7, 0, 3, 2), 0).unwrap();
    assert_eq!((dup.base_offset, dup.last_offset, dup.duplicate), (5, 6, true));
    assert_eq!(log.size_bytes(), size);
    assert_eq!(log.log_end_offset(), 7);
}

#[test]
fn sequence_gap_is_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    assert!(matches!(
        log.append(&idem_batch(1, 0, 4, 1), 0),
        Err(LogError::OutOfOrderSequence {
            producer_id: 1,
            expected: 0,
            got: 4
        })
    ));
    log.append(&idem_batch(1, 0, 0, 2), 0).unwrap();
    assert!(matches!(
        log.append(&idem_batch(1, 0, 3, 1), 0),
        Err(LogError::OutOfOrderSequence {
            producer_id: 1,
            expected: 2,
            got: 3
        })
    ));
    assert_eq!(log.log_end_offset(), 2);
    // Several batches in one call: all are checked before any is written.
    let mut two = idem_batch(1, 0, 2, 1);
    two.extend(idem_batch(1, 0, 9, 1));
    assert!(matches!(
        log.append(&two, 0),
        Err(LogError::OutOfOrderSequence { expected: 3, got: 9, .. })
    ));
    assert_eq!(log.log_end_offset(), 2);
    let mut two = idem_batch(1, 0, 2, 1);
    two.extend(idem_batch(1, 0, 3, 2));
    assert_eq!(log.append(&two, 0).unwrap().last_offset, 4);
}

#[test]
fn old_epoch_is_rejected_and_new_epoch_restarts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    log.append(&idem_batch(3, 5, 0, 1), 0).unwrap();
    assert!(matches!(
        log.append(&idem_batch(3, 4, 1, 1), 0),
        Err(LogError::InvalidProducerEpoch {
            producer_id: 3,
            current: 5,
            got: 4
        })
    ));
    assert!(matches!(
        log.append(&idem_batch(3, 6, 1, 1), 0),
        Err(LogError::OutOfOrderSequence { expected: 0, got: 1, .. })
    ));
    let info = log.append(&idem_batch(3, 6, 0, 1), 0).unwrap();
    assert!(!info.duplicate);
    assert!(matches!(
        log.append(&idem_batch(3, 5, 1, 1), 0),
        Err(LogError::InvalidProducerEpoch { .. })
    ));
    // Other producers are independent.
    log.append(&idem_batch(4, 0, 0, 1), 0).unwrap();
}

fn producer_state_survives_reopen(clean: bool, drop_snapshots: bool) {
    let dir = tempfile::tempdir().unwrap();
    let len = idem_batch(9, 0, 0, 2).len() as u64;
    let cfg = page_cache(len * 2, 4096);
    {
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        for i in 0..5 {
            log.append(&idem_batch(9, 0, i * 2, 2), 0).unwrap();
            log.append(&idem_batch(10, 1, i, 1), 0).unwrap();
        }
        assert!(log.segment_base_offsets().len() > 2);
        if clean {
            log.close().unwrap();
        }
    }
    if drop_snapshots {
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "snapshot") {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    let end = log.log_end_offset();
    let dup = log.append(&idem_batch(9, 0, 8, 2), 0).unwrap();
    assert!(dup.duplicate);
    assert_eq!((dup.base_offset, dup.last_offset), (12, 13));
    assert!(log.append(&idem_batch(10, 1, 4, 1), 0).unwrap().duplicate);
    assert_eq!(log.log_end_offset(), end);
    assert!(matches!(
        log.append(&idem_batch(9, 0, 11, 1), 0),
        Err(LogError::OutOfOrderSequence { expected: 10, .. })
    ));
    assert!(matches!(
        log.append(&idem_batch(10, 0, 5, 1), 0),
        Err(LogError::InvalidProducerEpoch { .. })
    ));
    assert_eq!(log.append(&idem_batch(9, 0, 10, 1), 0).unwrap().base_offset, end);
}

#[test]
fn producer_state_rebuilt_after_clean_close() {
    producer_state_survives_reopen(true, false);
}

#[test]
fn producer_state_rebuilt_after_crash() {
    producer_state_survives_reopen(false, false);
}

#[test]
fn producer_state_rebuilt_from_full_scan_without_snapshots() {
    producer_state_survives_reopen(false, true);
    producer_state_survives_reopen(true, true);
}

#[test]
fn stale_snapshot_beyond_truncated_log_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let b = idem_batch(1, 0, 0, 1);
    let cfg = page_cache(1 << 20, 4096);
    {
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        log.append(&b, 0).unwrap();
        log.append(&idem_batch(1, 0, 1, 1), 0).unwrap();
        log.close().unwrap(); // snapshot at offset 2
    }
    // Lose the second batch (torn), and crash (no marker).
    std::fs::remove_file(dir.path().join("clean_shutdown")).unwrap();
    let path = dir.path().join(format!("{:020}.log", 0));
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(b.len() as u64 + 10).unwrap();
    drop(f);
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.log_end_offset(), 1);
    // Seq 1 is new again (the snapshot at offset 2 must not be used).
    let info = log.append(&idem_batch(1, 0, 1, 1), 0).unwrap();
    assert!(!info.duplicate);
    assert_eq!(info.base_offset, 1);
}
