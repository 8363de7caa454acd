//! The durable form of a share-partition: a snapshot (start offset plus state ranges with delivery
//! counts) and the deltas each mutating call produces, which a persister appends and later folds
//! into a new snapshot with [`ShareSnapshot::apply`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::DurableState;

/// `first..=last` are all in `state` with `delivery_count` deliveries (a Kafka `StateBatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateRange {
    /// First offset.
    pub first_offset: i64,
    /// Last offset (inclusive).
    pub last_offset: i64,
    /// Durable state of these records.
    pub state: DurableState,
    /// Deliveries so far.
    pub delivery_count: u16,
}

/// What one mutating call changed durably. Acquisitions and renewals change nothing durable;
/// everything else (acknowledgements, releases, lock expiry, archiving, start-offset moves) does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDelta {
    /// All previous state was discarded (an admin reset); apply by starting from empty.
    pub reset: bool,
    /// The new start offset, when it moved.
    pub start_offset: Option<i64>,
    /// Ranges at or above the start offset whose state or delivery count was written, with their
    /// new values.
    pub ranges: Vec<StateRange>,
}

impl StateDelta {
    /// Whether there is nothing to persist.
    pub fn is_empty(&self) -> bool {
        !self.reset && self.start_offset.is_none() && self.ranges.is_empty()
    }

    /// Folds a later delta into this one, so several calls can be persisted as one write. Start
    /// offsets only move forward between resets (as the machine produces them).
    pub fn merge(&mut self, later: &StateDelta) {
        if later.reset {
            *self = later.clone();
            return;
        }
        let mut overlay = Overlay::from_ranges(&self.ranges);
        for r in &later.ranges {
            overlay.write(*r);
        }
        if later.start_offset.is_some() {
            self.start_offset = later.start_offset;
        }
        self.ranges = overlay.into_ranges(self.start_offset.unwrap_or(i64::MIN));
    }
}

/// A share-partition's durable state: what the share coordinator persists and restores from.
/// Offsets at or above `start_offset` not covered by a range are Available with no deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareSnapshot {
    /// Share-partition start offset.
    pub start_offset: i64,
    /// Sorted, non-overlapping ranges at or above `start_offset`.
    pub ranges: Vec<StateRange>,
}

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// A range has its last offset before its first.
    #[error("state range {first}..={last} is inverted")]
    InvertedRange {
        /// First offset of the bad range.
        first: i64,
        /// Last offset of the bad range.
        last: i64,
    },
    /// Ranges are out of order or overlap.
    #[error("state range starting at {0} overlaps or precedes the previous range")]
    Overlap(i64),
    /// The start offset is negative.
    #[error("start offset {0} is negative")]
    NegativeStart(i64),
}

impl ShareSnapshot {
    /// An empty share-partition starting at `start_offset`.
    pub fn new(start_offset: i64) -> ShareSnapshot {
        ShareSnapshot {
            start_offset,
            ranges: Vec::new(),
        }
    }

    /// Checks ordering and bounds.
    pub fn validate(&self) -> Result<(), SnapshotError> {
        if self.start_offset < 0 {
            return Err(SnapshotError::NegativeStart(self.start_offset));
        }
        let mut prev_last: Option<i64> = None;
        for r in &self.ranges {
            if r.last_offset < r.first_offset {
                return Err(SnapshotError::InvertedRange {
                    first: r.first_offset,
                    last: r.last_offset,
                });
            }
            if prev_last.is_some_and(|p| r.first_offset <= p) {
                return Err(SnapshotError::Overlap(r.first_offset));
            }
            prev_last = Some(r.last_offset);
        }
        Ok(())
    }

