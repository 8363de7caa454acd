//! The magic v2 record batch header: parsing, validation and base-offset rewriting.
//!
//! Layout (big endian): baseOffset i64 @0, batchLength i32 @8, partitionLeaderEpoch i32 @12,
//! magic i8 @16, crc u32 @17 (CRC-32C of bytes 21..end), attributes i16 @21,
//! lastOffsetDelta i32 @23, baseTimestamp i64 @27, maxTimestamp i64 @35, producerId i64 @43,
//! producerEpoch i16 @51, baseSequence i32 @53, recordCount i32 @57, records @61.

use crate::LogError;

/// Size of the fixed v2 batch header.
pub const HEADER_LEN: usize = 61;
/// Bytes before the batch length field is counted (baseOffset + batchLength).
pub const LOG_OVERHEAD: usize = 12;

/// The fields of a v2 batch header that the broker and the log need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Total size of the batch in bytes, including the 12-byte log overhead.
    pub total_len: usize,
    /// Magic byte (always 2 once validated).
    pub magic: i8,
    /// Attribute bits (compression, timestamp type, transactional, control).
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub record_count: i32,
}

impl BatchHeader {
    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }
    /// Whether this is a control batch (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
    /// Whether this batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
    /// Sequence of the last record (wrapping at i32::MAX as Kafka does), or -1.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        if last > i64::from(i32::MAX) {
            (last - i64::from(i32::MAX) - 1) as i32
        } else {
            last as i32
        }
    }
}

/// Parses the header of the batch at the start of `buf` without checking the CRC.
///
/// Fails with [`LogError::Corrupt`] if `buf` is shorter than the header or the declared length,
/// and with [`LogError::UnsupportedMagic`] for magic other than 2.
pub fn parse_header(buf: &[u8]) -> Result<BatchHeader, LogError> {
    let _ = buf;
    todo!("implemented by the log engine")
}

/// Validates every batch in `buf` (lengths, magic 2, CRC-32C, record count vs. size, offset
/// delta consistent with record count, size limit) and returns their headers in order.
/// `buf` must consist of whole batches only; a trailing partial batch is an error.
pub fn validate_batches(buf: &[u8], max_batch_bytes: u32) -> Result<Vec<BatchHeader>, LogError> {
    let _ = (buf, max_batch_bytes);
    todo!("implemented by the log engine")
}

/// Rewrites the base offset of the batch at the start of `batch` (the CRC does not cover it).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}
