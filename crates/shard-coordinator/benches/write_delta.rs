//! Share-state write throughput.
//!
//! - `write_delta/page_cache`: one writer appending 10,000 deltas (one acknowledged poll of 500
//!   records each, a snapshot every 500 updates) without waiting for the disk.
//! - `write_delta_durable/fsync/{1,8}_writers`: writers on separate share-partitions, each
//!   writing a delta and waiting for `durable` before the next, as the acknowledgement path
//!   does; concurrent writers share fsyncs (group commit). Throughput is in deltas.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shard_coordinator::{SharePartitionKey, ShareStateStore, StoreOptions};
use shard_log::{FlushMode, LogConfig};
use shard_share::{DurableState, StateDelta, StateRange};
use uuid::Uuid;

fn delta(i: i64) -> StateDelta {
    StateDelta {
        reset: false,
        start_offset: Some(i * 500 + 500),
        ranges: vec![StateRange {
            first_offset: i * 500,
            last_offset: i * 500 + 499,
            state: DurableState::Acknowledged,
            delivery_count: 1,
        }],
    }
}

fn config(flush: FlushMode) -> LogConfig {
    LogConfig {
        retention_ms: -1,
        flush,
        ..LogConfig::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("write_delta");
    const N: i64 = 10_000;
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("page_cache", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let (store, _) = ShareStateStore::open(
                    dir.path(),
                    config(FlushMode::PageCache { interval_ms: 1000 }),
                    StoreOptions::default(),
                )
                .unwrap();
                let key = SharePartitionKey::new("g", Uuid::from_bytes([1; 16]), 0);
                let start = Instant::now();
                for i in 0..N {
                    black_box(store.write_delta(&key, &delta(i), i).unwrap());
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();

    let mut g = c.benchmark_group("write_delta_durable");
    g.sample_size(10);
    for writers in [1usize, 8] {
        const PER_WRITER: i64 = 200;
        g.throughput(Throughput::Elements(writers as u64 * PER_WRITER as u64));
        g.bench_function(format!("fsync/{writers}_writers"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let (store, _) = ShareStateStore::open(dir.path(), config(FlushMode::Fsync), StoreOptions::default()).unwrap();
                    let store = Arc::new(store);
                    let barrier = Arc::new(Barrier::new(writers + 1));
                    let threads: Vec<_> = (0..writers)
                        .map(|w| {
                            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                            std::thread::spawn(move || {
                                let key = SharePartitionKey::new("g", Uuid::from_bytes([1; 16]), w as i32);
                                barrier.wait();
                                for i in 0..PER_WRITER {
                                    let end = store.write_delta(&key, &delta(i), i).unwrap();
                                    store.durable(end).unwrap();
                                }
                            })
                        })
                        .collect();
                    barrier.wait();
                    let start = Instant::now();
                    for t in threads {
                        t.join().unwrap();
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
