//! A global allocator that counts the bytes one decode allocates, and the bound they must stay
//! under: a fixed multiple of the frame's size plus a small constant.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Bytes a request may allocate per byte of its frame. Decoded structs are larger than their
/// wire form (a 2-byte empty topic name becomes a ~70-byte struct) and vectors double as they
/// grow; the long runs recorded in docs/reliability.md stay well under this.
pub const PER_FRAME_BYTE: usize = 256;
/// Fixed allowance per request (header, error strings).
pub const CONSTANT: usize = 64 * 1024;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
/// Highest bytes allocated beyond [`CONSTANT`] per frame byte seen so far (x100): the factor
/// the bound's [`PER_FRAME_BYTE`] must cover.
static WORST_RATIO_X100: AtomicUsize = AtomicUsize::new(0);

/// Counts allocations (and the growth of reallocations) while [`measure`] runs.
pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATED.fetch_add(new_size.saturating_sub(layout.size()), Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and panics (failing the fuzz run) if it allocated more than the bound for a frame
/// of `frame_len` bytes.
pub fn measure<T>(frame_len: usize, f: impl FnOnce() -> T) -> T {
    ALLOCATED.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let out = f();
    COUNTING.store(false, Ordering::Relaxed);
    let allocated = ALLOCATED.load(Ordering::Relaxed);
    let bound = frame_len * PER_FRAME_BYTE + CONSTANT;
    // Report each new worst ratio (for docs/reliability.md): `worst alloc ratio` lines in the log.
    let ratio = allocated.saturating_sub(CONSTANT) * 100 / frame_len.max(1);
    if ratio > WORST_RATIO_X100.fetch_max(ratio, Ordering::Relaxed) {
        eprintln!(
            "worst alloc ratio {}.{:02} bytes per frame byte beyond the constant ({allocated} bytes for a {frame_len}-byte frame)",
            ratio / 100,
            ratio % 100
        );
    }
    assert!(
        allocated <= bound,
        "decoding a {frame_len}-byte frame allocated {allocated} bytes, over the bound of {bound}"
    );
    out
}
