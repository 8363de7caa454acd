mod common;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;

use common::*;
use shard_log::PartitionLog;

fn seg_path(dir: &std::path::Path, base: i64, ext: &str) -> std::path::PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

#[test]
fn recovery_truncates_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("t", 3, 100);
    {
        let log = PartitionLog::open(dir.path(), fsync(1 << 20, 64)).unwrap();
        for _ in 0..5 {
            log.append(&b, 0).unwrap();
        }
        log.flush_to(15).unwrap();
        // Dropped without close(): a crash.
    }
    let path = seg_path(dir.path(), 0, "log");
    let len = fs::metadata(&path).unwrap().len();
    assert_eq!(len, 5 * b.len() as u64);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - b.len() as u64 / 2)
        .unwrap();

    let log = PartitionLog::open(dir.path(), fsync(1 << 20, 64)).unwrap();
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(log.high_watermark(), 12);
    assert_eq!(fs::metadata(&path).unwrap().len(), 4 * b.len() as u64);
    let all = read_all(&log, 0);
    assert_eq!(all.iter().map(|r| r.0).collect::<Vec<_>>(), (0..12).collect::<Vec<_>>());
    let info = log.append(&batch("u", 2, 100), 0).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (12, 13));
    log.flush_to(14).unwrap();
    assert_eq!(read_all(&log, 10).last().unwrap(), &(13, "u:1".to_string()));
}

#[test]
fn recovery_truncates_at_corrupt_batch_in_middle_of_tail() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("c", 2, 100);
    {
        let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 0)).unwrap();
        for _ in 0..6 {
            log.append(&b, 0).unwrap();
        }
    }
    // Flip a byte in the records of the 3rd batch (offsets 4..=5).
    let path = seg_path(dir.path(), 0, "log");
    let f = OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let at = 2 * b.len() as u64 + 70;
    let mut byte = [0u8];
    f.read_exact_at(&mut byte, at).unwrap();
    f.write_all_at(&[byte[0] ^ 0xff], at).unwrap();
    drop(f);

    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 0)).unwrap();
    assert_eq!(log.log_end_offset(), 4);
    assert_eq!(fs::metadata(&path).unwrap().len(), 2 * b.len() as u64);
    assert_eq!(read_all(&log, 0).len(), 4);
    assert_eq!(log.append(&b, 0).unwrap().base_offset, 4);
    assert_eq!(read_all(&log, 0).len(), 6);
}

#[test]
fn recovery_handles_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("e", 2, 100);
    {
        let log = PartitionLog::open(dir.path(), page_cache(b.len() as u64, 4096)).unwrap();
        for _ in 0..3 {
            log.append(&b, 0).unwrap();
        }
        assert_eq!(log.segment_base_offsets(), [0, 2, 4]);
        log.close().unwrap();
    }
    // A crash right after a roll created the next segment: a 0-byte active segment.
    fs::File::create(seg_path(dir.path(), 6, "log")).unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(b.len() as u64, 4096)).unwrap();
    assert_eq!(log.segment_base_offsets(), [0, 2, 4, 6]);
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(read_all(&log, 0).len(), 6);
    assert!(log.read(6, 100).unwrap().records.is_empty());
    drop(log); // crash with the empty active segment
    let log = PartitionLog::open(dir.path(), page_cache(b.len() as u64, 4096)).unwrap();
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(log.append(&b, 0).unwrap().base_offset, 6);
    assert_eq!(log.segment_base_offsets(), [0, 2, 4, 6]);
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(b.len() as u64, 4096)).unwrap();
    assert_eq!(read_all(&log, 0).len(), 8);
}

#[test]
fn recovery_of_brand_new_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topic-0");
    {
        let log = PartitionLog::open(&path, fsync(1 << 20, 4096)).unwrap();
        assert_eq!((log.log_start_offset(), log.log_end_offset(), log.high_watermark()), (0, 0, 0));
        assert!(log.read(0, 100).unwrap().records.is_empty());
        assert_eq!(log.max_timestamp_offset().unwrap(), None);
    }
    let log = PartitionLog::open(&path, fsync(1 << 20, 4096)).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    log.close().unwrap();
    let log = PartitionLog::open(&path, fsync(1 << 20, 4096)).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.append(&batch("n", 1, 1), 0).unwrap().base_offset, 0);
}