    /// Applies a delta: a reset clears everything, a new start offset drops what lies below it,
    /// and each range overwrites the offsets it covers (later ranges win).
    pub fn apply(&mut self, delta: &StateDelta) {
        if delta.reset {
            self.ranges.clear();
        }
        if let Some(start) = delta.start_offset {
            self.start_offset = start;
        }
        let mut overlay = Overlay::from_ranges(&self.ranges);
        for r in &delta.ranges {
            overlay.write(*r);
        }
        self.ranges = overlay.into_ranges(self.start_offset);
    }
}

/// Ranges keyed by first offset, for overwriting sub-ranges.
struct Overlay {
    map: BTreeMap<i64, StateRange>,
}

impl Overlay {
    /// Ranges written in order, so a later one wins where they overlap.
    fn from_ranges(ranges: &[StateRange]) -> Overlay {
        let mut overlay = Overlay { map: BTreeMap::new() };
        for r in ranges {
            overlay.write(*r);
        }
        overlay
    }

    /// Cuts the range containing `offset` (if it starts before) so a range starts at `offset`.
    fn split_at(&mut self, offset: i64) {
        let Some((&k, r)) = self.map.range_mut(..offset).next_back() else {
            return;
        };
        if r.last_offset < offset || k == offset {
            return;
        }
        let tail = StateRange {
            first_offset: offset,
            ..*r
        };
        r.last_offset = offset - 1;
        self.map.insert(offset, tail);
    }

    fn write(&mut self, r: StateRange) {
        if r.last_offset < r.first_offset {
            return;
        }
        self.split_at(r.first_offset);
        self.split_at(r.last_offset + 1);
        let covered: Vec<i64> = self.map.range(r.first_offset..=r.last_offset).map(|(k, _)| *k).collect();
        for k in covered {
            self.map.remove(&k);
        }
        self.map.insert(r.first_offset, r);
    }

    /// Sorted ranges at or above `start`, equal neighbours merged.
    fn into_ranges(self, start: i64) -> Vec<StateRange> {
        let mut out: Vec<StateRange> = Vec::with_capacity(self.map.len());
        for (_, mut r) in self.map {
            if r.last_offset < start {
                continue;
            }
            r.first_offset = r.first_offset.max(start);
            match out.last_mut() {
                Some(prev)
                    if prev.last_offset + 1 == r.first_offset && prev.state == r.state && prev.delivery_count == r.delivery_count =>
                {
                    prev.last_offset = r.last_offset
                }
                _ => out.push(r),
            }
        }
        out
    }
}

/// Collects the ranges one call changes, merging neighbours.
#[derive(Debug, Default)]
pub(crate) struct DeltaBuilder {
    ranges: Vec<StateRange>,
    reset: bool,
}

impl DeltaBuilder {
    /// Notes that `first..=last` now holds `state` with `count` deliveries.
    pub fn record(&mut self, first: i64, last: i64, state: DurableState, count: u16) {
        if let Some(prev) = self.ranges.last_mut()
            && prev.last_offset + 1 == first
            && prev.state == state
            && prev.delivery_count == count
        {
            prev.last_offset = last;
            return;
        }
        self.ranges.push(StateRange {
            first_offset: first,
            last_offset: last,
            state,
            delivery_count: count,
        });
    }

    /// Notes that all earlier state was discarded.
    pub fn reset(&mut self) {
        self.reset = true;
        self.ranges.clear();
    }

    /// The delta, given the start offset before and after the call.
    pub fn finish(self, start_before: i64, start_after: i64) -> StateDelta {
        let ranges = if self.ranges.len() <= 1 {
            self.ranges
                .into_iter()
                .filter(|r| r.last_offset >= start_after)
                .map(|r| StateRange {
                    first_offset: r.first_offset.max(start_after),
                    ..r
                })
                .collect()
        } else {
            let mut overlay = Overlay { map: BTreeMap::new() };
            for r in self.ranges {
                overlay.write(r);
            }
            overlay.into_ranges(start_after)
        };
        let start_offset = (self.reset || start_after != start_before).then_some(start_after);
        StateDelta {
            reset: self.reset,
            start_offset,
            ranges,
        }
    }
}
