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
    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression_codec(&self) -> i16 {
        self.attributes & COMPRESSION_MASK
    }
    /// Whether record timestamps were set by the broker (every record then carries
    /// `max_timestamp`).
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & LOG_APPEND_TIME_FLAG != 0
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

/// Offset of the magic byte.
const MAGIC_OFFSET: usize = 16;
/// Offset of the CRC field; the CRC covers everything after it.
const CRC_OFFSET: usize = 17;
/// First byte covered by the CRC (the attributes field).
const CRC_START: usize = 21;
/// Smallest possible encoded record (length, attributes, timestamp delta, offset delta, key
/// length, value length and header count, one byte each). Bounds `record_count` for
/// uncompressed batches so a forged count can never drive work or allocations.
pub const MIN_RECORD_LEN: usize = 7;
/// Attribute bits holding the compression codec.
pub const COMPRESSION_MASK: i16 = 0x07;
/// Attribute bit set when timestamps are broker append times.
pub const LOG_APPEND_TIME_FLAG: i16 = 0x08;

#[inline]
fn be_i16(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([buf[at], buf[at + 1]])
}

#[inline]
pub(crate) fn be_i32(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

#[inline]
pub(crate) fn be_i64(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_be_bytes(b)
}

/// Parses the fixed header fields from `buf`, which must hold at least [`HEADER_LEN`] bytes.
/// Only the declared length is checked, not that the whole batch is present.
pub(crate) fn parse_header_prefix(buf: &[u8]) -> Result<BatchHeader, LogError> {
    if buf.len() <= MAGIC_OFFSET {
        return Err(LogError::Corrupt(format!(
            "record batch truncated: {} bytes, header needs {HEADER_LEN}",
            buf.len()
        )));
    }
    let magic = buf[MAGIC_OFFSET] as i8;
    if magic != 2 {
        return Err(LogError::UnsupportedMagic(magic));
    }
    if buf.len() < HEADER_LEN {
        return Err(LogError::Corrupt(format!(
            "record batch truncated: {} bytes, header needs {HEADER_LEN}",
            buf.len()
        )));
    }
    let batch_length = be_i32(buf, 8);
    if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(LogError::Corrupt(format!(
            "batch length {batch_length} below the minimum {}",
            HEADER_LEN - LOG_OVERHEAD
        )));
    }
    Ok(BatchHeader {
        base_offset: be_i64(buf, 0),
        total_len: batch_length as usize + LOG_OVERHEAD,
        magic,
        attributes: be_i16(buf, 21),
        last_offset_delta: be_i32(buf, 23),
        base_timestamp: be_i64(buf, 27),
        max_timestamp: be_i64(buf, 35),
        producer_id: be_i64(buf, 43),
        producer_epoch: be_i16(buf, 51),
        base_sequence: be_i32(buf, 53),
        record_count: be_i32(buf, 57),
    })
}

/// Parses the header of the batch at the start of `buf` without checking the CRC.
///
/// Fails with [`LogError::Corrupt`] if `buf` is shorter than the header or the declared length,
/// and with [`LogError::UnsupportedMagic`] for magic other than 2.
pub fn parse_header(buf: &[u8]) -> Result<BatchHeader, LogError> {
    let header = parse_header_prefix(buf)?;
    if header.total_len > buf.len() {
        return Err(LogError::Corrupt(format!(
            "record batch of {} bytes truncated at {} bytes",
            header.total_len,
            buf.len()
        )));
    }
    Ok(header)
}

/// Checks one whole stored batch (`batch` is exactly `header.total_len` bytes): CRC, counts and
/// delta not negative, a known codec, and (uncompressed) a record count that fits the bytes.
/// Crash recovery's check; a client's produce goes through `validate` (Kafka's LogValidator
/// rules), which is stricter.
pub(crate) fn check_batch(batch: &[u8], header: &BatchHeader) -> Result<(), LogError> {
    check_crc(batch, header)?;
    check_counts(batch, header)
}

