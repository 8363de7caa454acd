//! One share-partition: the records of one topic partition as seen by one share group.

use crate::config::ShareConfig;
use crate::runs::{Run, RunMap};
use crate::snapshot::{DeltaBuilder, ShareSnapshot, SnapshotError, StateDelta, StateRange};
use crate::timers::{LockEntry, LockTimers};
use crate::types::{AckError, AckRange, AckType, AcquireMode, AcquiredRange, LogBatch, MemberId, RecordState, ResetError, ShareStats};

/// What an acquisition handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acquisition {
    /// Acquired offsets in order, as `AcquiredRecords` ranges with their delivery counts.
    pub ranges: Vec<AcquiredRange>,
    /// Records archived on the way (offsets the log no longer holds, records out of attempts).
    pub delta: StateDelta,
}

impl Acquisition {
    /// Number of records acquired.
    pub fn record_count(&self) -> u64 {
        self.ranges.iter().map(|r| (r.last_offset - r.first_offset + 1) as u64).sum()
    }
}

/// The result of one acknowledge call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckOutcome {
    /// One result per input range, in order. A refused range changed nothing.
    pub results: Vec<Result<(), AckError>>,
    /// What changed durably.
    pub delta: StateDelta,
}

impl AckOutcome {
    /// The first refusal, which is what a ShareAcknowledge partition reports.
    pub fn first_error(&self) -> Option<AckError> {
        self.results.iter().find_map(|r| r.err())
    }
}

/// One record as a monitor or test sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView {
    /// Its state.
    pub state: RecordState,
    /// Deliveries so far.
    pub delivery_count: u16,
    /// Holder and lock deadline (ms), when Acquired.
    pub lock: Option<(MemberId, i64)>,
}

impl RecordView {
    fn of(r: &Run) -> RecordView {
        let lock = (r.state == RecordState::Acquired).then_some((MemberId(r.member), r.deadline));
        RecordView {
            state: r.state,
            delivery_count: r.count,
            lock,
        }
    }
}

/// The state machine of one share-partition. Pure: no I/O, and time (`now`, in ms) is an argument.
///
/// The window `[start_offset, next_offset)` is covered by runs without holes; below it everything
/// is finished, above it nothing has been delivered.
#[derive(Debug, Clone)]
pub struct SharePartition {
    config: ShareConfig,
    start: i64,
    end: i64,
    runs: RunMap,
    timers: LockTimers,
    /// No Available record lies in `[start, available_hint)`.
    available_hint: i64,
}

impl SharePartition {
    /// An empty share-partition whose first record to deliver is `start_offset` (resolved from
    /// `share.auto.offset.reset` by the caller).
    pub fn new(config: ShareConfig, start_offset: i64) -> SharePartition {
        let start = start_offset.max(0);
        SharePartition {
            config,
            start,
            end: start,
            runs: RunMap::default(),
            timers: LockTimers::default(),
            available_hint: start,
        }
    }

    /// Rebuilds a share-partition from its durable form. Offsets inside the snapshot's span that no
    /// range covers are Available with no deliveries; nothing is Acquired.
    pub fn restore(config: ShareConfig, snapshot: &ShareSnapshot) -> Result<SharePartition, SnapshotError> {
        snapshot.validate()?;
        let mut p = SharePartition::new(config, snapshot.start_offset);
        for r in snapshot.ranges.iter().filter(|r| r.last_offset >= p.start) {
            let first = r.first_offset.max(p.start);
            if first > p.end {
                p.runs.push_back(p.end, Run::settled(first - 1, RecordState::Available, 0));
            }
            p.runs
                .push_back(first, Run::settled(r.last_offset, r.state.record_state(), r.delivery_count));
            p.end = r.last_offset + 1;
        }
        p.advance_start();
        Ok(p)
    }

    /// The settings in force.
    pub fn config(&self) -> &ShareConfig {
        &self.config
    }

    /// Changes the settings. New lock durations apply to later acquisitions; a lowered delivery
    /// limit archives exhausted records when they would next be delivered.
    pub fn set_config(&mut self, config: ShareConfig) {
        self.config = config;
    }

