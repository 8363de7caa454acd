mod common;

use common::*;
use kafka_protocol::records::Compression;
use shard_log::{PartitionLog, TimestampOffset};

fn recs(ts: &[i64]) -> Vec<(i64, Vec<u8>)> {
    ts.iter().map(|t| (*t, format!("ts{t}").into_bytes())).collect()
}

fn at(offset: i64, timestamp: i64) -> Option<TimestampOffset> {
    Some(TimestampOffset { offset, timestamp })
}

/// Sets the LogAppendTime attribute bit and fixes the CRC.
fn log_append_time(mut b: Vec<u8>) -> Vec<u8> {
    b[22] |= 0x08;
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn fill(log: &PartitionLog) {
    // offsets 0..=2
    log.append(&batch_with(&recs(&[100, 150, 120]), NO_PRODUCER), 0).unwrap();
    // offsets 3..=5
    log.append(&batch_with(&recs(&[200, 180, 250]), NO_PRODUCER), 0).unwrap();
    // offsets 6..=8, 9..=11, 12..=14, 15..=17: compressed
    log.append(&compressed_batch(&recs(&[300, 310, 305]), Compression::Gzip), 0)
        .unwrap();
    log.append(&compressed_batch(&recs(&[400, 390, 420]), Compression::Snappy), 0)
        .unwrap();
    log.append(&compressed_batch(&recs(&[500, 520, 510]), Compression::Lz4), 0).unwrap();
    log.append(&compressed_batch(&recs(&[600, 640, 610]), Compression::Zstd), 0)
        .unwrap();
}

fn check_lookups(log: &PartitionLog) {
    assert_eq!(log.offset_for_timestamp(0).unwrap(), at(0, 100));
    assert_eq!(log.offset_for_timestamp(100).unwrap(), at(0, 100));
    assert_eq!(log.offset_for_timestamp(130).unwrap(), at(1, 150));
    assert_eq!(log.offset_for_timestamp(151).unwrap(), at(3, 200));
    assert_eq!(log.offset_for_timestamp(210).unwrap(), at(5, 250));
    assert_eq!(log.offset_for_timestamp(301).unwrap(), at(7, 310));
    assert_eq!(log.offset_for_timestamp(411).unwrap(), at(11, 420));
    assert_eq!(log.offset_for_timestamp(515).unwrap(), at(13, 520));
    assert_eq!(log.offset_for_timestamp(605).unwrap(), at(16, 640));
    assert_eq!(log.offset_for_timestamp(641).unwrap(), None);
    assert_eq!(log.max_timestamp_offset().unwrap(), at(16, 640));
}

#[test]
fn offset_for_timestamp_single_segment_with_compressed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    fill(&log);
    check_lookups(&log);
}

#[test]
fn offset_for_timestamp_across_small_segments_and_reopen() {
    for interval in [0, 1 << 20] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = page_cache(150, interval);
        {
            let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
            fill(&log);
            assert!(log.segment_base_offsets().len() >= 3);
            check_lookups(&log);
            log.close().unwrap();
        }
        {
            let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
            check_lookups(&log);
        }
        // After a crash the active segment's time index is rebuilt.
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        check_lookups(&log);
    }
}

#[test]
fn max_timestamp_offset_picks_first_of_ties() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 0)).unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), None);
    log.append(&batch_with(&recs(&[5, 9, 9]), NO_PRODUCER), 0).unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), at(1, 9));
    log.append(&batch_with(&recs(&[9, 3]), NO_PRODUCER), 0).unwrap();
    log.append(&compressed_batch(&recs(&[1, 9]), Compression::Gzip), 0).unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), at(1, 9));
    log.append(&compressed_batch(&recs(&[8, 12, 12]), Compression::Zstd), 0).unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), at(8, 12));
}

#[test]
fn timestamps_respect_the_high_watermark_in_fsync_mode() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), fsync(200, 0)).unwrap();
    let one = |t: i64| log.append(&batch_with(&recs(&[t]), NO_PRODUCER), 0).unwrap();
    log.append(&batch_with(&recs(&[10, 20]), NO_PRODUCER), 0).unwrap();
    log.flush_to(2).unwrap();
    // Same segment, above the high watermark.
    one(30);
    assert_eq!(log.segment_base_offsets(), [0]);
    assert_eq!(log.max_timestamp_offset().unwrap(), at(1, 20));
    assert_eq!(log.offset_for_timestamp(25).unwrap(), None);
    assert_eq!(log.offset_for_timestamp(15).unwrap(), at(1, 20));
    log.flush_to(3).unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), at(2, 30));
    // A new segment entirely above the high watermark.
    one(40);
    assert_eq!(log.segment_base_offsets(), [0, 3]);
    assert_eq!(log.max_timestamp_offset().unwrap(), at(2, 30));
    assert_eq!(log.offset_for_timestamp(35).unwrap(), None);
    log.flush().unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), at(3, 40));
    assert_eq!(log.offset_for_timestamp(35).unwrap(), at(3, 40));
}

#[test]
fn log_append_time_batches_use_the_batch_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    log.append(&log_append_time(batch_with(&recs(&[70, 70, 70]), NO_PRODUCER)), 0)
        .unwrap();
    assert_eq!(log.offset_for_timestamp(50).unwrap(), at(0, 70));
    assert_eq!(log.max_timestamp_offset().unwrap(), at(0, 70));
}
