//! Acquisition-lock deadlines, ordered so that `expire` touches only locks that are due.
//!
//! Each acquisition (or renewal) pushes one entry naming its deadline and the offsets it covers.
//! Entries are not removed when records are acknowledged early: when an entry comes due, the runs
//! it covers are checked and only those still Acquired with a passed deadline expire. To keep such
//! stale entries from piling up, the queue is rebuilt from the live runs whenever it grows past
//! twice the number of runs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A lock deadline over `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LockEntry {
    /// When the lock expires (ms).
    pub deadline: i64,
    /// First offset the lock was taken on.
    pub first: i64,
    /// Last offset the lock was taken on.
    pub last: i64,
}

/// Pending lock deadlines, earliest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct LockTimers {
    heap: BinaryHeap<Reverse<LockEntry>>,
}

impl LockTimers {
    /// Records a lock.
    pub fn push(&mut self, entry: LockEntry) {
        self.heap.push(Reverse(entry));
    }

    /// The earliest pending deadline (possibly of a lock already released).
    pub fn next_deadline(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse(e)| e.deadline)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: i64) -> Option<LockEntry> {
        match self.heap.peek() {
            Some(Reverse(e)) if e.deadline <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Whether the queue holds enough stale entries to be worth rebuilding.
    pub fn needs_rebuild(&self, runs: usize) -> bool {
        self.heap.len() > 2 * runs + 64
    }

    /// Replaces the queue by one entry per live lock.
    pub fn rebuild(&mut self, live: impl Iterator<Item = LockEntry>) {
        self.heap = live.map(Reverse).collect();
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.heap.clear();
    }

    /// Entries held (live and stale).
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}
