//! A reference model and a checker, shared by the property tests and the fuzz target.
//!
//! [`ModelPartition`] implements the same rules as [`SharePartition`] in the plainest way: one map
//! entry per offset, one loop per operation. [`Harness`] drives both with the same [`Op`]s against
//! a simulated log and checks, after every step, that they agree and that the queue invariants
//! hold; [`Harness::finish`] then drains everything and checks every produced record ended
//! Acknowledged or Archived.

use std::collections::BTreeMap;

use crate::{
    AckError, AckRange, AckType, AcquireMode, AcquiredRange, LogBatch, MemberId, RecordState, RecordView, ResetError, ShareConfig,
    SharePartition, ShareSnapshot, ShareStats, StateRange,
};

/// One record in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ModelRecord {
    state: RecordState,
    count: u16,
    member: u32,
    deadline: i64,
}

impl ModelRecord {
    fn settled(state: RecordState, count: u16) -> ModelRecord {
        ModelRecord {
            state,
            count,
            member: 0,
            deadline: 0,
        }
    }

    fn held(count: u16, member: MemberId, deadline: i64) -> ModelRecord {
        ModelRecord {
            state: RecordState::Acquired,
            count,
            member: member.0,
            deadline,
        }
    }

    fn view(&self) -> RecordView {
        let lock = (self.state == RecordState::Acquired).then_some((MemberId(self.member), self.deadline));
        RecordView {
            state: self.state,
            delivery_count: self.count,
            lock,
        }
    }
}

/// The reference model: every offset of the window in a map.
#[derive(Debug, Clone)]
pub struct ModelPartition {
    config: ShareConfig,
    start: i64,
    end: i64,
    records: BTreeMap<i64, ModelRecord>,
    /// Final state of every record the start offset moved past.
    finished: BTreeMap<i64, RecordState>,
}

impl ModelPartition {
    /// An empty model starting at `start`.
    pub fn new(config: ShareConfig, start: i64) -> ModelPartition {
        ModelPartition {
            config,
            start,
            end: start,
            records: BTreeMap::new(),
            finished: BTreeMap::new(),
        }
    }

    /// Rebuilds from a snapshot (gaps are Available with no deliveries).
    pub fn restore(config: ShareConfig, snapshot: &ShareSnapshot, finished: BTreeMap<i64, RecordState>) -> ModelPartition {
        let mut m = ModelPartition::new(config, snapshot.start_offset);
        m.finished = finished;
        for r in &snapshot.ranges {
            for o in r.first_offset.max(m.start)..=r.last_offset {
                while m.end < o {
                    m.records.insert(m.end, ModelRecord::settled(RecordState::Available, 0));
                    m.end += 1;
                }
                m.records.insert(o, ModelRecord::settled(r.state.record_state(), r.delivery_count));
                m.end = o + 1;
            }
        }
        m.advance();
        m
    }

    /// Start offset.
    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// End of the window.
    pub fn next_offset(&self) -> i64 {
        self.end
    }

    /// The state of one offset in the window.
    pub fn record(&self, offset: i64) -> Option<RecordView> {
        self.records.get(&offset).map(ModelRecord::view)
    }

    /// First Available offset, else the window end.
    pub fn next_fetch_offset(&self) -> i64 {
        self.records
            .iter()
            .find(|(_, r)| r.state == RecordState::Available)
            .map_or(self.end, |(o, _)| *o)
    }

    /// Same numbers as [`SharePartition::stats`].
    pub fn stats(&self) -> ShareStats {
        let count = |s: RecordState| self.records.values().filter(|r| r.state == s).count() as u64;
        ShareStats {
            start_offset: self.start,
            end_offset: if self.records.is_empty() { self.start } else { self.end - 1 },
            next_offset: self.end,
            available: count(RecordState::Available),
            acquired: count(RecordState::Acquired),
            acknowledged: count(RecordState::Acknowledged),
            archived: count(RecordState::Archived),
            in_flight: (self.end - self.start) as u64,
        }
    }

    /// Final states of records passed by the start offset.
    pub fn finished(&self) -> &BTreeMap<i64, RecordState> {
        &self.finished
    }

