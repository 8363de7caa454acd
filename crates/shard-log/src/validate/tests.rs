//! Each of Kafka's produce checks, one bad batch kind at a time, plus compression bombs.

use std::io::Write;

use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use proptest::prelude::*;

use super::*;
use crate::LogError;
use crate::records::tests::zigzag;

const LIMITS: Limits = Limits {
    max_message_bytes: 1 << 20,
    max_uncompressed_bytes: 1 << 20,
    now_ms: 1_000_000,
    timestamp_before_max_ms: i64::MAX,
    timestamp_after_max_ms: 3_600_000,
};

fn record(offset: i64, value: Bytes) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: offset as i32, // offset - sequence constant: one batch
        timestamp: 1000 + offset,
        key: Some(Bytes::from_static(b"k")),
        value: Some(value),
        delete_horizon: false,
        headers: [(
            kafka_protocol::protocol::StrBytes::from_static_str("h"),
            Some(Bytes::from_static(b"v")),
        )]
        .into_iter()
        .collect(),
    }
}

use bytes::Bytes;

/// A batch of `n` records encoded by kafka-protocol (as clients do).
fn encoded(n: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<Record> = (0..n).map(|i| record(i, Bytes::from(format!("value-{i}")))).collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression }).expect("encode");
    buf.to_vec()
}

/// Recomputes length and CRC after an edit.
fn fix(b: &mut [u8]) {
    let len = (b.len() - LOG_OVERHEAD) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

fn with(mut b: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    b[at..at + bytes.len()].copy_from_slice(bytes);
    fix(&mut b);
    b
}

fn check(b: &[u8]) -> Result<(BatchHeader, usize), LogError> {
    validate_produce(b, LIMITS)
}

fn invalid(b: &[u8]) -> String {
    match check(b) {
        Err(LogError::InvalidRecord(m)) => m,
        other => panic!("expected INVALID_RECORD, got {other:?}"),
    }
}

#[test]
fn accepts_client_batches_of_every_codec() {
    for c in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let b = encoded(5, c);
        let (h, len) = check(&b).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!((h.record_count, h.last_offset_delta, len), (5, 4, b.len()), "{c:?}");
    }
}

#[test]
fn framing_errors_are_corrupt_or_invalid_as_kafka() {
    let good = encoded(2, Compression::None);
    // No whole batch: INVALID_RECORD ("at least one record batch").
    assert!(invalid(&[]).contains("at least one"));
    assert!(invalid(&good[..11]).contains("at least one"));
    assert!(invalid(&good[..good.len() - 1]).contains("at least one"));
    // A length below 14 is CORRUPT_MESSAGE, even in a fragment.
    let mut short = good.clone();
    short[8..12].copy_from_slice(&13i32.to_be_bytes());
    assert!(matches!(check(&short[..12]), Err(LogError::Corrupt(_))));
    // Magic outside 0..=2 is CORRUPT_MESSAGE; 0 and 1 are INVALID_RECORD on produce v3+.
    let mut bad_magic = good.clone();
    bad_magic[16] = 3;
    assert!(matches!(check(&bad_magic), Err(LogError::Corrupt(_))));
    bad_magic[16] = 1;
    assert!(invalid(&bad_magic).contains("magic version 2"));
    // Two whole batches: INVALID_RECORD; a trailing fragment is ignored (Kafka trims it).
    let mut two = good.clone();
    two.extend_from_slice(&good);
    assert!(invalid(&two).contains("exactly one"));
    let mut tail = good.clone();
    tail.extend_from_slice(&good[..20]);
    assert_eq!(check(&tail).expect("trailing fragment").1, good.len());
    // Base offset must be 0.
    assert!(invalid(&with(good.clone(), 0, &5i64.to_be_bytes())).contains("baseOffset"));
    // Too large, then CRC.
    assert!(matches!(
        validate_produce(
            &good,
            Limits {
                max_message_bytes: good.len() as u32 - 1,
                ..LIMITS
            }
        ),
        Err(LogError::TooLarge { .. })
    ));
    let mut crc = good.clone();
    let last = crc.len() - 1;
    crc[last] ^= 1;
    assert!(matches!(check(&crc), Err(LogError::Corrupt(m)) if m.contains("crc")));
    // A v2 batch shorter than its header is CORRUPT_MESSAGE.
    let mut tiny = good[..40].to_vec();
    fix(&mut tiny);
    assert!(matches!(check(&tiny), Err(LogError::Corrupt(_))));
}

