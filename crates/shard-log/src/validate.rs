//! Produce validation: the checks Kafka makes before appending a client's records
//! (`ProduceRequest.validateRecords`, `UnifiedLog.analyzeAndValidateRecords` and `LogValidator`),
//! with the same error codes, in the same order:
//!
//! 1. batch framing (`ByteBufferLogInputStream`): a length below 14 or a magic outside 0..=2 is
//!    CORRUPT_MESSAGE; no whole batch, magic other than 2, or more than one batch is
//!    INVALID_RECORD; bytes after the one whole batch are ignored (Kafka trims them);
//! 2. base offset 0 (INVALID_RECORD), size within `max.message.bytes` (MESSAGE_TOO_LARGE),
//!    header size and CRC-32C (CORRUPT_MESSAGE);
//! 3. `validateBatch`: `lastOffsetDelta + 1 > 0`, `recordCount > 0` and equal to it, no control
//!    batch, an idempotent batch has a sequence (INVALID_RECORD);
//! 4. every record (decompressed, streaming, at most `message.max.uncompressed.bytes`):
//!    lengths consistent with the batch, no bytes left after `recordCount` records
//!    (INVALID_RECORD), and the record's offset delta equal to its position (Shard stores batches
//!    as produced, so it cannot rewrite inner offsets as Kafka does for compressed batches; these
//!    come back as record errors);
//! 5. `validateTimestamp`: each record's timestamp (unless -1) within
//!    `message.timestamp.before.max.ms` / `after.max.ms` of the broker's clock; a producer may not
//!    set LogAppendTime (INVALID_TIMESTAMP, as record errors).

use crate::LogError;
use crate::batch::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use crate::records;

/// Smallest batch length field Kafka's batch iterator accepts (the v0 record overhead).
const MIN_LENGTH_FIELD: i32 = 14;
/// Bytes up to and including the magic byte.
const HEADER_SIZE_UP_TO_MAGIC: usize = 17;
/// A record without a timestamp.
const NO_TIMESTAMP: i64 = -1;
/// Record errors kept for the response (Kafka keeps all; one per record of a large batch would
/// make the response far larger than the request).
const MAX_RECORD_ERRORS: usize = 100;

