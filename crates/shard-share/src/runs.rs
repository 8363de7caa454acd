//! The in-flight window as runs: maximal ranges of offsets whose records are in one state with one
//! delivery count (and, when Acquired, one holder and one lock deadline). Runs are split when an
//! operation touches part of one and merged again when neighbours become equal, so a window of
//! thousands of records usually costs a handful of entries.

use std::collections::BTreeMap;

use crate::types::RecordState;

/// One run: the key in [`RunMap`] is its first offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Last offset of the run (inclusive).
    pub last: i64,
    /// Lock deadline in ms; 0 unless Acquired.
    pub deadline: i64,
    /// Holder; 0 unless Acquired.
    pub member: u32,
    /// Deliveries so far.
    pub count: u16,
    /// State of every record in the run.
    pub state: RecordState,
}

impl Run {
    /// A run that is not Acquired (holder and deadline cleared so equal runs merge).
    pub fn settled(last: i64, state: RecordState, count: u16) -> Run {
        debug_assert!(state != RecordState::Acquired);
        Run {
            last,
            deadline: 0,
            member: 0,
            count,
            state,
        }
    }

    /// A run held by `member` until `deadline`.
    pub fn acquired(last: i64, member: u32, deadline: i64, count: u16) -> Run {
        Run {
            last,
            deadline,
            member,
            count,
            state: RecordState::Acquired,
        }
    }

    /// Whether `next`, starting right after this run, is indistinguishable from it.
    fn merges_with(&self, next: &Run) -> bool {
        self.state == next.state && self.count == next.count && self.member == next.member && self.deadline == next.deadline
    }
}

fn state_index(state: RecordState) -> usize {
    match state {
        RecordState::Available => 0,
        RecordState::Acquired => 1,
        RecordState::Acknowledged => 2,
        RecordState::Archived => 3,
    }
}

/// Runs keyed by first offset, covering the window without holes, with record counts per state.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunMap {
    map: BTreeMap<i64, Run>,
    counts: [u64; 4],
}

impl RunMap {
    /// Records currently in `state`.
    pub fn count(&self, state: RecordState) -> u64 {
        self.counts[state_index(state)]
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no runs.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// All runs in offset order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Run)> {
        self.map.iter().map(|(k, r)| (*k, r))
    }

    /// The first run.
    pub fn first(&self) -> Option<(i64, Run)> {
        self.map.first_key_value().map(|(k, r)| (*k, *r))
    }

    /// The run containing `offset`.
    pub fn containing(&self, offset: i64) -> Option<(i64, Run)> {
        self.map
            .range(..=offset)
            .next_back()
            .filter(|(_, r)| r.last >= offset)
            .map(|(k, r)| (*k, *r))
    }

    /// Runs overlapping `first..=last`, in order (the first may start before `first`).
    pub fn overlapping(&self, first: i64, last: i64) -> impl Iterator<Item = (i64, &Run)> {
        let from = self.containing(first).map_or(first, |(k, _)| k);
        // An empty span yields nothing (BTreeMap::range would panic on it).
        let range = if from <= last { Some(self.map.range(from..=last)) } else { None };
        range.into_iter().flatten().map(|(k, r)| (*k, r))
    }

    /// Appends a run after the last one (the caller keeps the window contiguous), merging if equal.
    pub fn push_back(&mut self, first: i64, run: Run) {
        debug_assert!(self.map.last_key_value().is_none_or(|(_, r)| r.last + 1 == first));
        self.counts[state_index(run.state)] += (run.last - first + 1) as u64;
        if let Some((_, prev)) = self.map.range_mut(..first).next_back()
            && prev.merges_with(&run)
        {
            prev.last = run.last;
            return;
        }
        self.map.insert(first, run);
    }

    /// Removes the first run.
    pub fn pop_front(&mut self) -> Option<(i64, Run)> {
        let (k, r) = self.map.pop_first()?;
        self.counts[state_index(r.state)] -= (r.last - k + 1) as u64;
        Some((k, r))
    }

    /// Drops every run.
    pub fn clear(&mut self) {
        self.map.clear();
        self.counts = [0; 4];
    }

    /// Ensures a run boundary right before `offset`.
    pub fn split_at(&mut self, offset: i64) {
        let Some((&k, run)) = self.map.range_mut(..offset).next_back() else {
            return;
        };
        if run.last < offset || k == offset {
            return;
        }
        let tail = Run { last: run.last, ..*run };
        run.last = offset - 1;
        self.map.insert(offset, tail);
    }

    /// Replaces every run inside `first..=last` (which must lie in the window) by `change(first
    /// offset, run)`, keeping each run's extent, then merges equal neighbours. `changed` sees each
    /// replaced piece after the change.
    pub fn update(&mut self, first: i64, last: i64, mut change: impl FnMut(i64, &Run) -> Run, mut changed: impl FnMut(i64, &Run)) {
        self.split_at(first);
        self.split_at(last + 1);
        for (&k, run) in self.map.range_mut(first..=last) {
            let new = change(k, run);
            let len = (run.last - k + 1) as u64;
            self.counts[state_index(run.state)] -= len;
            self.counts[state_index(new.state)] += len;
            *run = Run { last: run.last, ..new };
            changed(k, run);
        }
        self.merge_between(first, last + 1);
    }

    /// Merges equal neighbours among the runs from the one before `from` up to the one at `to`.
    fn merge_between(&mut self, from: i64, to: i64) {
        let mut cursor = self
            .map
            .range(..from)
            .next_back()
            .or_else(|| self.map.range(from..).next())
            .map(|(k, _)| *k);
        while let Some(k) = cursor {
            if k >= to {
                break;
            }
            let Some(run) = self.map.get(&k).copied() else { break };
            let next_key = run.last + 1;
            match self.map.get(&next_key).copied() {
                Some(next) if run.merges_with(&next) => {
                    self.map.remove(&next_key);
                    if let Some(r) = self.map.get_mut(&k) {
                        r.last = next.last;
                    }
                }
                Some(_) => cursor = Some(next_key),
                None => break,
            }
        }
    }
}