#[test]
fn counts_and_offset_deltas_must_agree() {
    let good = encoded(3, Compression::None);
    // recordCount 0, negative, and not lastOffsetDelta + 1.
    let zero = with(with(good.clone(), 57, &0i32.to_be_bytes()), 23, &(-1i32).to_be_bytes());
    assert!(invalid(&zero).contains("invalid offset range"));
    assert!(invalid(&with(good.clone(), 57, &0i32.to_be_bytes())).contains("Invalid reported count"));
    assert!(invalid(&with(good.clone(), 57, &(-3i32).to_be_bytes())).contains("Invalid reported count"));
    // The case: a huge lastOffsetDelta with a small count would burn 2^31 offsets.
    let burn = with(good.clone(), 23, &i32::MAX.to_be_bytes());
    assert!(invalid(&burn).contains("Inconsistent batch offset range"));
    // Count agrees with the delta but not with the records present.
    let more = with(with(good.clone(), 57, &4i32.to_be_bytes()), 23, &3i32.to_be_bytes());
    assert!(invalid(&more).contains("premature EOF"));
    let fewer = with(with(good.clone(), 57, &2i32.to_be_bytes()), 23, &1i32.to_be_bytes());
    assert!(invalid(&fewer).contains("records still remaining"));
}

#[test]
fn control_sequence_and_transactional_batches() {
    let good = encoded(1, Compression::None);
    let attrs = |a: i16| with(good.clone(), 21, &a.to_be_bytes());
    assert!(invalid(&attrs(0x20)).contains("control records"));
    assert!(matches!(check(&attrs(0x10)), Err(LogError::Transactional)));
    // An idempotent batch (producer id set) needs a sequence.
    let idem = with(with(good.clone(), 43, &7i64.to_be_bytes()), 53, &(-1i32).to_be_bytes());
    assert!(invalid(&idem).contains("Invalid sequence number"));
    // Unknown codec.
    assert!(invalid(&attrs(5)).contains("Unknown compression type id: 5"));
}

#[test]
fn record_structure_is_checked() {
    let good = encoded(2, Compression::None);
    // First record's length varint sits right after the header: make it claim one byte more.
    let first_len = good[HEADER_LEN];
    let longer = with(good.clone(), HEADER_LEN, &[first_len + 2]);
    assert!(check(&longer).is_err());
    assert!(matches!(check(&longer), Err(LogError::InvalidRecord(_))));
    // Record shorter than its fields.
    let shorter = with(good.clone(), HEADER_LEN, &[first_len - 2]);
    assert!(matches!(check(&shorter), Err(LogError::InvalidRecord(_))));
    // Negative header count: the record is laid out as attributes, ts delta, offset delta, key
    // len + "k", value len + value, header count; find the header count of record 0 (1 -> zigzag 2).
    let mut bytes = good.clone();
    let rec = HEADER_LEN + 1;
    let header_count_at = rec + 1 + 1 + 1 + 2 + 1 + "value-0".len();
    assert_eq!(bytes[header_count_at], 2, "layout of the test record");
    bytes[header_count_at] = 1; // zigzag(-1)
    fix(&mut bytes);
    assert!(invalid(&bytes).contains("invalid number of record headers"));
}

