//! Append throughput: 16 KiB batches of 1 KiB records, page-cache mode (one thread) and fsync
//! mode with group commit (four threads appending and flushing concurrently); page-cache appends
//! through produce validation (`append_client_records`) against plain appends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shard_log::{FlushMode, LogConfig, PartitionLog};

fn varint(v: i64, out: &mut Vec<u8>) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// An uncompressed v2 batch of `count` records of `size` bytes each.
fn batch(count: usize, size: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..count {
        let mut rec = vec![0u8];
        varint(0, &mut rec);
        varint(i as i64, &mut rec);
        varint(-1, &mut rec);
        varint(size as i64, &mut rec);
        rec.extend(std::iter::repeat_n(b'x', size));
        varint(0, &mut rec);
        varint(rec.len() as i64, &mut body);
        body.extend_from_slice(&rec);
    }
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + body.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&((count - 1) as i32).to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&(count as i32).to_be_bytes());
    b.extend_from_slice(&body);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn config(flush: FlushMode) -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024 * 1024,
        retention_ms: -1,
        flush,
        ..LogConfig::default()
    }
}

fn bench_append(c: &mut Criterion) {
    let b = batch(16, 1024);
    let mut group = c.benchmark_group("append");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_millis(500));
    group.throughput(Throughput::Bytes(b.len() as u64));

    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config(FlushMode::PageCache { interval_ms: 1000 })).unwrap();
    group.bench_function("page_cache_16k", |bench| {
        bench.iter(|| log.append(&b, 0).unwrap());
    });
    // The produce path: Kafka's checks, every record walked, then the same append.
    group.bench_function("page_cache_16k_validated", |bench| {
        bench.iter(|| log.append_client_records(&b, 0).unwrap());
    });
    // Small records: validation cost is per record.
    let small = batch(256, 48);
    group.throughput(Throughput::Bytes(small.len() as u64));
    group.bench_function("page_cache_256x48", |bench| {
        bench.iter(|| log.append(&small, 0).unwrap());
    });
    group.bench_function("page_cache_256x48_validated", |bench| {
        bench.iter(|| log.append_client_records(&small, 0).unwrap());
    });
    group.throughput(Throughput::Bytes(b.len() as u64));
    drop(log);

    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(PartitionLog::open(dir.path(), config(FlushMode::Fsync)).unwrap());
    group.bench_function("fsync_16k_4_threads", |bench| {
        bench.iter_custom(|iters| {
            let threads = 4;
            let start = Instant::now();
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (log, b) = (log.clone(), b.clone());
                    std::thread::spawn(move || {
                        let n = iters / threads + u64::from(t < iters % threads);
                        for _ in 0..n {
                            let info = log.append(&b, 0).unwrap();
                            log.flush_to(info.last_offset + 1).unwrap();
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
