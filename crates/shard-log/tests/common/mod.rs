//! Test helpers: a tiny v2 batch encoder, configs, and a record decoder for read results.
#![allow(dead_code)]

use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use shard_log::{FlushMode, LogConfig, PartitionLog};

/// Idempotent producer fields of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Producer {
    pub id: i64,
    pub epoch: i16,
    pub seq: i32,
}

/// No producer id (plain, non-idempotent batch).
pub const NO_PRODUCER: Producer = Producer {
    id: -1,
    epoch: -1,
    seq: -1,
};

/// Appends `v` as a zigzag varlong.
pub fn varint(v: i64, out: &mut Vec<u8>) {
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

/// An uncompressed v2 batch of records `(timestamp, value)` with the given producer fields.
pub fn batch_with(records: &[(i64, Vec<u8>)], p: Producer) -> Vec<u8> {
    assert!(!records.is_empty());
    let base_ts = records[0].0;
    let max_ts = records.iter().map(|r| r.0).max().unwrap();
    let mut body = Vec::new();
    for (i, (ts, value)) in records.iter().enumerate() {
        let mut rec = vec![0u8]; // attributes
        varint(ts - base_ts, &mut rec);
        varint(i as i64, &mut rec);
        varint(-1, &mut rec); // null key
        varint(value.len() as i64, &mut rec);
        rec.extend_from_slice(value);
        varint(0, &mut rec); // no headers
        varint(rec.len() as i64, &mut body);
        body.extend_from_slice(&rec);
    }
    let mut b = Vec::with_capacity(61 + body.len());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + body.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // leader epoch
    b.push(2);
    b.extend_from_slice(&[0; 4]); // crc
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&((records.len() - 1) as i32).to_be_bytes());
    b.extend_from_slice(&base_ts.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&p.id.to_be_bytes());
    b.extend_from_slice(&p.epoch.to_be_bytes());
    b.extend_from_slice(&p.seq.to_be_bytes());
    b.extend_from_slice(&(records.len() as i32).to_be_bytes());
    b.extend_from_slice(&body);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// An uncompressed batch of `n` records with values `tag:0`, `tag:1`, ... and timestamp `ts`.
pub fn batch(tag: &str, n: usize, ts: i64) -> Vec<u8> {
    let recs: Vec<(i64, Vec<u8>)> = (0..n).map(|i| (ts, format!("{tag}:{i}").into_bytes())).collect();
    batch_with(&recs, NO_PRODUCER)
}

/// An idempotent batch of `n` records.
pub fn idem_batch(id: i64, epoch: i16, seq: i32, n: usize) -> Vec<u8> {
    let recs: Vec<(i64, Vec<u8>)> = (0..n).map(|i| (1000, format!("p{id}:{}", seq as usize + i).into_bytes())).collect();
    batch_with(&recs, Producer { id, epoch, seq })
}

/// A compressed batch made by kafka-protocol's encoder.
pub fn compressed_batch(records: &[(i64, Vec<u8>)], compression: Compression) -> Vec<u8> {
    let recs: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (ts, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // offset - sequence must be constant to keep one batch; base sequence becomes -1.
            sequence: i as i32 - 1,
            timestamp: *ts,
            key: None,
            value: Some(Bytes::from(v.clone())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &recs, &RecordEncodeOptions { version: 2, compression }).unwrap();
    buf.to_vec()
}

/// `(offset, value)` of every record in `data` (whole batches).
pub fn records_in(data: &Bytes) -> Vec<(i64, String)> {
    let mut buf = data.clone();
    let sets = RecordBatchDecoder::decode_all(&mut buf).unwrap();
    sets.into_iter()
        .flat_map(|s| s.records)
        .map(|r| {
            let v = r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()).unwrap_or_default();
            (r.offset, v)
        })
        .collect()
}

/// Page-cache mode config (reads see appends at once).
pub fn page_cache(segment_bytes: u64, index_interval_bytes: u32) -> LogConfig {
    LogConfig {
        segment_bytes,
        index_interval_bytes,
        index_max_bytes: 4096,
        retention_ms: -1,
        flush: FlushMode::PageCache { interval_ms: 1000 },
        ..LogConfig::default()
    }
}

/// Fsync mode config.
pub fn fsync(segment_bytes: u64, index_interval_bytes: u32) -> LogConfig {
    LogConfig {
        flush: FlushMode::Fsync,
        ..page_cache(segment_bytes, index_interval_bytes)
    }
}

/// Reads everything from `from` up to the high watermark.
pub fn read_all(log: &PartitionLog, from: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut next = from;
    let hw = log.high_watermark();
    while next < hw {
        let r = log.read(next, 1 << 20).unwrap();
        let recs = records_in(&r.records);
        assert!(!recs.is_empty(), "empty read at {next} below hw {hw}");
        for (o, v) in recs {
            if o >= next {
                out.push((o, v));
            }
        }
        next = out.last().unwrap().0 + 1;
    }
    out
}

/// Paths of the `.log` files in `dir`, sorted.
pub fn log_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}