    /// Share-partition start offset.
    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// First offset past the in-flight window.
    pub fn next_offset(&self) -> i64 {
        self.end
    }

    /// Where the next log read should start: the first Available record in the window, else the
    /// end of the window.
    pub fn next_fetch_offset(&mut self) -> i64 {
        if self.runs.count(RecordState::Available) == 0 {
            self.available_hint = self.end;
            return self.end;
        }
        let from = self.available_hint.max(self.start);
        let found = self
            .runs
            .overlapping(from, self.end - 1)
            .find(|(_, r)| r.state == RecordState::Available)
            .map(|(k, _)| k.max(from));
        let next = found.unwrap_or(self.end);
        self.available_hint = next;
        next
    }

    /// The earliest pending lock deadline, for scheduling the next [`expire`](Self::expire) call.
    /// May name a lock already acknowledged; calling `expire` then is harmless.
    pub fn next_deadline(&self) -> Option<i64> {
        self.timers.next_deadline()
    }

    /// Counts a monitor needs.
    pub fn stats(&self) -> ShareStats {
        ShareStats {
            start_offset: self.start,
            end_offset: if self.runs.is_empty() { self.start } else { self.end - 1 },
            next_offset: self.end,
            available: self.runs.count(RecordState::Available),
            acquired: self.runs.count(RecordState::Acquired),
            acknowledged: self.runs.count(RecordState::Acknowledged),
            archived: self.runs.count(RecordState::Archived),
            in_flight: (self.end - self.start) as u64,
        }
    }

    /// The state of one offset, or `None` outside the window.
    pub fn record(&self, offset: i64) -> Option<RecordView> {
        if offset < self.start || offset >= self.end {
            return None;
        }
        self.runs.containing(offset).map(|(_, r)| RecordView::of(&r))
    }

