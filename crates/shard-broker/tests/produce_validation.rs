//! The real binary refuses every kind of bad produce batch as Kafka's LogValidator does, with
//! Kafka's error code, and appends nothing: the log end offset does not move.

mod common;

use std::io::Write;

use bytes::{Bytes, BytesMut};
use common::RawClient;
use common::child::{ChildBroker, free_port};
use common::share::{create_topic, name, one_batch};
use kafka_protocol::messages::*;

const NONE: i16 = 0;
const CORRUPT_MESSAGE: i16 = 2;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_TIMESTAMP: i16 = 32;
const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
const INVALID_RECORD: i16 = 87;
/// Offset of the first record in a v2 batch.
const RECORDS_AT: usize = 61;

/// Recomputes length and CRC-32C after an edit.
fn fix(b: &mut [u8]) {
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// `good` with `bytes` written at `at`, length and CRC fixed.
fn edit(good: &Bytes, at: usize, bytes: &[u8]) -> Bytes {
    let mut b = BytesMut::from(&good[..]);
    b[at..at + bytes.len()].copy_from_slice(bytes);
    fix(&mut b);
    b.freeze()
}

fn zigzag(v: i64, out: &mut Vec<u8>) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        let b = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A zstd batch of one well-formed record whose value is `len` zeros.
fn zstd_record_batch(len: u64) -> Bytes {
    let mut fields = vec![0u8, 0, 0];
    zigzag(-1, &mut fields);
    zigzag(len as i64, &mut fields);
    let mut record = Vec::new();
    zigzag((fields.len() as u64 + len + 1) as i64, &mut record);
    record.extend_from_slice(&fields);
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd");
    enc.write_all(&record).expect("zstd");
    let chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        enc.write_all(&chunk[..n]).expect("zstd");
        left -= n as u64;
    }
    enc.write_all(&[0]).expect("zstd");
    let body = enc.finish().expect("zstd");
    let mut b = one_batch(1)[..RECORDS_AT].to_vec();
    b[21..23].copy_from_slice(&4i16.to_be_bytes());
    b.extend_from_slice(&body);
    fix(&mut b);
    Bytes::from(b)
}

async fn produce_raw(c: &mut RawClient, version: i16, records: Bytes) -> produce_response::PartitionProduceResponse {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        produce_request::TopicProduceData::default()
            .with_name(name("checked"))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(records)),
            ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, version, &req).await;
    resp.responses[0].partition_responses[0].clone()
}

