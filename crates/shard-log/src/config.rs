//! Per-partition log settings (the effective topic config).

/// How appended data reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMode {
    /// Produce is acknowledged only after an fsync covers it (group commit). Survives power loss.
    Fsync,
    /// Produce is acknowledged once written to the OS page cache (Kafka's default). A background
    /// fsync runs every `interval_ms`; survives `kill -9` of the broker, but a machine crash can
    /// lose up to `interval_ms` of acknowledged data.
    PageCache {
        /// Milliseconds between background fsyncs.
        interval_ms: u64,
    },
}

/// Default of [`LogConfig::max_uncompressed_batch_bytes`]: 64 MiB, 64 times Kafka's default
/// `max.message.bytes`, far above what producers batch (16 KiB `batch.size` in the Java
/// client, 1 MB in librdkafka).
pub const DEFAULT_MAX_UNCOMPRESSED_BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// Settings of one partition log. Topic-level overrides are resolved by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Roll a new segment when the active one would exceed this many bytes (`segment.bytes`).
    pub segment_bytes: u64,
    /// Roll a new segment when the active one is older than this (`segment.ms`).
    pub segment_ms: i64,
    /// Delete segments whose newest record is older than this; -1 = forever (`retention.ms`).
    pub retention_ms: i64,
    /// Delete oldest segments while the log is larger than this; -1 = unbounded (`retention.bytes`).
    pub retention_bytes: i64,
    /// Largest record batch accepted, in bytes (`max.message.bytes`).
    pub max_message_bytes: u32,
    /// Bytes of log between two sparse offset-index entries (`index.interval.bytes`).
    pub index_interval_bytes: u32,
    /// Most bytes one batch's records may decompress to (`message.max.uncompressed.bytes`, a
    /// Shard limit): bounds the work a compressed batch can cause when it is validated or
    /// searched by timestamp.
    pub max_uncompressed_batch_bytes: u64,
    /// A produced record's timestamp may be at most this far in the past
    /// (`message.timestamp.before.max.ms`; Kafka's default, `i64::MAX`, is no limit).
    pub message_timestamp_before_max_ms: i64,
    /// A produced record's timestamp may be at most this far in the future
    /// (`message.timestamp.after.max.ms`; Kafka's default is one hour).
    pub message_timestamp_after_max_ms: i64,
    /// Pre-allocated size of each index file (`segment.index.bytes`).
    pub index_max_bytes: u32,
    /// Durability policy.
    pub flush: FlushMode,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 3600 * 1000,
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            max_message_bytes: 1_048_588,
            index_interval_bytes: 4096,
            max_uncompressed_batch_bytes: DEFAULT_MAX_UNCOMPRESSED_BATCH_BYTES,
            message_timestamp_before_max_ms: i64::MAX,
            message_timestamp_after_max_ms: 3_600_000,
            index_max_bytes: 10 * 1024 * 1024,
            flush: FlushMode::Fsync,
        }
    }
}
