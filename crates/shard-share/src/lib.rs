//! The share-partition state machine of KIP-932 share groups ("queues for Kafka").
//!
//! A [`SharePartition`] tracks the records of one topic partition as one share group consumes
//! them: between the start offset (everything below is finished) and the end of the in-flight
//! window, each record is Available, Acquired by one member under a time-limited lock,
//! Acknowledged or Archived, and carries a delivery count. State is kept as runs of equal
//! records, so a window of thousands of records costs a few entries.
//!
//! The machine does no I/O and reads no clock: callers pass log batch bounds and `now` in, and get
//! back what was acquired plus a [`StateDelta`] of what changed durably, which the share
//! coordinator persists before answering. [`SharePartition::snapshot`] and
//! [`SharePartition::restore`] give the compact durable form.
#![warn(missing_docs)]

mod config;
#[cfg(feature = "model")]
pub mod model;
mod partition;
mod runs;
mod snapshot;
mod start;
mod timers;
mod types;

pub use config::ShareConfig;
pub use partition::{AckOutcome, Acquisition, RecordView, SharePartition};
pub use snapshot::{ShareSnapshot, SnapshotError, StateDelta, StateRange};
pub use start::{OffsetReset, OffsetResetParseError};
pub use types::{
    AckError, AckRange, AckType, AcquireMode, AcquiredRange, DurableState, LogBatch, MemberId, RecordState, ResetError, ShareStats,
};