    /// Every run in the window as `(first, last, view)`, in order.
    pub fn runs(&self) -> impl Iterator<Item = (i64, i64, RecordView)> + '_ {
        self.runs.iter().map(|(k, r)| (k, r.last, RecordView::of(r)))
    }

    /// Runs currently held (for memory accounting and tests).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Lock entries currently queued, live or stale (for memory accounting and tests).
    pub fn lock_entry_count(&self) -> usize {
        self.timers.len()
    }

    /// The durable form: the start offset and every run, with Acquired stored as Available.
    pub fn snapshot(&self) -> ShareSnapshot {
        let mut ranges: Vec<StateRange> = Vec::with_capacity(self.runs.len());
        for (first, r) in self.runs.iter() {
            let state = r.state.durable();
            match ranges.last_mut() {
                Some(prev) if prev.last_offset + 1 == first && prev.state == state && prev.delivery_count == r.count => {
                    prev.last_offset = r.last
                }
                _ => ranges.push(StateRange {
                    first_offset: first,
                    last_offset: r.last,
                    state,
                    delivery_count: r.count,
                }),
            }
        }
        ShareSnapshot {
            start_offset: self.start,
            ranges,
        }
    }

    /// Acquires records for `member` from log batches read at `fetch_offset` (which should be
    /// [`next_fetch_offset`](Self::next_fetch_offset)). Offsets in `[fetch_offset, first batch)`
    /// are gone from the log and are archived. Available records in the window are taken first,
    /// then new records past it while the in-flight cap allows; each gets a lock until
    /// `now + lock duration` and one more delivery. In `BatchOptimized` mode `max_records` may be
    /// exceeded to finish a log batch; in `RecordLimit` mode it never is. Records that have used up
    /// half their delivery attempts go out in shrinking chunks, and a record on its last attempt goes
    /// out alone, so a poison record cannot take its neighbours down with it.
    pub fn acquire(
        &mut self,
        member: MemberId,
        fetch_offset: i64,
        batches: &[LogBatch],
        max_records: u32,
        mode: AcquireMode,
        now: i64,
    ) -> Acquisition {
        let start_before = self.start;
        let mut delta = DeltaBuilder::default();
        let batches = well_formed_prefix(batches);
        let (Some(first_batch), Some(last_batch)) = (batches.first(), batches.last()) else {
            return Acquisition::default();
        };
        if max_records == 0 || last_batch.last_offset < self.start || fetch_offset > self.end {
            return Acquisition::default();
        }
        let fetch_offset = fetch_offset.max(self.start);
        if first_batch.first_offset > fetch_offset {
            self.archive_missing(fetch_offset, first_batch.first_offset, &mut delta);
        }
        let mut walk = Walk {
            batches,
            hi: last_batch.last_offset,
            max_records: u64::from(max_records),
            mode,
            acquired: 0,
            soft_stop: None,
            new_left: None,
            member: member.0,
            deadline: now.saturating_add(self.config.lock_duration_ms),
            out: Vec::new(),
        };
        let mut cursor = self.start.max(first_batch.first_offset);
        while cursor <= walk.bound() {
            let step = if cursor < self.end {
                self.take_in_window(cursor, &mut walk, &mut delta)
            } else {
                self.take_new(cursor, &mut walk)
            };
            match step {
                Step::Next(next) => cursor = next,
                Step::Stop => break,
            }
        }
        if let (Some(first), Some(last)) = (walk.out.first(), walk.out.last()) {
            self.timers.push(LockEntry {
                deadline: walk.deadline,
                first: first.first_offset,
                last: last.last_offset,
            });
            self.maybe_rebuild_timers();
        }
        self.advance_start();
        Acquisition {
            ranges: walk.out,
            delta: delta.finish(start_before, self.start),
        }
    }

    /// Archives Available records in `[from, to)` that the log no longer holds, extending the
    /// window with an archived gap when `to` lies past it.
    fn archive_missing(&mut self, from: i64, to: i64, delta: &mut DeltaBuilder) {
        let in_window_last = to.min(self.end) - 1;
        if in_window_last >= from {
            self.transition_where(
                from,
                in_window_last,
                |r| r.state == RecordState::Available,
                |_| RecordState::Archived,
                delta,
            );
        }
        if to > self.end {
            self.runs.push_back(self.end, Run::settled(to - 1, RecordState::Archived, 0));
            delta.record(self.end, to - 1, crate::types::DurableState::Archived, 0);
            self.end = to;
        }
    }

    /// One step of an acquisition inside the window, at `cursor`.
    fn take_in_window(&mut self, cursor: i64, walk: &mut Walk<'_>, delta: &mut DeltaBuilder) -> Step {
        let Some((_, run)) = self.runs.containing(cursor) else {
            return Step::Stop;
        };
        if run.state != RecordState::Available {
            return Step::Next(run.last + 1);
        }
        let piece_last = run.last.min(walk.bound());
        let count = run.count;
        let limit = self.config.delivery_count_limit;
        if count >= limit {
            // Out of attempts (the limit was lowered, or restored state): archive, never deliver.
            self.transition_where(cursor, piece_last, |_| true, |_| RecordState::Archived, delta);
            return Step::Next(piece_last + 1);
        }
        let (take, stop_after) = if limit > 2 && count == limit - 1 {
            // Last attempt: alone.
            if walk.acquired > 0 {
                return Step::Stop;
            }
            (1, true)
        } else if count >= self.config.throttle_threshold() {
            if walk.acquired > 0 {
                return Step::Stop;
            }
            let shift = u32::from(count - self.config.throttle_threshold() + 1);
            let chunk = (walk.batch_len(cursor) >> shift.min(63)).max(1);
            (chunk.min(walk.budget(None).unwrap_or(u64::MAX)), true)
        } else {
            match walk.budget(None) {
                Some(b) => (b, false),
                None => (u64::MAX, false),
            }
        };
        let last = piece_last.min(cursor.saturating_add(take.min(i64::MAX as u64) as i64 - 1));
        let (member, deadline) = (walk.member, walk.deadline);
        self.runs
            .update(cursor, last, |_, r| Run::acquired(r.last, member, deadline, r.count + 1), |_, _| {});
        walk.record(cursor, last, count + 1);
        if stop_after {
            return Step::Stop;
        }
        walk.after_take(last)
    }

    /// One step of an acquisition past the window: new records, bounded by the in-flight cap.
    fn take_new(&mut self, cursor: i64, walk: &mut Walk<'_>) -> Step {
        if cursor != self.end {
            return Step::Stop;
        }
        if walk.new_left.is_none() {
            let in_flight = (self.end - self.start) as u64;
            walk.new_left = Some(u64::from(self.config.max_in_flight).saturating_sub(in_flight));
        }
        let budget = match walk.soft_stop {
            Some(_) => u64::MAX,
            None => match walk.budget(walk.new_left) {
                Some(0) => return Step::Stop,
                Some(b) => b,
                None => u64::MAX,
            },
        };
        let last = walk.bound().min(cursor.saturating_add(budget.min(i64::MAX as u64) as i64 - 1));
        self.runs.push_back(cursor, Run::acquired(last, walk.member, walk.deadline, 1));
        self.end = last + 1;
        if let Some(left) = walk.new_left.as_mut() {
            *left = left.saturating_sub((last - cursor + 1) as u64);
        }
        walk.record(cursor, last, 1);
        walk.after_take(last)
    }

    /// Applies acknowledgements from `member`. Each range is checked and applied on its own: a
    /// refused range changes nothing and does not stop the others.
    pub fn acknowledge(&mut self, member: MemberId, acks: &[AckRange], now: i64) -> AckOutcome {
        let start_before = self.start;
        let mut delta = DeltaBuilder::default();
        let results = acks.iter().map(|ack| self.acknowledge_one(member, ack, now, &mut delta)).collect();
        self.maybe_rebuild_timers();
        self.advance_start();
        AckOutcome {
            results,
            delta: delta.finish(start_before, self.start),
        }
    }

    fn acknowledge_one(&mut self, member: MemberId, ack: &AckRange, now: i64, delta: &mut DeltaBuilder) -> Result<(), AckError> {
        if ack.first_offset > ack.last_offset {
            return Err(AckError::InvalidRequest);
        }
        if ack.last_offset < self.start {
            return Ok(()); // already finished and forgotten
        }
        if ack.last_offset >= self.end {
            return Err(AckError::InvalidRequest);
        }
        let first = ack.first_offset.max(self.start);
        let held = self
            .runs
            .overlapping(first, ack.last_offset)
            .all(|(_, r)| r.state == RecordState::Acquired && r.member == member.0);
        if !held {
            return Err(AckError::InvalidRecordState);
        }
        let limit = self.config.delivery_count_limit;
        match ack.ack_type {
            AckType::Renew => {
                if !self.config.renew_enabled {
                    return Err(AckError::RenewDisabled);
                }
                let deadline = now.saturating_add(self.config.lock_duration_ms);
                self.runs.update(first, ack.last_offset, |_, r| Run { deadline, ..*r }, |_, _| {});
                self.timers.push(LockEntry {
                    deadline,
                    first,
                    last: ack.last_offset,
                });
            }
            AckType::Accept => self.transition_where(first, ack.last_offset, |_| true, |_| RecordState::Acknowledged, delta),
            AckType::Reject | AckType::Gap => self.transition_where(first, ack.last_offset, |_| true, |_| RecordState::Archived, delta),
            AckType::Release => self.transition_where(first, ack.last_offset, |_| true, |r| released_state(r.count, limit), delta),
        }
        Ok(())
    }

    /// Returns every record whose lock has passed `now` to Available (Archived when it is out of
    /// delivery attempts). Delivery counts are kept.
    pub fn expire(&mut self, now: i64) -> StateDelta {
        let start_before = self.start;
        let mut delta = DeltaBuilder::default();
        let limit = self.config.delivery_count_limit;
        while let Some(entry) = self.timers.pop_due(now) {
            let first = entry.first.max(self.start);
            let last = entry.last.min(self.end - 1);
            if first > last {
                continue;
            }
            self.transition_where(
                first,
                last,
                |r| r.state == RecordState::Acquired && r.deadline <= now,
                |r| released_state(r.count, limit),
                &mut delta,
            );
        }
        self.advance_start();
        delta.finish(start_before, self.start)
    }

    /// Releases every record `member` holds (it left, its session closed or it was fenced): back
    /// to Available, or Archived when out of attempts. Delivery counts are not decremented.
    pub fn release_member(&mut self, member: MemberId) -> StateDelta {
        let start_before = self.start;
        let mut delta = DeltaBuilder::default();
        if self.runs.count(RecordState::Acquired) > 0 && self.start < self.end {
            let limit = self.config.delivery_count_limit;
            self.transition_where(
                self.start,
                self.end - 1,
                |r| r.state == RecordState::Acquired && r.member == member.0,
                |r| released_state(r.count, limit),
                &mut delta,
            );
        }
        self.maybe_rebuild_timers();
        self.advance_start();
        delta.finish(start_before, self.start)
    }

    /// The log start offset moved past records (retention, delete-records): they are out of scope
    /// and the start offset jumps to `log_start_offset`.
    pub fn advance_log_start(&mut self, log_start_offset: i64) -> StateDelta {
        let start_before = self.start;
        let delta = DeltaBuilder::default();
        if log_start_offset > self.start {
            if log_start_offset >= self.end {
                self.runs.clear();
                self.end = log_start_offset;
            } else {
                self.runs.split_at(log_start_offset);
                while self.runs.first().is_some_and(|(k, _)| k < log_start_offset) {
                    self.runs.pop_front();
                }
            }
            self.start = log_start_offset;
            self.available_hint = self.available_hint.max(self.start);
            self.advance_start();
        }
        delta.finish(start_before, self.start)
    }

    /// An admin reset of the start offset (AlterShareGroupOffsets): all state is dropped and
    /// delivery begins at `offset`. Refused while any member holds records.
    pub fn reset_start(&mut self, offset: i64) -> Result<StateDelta, ResetError> {
        if offset < 0 {
            return Err(ResetError::NegativeOffset(offset));
        }
        let held = self.runs.count(RecordState::Acquired);
        if held > 0 {
            return Err(ResetError::RecordsAcquired(held));
        }
        let start_before = self.start;
        self.runs.clear();
        self.timers.clear();
        self.start = offset;
        self.end = offset;
        self.available_hint = offset;
        let mut delta = DeltaBuilder::default();
        delta.reset();
        Ok(delta.finish(start_before, self.start))
    }

    /// Moves every run in `first..=last` matching `select` to the state `to` gives (clearing holder
    /// and lock) and records the change in `delta`.
    fn transition_where(
        &mut self,
        first: i64,
        last: i64,
        select: impl Fn(&Run) -> bool,
        to: impl Fn(&Run) -> RecordState,
        delta: &mut DeltaBuilder,
    ) {
        // Collect first: changing runs while walking them would invalidate the walk.
        let pieces: Vec<(i64, i64)> = self
            .runs
            .overlapping(first, last)
            .filter(|(_, r)| select(r))
            .map(|(k, r)| (k.max(first), r.last.min(last)))
            .collect();
        let mut lowest_available = None;
        for (f, l) in pieces {
            self.runs.update(
                f,
                l,
                |_, r| Run::settled(r.last, to(r), r.count),
                |k, r| {
                    delta.record(k, r.last, r.state.durable(), r.count);
                    if r.state == RecordState::Available && lowest_available.is_none() {
                        lowest_available = Some(k);
                    }
                },
            );
        }
        if let Some(k) = lowest_available {
            self.available_hint = self.available_hint.min(k);
        }
    }

    /// Moves the start offset past finished records at the front of the window.
    fn advance_start(&mut self) {
        while let Some((_, run)) = self.runs.first() {
            if !run.state.is_terminal() {
                break;
            }
            self.runs.pop_front();
            self.start = run.last + 1;
        }
        if self.runs.is_empty() {
            self.start = self.end;
        }
        self.available_hint = self.available_hint.max(self.start);
    }

    fn maybe_rebuild_timers(&mut self) {
        if self.timers.needs_rebuild(self.runs.len()) {
            let live = self
                .runs
                .iter()
                .filter(|(_, r)| r.state == RecordState::Acquired)
                .map(|(k, r)| LockEntry {
                    deadline: r.deadline,
                    first: k,
                    last: r.last,
                })
                .collect::<Vec<_>>();
            self.timers.rebuild(live.into_iter());
        }
    }
}