#[test]
fn clean_restart_keeps_data_and_removes_marker() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("k", 4, 100);
    let cfg = fsync(b.len() as u64 * 3, 100);
    {
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        for _ in 0..8 {
            log.append(&b, 0).unwrap();
        }
        log.close().unwrap();
        assert!(dir.path().join("clean_shutdown").exists());
    }
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    assert!(!dir.path().join("clean_shutdown").exists());
    assert_eq!(log.log_end_offset(), 32);
    assert_eq!(log.high_watermark(), 32);
    for off in [0, 5, 11, 12, 13, 23, 24, 31] {
        let r = log.read(off, 1).unwrap();
        let recs = records_in(&r.records);
        assert!(recs.iter().any(|(o, _)| *o == off), "offset {off}");
    }
    log.append(&b, 0).unwrap();
    log.flush_to(36).unwrap();
    assert_eq!(read_all(&log, 0).len(), 36);
}

#[test]
fn clean_marker_with_torn_tail_still_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("m", 2, 100);
    {
        let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
        for _ in 0..3 {
            log.append(&b, 0).unwrap();
        }
        log.close().unwrap();
    }
    let path = seg_path(dir.path(), 0, "log");
    let f = OpenOptions::new().append(true).open(&path).unwrap();
    f.set_len(3 * b.len() as u64 - 5).unwrap();
    drop(f);
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    assert_eq!(log.log_end_offset(), 4);
}

#[test]
fn recovery_rebuilds_missing_index_and_cuts_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch("x", 2, 100);
    let cfg = page_cache(b.len() as u64 * 2, 0);
    {
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        for _ in 0..6 {
            log.append(&b, 0).unwrap();
        }
        assert_eq!(log.segment_base_offsets(), [0, 4, 8]);
        log.close().unwrap();
    }
    // Missing index on the first segment: rebuilt, data kept.
    fs::remove_file(seg_path(dir.path(), 0, "index")).unwrap();
    {
        let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
        assert_eq!(log.log_end_offset(), 12);
        assert_eq!(read_all(&log, 0).len(), 12);
        assert!(!log.read(3, 1).unwrap().records.is_empty());
        log.close().unwrap();
    }
    assert!(seg_path(dir.path(), 0, "index").exists());
    // Second segment: missing index and a corrupt second batch: it and everything after go.
    fs::remove_file(seg_path(dir.path(), 4, "timeindex")).unwrap();
    let f = OpenOptions::new().write(true).open(seg_path(dir.path(), 4, "log")).unwrap();
    f.write_all_at(&[0xAB], b.len() as u64 + 30).unwrap();
    drop(f);
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.segment_base_offsets(), [0, 4]);
    assert_eq!(log.log_end_offset(), 6);
    assert!(!seg_path(dir.path(), 8, "log").exists());
    assert_eq!(read_all(&log, 0).len(), 6);
    assert_eq!(log.append(&b, 0).unwrap().base_offset, 6);
}

#[test]
fn leftover_files_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
        log.append(&batch("l", 1, 1), 0).unwrap();
        log.close().unwrap();
    }
    fs::write(dir.path().join("00000000000000000000.log.deleted"), b"old").unwrap();
    fs::write(dir.path().join("00000000000000000007.snapshot.tmp"), b"{").unwrap();
    fs::write(seg_path(dir.path(), 99, "index"), [0u8; 16]).unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 20, 4096)).unwrap();
    assert!(!dir.path().join("00000000000000000000.log.deleted").exists());
    assert!(!dir.path().join("00000000000000000007.snapshot.tmp").exists());
    assert!(!seg_path(dir.path(), 99, "index").exists());
    assert_eq!(read_all(&log, 0).len(), 1);
}
