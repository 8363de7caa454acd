mod common;

use std::sync::Arc;

use common::*;
use shard_log::{LogError, PartitionLog};

#[test]
fn group_commit_shares_fsyncs_between_threads() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(PartitionLog::open(dir.path(), fsync(64 * 1024, 4096)).unwrap());
    let threads = 8;
    let per_thread = 15;
    // The barrier makes every round of appends land before the flushes, so the first fsync of
    // a round covers all of them even on a disk whose fsync is nearly free.
    let barrier = Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (log, barrier) = (log.clone(), barrier.clone());
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let info = log.append(&batch(&format!("t{t}-{i}"), 2, 1), 0).unwrap();
                    barrier.wait();
                    log.flush_to(info.last_offset + 1).unwrap();
                    assert!(log.high_watermark() > info.last_offset);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let callers = (threads * per_thread) as u64;
    let fsyncs = log.fsync_count();
    assert!(fsyncs < callers, "fsyncs {fsyncs} callers {callers}");
    assert!(fsyncs <= 2 * per_thread as u64, "fsyncs {fsyncs} for {per_thread} rounds");
    assert_eq!(log.high_watermark(), 2 * callers as i64);
    assert_eq!(read_all(&log, 0).len(), 2 * callers as usize);
}

#[test]
fn failed_fsync_poisons_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), fsync(1 << 20, 4096)).unwrap();
    log.append(&batch("a", 1, 1), 0).unwrap();
    log.flush_to(1).unwrap();
    log.append(&batch("b", 1, 1), 0).unwrap();
    log.inject_fsync_failure();
    assert!(matches!(log.flush_to(2), Err(LogError::Io(_))));
    assert!(matches!(log.append(&batch("c", 1, 1), 0), Err(LogError::Poisoned)));
    assert!(matches!(log.flush_to(2), Err(LogError::Poisoned)));
    assert!(matches!(log.flush(), Err(LogError::Poisoned)));
    // The high watermark never covered the unsynced batch; durable data stays readable.
    assert_eq!(log.high_watermark(), 1);
    assert_eq!(read_all(&log, 0).len(), 1);
    // No clean marker after a poisoned close: the next open recovers.
    assert!(log.close().is_err());
    assert!(!dir.path().join("clean_shutdown").exists());
    let log = PartitionLog::open(dir.path(), fsync(1 << 20, 4096)).unwrap();
    assert_eq!(log.log_end_offset(), 2);
    log.append(&batch("d", 1, 1), 0).unwrap();
}

#[test]
fn poison_wakes_waiting_flushers() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(PartitionLog::open(dir.path(), fsync(1 << 20, 4096)).unwrap());
    log.inject_fsync_failure();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let log = log.clone();
            std::thread::spawn(move || {
                let info = log.append(&batch("w", 1, 1), 0);
                match info {
                    Ok(i) => log.flush_to(i.last_offset + 1).map(|_| ()),
                    Err(e) => Err(e),
                }
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.iter().all(|r| r.is_err()), "{results:?}");
}

#[test]
fn fsync_mode_high_watermark_advances_only_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), fsync(1 << 20, 4096)).unwrap();
    let mut rx = log.subscribe();
    assert_eq!(*rx.borrow_and_update(), 0);
    log.append(&batch("a", 3, 1), 0).unwrap();
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(log.high_watermark(), 0);
    assert!(!rx.has_changed().unwrap());
    // Data above the high watermark is invisible.
    assert!(log.read(0, 1000).unwrap().records.is_empty());
    assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
    assert_eq!(log.max_timestamp_offset().unwrap(), None);
    log.flush_to(3).unwrap();
    assert_eq!(log.high_watermark(), 3);
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), 3);
    assert_eq!(records_in(&log.read(0, 1000).unwrap().records).len(), 3);
    // flush_to beyond the log end only waits for what exists.
    log.append(&batch("b", 1, 1), 0).unwrap();
    log.flush_to(100).unwrap();
    assert_eq!(log.high_watermark(), 4);
    let fsyncs = log.fsync_count();
    log.flush_to(4).unwrap();
    log.flush().unwrap();
    assert_eq!(log.fsync_count(), fsyncs, "nothing new to sync");
}

#[test]
fn page_cache_mode_high_watermark_is_log_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    let mut rx = log.subscribe();
    log.append(&batch("a", 2, 1), 0).unwrap();
    assert_eq!(log.high_watermark(), 2);
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), 2);
    log.flush_to(2).unwrap();
    assert_eq!(log.fsync_count(), 0);
    log.flush().unwrap();
    assert_eq!(log.fsync_count(), 1);
    assert_eq!(log.durable_end_offset(), 2);
}

#[test]
fn rolled_segments_are_synced_by_the_next_flush() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("r", 1, 1);
    let log = PartitionLog::open(dir.path(), fsync(b.len() as u64, 4096)).unwrap();
    for _ in 0..4 {
        log.append(&b, 0).unwrap();
    }
    assert_eq!(log.segment_base_offsets().len(), 4);
    log.flush_to(4).unwrap();
    assert_eq!(log.high_watermark(), 4);
    assert_eq!(log.durable_end_offset(), 4);
    assert_eq!(read_all(&log, 0).len(), 4);
}
