//! A read allocates what it returns and no more: no buffer sized by the caller's limit, by data
//! above the high watermark, or by the rest of a segment. Measured with a counting allocator
//! (per thread, so parallel tests do not disturb each other).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use shard_log::PartitionLog;

struct Counting;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + delta;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a read may allocate besides the bytes it returns: the header walk's 16 KiB chunk, the
/// plan and a few headers.
const OVERHEAD: usize = 24 * 1024;

/// Runs `f` and returns its result and the most memory it held at once on this thread.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = f();
    let peak = PEAK.with(Cell::get) - before;
    (out, peak.max(0) as usize)
}

/// A batch of one record whose value is `len` bytes.
fn sized_batch(tag: i64, len: usize) -> Vec<u8> {
    batch_with(&[(1000, format!("{tag}:{}", "v".repeat(len)).into_bytes())], NO_PRODUCER)
}

#[test]
fn huge_limit_reads_only_what_is_below_the_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), fsync(1 << 30, 4096)).unwrap();
    let first = sized_batch(0, 1000);
    log.append(&first, 0).unwrap();
    log.flush_to(1).unwrap();
    // 4 MiB more, written but not yet durable: above the high watermark.
    for i in 1..=64 {
        log.append(&sized_batch(i, 64 * 1024), 0).unwrap();
    }
    assert_eq!(log.high_watermark(), 1);
    for limit in [usize::MAX, i32::MAX as usize, 8 << 20] {
        let (read, peak) = peak_during(|| log.read(0, limit).unwrap());
        assert_eq!(read.records.len(), first.len());
        assert!(
            peak <= first.len() + OVERHEAD,
            "a read of {} bytes with limit {limit} held {peak} bytes",
            read.records.len()
        );
    }
}

#[test]
fn reads_allocate_no_more_than_they_return() {
    let dir = tempfile::tempdir().unwrap();
    // Several segments of about 256 KiB, batches of different sizes.
    let log = PartitionLog::open(dir.path(), page_cache(256 * 1024, 4096)).unwrap();
    let mut offset = 0;
    for i in 0..3000 {
        let len = [10, 300, 2000, 9000][i % 4];
        offset = log.append(&sized_batch(i as i64, len), 0).unwrap().last_offset + 1;
    }
    assert!(log.segment_base_offsets().len() > 10);
    let total = log.size_bytes() as usize;
    for at in [0, 1, 777, 2999] {
        for limit in [0, 1, 100, 1500, 50_000, 300_000, 1 << 20, total, usize::MAX] {
            for min_one in [true, false] {
                let (read, peak) = peak_during(|| log.read_with(at, limit, min_one).unwrap());
                let got = read.records.len();
                assert!(peak <= got + OVERHEAD, "read at {at} limit {limit}: returned {got}, held {peak}");
                let first = records_in(&read.records).first().map(|r| r.0);
                if min_one {
                    assert_eq!(first.map(|o| o <= at), Some(true), "the first batch always comes");
                }
                if got > limit {
                    assert!(min_one);
                    assert_eq!(records_in(&read.records).len(), 1, "only a lone first batch exceeds the limit");
                }
            }
        }
    }
    // Everything can be read back through small reads.
    assert_eq!(read_all(&log, 0).len() as i64, offset);
}

#[test]
fn an_oversized_first_batch_comes_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), page_cache(1 << 30, 4096)).unwrap();
    let big = sized_batch(0, 100_000);
    let small = sized_batch(1, 100);
    log.append(&big, 0).unwrap();
    log.append(&small, 0).unwrap();
    assert!(log.read_with(0, 1000, false).unwrap().records.is_empty());
    assert_eq!(log.readable_bytes(0, 1000, false).unwrap(), 0);
    let (read, peak) = peak_during(|| log.read_with(0, 1000, true).unwrap());
    assert_eq!(read.records.len(), big.len(), "the first batch alone, not the one after it");
    assert!(peak <= big.len() + OVERHEAD);
    // Cut at batch boundaries: room for one and a half batches gives one.
    assert_eq!(
        log.read_with(0, big.len() + small.len() / 2, false).unwrap().records.len(),
        big.len()
    );
    assert_eq!(
        log.read_with(0, big.len() + small.len(), false).unwrap().records.len(),
        big.len() + small.len()
    );
    assert_eq!(log.read(1, 0).unwrap().records.len(), small.len());
}
