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
//!
//! Files in a partition directory:
//! - `{base:020}.log`: whole batches, base offsets rewritten on append;
//! - `{base:020}.index`: sparse `(relative offset u32, position u32)` entries, one per
//!   `index_interval_bytes`, memory-mapped; preallocated with real blocks (fallocate) while
//!   active, so a full disk is an error and never a SIGBUS, trimmed when sealed;
//! - `{base:020}.timeindex`: `(max timestamp i64, relative offset u32)` entries, added when the
//!   max timestamp grew, plus a final one when the segment is sealed;
//! - `{offset:020}.snapshot`: idempotent-producer state for all batches below `offset`
//!   (written at each roll and on close);
//! - `log-start-offset-checkpoint`: the log start offset set by DeleteRecords, written before
//!   it is answered (see `log_start`); the start is the higher of it and the first segment;
//! - `clean_shutdown`: written by `close()`, removed by `open()`. Without it the active
//!   segment is scanned (header + CRC) and truncated at the first torn or corrupt batch.
//!
//! Modules: `segment` (one segment's files, scans), `index`/`time_index` over `index_file`
//! (mmap storage), `producer_state`, `durability` (group commit, poisoning), `recovery`
//! (open), `records` (streaming, bounded record decoding), `validate` (Kafka's produce checks),
//! `partition` (the public log).

pub mod batch;
mod config;
mod durability;
mod error;
mod index;
mod index_file;
mod log_dir;
mod log_start;
mod partition;
mod producer_state;
mod records;
mod recovery;
mod segment;
mod time_index;
mod validate;

pub use config::{DEFAULT_MAX_UNCOMPRESSED_BATCH_BYTES, FlushMode, LogConfig};
pub use error::LogError;
pub use log_dir::LogDirHealth;
pub use partition::{AppendInfo, PartitionLog, ReadResult, TimestampOffset};
