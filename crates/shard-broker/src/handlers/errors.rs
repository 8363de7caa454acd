//! Mapping internal errors to Kafka error codes.

use kafka_protocol::error::ResponseError;
use shard_log::LogError;

use crate::topics::TopicError;

/// The Kafka error code for a log error.
pub fn log_error_code(e: &LogError) -> i16 {
    match e {
        LogError::Corrupt(_) => ResponseError::CorruptMessage,
        LogError::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
        LogError::RecordErrors {
            invalid_timestamp: true, ..
        } => ResponseError::InvalidTimestamp,
        LogError::InvalidRecord(_) | LogError::RecordErrors { .. } => ResponseError::InvalidRecord,
        LogError::TooLarge { .. } | LogError::UncompressedTooLarge { .. } => ResponseError::MessageTooLarge,
        LogError::Transactional => ResponseError::TransactionalIdAuthorizationFailed,
        LogError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
        LogError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::Closed => ResponseError::NotLeaderOrFollower,
        LogError::Poisoned | LogError::LogDirOffline(_) | LogError::Io(_) => ResponseError::KafkaStorageError,
    }
    .code()
}

/// The Kafka error code for a topic error.
pub fn topic_error_code(e: &TopicError) -> i16 {
    match e {
        TopicError::AlreadyExists(_) => ResponseError::TopicAlreadyExists,
        TopicError::InvalidName(_) => ResponseError::InvalidTopicException,
        TopicError::Unknown => ResponseError::UnknownTopicOrPartition,
        TopicError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        TopicError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
        TopicError::InvalidConfig(_) => ResponseError::InvalidConfig,
        TopicError::Reserved(_) => ResponseError::InvalidRequest,
        TopicError::PolicyViolation(_) => ResponseError::PolicyViolation,
        TopicError::Storage(e) => return log_error_code(e),
        TopicError::Io(_) => ResponseError::KafkaStorageError,
    }
    .code()
}