#[test]
fn offset_deltas_out_of_sequence_are_record_errors() {
    let good = encoded(3, Compression::None);
    let mut b = good.clone();
    let rec1 = HEADER_LEN + 1 + good[HEADER_LEN] as usize / 2;
    // Record 1: length varint, attributes, ts delta, then the offset delta (zigzag 1 = 2).
    let delta_at = rec1 + 1 + 1 + 1;
    assert_eq!(b[delta_at], 2, "layout of the test record");
    b[delta_at] = 4; // offset delta 2 at position 1
    fix(&mut b);
    match check(&b) {
        Err(LogError::RecordErrors {
            message,
            errors,
            invalid_timestamp: false,
        }) => {
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].0, 1);
            assert!(
                message.starts_with("One or more records have been rejected due to 1 record errors"),
                "{message}"
            );
            assert!(message.contains("RecordError(batchIndex=1"), "{message}");
        }
        other => panic!("expected record errors, got {other:?}"),
    }
}

#[test]
fn timestamps_outside_the_window_are_invalid_timestamp() {
    // Records at 1000..1003; the broker's clock at 1_000_000.
    let good = encoded(3, Compression::None);
    let strict = Limits {
        timestamp_before_max_ms: 998_997,
        ..LIMITS
    };
    match validate_produce(&good, strict) {
        Err(LogError::RecordErrors {
            invalid_timestamp: true,
            message,
            errors,
        }) => {
            assert_eq!(message, "One or more records have been rejected due to invalid timestamp");
            assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 1, 2]);
            assert!(
                errors[0].1.starts_with("Timestamp 1000 of message with offset 0 is out of range"),
                "{}",
                errors[0].1
            );
        }
        other => panic!("expected INVALID_TIMESTAMP, got {other:?}"),
    }
    // Within the window (and the default: no lower bound) it passes.
    validate_produce(
        &good,
        Limits {
            timestamp_before_max_ms: 999_000,
            ..LIMITS
        },
    )
    .expect("within");
    validate_produce(&good, LIMITS).expect("default");
    // More than an hour ahead of the broker's clock (Kafka's default after.max.ms).
    let early = Limits {
        now_ms: 1000 - 3_600_001,
        ..LIMITS
    };
    assert!(matches!(
        validate_produce(&good, early),
        Err(LogError::RecordErrors {
            invalid_timestamp: true,
            ..
        })
    ));
    // A producer may not set LogAppendTime with no timestamp.
    let mut lat = with(good.clone(), 21, &0x08i16.to_be_bytes());
    lat[35..43].copy_from_slice(&(-1i64).to_be_bytes());
    fix(&mut lat);
    assert!(matches!(
        validate_produce(&lat, LIMITS),
        Err(LogError::RecordErrors {
            invalid_timestamp: true,
            ..
        })
    ));
}

/// A batch header around `body` (already compressed with `codec`) claiming `count` records.
fn raw_batch(codec: i16, count: i32, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_LEN + body.len());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&codec.to_be_bytes());
    b.extend_from_slice(&(count - 1).to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(body);
    fix(&mut b);
    b
}