async fn log_end(c: &mut RawClient) -> i64 {
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        list_offsets_request::ListOffsetsTopic::default()
            .with_name(name("checked"))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-1),
            ]),
    ]);
    let resp: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &req).await;
    resp.topics[0].partitions[0].offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_batch_kind_gets_kafkas_error_and_nothing_is_appended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "message.max.bytes = 65536\nmessage.max.uncompressed.bytes = 1048576\n";
    let broker = ChildBroker::start(dir.path(), free_port(), extra).await;
    let mut c = RawClient::connect(broker.addr).await;
    create_topic(&mut c, "checked", 1).await;

    let good = one_batch(3);
    // Record 0 is 19 bytes (length varint + 18); record 1's offset delta follows its length,
    // attributes and timestamp delta.
    let record1_delta = RECORDS_AT + 19 + 3;
    assert_eq!(good[record1_delta], 2, "layout of one_batch: zigzag(1)");
    let mut two = BytesMut::from(&good[..]);
    two.extend_from_slice(&good);
    let mut short_len = BytesMut::from(&good[..]);
    short_len[8..12].copy_from_slice(&13i32.to_be_bytes());
    let mut bad_crc = BytesMut::from(&good[..]);
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    let big = {
        let mut b = BytesMut::from(&one_batch(1)[..]);
        b.extend_from_slice(&[0u8; 70_000]);
        fix(&mut b);
        b.freeze()
    };

    let cases: Vec<(&str, Bytes, i16)> = vec![
        ("no records", Bytes::new(), INVALID_RECORD),
        ("truncated batch", good.slice(..good.len() - 1), INVALID_RECORD),
        ("length below 14", short_len.freeze(), CORRUPT_MESSAGE),
        ("magic 3", edit(&good, 16, &[3]), CORRUPT_MESSAGE),
        ("magic 1", edit(&good, 16, &[1]), INVALID_RECORD),
        ("two batches", two.freeze(), INVALID_RECORD),
        ("base offset 5", edit(&good, 0, &5i64.to_be_bytes()), INVALID_RECORD),
        ("over message.max.bytes", big, MESSAGE_TOO_LARGE),
        ("bad crc", bad_crc.freeze(), CORRUPT_MESSAGE),
        ("record count 0", edit(&good, 57, &0i32.to_be_bytes()), INVALID_RECORD),
        ("last offset delta -1", edit(&good, 23, &(-1i32).to_be_bytes()), INVALID_RECORD),
        // The case: three records that would have taken 2^31 offsets.
        ("offset delta 2^31-1", edit(&good, 23, &i32::MAX.to_be_bytes()), INVALID_RECORD),
        (
            "count 4 for 3 records",
            edit(&edit(&good, 57, &4i32.to_be_bytes()), 23, &3i32.to_be_bytes()),
            INVALID_RECORD,
        ),
        (
            "count 2 for 3 records",
            edit(&edit(&good, 57, &2i32.to_be_bytes()), 23, &1i32.to_be_bytes()),
            INVALID_RECORD,
        ),
        ("record length too long", edit(&good, RECORDS_AT, &[36 + 4]), INVALID_RECORD),
        ("control batch", edit(&good, 21, &0x20i16.to_be_bytes()), INVALID_RECORD),
        ("producer id without sequence", edit(&good, 43, &7i64.to_be_bytes()), INVALID_RECORD),
        ("compression codec 6", edit(&good, 21, &6i16.to_be_bytes()), INVALID_RECORD),
        ("zstd bomb: 64 MiB of zeros", zstd_record_batch(64 << 20), MESSAGE_TOO_LARGE),
    ];
    for (what, records, code) in cases {
        let p = produce_raw(&mut c, 11, records).await;
        assert_eq!(p.error_code, code, "{what}: {:?}", p.error_message);
        assert_eq!(p.base_offset, -1, "{what}");
        assert_eq!(log_end(&mut c).await, 0, "{what}: the log end moved");
    }

    // A record whose offset delta is out of sequence: a record error, as Kafka reports them.
    let p = produce_raw(&mut c, 11, edit(&good, record1_delta, &[4])).await;
    assert_eq!(p.error_code, INVALID_RECORD);
    assert_eq!(p.record_errors.len(), 1, "{p:?}");
    assert_eq!(p.record_errors[0].batch_index, 1);
    let message = p.error_message.as_deref().map(|m| m.to_string()).unwrap_or_default();
    assert!(message.starts_with("One or more records have been rejected"), "{message}");
    // A timestamp two hours ahead of the broker's clock (message.timestamp.after.max.ms is one
    // hour by default): INVALID_TIMESTAMP, every record listed.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let ahead = edit(
        &edit(&good, 27, &(now + 7_200_000).to_be_bytes()),
        35,
        &(now + 7_200_002).to_be_bytes(),
    );
    let p = produce_raw(&mut c, 11, ahead).await;
    assert_eq!(p.error_code, INVALID_TIMESTAMP, "{:?}", p.error_message);
    assert_eq!(p.record_errors.len(), 3);
    assert_eq!(log_end(&mut c).await, 0);
    // zstd needs produce v7 (Kafka's ProduceRequest.validateRecords).
    let p = produce_raw(&mut c, 6, zstd_record_batch(1024)).await;
    assert_eq!(p.error_code, UNSUPPORTED_COMPRESSION_TYPE);
    assert_eq!(log_end(&mut c).await, 0);

    // Good batches still go in, the zstd one within the limit too, on the same connection.
    let p = produce_raw(&mut c, 11, good.clone()).await;
    assert_eq!((p.error_code, p.base_offset), (NONE, 0), "{:?}", p.error_message);
    let p = produce_raw(&mut c, 11, zstd_record_batch(512 << 10)).await;
    assert_eq!((p.error_code, p.base_offset), (NONE, 3), "{:?}", p.error_message);
    assert_eq!(log_end(&mut c).await, 4);
    // The broker held no bomb in memory: it decodes within message.max.uncompressed.bytes.
    let peak = broker.peak_rss();
    eprintln!("produce_validation: broker peak RSS {} MB", peak >> 20);
    assert!(peak < 200 << 20, "peak RSS {peak} bytes");
}
