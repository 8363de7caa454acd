//! Timestamp lookups (ListOffsets, share-group `by_duration:` resets) decompress stored batches
//! as a stream within `max_uncompressed_batch_bytes`: a compression bomb already in the log (one
//! written before produce validation existed, through the trusted append path here) is an
//! error, never an allocation of its size.

use std::io::Write;

use shard_log::{LogConfig, LogError, PartitionLog};

mod common;
use common::varint as zigzag;

/// A zstd batch (base timestamp 1000) of one record whose value is `len` zeros.
fn zstd_bomb(len: u64) -> Vec<u8> {
    let mut fields = vec![0u8, 0, 0];
    zigzag(-1, &mut fields);
    zigzag(len as i64, &mut fields);
    let mut record = Vec::new();
    zigzag((fields.len() as u64 + len + 1) as i64, &mut record);
    record.extend_from_slice(&fields);
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd");
    enc.write_all(&record).expect("zstd");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..len / chunk.len() as u64 {
        enc.write_all(&chunk).expect("zstd");
    }
    enc.write_all(&[0]).expect("zstd");
    let body = enc.finish().expect("zstd");
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&4i16.to_be_bytes()); // zstd
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&1000i64.to_be_bytes());
    b.extend_from_slice(&1000i64.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&body);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

#[test]
fn timestamp_lookups_over_a_stored_bomb_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        max_uncompressed_batch_bytes: 16 << 20,
        flush: shard_log::FlushMode::PageCache { interval_ms: 1000 },
        ..LogConfig::default()
    };
    let log = PartitionLog::open(dir.path(), config.clone()).expect("open");
    // Produce refuses it...
    let bomb = zstd_bomb(256 << 20);
    assert!(matches!(
        log.append_client_records(&bomb, 0),
        Err(LogError::UncompressedTooLarge { limit }) if limit == 16 << 20
    ));
    assert_eq!(log.log_end_offset(), 0);
    // ...but one already stored is searched within the limit, and fails cleanly.
    log.append(&bomb, 0).expect("trusted append");
    for result in [log.offset_for_timestamp(0), log.max_timestamp_offset()] {
        let e = result.expect_err("bounded");
        assert!(
            matches!(&e, LogError::Corrupt(m) if m.contains("message.max.uncompressed.bytes")),
            "{e:?}"
        );
    }
    // With a limit above its size, the same lookup finds the record.
    log.set_config(LogConfig {
        max_uncompressed_batch_bytes: 512 << 20,
        ..config
    });
    let found = log.offset_for_timestamp(0).expect("lookup").expect("found");
    assert_eq!((found.offset, found.timestamp), (0, 1000));
}
