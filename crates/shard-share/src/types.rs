//! The values that go in and out of a share-partition.

use serde::{Deserialize, Serialize};

/// A share-group member, as a compact handle. The group layer maps Kafka's member id strings to
/// these; the state machine only compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u32);

/// The in-memory state of one record (KIP-932 numbering; Acquired is never persisted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordState {
    /// May be acquired by any member.
    Available = 0,
    /// Held by one member until it acknowledges or its lock expires.
    Acquired = 1,
    /// Processed successfully (terminal).
    Acknowledged = 2,
    /// Given up on: rejected, a gap, or out of delivery attempts (terminal).
    Archived = 4,
}

impl RecordState {
    /// Acknowledged and Archived records are finished; the start offset may move past them.
    pub fn is_terminal(self) -> bool {
        matches!(self, RecordState::Acknowledged | RecordState::Archived)
    }

    /// The state as persisted: an acquisition is not durable, so Acquired is stored as Available.
    pub fn durable(self) -> DurableState {
        match self {
            RecordState::Available | RecordState::Acquired => DurableState::Available,
            RecordState::Acknowledged => DurableState::Acknowledged,
            RecordState::Archived => DurableState::Archived,
        }
    }
}

/// A record state as persisted in `__share_group_state` (Kafka's `DeliveryState` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum DurableState {
    /// Not finished; acquirable after a restore.
    Available = 0,
    /// Processed successfully.
    Acknowledged = 2,
    /// Given up on.
    Archived = 4,
}

impl DurableState {
    /// The wire/disk code (0, 2 or 4).
    pub fn code(self) -> i8 {
        self as i8
    }

    /// Decodes a persisted code; Acquired (1) and unknown codes are refused.
    pub fn from_code(code: i8) -> Option<DurableState> {
        match code {
            0 => Some(DurableState::Available),
            2 => Some(DurableState::Acknowledged),
            4 => Some(DurableState::Archived),
            _ => None,
        }
    }

    /// The in-memory state a restored record starts in.
    pub fn record_state(self) -> RecordState {
        match self {
            DurableState::Available => RecordState::Available,
            DurableState::Acknowledged => RecordState::Acknowledged,
            DurableState::Archived => RecordState::Archived,
        }
    }
}

/// One log batch as read from the partition log: inclusive offset bounds. The machine never splits
/// a batch in `BatchOptimized` mode and archives offsets the log no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBatch {
    /// Base offset of the batch.
    pub first_offset: i64,
    /// Last offset of the batch (inclusive).
    pub last_offset: i64,
}

impl LogBatch {
    /// A batch covering `first..=last`.
    pub fn new(first_offset: i64, last_offset: i64) -> LogBatch {
        LogBatch { first_offset, last_offset }
    }
}

/// How `MaxRecords` bounds an acquisition (ShareFetch v2 `ShareAcquireMode`, KIP-1206).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcquireMode {
    /// Whole log batches; `max_records` is a soft limit that the last batch may overshoot.
    #[default]
    BatchOptimized,
    /// Never more than `max_records` records, even if that splits a log batch.
    RecordLimit,
}

/// A contiguous range of acquired offsets sharing one delivery count (an `AcquiredRecords` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquiredRange {
    /// First acquired offset.
    pub first_offset: i64,
    /// Last acquired offset (inclusive).
    pub last_offset: i64,
    /// How many times these records have now been delivered, this delivery included.
    pub delivery_count: u16,
}

/// Acknowledgement types (the ShareFetch/ShareAcknowledge `AcknowledgeTypes` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckType {
    /// 0: no record at this offset (compaction, control record); archived.
    Gap,
    /// 1: processed; acknowledged.
    Accept,
    /// 2: give it back for redelivery; available again (archived at the delivery limit).
    Release,
    /// 3: unprocessable; archived, never redelivered.
    Reject,
    /// 4: keep holding it; the lock is restarted and the state does not change (KIP-1222).
    Renew,
}

impl AckType {
    /// Decodes a wire value (0-4).
    pub fn from_code(code: i8) -> Option<AckType> {
        match code {
            0 => Some(AckType::Gap),
            1 => Some(AckType::Accept),
            2 => Some(AckType::Release),
            3 => Some(AckType::Reject),
            4 => Some(AckType::Renew),
            _ => None,
        }
    }
}

/// An acknowledgement of `first_offset..=last_offset` with one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckRange {
    /// First offset acknowledged.
    pub first_offset: i64,
    /// Last offset acknowledged (inclusive).
    pub last_offset: i64,
    /// What happened to these records.
    pub ack_type: AckType,
}

impl AckRange {
    /// An acknowledgement of `first..=last`.
    pub fn new(first_offset: i64, last_offset: i64, ack_type: AckType) -> AckRange {
        AckRange {
            first_offset,
            last_offset,
            ack_type,
        }
    }
}

/// Why one acknowledgement range was refused. Each maps to a Kafka error code; a refused range
/// changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// An offset in the range is not Acquired, or is held by another member (`INVALID_RECORD_STATE`).
    #[error("records are not acquired by this member")]
    InvalidRecordState,
    /// The range is malformed or reaches past the offsets handed out (`INVALID_REQUEST`).
    #[error("acknowledgement range is past the acquired records or malformed")]
    InvalidRequest,
    /// RENEW is disabled for this group (`INVALID_RECORD_STATE`, as Kafka answers).
    #[error("renew acknowledgements are disabled for this group")]
    RenewDisabled,
}

impl AckError {
    /// The Kafka error code for this refusal.
    pub fn kafka_code(self) -> i16 {
        match self {
            AckError::InvalidRecordState | AckError::RenewDisabled => 121,
            AckError::InvalidRequest => 42,
        }
    }
}

/// Why an admin reset of the start offset was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResetError {
    /// Some member still holds acquired records; Kafka requires an empty group.
    #[error("{0} records are still acquired by members")]
    RecordsAcquired(u64),
    /// The offset is negative.
    #[error("start offset {0} is negative")]
    NegativeOffset(i64),
}

/// The numbers a monitor needs about one share-partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShareStats {
    /// Share-partition start offset: everything below is finished.
    pub start_offset: i64,
    /// Share-partition end offset as Kafka reports it: the last offset in flight, or the start
    /// offset when nothing is in flight.
    pub end_offset: i64,
    /// First offset past the in-flight window (the next new record to acquire).
    pub next_offset: i64,
    /// Records in the window that may be acquired.
    pub available: u64,
    /// Records held by members.
    pub acquired: u64,
    /// Records acknowledged but not yet passed by the start offset.
    pub acknowledged: u64,
    /// Records archived but not yet passed by the start offset.
    pub archived: u64,
    /// Offsets in the window (`next_offset - start_offset`), which the in-flight cap bounds.
    pub in_flight: u64,
}

impl ShareStats {
    /// Records not yet acknowledged or archived between the start offset and `log_end_offset`.
    pub fn lag(&self, log_end_offset: i64) -> u64 {
        let span = (log_end_offset.max(self.start_offset) - self.start_offset) as u64;
        span.saturating_sub(self.acknowledged + self.archived)
    }
}