/// Where a record goes when its holder lets go of it.
fn released_state(count: u16, limit: u16) -> RecordState {
    if count >= limit {
        RecordState::Archived
    } else {
        RecordState::Available
    }
}

/// The leading batches that are well formed and strictly ascending; anything after a bad one is
/// ignored rather than trusted.
pub(crate) fn well_formed_prefix(batches: &[LogBatch]) -> &[LogBatch] {
    let mut prev_last: Option<i64> = None;
    for (i, b) in batches.iter().enumerate() {
        if b.first_offset > b.last_offset || b.first_offset < 0 || prev_last.is_some_and(|p| b.first_offset <= p) {
            return &batches[..i];
        }
        prev_last = Some(b.last_offset);
    }
    batches
}

/// What to do after one step of an acquisition.
enum Step {
    Next(i64),
    Stop,
}

/// The progress of one acquisition.
struct Walk<'a> {
    batches: &'a [LogBatch],
    /// Last offset the log read covers.
    hi: i64,
    max_records: u64,
    mode: AcquireMode,
    acquired: u64,
    /// Batch-optimized overshoot: once `max_records` is reached, finish the log batch up to here.
    soft_stop: Option<i64>,
    /// New records the in-flight cap still allows (set when the walk first passes the window).
    new_left: Option<u64>,
    member: u32,
    deadline: i64,
    out: Vec<AcquiredRange>,
}

