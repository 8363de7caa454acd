//! Heap bytes a share-partition holds per in-flight record, measured with a counting global
//! allocator: live heap bytes after a scenario is built, minus live bytes before the partition was
//! created, with every temporary (acquisition results, deltas) dropped first and the simulated log's
//! batch list allocated before the baseline. Prints a table; no timing, no assertions on the numbers.
//!
//! `cargo bench -p shard-share --bench memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use shard_share::{AcquireMode, LogBatch, MemberId, ShareConfig, SharePartition};

/// `System`, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// A log of `records` records from offset 0 in batches of `batch_len`.
fn log_batches(records: i64, batch_len: i64) -> Vec<LogBatch> {
    (0..records)
        .step_by(batch_len as usize)
        .map(|first| LogBatch::new(first, (first + batch_len - 1).min(records - 1)))
        .collect()
}

/// The batches a log read at `offset` returns: from the one containing `offset` until `records`
/// records from `offset` on are covered.
fn read_log(batches: &[LogBatch], offset: i64, records: u32) -> &[LogBatch] {
    let from = batches.partition_point(|b| b.last_offset < offset);
    let to = batches.partition_point(|b| b.first_offset < offset + i64::from(records));
    &batches[from..to.max(from)]
}

/// One scenario: `polls` acquisitions of up to `max_records` each, one per ms, members in turn,
/// from a log of `records` records in batches of `batch_len`.
struct Scenario {
    name: &'static str,
    max_in_flight: u32,
    records: i64,
    batch_len: i64,
    max_records: u32,
    polls: i64,
}

struct Measured {
    bytes: isize,
    in_flight: u64,
    acquired: u64,
    runs: usize,
    locks: usize,
}

fn measure(s: &Scenario) -> Measured {
    let batches = log_batches(s.records, s.batch_len);
    let before = live();
    let config = ShareConfig {
        max_in_flight: s.max_in_flight,
        ..ShareConfig::default()
    };
    let mut p = SharePartition::new(config, 0);
    for poll in 0..s.polls {
        let fetch = p.next_fetch_offset();
        let read = read_log(&batches, fetch, s.max_records);
        let got = p.acquire(
            MemberId((poll % 10) as u32),
            fetch,
            read,
            s.max_records,
            AcquireMode::BatchOptimized,
            poll,
        );
        assert!(got.record_count() > 0, "{}: poll {poll} acquired nothing", s.name);
        drop(got);
    }
    let bytes = live() - before;
    let stats = p.stats();
    let m = Measured {
        bytes,
        in_flight: stats.in_flight,
        acquired: stats.acquired,
        runs: p.run_count(),
        locks: p.lock_entry_count(),
    };
    assert_eq!(m.acquired, m.in_flight, "{}: every in-flight record should be held", s.name);
    drop(p);
    drop(batches);
    m
}

fn main() {
    let scenarios = [
        Scenario {
            name: "common: 10 members x 200-record poll, 10-record batches",
            max_in_flight: 2000,
            records: 2000,
            batch_len: 10,
            max_records: 200,
            polls: 10,
        },
        Scenario {
            name: "one range per batch: 400 polls of one 5-record batch",
            max_in_flight: 2000,
            records: 2000,
            batch_len: 5,
            max_records: 5,
            polls: 400,
        },
        Scenario {
            name: "worst: 2000 single-record polls",
            max_in_flight: 2000,
            records: 2000,
            batch_len: 1,
            max_records: 1,
            polls: 2000,
        },
        Scenario {
            name: "100k single-record locks (cap 100k)",
            max_in_flight: 100_000,
            records: 100_000,
            batch_len: 1,
            max_records: 1,
            polls: 100_000,
        },
    ];
    println!("Share-partition heap per in-flight record (all records Acquired, one poll per ms, 10 members)");
    println!();
    println!("| scenario | in-flight records | runs | lock entries | heap bytes | bytes/record | bytes/run |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for s in &scenarios {
        let m = measure(s);
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.1} |",
            s.name,
            m.in_flight,
            m.runs,
            m.locks,
            m.bytes,
            m.bytes as f64 / m.in_flight as f64,
            m.bytes as f64 / m.runs as f64,
        );
    }
}
