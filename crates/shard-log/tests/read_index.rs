mod common;

use common::*;
use shard_log::batch::parse_header;
use shard_log::{LogConfig, PartitionLog};

/// Batches of 1..=4 records with increasingly long values, so sizes vary.
fn fill(log: &PartitionLog, batches: usize) -> i64 {
    let mut next = 0;
    for i in 0..batches {
        let n = 1 + i % 4;
        let recs: Vec<(i64, Vec<u8>)> = (0..n)
            .map(|j| (1000 + i as i64, format!("v{}:{}", next + j as i64, "x".repeat(i * 3)).into_bytes()))
            .collect();
        let info = log.append(&batch_with(&recs, NO_PRODUCER), 0).unwrap();
        assert_eq!(info.base_offset, next);
        next = info.last_offset + 1;
    }
    next
}

/// Every offset read alone must return the batch containing it; each value names its offset.
fn check_every_offset(log: &PartitionLog, end: i64) {
    let segs = log.segment_base_offsets();
    assert!(segs.len() >= 3, "want several segments, got {segs:?}");
    for off in 0..end {
        let r = log.read(off, 1).unwrap();
        let h = parse_header(&r.records).unwrap();
        assert!(h.base_offset <= off && off <= h.last_offset(), "offset {off} not in {h:?}");
        assert_eq!(r.records.len(), h.total_len, "one whole batch at max_bytes=1");
        let recs = records_in(&r.records);
        let (_, v) = recs.iter().find(|(o, _)| *o == off).unwrap();
        assert!(v.starts_with(&format!("v{off}:")));
    }
    // Segment boundaries: base offset, last offset of the previous segment, just after the end.
    for w in segs.windows(2) {
        for off in [w[0], w[1] - 1, w[1]] {
            let recs = records_in(&log.read(off, 1).unwrap().records);
            assert!(recs.iter().any(|(o, _)| *o == off));
        }
    }
    assert!(log.read(end, 1).unwrap().records.is_empty());
    // A big read spans segments and returns everything in order.
    let all = records_in(&log.read(0, 1 << 30).unwrap().records);
    assert_eq!(all.iter().map(|r| r.0).collect::<Vec<_>>(), (0..end).collect::<Vec<_>>());
}

fn config(interval: u32) -> LogConfig {
    page_cache(600, interval)
}

#[test]
fn index_lookups_at_segment_boundaries_dense_index() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config(0)).unwrap();
    let end = fill(&log, 40);
    check_every_offset(&log, end);
}

#[test]
fn index_lookups_at_segment_boundaries_sparse_index() {
    for interval in [150, 1 << 20] {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), config(interval)).unwrap();
        let end = fill(&log, 40);
        check_every_offset(&log, end);
    }
}

#[test]
fn index_lookups_after_clean_and_unclean_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let end = {
        let log = PartitionLog::open(dir.path(), config(100)).unwrap();
        let end = fill(&log, 30);
        log.close().unwrap();
        end
    };
    {
        let log = PartitionLog::open(dir.path(), config(100)).unwrap();
        check_every_offset(&log, end);
        // Crash now: the active segment is rescanned and its index rebuilt.
    }
    let log = PartitionLog::open(dir.path(), config(100)).unwrap();
    check_every_offset(&log, end);
}

#[test]
fn tiny_index_files_force_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = page_cache(1 << 20, 0);
    cfg.index_max_bytes = 24; // 3 offset entries, 2 time entries
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    let end = fill(&log, 20);
    assert!(log.segment_base_offsets().len() > 3);
    check_every_offset(&log, end);
}