impl Walk<'_> {
    /// Last offset this acquisition may reach.
    fn bound(&self) -> i64 {
        self.soft_stop.map_or(self.hi, |s| s.min(self.hi))
    }

    /// Records that may still be taken before a limit is hit (`None` while finishing a batch).
    fn budget(&self, extra_limit: Option<u64>) -> Option<u64> {
        if self.soft_stop.is_some() {
            return None;
        }
        let left = self.max_records.saturating_sub(self.acquired);
        Some(extra_limit.map_or(left, |e| left.min(e)))
    }

    fn batch_containing(&self, offset: i64) -> Option<&LogBatch> {
        let idx = self.batches.partition_point(|b| b.last_offset < offset);
        self.batches.get(idx).filter(|b| b.first_offset <= offset)
    }

    fn batch_len(&self, offset: i64) -> u64 {
        self.batch_containing(offset)
            .map_or(1, |b| (b.last_offset - b.first_offset + 1) as u64)
    }

    fn record(&mut self, first: i64, last: i64, count: u16) {
        self.acquired += (last - first + 1) as u64;
        match self.out.last_mut() {
            Some(prev) if prev.last_offset + 1 == first && prev.delivery_count == count => prev.last_offset = last,
            _ => self.out.push(AcquiredRange {
                first_offset: first,
                last_offset: last,
                delivery_count: count,
            }),
        }
    }

    /// After taking records up to `last`: decides whether a limit was reached.
    fn after_take(&mut self, last: i64) -> Step {
        if self.soft_stop.is_none() {
            let cap_hit = self.new_left == Some(0);
            if self.acquired >= self.max_records || cap_hit {
                match self.mode {
                    AcquireMode::RecordLimit => return Step::Stop,
                    AcquireMode::BatchOptimized => {
                        let stop = self.batch_containing(last).map_or(last, |b| b.last_offset);
                        self.soft_stop = Some(stop);
                    }
                }
            }
        }
        if last >= self.bound() { Step::Stop } else { Step::Next(last + 1) }
    }
}