/// A compression bomb through `codec`: one well-formed record whose value is `len` zeros,
/// compressed as a stream (never held in memory uncompressed).
fn bomb(codec: i16, len: u64) -> Vec<u8> {
    let mut fields = vec![0u8, 0, 0]; // attributes, timestamp delta, offset delta
    zigzag(-1, &mut fields); // null key
    zigzag(len as i64, &mut fields);
    let mut prefix = Vec::new();
    zigzag((fields.len() as u64 + len + 1) as i64, &mut prefix);
    prefix.extend_from_slice(&fields);
    let suffix = [0u8]; // no headers
    let chunk = vec![0u8; 1 << 20];
    let feed = |w: &mut dyn Write| {
        w.write_all(&prefix).expect("compress");
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            w.write_all(&chunk[..n]).expect("compress");
            left -= n as u64;
        }
        w.write_all(&suffix).expect("compress");
    };
    match codec {
        1 => {
            // Concatenated gzip members (Kafka's GZIPInputStream reads them all): compressing
            // 1 GiB with the pure-Rust deflate of a debug build would take half a minute.
            let member = |data: &[u8], times: u64| {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).expect("gzip");
                e.finish().expect("gzip").repeat(times as usize)
            };
            let mut out = member(&prefix, 1);
            out.extend(member(&chunk, len / chunk.len() as u64));
            out.extend(member(&chunk[..(len % chunk.len() as u64) as usize], 1));
            out.extend(member(&suffix, 1));
            out
        }
        2 => {
            // Xerial framing with 32 KiB raw blocks, as Kafka clients write it; every block of
            // zeros is the same, so compress one and repeat it.
            let mut enc = snap::raw::Encoder::new();
            let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
            let mut block = |out: &mut Vec<u8>, data: &[u8]| {
                let c = enc.compress_vec(data).expect("snappy");
                out.extend_from_slice(&(c.len() as u32).to_be_bytes());
                out.extend_from_slice(&c);
            };
            block(&mut out, &prefix);
            let zero_block = snap::raw::Encoder::new().compress_vec(&chunk[..32 * 1024]).expect("snappy");
            for _ in 0..len / (32 * 1024) {
                out.extend_from_slice(&(zero_block.len() as u32).to_be_bytes());
                out.extend_from_slice(&zero_block);
            }
            block(&mut out, &suffix);
            out
        }
        3 => {
            let mut e = lz4::EncoderBuilder::new().build(Vec::new()).expect("lz4");
            feed(&mut e);
            let (out, r) = e.finish();
            r.expect("lz4");
            out
        }
        4 => {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd");
            feed(&mut e);
            e.finish().expect("zstd")
        }
        _ => unreachable!(),
    }
}

#[test]
fn compression_bombs_are_refused_within_the_budget() {
    // 1 GiB of zeros per codec, compressed to a few MB or less, in a batch of one record.
    let limits = Limits {
        max_message_bytes: u32::MAX,
        max_uncompressed_bytes: 64 << 20,
        ..LIMITS
    };
    for codec in 1..=4i16 {
        let body = bomb(codec, 1 << 30);
        let b = raw_batch(codec, 1, &body);
        let e = validate_produce(&b, limits).expect_err("bomb");
        assert!(
            matches!(e, LogError::UncompressedTooLarge { limit } if limit == 64 << 20),
            "codec {codec}: {e:?} ({} compressed bytes)",
            body.len()
        );
        // The same record well within a budget is accepted: the bound is what refused it.
        let small = raw_batch(codec, 1, &bomb(codec, 1 << 20));
        validate_produce(&small, limits).unwrap_or_else(|e| panic!("codec {codec}: {e}"));
    }
}

#[test]
fn timestamp_lookup_is_bounded_too() {
    let mut b = raw_batch(4, 1, &bomb(4, 256 << 20));
    b[35..43].copy_from_slice(&i64::MAX.to_be_bytes()); // max timestamp: the batch is searched
    let h = batch::parse_header(&b).expect("header");
    let e = records::first_record_at_or_after(&b, &h, 0, 0, 1 << 20).expect_err("bounded");
    assert!(
        matches!(&e, LogError::Corrupt(m) if m.contains("message.max.uncompressed.bytes")),
        "{e:?}"
    );
    assert_eq!(
        records::first_record_at_or_after(&b, &h, 0, 0, 512 << 20).expect("within"),
        Some((0, 0))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes in place of the records of a batch of any codec: never a panic, and
    /// never more decoder output than the budget (the error says which).
    #[test]
    fn arbitrary_record_bodies_never_panic(codec in 0i16..=4, count in 1i32..1000, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let b = raw_batch(codec, count, &body);
        let _ = validate_produce(&b, Limits { max_message_bytes: 1 << 20, max_uncompressed_bytes: 4096, ..LIMITS });
    }

    /// Flipping any byte of a good compressed batch is caught (CRC) or validated, never a panic.
    #[test]
    fn bit_flips_never_panic(codec in 0usize..5, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let c = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd][codec];
        let mut b = encoded(4, c);
        let i = at.index(b.len());
        b[i] ^= 1 << bit;
        if i >= 21 { fix(&mut b); }
        let _ = validate_produce(&b, LIMITS);
    }
}