/// Checks the CRC-32C of one whole batch (`batch` is exactly `header.total_len` bytes).
pub(crate) fn check_crc(batch: &[u8], header: &BatchHeader) -> Result<(), LogError> {
    let stored = u32::from_be_bytes([
        batch[CRC_OFFSET],
        batch[CRC_OFFSET + 1],
        batch[CRC_OFFSET + 2],
        batch[CRC_OFFSET + 3],
    ]);
    let computed = crc32c::crc32c(&batch[CRC_START..header.total_len]);
    if stored != computed {
        return Err(LogError::Corrupt(format!(
            "batch crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    Ok(())
}

/// Header plausibility that recovery relies on: counts, delta, codec, count vs. size.
fn check_counts(_batch: &[u8], header: &BatchHeader) -> Result<(), LogError> {
    if header.record_count < 0 {
        return Err(LogError::Corrupt(format!("negative record count {}", header.record_count)));
    }
    if header.last_offset_delta < 0 {
        return Err(LogError::Corrupt(format!(
            "negative last offset delta {}",
            header.last_offset_delta
        )));
    }
    let codec = header.attributes & COMPRESSION_MASK;
    if codec > 4 {
        return Err(LogError::Corrupt(format!("unknown compression codec {codec}")));
    }
    let records_len = header.total_len - HEADER_LEN;
    if codec == 0 && (header.record_count as usize).saturating_mul(MIN_RECORD_LEN) > records_len {
        return Err(LogError::Corrupt(format!(
            "record count {} does not fit in {records_len} bytes of records",
            header.record_count
        )));
    }
    if codec != 0 && header.record_count > 0 && records_len == 0 {
        return Err(LogError::Corrupt(format!(
            "compressed batch claims {} records but has no payload",
            header.record_count
        )));
    }
    Ok(())
}

/// Checks every stored batch in `buf` (lengths, magic 2, CRC-32C, the plausibility of
/// [`check_batch`], size limit) and returns their headers in order. For data the broker reads
/// back (tests, tools); produce uses `PartitionLog::append_client_records`.
/// `buf` must consist of whole batches only; a trailing partial batch is an error.
pub fn validate_batches(buf: &[u8], max_batch_bytes: u32) -> Result<Vec<BatchHeader>, LogError> {
    let mut headers = Vec::with_capacity(1);
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let header = parse_header(rest)?;
        if header.total_len > max_batch_bytes as usize {
            return Err(LogError::TooLarge {
                size: header.total_len,
                max: max_batch_bytes,
            });
        }
        check_batch(&rest[..header.total_len], &header)?;
        pos += header.total_len;
        headers.push(header);
    }
    Ok(headers)
}

/// Rewrites the base offset of the batch at the start of `batch` (the CRC does not cover it).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v2 batch with `count` minimal records (7 bytes each) and a correct CRC.
    fn batch(count: i32, delta: i32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0i64.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes()); // length, fixed below
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.push(2);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&delta.to_be_bytes());
        b.extend_from_slice(&5i64.to_be_bytes());
        b.extend_from_slice(&9i64.to_be_bytes());
        b.extend_from_slice(&42i64.to_be_bytes());
        b.extend_from_slice(&3i16.to_be_bytes());
        b.extend_from_slice(&7i32.to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        for i in 0..count.max(0) {
            // length 6, attributes, ts delta 0, offset delta i, key -1, value 0, headers 0
            b.extend_from_slice(&[12, 0, 0, (i as u8) << 1, 1, 0, 0]);
        }
        fix(&mut b);
        b
    }

    fn fix(b: &mut [u8]) {
        let len = (b.len() - LOG_OVERHEAD) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
    }

    #[test]
    fn parses_all_header_fields() {
        let b = batch(3, 2);
        let h = parse_header(&b).unwrap();
        assert_eq!(h.total_len, b.len());
        assert_eq!((h.magic, h.last_offset_delta, h.record_count), (2, 2, 3));
        assert_eq!((h.base_timestamp, h.max_timestamp), (5, 9));
        assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (42, 3, 7));
        assert_eq!((h.last_sequence(), h.last_offset()), (9, 2));
        assert!(!h.is_control() && !h.is_transactional() && !h.is_log_append_time());
        assert_eq!(h.compression_codec(), 0);
    }

    #[test]
    fn validates_several_batches() {
        let mut buf = batch(1, 0);
        buf.extend(batch(4, 3));
        let hs = validate_batches(&buf, 1 << 20).unwrap();
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[1].record_count, 4);
        assert!(validate_batches(&[], 100).unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_batches() {
        let good = batch(2, 1);
        // Truncated: header, then body.
        assert!(matches!(validate_batches(&good[..10], 1 << 20), Err(LogError::Corrupt(_))));
        assert!(matches!(validate_batches(&good[..40], 1 << 20), Err(LogError::Corrupt(_))));
        assert!(matches!(
            validate_batches(&good[..good.len() - 1], 1 << 20),
            Err(LogError::Corrupt(_))
        ));
        // Trailing partial batch.
        let mut two = good.clone();
        two.extend_from_slice(&good[..20]);
        assert!(matches!(validate_batches(&two, 1 << 20), Err(LogError::Corrupt(_))));
        // Bad CRC.
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(validate_batches(&bad, 1 << 20), Err(LogError::Corrupt(_))));
        // Magic 1.
        let mut old = good.clone();
        old[16] = 1;
        assert!(matches!(validate_batches(&old, 1 << 20), Err(LogError::UnsupportedMagic(1))));
        // Length below the header size.
        let mut short = good.clone();
        short[8..12].copy_from_slice(&48i32.to_be_bytes());
        assert!(matches!(parse_header(&short), Err(LogError::Corrupt(_))));
        let mut neg = good.clone();
        neg[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(parse_header(&neg), Err(LogError::Corrupt(_))));
        // Too large.
        assert!(matches!(
            validate_batches(&good, good.len() as u32 - 1),
            Err(LogError::TooLarge { size, max }) if size == good.len() && max == good.len() as u32 - 1
        ));
    }

    #[test]
    fn rejects_implausible_counts_and_deltas() {
        let mut huge = batch(2, 1);
        huge[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        fix(&mut huge);
        assert!(matches!(validate_batches(&huge, 1 << 20), Err(LogError::Corrupt(_))));
        let mut neg = batch(2, 1);
        neg[57..61].copy_from_slice(&(-1i32).to_be_bytes());
        fix(&mut neg);
        assert!(matches!(validate_batches(&neg, 1 << 20), Err(LogError::Corrupt(_))));
        let bad_delta = batch(2, -1);
        assert!(matches!(validate_batches(&bad_delta, 1 << 20), Err(LogError::Corrupt(_))));
        let mut codec = batch(1, 0);
        codec[22] = 7;
        fix(&mut codec);
        assert!(matches!(validate_batches(&codec, 1 << 20), Err(LogError::Corrupt(_))));
    }

    #[test]
    fn rewrites_base_offset_without_touching_crc() {
        let mut b = batch(1, 0);
        set_base_offset(&mut b, 1234);
        assert_eq!(parse_header(&b).unwrap().base_offset, 1234);
        validate_batches(&b, 1 << 20).unwrap();
        assert_eq!(parse_header(&b).unwrap().total_len, b.len());
    }

    #[test]
    fn last_sequence_wraps() {
        let mut h = parse_header(&batch(3, 2)).unwrap();
        h.base_sequence = i32::MAX - 1;
        assert_eq!(h.last_sequence(), 0);
        h.base_sequence = -1;
        assert_eq!(h.last_sequence(), -1);
    }
}
