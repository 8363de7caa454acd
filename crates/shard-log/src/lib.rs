//! Shard's log storage engine.
//!
//! One [`PartitionLog`] owns one directory of segment files (`<base offset>.log`, a memory-mapped
//! sparse `.index` and a `.timeindex`), in the layout Kafka uses. Record batches (magic v2) are
//! stored exactly as produced, except that the base offset is rewritten on append (no
//! re-encoding; the CRC does not cover the base offset).
//!
//! Durability is explicit: [`PartitionLog::append`] writes to the OS, and
//! [`PartitionLog::flush_to`] makes a prefix durable with group commit (one fsync serves every
//! waiter it covers). A failed fsync poisons the partition: every later append or flush fails
//! with [`LogError::Poisoned`] instead of acknowledging data the disk may have dropped.

pub mod batch;
mod config;
mod durability;
mod error;
mod index;
mod index_file;
mod partition;
mod producer_state;
mod records;
mod recovery;
mod segment;
mod time_index;

pub use config::{FlushMode, LogConfig};
pub use error::LogError;
pub use partition::{AppendInfo, PartitionLog, ReadResult, TimestampOffset};