    /// Per-offset durable states, merged into ranges.
    pub fn snapshot(&self) -> ShareSnapshot {
        let mut ranges: Vec<StateRange> = Vec::new();
        for (&o, r) in &self.records {
            let state = r.state.durable();
            match ranges.last_mut() {
                Some(p) if p.last_offset + 1 == o && p.state == state && p.delivery_count == r.count => p.last_offset = o,
                _ => ranges.push(StateRange {
                    first_offset: o,
                    last_offset: o,
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

    fn released(&self, count: u16) -> RecordState {
        if count >= self.config.delivery_count_limit {
            RecordState::Archived
        } else {
            RecordState::Available
        }
    }

    fn advance(&mut self) {
        while let Some(r) = self.records.get(&self.start) {
            if !r.state.is_terminal() {
                break;
            }
            self.finished.insert(self.start, r.state);
            self.records.remove(&self.start);
            self.start += 1;
        }
        if self.records.is_empty() {
            self.start = self.end;
        }
    }

    /// Same contract as [`SharePartition::acquire`], one offset at a time.
    pub fn acquire(
        &mut self,
        member: MemberId,
        fetch_offset: i64,
        batches: &[LogBatch],
        max_records: u32,
        mode: AcquireMode,
        now: i64,
    ) -> Vec<AcquiredRange> {
        // Batch validation is input hygiene, not a rule under test: share it with the machine.
        let valid = crate::partition::well_formed_prefix(batches);
        let (Some(first), Some(last)) = (valid.first().copied(), valid.last().copied()) else {
            return Vec::new();
        };
        if max_records == 0 || last.last_offset < self.start || fetch_offset > self.end {
            return Vec::new();
        }
        let fetch = fetch_offset.max(self.start);
        for o in fetch..first.first_offset {
            if o < self.end {
                let r = self.records.get_mut(&o).expect("window has no holes");
                if r.state == RecordState::Available {
                    *r = ModelRecord::settled(RecordState::Archived, r.count);
                }
            } else {
                self.records.insert(o, ModelRecord::settled(RecordState::Archived, 0));
                self.end = o + 1;
            }
        }
        let batch_of = |o: i64| valid.iter().find(|b| b.first_offset <= o && o <= b.last_offset).copied();
        let limit = self.config.delivery_count_limit;
        let threshold = self.config.throttle_threshold();
        let deadline = now.saturating_add(self.config.lock_duration_ms);
        let max = u64::from(max_records);
        let mut acquired: u64 = 0;
        let mut soft_stop: Option<i64> = None;
        let mut new_left: Option<u64> = None;
        let mut taken: Vec<(i64, u16)> = Vec::new();
        let mut o = self.start.max(first.first_offset);
        // After a normal take at `o`: has a limit been reached?
        let limit_hit = |acquired: u64, new_left: Option<u64>| acquired >= max || new_left == Some(0);
        loop {
            let bound = soft_stop.map_or(last.last_offset, |s| s.min(last.last_offset));
            if o > bound {
                break;
            }
            if o < self.end {
                let r = self.records[&o];
                if r.state != RecordState::Available {
                    o += 1;
                    continue;
                }
                let c = r.count;
                if c >= limit {
                    self.records.insert(o, ModelRecord::settled(RecordState::Archived, c));
                    o += 1;
                    continue;
                }
                if limit > 2 && c == limit - 1 {
                    if acquired > 0 {
                        break;
                    }
                    self.records.insert(o, ModelRecord::held(c + 1, member, deadline));
                    taken.push((o, c + 1));
                    break;
                }
                if c >= threshold {
                    if acquired > 0 {
                        break;
                    }
                    let len = batch_of(o).map_or(1, |b| (b.last_offset - b.first_offset + 1) as u64);
                    let chunk = (len >> u32::from(c - threshold + 1).min(63)).max(1).min(max);
                    let mut n = 0;
                    let mut p = o;
                    while n < chunk && p <= bound && p < self.end {
                        let r = self.records[&p];
                        if r.state != RecordState::Available || r.count != c {
                            break;
                        }
                        self.records.insert(p, ModelRecord::held(c + 1, member, deadline));
                        taken.push((p, c + 1));
                        n += 1;
                        p += 1;
                    }
                    break;
                }
                self.records.insert(o, ModelRecord::held(c + 1, member, deadline));
                taken.push((o, c + 1));
                acquired += 1;
            } else {
                if o != self.end {
                    break;
                }
                if new_left.is_none() {
                    new_left = Some(u64::from(self.config.max_in_flight).saturating_sub((self.end - self.start) as u64));
                }
                if soft_stop.is_none() && (acquired >= max || new_left == Some(0)) {
                    break;
                }
                self.records.insert(o, ModelRecord::held(1, member, deadline));
                self.end = o + 1;
                taken.push((o, 1));
                acquired += 1;
                if let Some(n) = new_left.as_mut() {
                    *n = n.saturating_sub(1);
                }
            }
            if soft_stop.is_none() && limit_hit(acquired, new_left) {
                match mode {
                    AcquireMode::RecordLimit => break,
                    AcquireMode::BatchOptimized => soft_stop = Some(batch_of(o).map_or(o, |b| b.last_offset)),
                }
            }
            o += 1;
        }
        self.advance();
        let mut out: Vec<AcquiredRange> = Vec::new();
        for (o, c) in taken {
            match out.last_mut() {
                Some(p) if p.last_offset + 1 == o && p.delivery_count == c => p.last_offset = o,
                _ => out.push(AcquiredRange {
                    first_offset: o,
                    last_offset: o,
                    delivery_count: c,
                }),
            }
        }
        out
    }

    /// Same contract as [`SharePartition::acknowledge`].
    pub fn acknowledge(&mut self, member: MemberId, acks: &[AckRange], now: i64) -> Vec<Result<(), AckError>> {
        let mut results = Vec::new();
        for ack in acks {
            results.push(self.acknowledge_one(member, ack, now));
        }
        self.advance();
        results
    }

    fn acknowledge_one(&mut self, member: MemberId, ack: &AckRange, now: i64) -> Result<(), AckError> {
        if ack.first_offset > ack.last_offset {
            return Err(AckError::InvalidRequest);
        }
        if ack.last_offset < self.start {
            return Ok(());
        }
        if ack.last_offset >= self.end {
            return Err(AckError::InvalidRequest);
        }
        let first = ack.first_offset.max(self.start);
        for o in first..=ack.last_offset {
            let r = self.records[&o];
            if r.state != RecordState::Acquired || r.member != member.0 {
                return Err(AckError::InvalidRecordState);
            }
        }
        if ack.ack_type == AckType::Renew && !self.config.renew_enabled {
            return Err(AckError::RenewDisabled);
        }
        for o in first..=ack.last_offset {
            let r = self.records[&o];
            let new = match ack.ack_type {
                AckType::Renew => ModelRecord {
                    deadline: now.saturating_add(self.config.lock_duration_ms),
                    ..r
                },
                AckType::Accept => ModelRecord::settled(RecordState::Acknowledged, r.count),
                AckType::Reject | AckType::Gap => ModelRecord::settled(RecordState::Archived, r.count),
                AckType::Release => ModelRecord::settled(self.released(r.count), r.count),
            };
            self.records.insert(o, new);
        }
        Ok(())
    }

    /// Same contract as [`SharePartition::expire`].
    pub fn expire(&mut self, now: i64) {
        let due: Vec<i64> = self
            .records
            .iter()
            .filter(|(_, r)| r.state == RecordState::Acquired && r.deadline <= now)
            .map(|(o, _)| *o)
            .collect();
        for o in due {
            let c = self.records[&o].count;
            self.records.insert(o, ModelRecord::settled(self.released(c), c));
        }
        self.advance();
    }

    /// Same contract as [`SharePartition::release_member`].
    pub fn release_member(&mut self, member: MemberId) {
        let held: Vec<i64> = self
            .records
            .iter()
            .filter(|(_, r)| r.state == RecordState::Acquired && r.member == member.0)
            .map(|(o, _)| *o)
            .collect();
        for o in held {
            let c = self.records[&o].count;
            self.records.insert(o, ModelRecord::settled(self.released(c), c));
        }
        self.advance();
    }

    /// Same contract as [`SharePartition::advance_log_start`].
    pub fn advance_log_start(&mut self, log_start: i64) {
        if log_start <= self.start {
            return;
        }
        let below: Vec<i64> = self.records.range(..log_start).map(|(o, _)| *o).collect();
        for o in below {
            self.records.remove(&o);
        }
        self.start = log_start;
        if log_start > self.end {
            self.end = log_start;
        }
        self.advance();
    }

    /// Same contract as [`SharePartition::reset_start`].
    pub fn reset_start(&mut self, offset: i64) -> Result<(), ResetError> {
        if offset < 0 {
            return Err(ResetError::NegativeOffset(offset));
        }
        let held = self.records.values().filter(|r| r.state == RecordState::Acquired).count() as u64;
        if held > 0 {
            return Err(ResetError::RecordsAcquired(held));
        }
        self.records.clear();
        self.start = offset;
        self.end = offset;
        Ok(())
    }

    /// Changes the settings.
    pub fn set_config(&mut self, config: ShareConfig) {
        self.config = config;
    }
}

/// One step of a generated scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A producer appends a batch of `records` records.
    Produce {
        /// Records in the batch (1..).
        records: u16,
    },
    /// Compaction removes the `index`-th (modulo) batch still in the log.
    Compact {
        /// Which batch.
        index: u16,
    },
    /// Retention moves the log start past the first `batches` batches.
    Retain {
        /// How many batches to delete.
        batches: u8,
    },
    /// A member fetches: the log is read at the next fetch offset, `read_batches` batches deep.
    Acquire {
        /// Which member.
        member: u8,
        /// MaxRecords.
        max_records: u16,
        /// Record-limit mode rather than batch-optimized.
        record_limit: bool,
        /// How many log batches the read returns (at least 1).
        read_batches: u8,
    },
    /// A member acknowledges every record it holds, choosing each record's type from `pattern`
    /// (two bits per record, cycling; 0 Accept, 1 Release, 2 Reject, 3 Renew or Gap).
    AckHeld {
        /// Which member.
        member: u8,
        /// Type choices.
        pattern: u16,
    },
    /// A member acknowledges an arbitrary range (often invalid), relative to the start offset.
    AckRange {
        /// Which member.
        member: u8,
        /// First offset minus the start offset (may reach below it).
        from: i16,
        /// Length minus one (negative lengths make an inverted range).
        len: i16,
        /// Type code 0-4.
        ack_type: u8,
    },
    /// Time passes and due locks expire.
    Tick {
        /// Milliseconds.
        ms: u16,
    },
    /// A member leaves or its session closes.
    MemberGone {
        /// Which member.
        member: u8,
    },
    /// The broker restarts: the machine is rebuilt from the persisted snapshot plus deltas.
    Restart,
    /// An admin resets the start offset to `log start + delta`.
    Reset {
        /// Offset above the log start.
        delta: u16,
    },
    /// Group configs change.
    Configure {
        /// Delivery count limit (2-10 in Kafka; 1-10 here to stress edges).
        delivery_limit: u8,
        /// Lock duration in ms.
        lock_ms: u16,
        /// In-flight cap.
        max_in_flight: u16,
    },
}

impl Op {
    /// Decodes ops from raw bytes (for the fuzz target): each op takes a tag byte and a few
    /// argument bytes; running out of bytes ends the list.
    pub fn decode_all(mut data: &[u8]) -> Vec<Op> {
        let mut ops = Vec::new();
        while let Some(op) = Op::decode(&mut data) {
            ops.push(op);
        }
        ops
    }

    fn decode(data: &mut &[u8]) -> Option<Op> {
        let mut take = || -> Option<u8> {
            let (b, rest) = data.split_first()?;
            *data = rest;
            Some(*b)
        };
        let tag = take()?;
        let op = match tag % 12 {
            0 | 1 => Op::Produce {
                records: u16::from(take()? % 40) + 1,
            },
            2 => Op::Compact { index: u16::from(take()?) },
            3 => Op::Retain { batches: take()? % 4 },
            4 | 5 => Op::Acquire {
                member: take()? % 5,
                max_records: u16::from_le_bytes([take()?, take()? % 4]),
                record_limit: take()? % 2 == 1,
                read_batches: take()? % 16 + 1,
            },
            6 => Op::AckHeld {
                member: take()? % 5,
                pattern: u16::from_le_bytes([take()?, take()?]),
            },
            7 => Op::AckRange {
                member: take()? % 5,
                from: i16::from(take()? as i8),
                len: i16::from(take()? as i8),
                ack_type: take()? % 5,
            },
            8 => Op::Tick {
                ms: u16::from_le_bytes([take()?, take()?]),
            },
            9 => Op::MemberGone { member: take()? % 5 },
            10 => match take()? % 4 {
                0 => Op::Reset { delta: u16::from(take()?) },
                1 => Op::Configure {
                    delivery_limit: take()? % 10 + 1,
                    lock_ms: u16::from(take()?) * 100 + 1,
                    max_in_flight: u16::from(take()?) * 4 + 1,
                },
                _ => Op::Restart,
            },
            _ => Op::AckHeld {
                member: take()? % 5,
                pattern: 0,
            },
        };
        Some(op)
    }
}

/// Drives a [`SharePartition`] and a [`ModelPartition`] side by side over a simulated log.
pub struct Harness {
    machine: SharePartition,
    model: ModelPartition,
    /// Log batches still in the log.
    log: Vec<LogBatch>,
    log_start: i64,
    log_end: i64,
    now: i64,
    /// What a persister would hold: the last snapshot plus every delta since.
    persisted: ShareSnapshot,
    /// Highest delivery limit ever configured (counts can never exceed it).
    max_limit_seen: u16,
    /// The oldest offset whose fate is tracked (moves on admin reset).
    tracked_from: i64,
}

impl Harness {
    /// A harness starting at offset 0 with `config`.
    pub fn new(config: ShareConfig) -> Harness {
        Harness {
            machine: SharePartition::new(config, 0),
            model: ModelPartition::new(config, 0),
            log: Vec::new(),
            log_start: 0,
            log_end: 0,
            now: 1_000,
            persisted: ShareSnapshot::new(0),
            max_limit_seen: config.delivery_count_limit,
            tracked_from: 0,
        }
    }

    /// The machine under test.
    pub fn machine(&self) -> &SharePartition {
        &self.machine
    }

    /// Applies one op to both sides and checks they agree. Returns a description of the first
    /// disagreement or broken invariant.
    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Produce { records } => {
                let n = i64::from(records.max(1));
                self.log.push(LogBatch::new(self.log_end, self.log_end + n - 1));
                self.log_end += n;
            }
            Op::Compact { index } => {
                // Never compact the last batch: Kafka keeps the active segment's tail.
                if self.log.len() > 1 {
                    let i = usize::from(index) % (self.log.len() - 1);
                    self.log.remove(i);
                }
            }
            Op::Retain { batches } => {
                let n = usize::from(batches).min(self.log.len().saturating_sub(1));
                if n > 0 {
                    self.log.drain(..n);
                    self.log_start = self.log.first().map_or(self.log_end, |b| b.first_offset);
                }
            }
            Op::Acquire {
                member,
                max_records,
                record_limit,
                read_batches,
            } => {
                self.acquire(
                    MemberId(u32::from(member) + 1),
                    u32::from(max_records),
                    record_limit,
                    usize::from(read_batches.max(1)),
                )?;
            }
            Op::AckHeld { member, pattern } => {
                let m = MemberId(u32::from(member) + 1);
                let acks = self.held_acks(m, pattern);
                self.acknowledge(m, &acks)?;
            }
            Op::AckRange {
                member,
                from,
                len,
                ack_type,
            } => {
                let first = self.machine.start_offset() + i64::from(from);
                let ack = AckRange::new(
                    first,
                    first + i64::from(len),
                    AckType::from_code((ack_type % 5) as i8).unwrap_or(AckType::Accept),
                );
                self.acknowledge(MemberId(u32::from(member) + 1), &[ack])?;
            }
            Op::Tick { ms } => {
                self.now += i64::from(ms);
                let delta = self.machine.expire(self.now);
                self.model.expire(self.now);
                self.persisted.apply(&delta);
            }
            Op::MemberGone { member } => {
                let m = MemberId(u32::from(member) + 1);
                let delta = self.machine.release_member(m);
                self.model.release_member(m);
                self.persisted.apply(&delta);
            }
            Op::Restart => {
                // Only what was persisted survives: the machine restarts from snapshot + deltas.
                let config = *self.machine.config();
                self.machine = SharePartition::restore(config, &self.persisted).map_err(|e| format!("restore failed: {e}"))?;
                let finished = self.model.finished().clone();
                self.model = ModelPartition::restore(config, &self.persisted, finished);
                self.persisted = self.machine.snapshot();
            }
            Op::Reset { delta } => {
                let target = self.log_start + i64::from(delta);
                let a = self.machine.reset_start(target);
                let b = self.model.reset_start(target);
                match (a, b) {
                    (Ok(d), Ok(())) => {
                        self.persisted.apply(&d);
                        self.tracked_from = target;
                    }
                    (Err(x), Err(y)) if x == y => {}
                    (a, b) => return Err(format!("reset disagrees: machine {a:?}, model {b:?}")),
                }
            }
            Op::Configure {
                delivery_limit,
                lock_ms,
                max_in_flight,
            } => {
                let config = ShareConfig {
                    delivery_count_limit: u16::from(delivery_limit.max(1)),
                    lock_duration_ms: i64::from(lock_ms.max(1)),
                    max_in_flight: u32::from(max_in_flight.max(1)),
                    renew_enabled: delivery_limit % 2 == 0,
                };
                self.max_limit_seen = self.max_limit_seen.max(config.delivery_count_limit);
                self.machine.set_config(config);
                self.model.set_config(config);
            }
        }
        self.check()
    }

    /// Reads the simulated log the way the broker does, handling a log start past the window.
    fn read(&mut self, fetch_offset: i64, max_batches: usize) -> Result<(i64, Vec<LogBatch>), String> {
        let mut fetch = fetch_offset;
        if fetch < self.log_start {
            // OFFSET_OUT_OF_RANGE: the share-partition jumps to the log start.
            let delta = self.machine.advance_log_start(self.log_start);
            self.model.advance_log_start(self.log_start);
            self.persisted.apply(&delta);
            fetch = self.machine.next_fetch_offset();
            self.check()?;
        }
        let from = self.log.partition_point(|b| b.last_offset < fetch);
        Ok((fetch, self.log[from..].iter().take(max_batches).copied().collect()))
    }

    fn acquire(&mut self, member: MemberId, max_records: u32, record_limit: bool, read_batches: usize) -> Result<(), String> {
        let fetch = self.machine.next_fetch_offset();
        let model_fetch = self.model.next_fetch_offset();
        if fetch != model_fetch {
            return Err(format!("next fetch offset: machine {fetch}, model {model_fetch}"));
        }
        let (fetch, batches) = self.read(fetch, read_batches)?;
        let mode = if record_limit {
            AcquireMode::RecordLimit
        } else {
            AcquireMode::BatchOptimized
        };
        let before: Vec<(i64, Option<RecordView>)> = (self.model.start_offset()..self.model.next_offset())
            .map(|o| (o, self.model.record(o)))
            .collect();
        let got = self.machine.acquire(member, fetch, &batches, max_records, mode, self.now);
        let want = self.model.acquire(member, fetch, &batches, max_records, mode, self.now);
        if got.ranges != want {
            return Err(format!(
                "acquire({member:?}, fetch {fetch}, {batches:?}, max {max_records}, {mode:?}): machine {:?}, model {want:?}",
                got.ranges
            ));
        }
        if record_limit && got.record_count() > u64::from(max_records) {
            return Err(format!("record_limit acquired {} > {max_records}", got.record_count()));
        }
        for r in &got.ranges {
            for o in r.first_offset..=r.last_offset {
                if let Some((_, Some(v))) = before.iter().find(|(b, _)| *b == o)
                    && v.state != RecordState::Available
                {
                    return Err(format!("offset {o} handed to {member:?} while {v:?}"));
                }
            }
        }
        self.persisted.apply(&got.delta);
        Ok(())
    }

    fn held_acks(&self, member: MemberId, pattern: u16) -> Vec<AckRange> {
        let mut acks: Vec<AckRange> = Vec::new();
        let renew_ok = self.machine.config().renew_enabled;
        for (first, last, view) in self.machine.runs() {
            if view.lock.map(|(m, _)| m) != Some(member) {
                continue;
            }
            for o in first..=last {
                let bits = (pattern >> ((o as u32 % 8) * 2)) & 3;
                let t = match bits {
                    0 => AckType::Accept,
                    1 => AckType::Release,
                    2 => AckType::Reject,
                    _ if renew_ok => AckType::Renew,
                    _ => AckType::Gap,
                };
                match acks.last_mut() {
                    Some(a) if a.last_offset + 1 == o && a.ack_type == t => a.last_offset = o,
                    _ => acks.push(AckRange::new(o, o, t)),
                }
            }
        }
        acks
    }

    fn acknowledge(&mut self, member: MemberId, acks: &[AckRange]) -> Result<(), String> {
        let got = self.machine.acknowledge(member, acks, self.now);
        let want = self.model.acknowledge(member, acks, self.now);
        if got.results != want {
            return Err(format!(
                "acknowledge({member:?}, {acks:?}): machine {:?}, model {want:?}",
                got.results
            ));
        }
        self.persisted.apply(&got.delta);
        Ok(())
    }

    /// Compares every observable and checks the invariants.
    pub fn check(&mut self) -> Result<(), String> {
        let (s, m) = (self.machine.stats(), self.model.stats());
        if s != m {
            return Err(format!("stats: machine {s:?}, model {m:?}"));
        }
        for o in s.start_offset..s.next_offset {
            let (a, b) = (self.machine.record(o), self.model.record(o));
            if a != b {
                return Err(format!("offset {o}: machine {a:?}, model {b:?}"));
            }
            if let Some(v) = a
                && v.delivery_count > self.max_limit_seen
            {
                return Err(format!(
                    "offset {o} delivered {} times, limit {}",
                    v.delivery_count, self.max_limit_seen
                ));
            }
        }
        let (f1, f2) = (self.machine.next_fetch_offset(), self.model.next_fetch_offset());
        if f1 != f2 {
            return Err(format!("next fetch offset: machine {f1}, model {f2}"));
        }
        if s.available + s.acquired + s.acknowledged + s.archived != s.in_flight {
            return Err(format!("window has holes: {s:?}"));
        }
        // Whatever the start offset passed must be finished.
        if let Some((o, st)) = self.model.finished().iter().find(|(_, st)| !st.is_terminal()) {
            return Err(format!("start offset passed unfinished offset {o} ({st:?})"));
        }
        self.check_persisted()
    }

    /// The persisted view (snapshot + deltas) must equal the live durable state, except that
    /// acquisitions are not persisted: an Acquired record may be persisted as Available with a
    /// lower delivery count, or not at all.
    fn check_persisted(&self) -> Result<(), String> {
        let live = self.machine.snapshot();
        if live.start_offset != self.persisted.start_offset {
            return Err(format!(
                "persisted start {} != live start {}",
                self.persisted.start_offset, live.start_offset
            ));
        }
        let persisted = expand(&self.persisted);
        for (o, v) in self.machine.runs().flat_map(|(f, l, v)| (f..=l).map(move |o| (o, v))) {
            let p = persisted.get(&o).copied().unwrap_or((crate::DurableState::Available, 0));
            let ok = if v.state == RecordState::Acquired {
                p.0 == crate::DurableState::Available && p.1 <= v.delivery_count
            } else {
                p == (v.state.durable(), v.delivery_count)
            };
            if !ok {
                return Err(format!("offset {o}: live {v:?}, persisted {p:?}"));
            }
        }
        if let Some((&o, _)) = persisted.range(self.machine.next_offset()..).next() {
            return Err(format!(
                "persisted state at {o} beyond the window end {}",
                self.machine.next_offset()
            ));
        }
        Ok(())
    }

    /// Ends the scenario: every member goes away, locks expire, and one member drains the log by
    /// accepting everything. Then every produced record must have ended Acknowledged or Archived.
    pub fn finish(mut self) -> Result<(), String> {
        for m in 1..=5 {
            self.step(&Op::MemberGone { member: m - 1 })?;
        }
        let max_rounds = 4 * (self.log_end - self.machine.start_offset()).max(0) + 100;
        let mut rounds = 0;
        while self.machine.start_offset() < self.log_end {
            rounds += 1;
            if rounds > max_rounds {
                return Err(format!(
                    "drain made no progress: {:?}, log end {}",
                    self.machine.stats(),
                    self.log_end
                ));
            }
            self.step(&Op::Acquire {
                member: 0,
                max_records: 500,
                record_limit: false,
                read_batches: 16,
            })?;
            self.step(&Op::AckHeld { member: 0, pattern: 0 })?;
        }
        let finished = self.model.finished();
        for o in self.tracked_from.max(self.log_start)..self.log_end {
            if !finished.get(&o).is_some_and(|s| s.is_terminal()) {
                return Err(format!("offset {o} never finished: {:?}", finished.get(&o)));
            }
        }
        Ok(())
    }
}

fn expand(snapshot: &ShareSnapshot) -> BTreeMap<i64, (crate::DurableState, u16)> {
    let mut out = BTreeMap::new();
    for r in &snapshot.ranges {
        for o in r.first_offset.max(snapshot.start_offset)..=r.last_offset {
            out.insert(o, (r.state, r.delivery_count));
        }
    }
    out
}

/// Runs `ops` then [`Harness::finish`], returning the first failure.
pub fn run_scenario(config: ShareConfig, ops: &[Op]) -> Result<(), String> {
    let mut h = Harness::new(config);
    for (i, op) in ops.iter().enumerate() {
        h.step(op).map_err(|e| format!("step {i} {op:?}: {e}"))?;
    }
    h.finish()
}
