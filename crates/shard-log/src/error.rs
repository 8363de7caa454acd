//! Errors of the log engine. Each maps to one Kafka error code in the broker.

use std::io;

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A batch is malformed: bad length, bad CRC, or a field out of range (CORRUPT_MESSAGE).
    #[error("corrupt record batch: {0}")]
    Corrupt(String),
    /// A produced batch breaks one of the rules of Kafka's `LogValidator` (offset range, record
    /// count, control batch, sequence, record structure, more than one batch) (INVALID_RECORD).
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),
    /// Records of a produced batch were rejected one by one (INVALID_TIMESTAMP when a timestamp
    /// was among the reasons, else INVALID_RECORD; with the record errors and the message in the
    /// produce response, as Kafka's `RecordValidationException`).
    #[error("{message}")]
    RecordErrors {
        /// At least one record's timestamp was refused (INVALID_TIMESTAMP).
        invalid_timestamp: bool,
        /// The summary Kafka puts in the partition's error message.
        message: String,
        /// `(index in the batch, reason)` of the first rejected records.
        errors: Vec<(i32, String)>,
    },
    /// A compressed batch decompresses to more than the limit (MESSAGE_TOO_LARGE).
    #[error("record batch decompresses to more than message.max.uncompressed.bytes {limit}")]
    UncompressedTooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// A produced batch is transactional, which the log does not support
    /// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    #[error("transactions are not supported by Shard")]
    Transactional,
    /// A batch uses a magic other than 2 (UNSUPPORTED_FOR_MESSAGE_FORMAT).
    #[error("unsupported record batch magic {0}")]
    UnsupportedMagic(i8),
    /// A batch is larger than `max.message.bytes` (MESSAGE_TOO_LARGE).
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    TooLarge {
        /// Size of the offending batch.
        size: usize,
        /// The configured limit.
        max: u32,
    },
    /// Idempotent producer sent a sequence that does not follow the last one
    /// (OUT_OF_ORDER_SEQUENCE_NUMBER).
    #[error("out of order sequence for producer {producer_id}: expected {expected}, got {got}")]
    OutOfOrderSequence {
        /// The producer.
        producer_id: i64,
        /// The sequence the log expected next.
        expected: i32,
        /// The first sequence of the rejected batch.
        got: i32,
    },
    /// Idempotent producer used an epoch older than the one the log knows (INVALID_PRODUCER_EPOCH).
    #[error("producer {producer_id} epoch {got} is older than current epoch {current}")]
    InvalidProducerEpoch {
        /// The producer.
        producer_id: i64,
        /// The epoch the log knows.
        current: i16,
        /// The epoch of the rejected batch.
        got: i16,
    },
    /// Fetch or list offsets for an offset outside [log start, log end] (OFFSET_OUT_OF_RANGE).
    #[error("offset {offset} out of range [{start}, {end}]")]
    OffsetOutOfRange {
        /// The requested offset.
        offset: i64,
        /// Log start offset.
        start: i64,
        /// Log end offset.
        end: i64,
    },
    /// An earlier fsync failed; the partition refuses writes (KAFKA_STORAGE_ERROR).
    #[error("partition log is poisoned after a failed fsync")]
    Poisoned,
    /// The log directory is offline after a failed fsync in one of its logs; every partition in
    /// it refuses writes (KAFKA_STORAGE_ERROR), as Kafka takes a failed log dir offline.
    #[error("log directory {0} is offline after a failed fsync")]
    LogDirOffline(String),
    /// The partition was deleted or closed.
    #[error("partition log is closed")]
    Closed,
    /// Any other I/O failure (KAFKA_STORAGE_ERROR).
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}