/// Limits that apply to produced records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// `max.message.bytes`: largest batch, log overhead included.
    pub(crate) max_message_bytes: u32,
    /// `message.max.uncompressed.bytes`: most bytes one batch's records may decompress to.
    pub(crate) max_uncompressed_bytes: u64,
    /// The broker's clock, for timestamp checks.
    pub(crate) now_ms: i64,
    /// `message.timestamp.before.max.ms`.
    pub(crate) timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`.
    pub(crate) timestamp_after_max_ms: i64,
}

/// Kafka's `nextBatchSize`: the size of the batch at the start of `buf`, `None` when `buf` does
/// not hold a whole one.
fn next_batch_size(buf: &[u8]) -> Result<Option<usize>, LogError> {
    if buf.len() < LOG_OVERHEAD {
        return Ok(None);
    }
    let length = batch::be_i32(buf, 8);
    if length < MIN_LENGTH_FIELD {
        return Err(LogError::Corrupt(format!(
            "Record size {length} is less than the minimum record overhead ({MIN_LENGTH_FIELD})"
        )));
    }
    if buf.len() < HEADER_SIZE_UP_TO_MAGIC {
        return Ok(None);
    }
    let magic = buf[16] as i8;
    if !(0..=2).contains(&magic) {
        return Err(LogError::Corrupt(format!("Invalid magic found in record: {magic}")));
    }
    let total = length as usize + LOG_OVERHEAD;
    Ok((buf.len() >= total).then_some(total))
}

/// Validates the records of one partition of a produce request. Returns the header of the one
/// batch and its length (`records[..len]` is what gets appended).
pub(crate) fn validate_produce(records: &[u8], limits: Limits) -> Result<(BatchHeader, usize), LogError> {
    let Some(total) = next_batch_size(records)? else {
        return Err(LogError::InvalidRecord(
            "Produce requests must have at least one record batch per partition".into(),
        ));
    };
    if records[16] != 2 {
        return Err(LogError::InvalidRecord(
            "Produce requests are only allowed to contain record batches with magic version 2".into(),
        ));
    }
    if next_batch_size(&records[total..])?.is_some() {
        return Err(LogError::InvalidRecord(
            "Produce requests are only allowed to contain exactly one record batch per partition".into(),
        ));
    }
    let batch = &records[..total];
    let base_offset = batch::be_i64(batch, 0);
    if base_offset != 0 {
        return Err(LogError::InvalidRecord(format!(
            "The baseOffset of the record batch should be 0, but it is {base_offset}"
        )));
    }
    if total > limits.max_message_bytes as usize {
        return Err(LogError::TooLarge {
            size: total,
            max: limits.max_message_bytes,
        });
    }
    if total < HEADER_LEN {
        return Err(LogError::Corrupt(format!(
            "Record batch is corrupt (the size {total} is smaller than the minimum allowed overhead {HEADER_LEN})"
        )));
    }
    let header = batch::parse_header(batch)?;
    batch::check_crc(batch, &header)?;
    validate_batch(&header)?;
    validate_records(batch, &header, limits)?;
    Ok((header, total))
}

/// Kafka's `LogValidator.validateBatch` for a client's v2 batch.
fn validate_batch(h: &BatchHeader) -> Result<(), LogError> {
    let count_from_offsets = i64::from(h.last_offset_delta) + 1;
    if count_from_offsets <= 0 {
        return Err(LogError::InvalidRecord(format!(
            "Batch has an invalid offset range: [0, {}]",
            h.last_offset_delta
        )));
    }
    if h.record_count <= 0 {
        return Err(LogError::InvalidRecord(format!(
            "Invalid reported count for record batch: {}",
            h.record_count
        )));
    }
    if count_from_offsets != i64::from(h.record_count) {
        return Err(LogError::InvalidRecord(format!(
            "Inconsistent batch offset range [0, {}] and count of records {}",
            h.last_offset_delta, h.record_count
        )));
    }
    if h.is_control() {
        return Err(LogError::InvalidRecord("Clients are not allowed to write control records".into()));
    }
    if h.producer_id >= 0 && h.base_sequence < 0 {
        return Err(LogError::InvalidRecord(format!(
            "Invalid sequence number {} in record batch with producerId {}",
            h.base_sequence, h.producer_id
        )));
    }
    if h.is_transactional() {
        return Err(LogError::Transactional);
    }
    Ok(())
}

/// Walks every record of the batch (decompressing as a stream, never more than
/// `message.max.uncompressed.bytes`) and checks its offset delta and (Kafka's
/// `validateTimestamp`, CreateTime topics) its timestamp.
fn validate_records(batch: &[u8], h: &BatchHeader, limits: Limits) -> Result<(), LogError> {
    let mut errors = Vec::new();
    let mut error_count = 0usize;
    let mut invalid_timestamp = false;
    let now = i128::from(limits.now_ms);
    let (before, after) = (
        i128::from(limits.timestamp_before_max_ms),
        i128::from(limits.timestamp_after_max_ms),
    );
    records::for_each_record(batch, h, limits.max_uncompressed_bytes, |index, record| {
        let mut reject = |message: String| {
            error_count += 1;
            if errors.len() < MAX_RECORD_ERRORS {
                errors.push((index, message));
            }
        };
        if i64::from(record.offset_delta) != i64::from(index) {
            reject(format!(
                "Record offset delta {} is not its position {index} in the batch",
                record.offset_delta
            ));
        }
        // A LogAppendTime batch's records all carry its max timestamp.
        let ts = if h.is_log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp.wrapping_add(record.timestamp_delta)
        };
        if ts != NO_TIMESTAMP {
            let diff = now - i128::from(ts);
            if diff > before || -diff > after {
                invalid_timestamp = true;
                reject(format!(
                    "Timestamp {ts} of message with offset {} is out of range. The timestamp should be within [{}, {}]",
                    record.offset_delta,
                    now - before,
                    now + after
                ));
            }
        } else if h.is_log_append_time() {
            invalid_timestamp = true;
            reject("Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.".into());
        }
        std::ops::ControlFlow::Continue(())
    })?;
    if errors.is_empty() {
        return Ok(());
    }
    let message = if invalid_timestamp {
        "One or more records have been rejected due to invalid timestamp".to_string()
    } else {
        let shown: Vec<String> = errors
            .iter()
            .take(3)
            .map(|(i, m)| format!("RecordError(batchIndex={i}, message='{m}')"))
            .collect();
        format!(
            "One or more records have been rejected due to {error_count} record errors in total, and only \
             showing the first three errors at most: [{}]",
            shown.join(", ")
        )
    };
    Err(LogError::RecordErrors {
        invalid_timestamp,
        message,
        errors,
    })
}

#[cfg(test)]
mod tests;
