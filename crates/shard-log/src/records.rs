//! Record-level decoding: produce validation and the exact record for a timestamp.
//!
//! Records are read as a stream, one at a time, never materialized: a compressed batch goes
//! through a streaming decoder behind a byte budget (`message.max.uncompressed.bytes`), so a
//! compression bomb costs at most that many bytes of decoder output and a small constant of
//! memory (a zstd window or a snappy block is at most the budget too), and is an error past it.
//! We parse the varints ourselves instead of using `RecordBatchDecoder`, which decompresses
//! whole batches into memory and materializes every key and value.

use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;

use crate::LogError;
use crate::batch::{BatchHeader, HEADER_LEN};

/// Buffer between a decoder and the record parser.
const STREAM_BUF: usize = 32 * 1024;
/// Largest zstd window accepted (2^27, zstd's default limit and the largest a Kafka producer uses).
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Smallest zstd window limit (16 MiB): producers declare windows by level, not by content size
/// (level 3 declares 2 MiB even for a small batch), so a small budget must not refuse them.
const ZSTD_WINDOW_LOG_MIN: u32 = 24;

/// The fields of one record the broker looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordInfo {
    /// Timestamp relative to the batch's base timestamp.
    pub(crate) timestamp_delta: i64,
    /// Offset relative to the batch's base offset.
    pub(crate) offset_delta: i32,
}

/// Why a record stream could not be read.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The structure is wrong (Kafka's `InvalidRecordException`).
    Invalid(String),
    /// Decompression produced more than the budget.
    TooLarge,
    /// The compressed data does not decode.
    Decode(io::Error),
}

/// Marker inside an `io::Error`: the decompression budget is used up.
#[derive(Debug)]
struct BudgetExceeded;

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed records exceed the limit")
    }
}

impl std::error::Error for BudgetExceeded {}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        // zstd refuses a frame whose window exceeds `window_log_max` (set from the budget) with
        // this message: that is the budget too.
        if e.get_ref().is_some_and(|inner| inner.is::<BudgetExceeded>()) || e.to_string().contains("Frame requires too much memory") {
            StreamError::TooLarge
        } else {
            StreamError::Decode(e)
        }
    }
}

fn invalid(msg: impl Into<String>) -> StreamError {
    StreamError::Invalid(msg.into())
}

/// Kafka's message for a record or batch that ends before its declared size.
const EOF: &str = "Incorrect declared batch size, premature EOF reached";

/// A record's fields must end within its declared `size`.
fn within(used: usize, size: usize) -> Result<(), StreamError> {
    if used > size {
        Err(invalid("Found invalid record structure"))
    } else {
        Ok(())
    }
}

/// A reader that fails once more than `left` bytes came out of it.
struct Budget<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte past the budget, so reaching it exactly is not an error.
        let want = buf.len().min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::other(BudgetExceeded));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Kafka's snappy: xerial framing (a magic header, then big-endian length-prefixed raw blocks),
/// or one raw block. Each block's decoded length is checked against the budget before it is
/// allocated.
struct SnappyReader<'a> {
    input: &'a [u8],
    framed: bool,
    block: Vec<u8>,
    pos: usize,
    left: u64,
    started: bool,
}

const SNAPPY_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
/// The xerial header: magic plus two version ints.
const SNAPPY_HEADER_LEN: usize = 16;

impl<'a> SnappyReader<'a> {
    fn new(input: &'a [u8], budget: u64) -> Self {
        let framed = input.len() >= SNAPPY_HEADER_LEN && input.starts_with(SNAPPY_MAGIC);
        let input = if framed { &input[SNAPPY_HEADER_LEN..] } else { input };
        Self {
            input,
            framed,
            block: Vec::new(),
            pos: 0,
            left: budget,
            started: false,
        }
    }

    /// Decodes the next block into `self.block`; false at the end of the input.
    fn next_block(&mut self) -> io::Result<bool> {
        let raw = if self.framed {
            if self.input.is_empty() {
                return Ok(false);
            }
            let Some((len, rest)) = self.input.split_first_chunk::<4>() else {
                return Err(io::Error::other("snappy block length truncated"));
            };
            let len = u32::from_be_bytes(*len) as usize;
            let Some(block) = rest.get(..len) else {
                return Err(io::Error::other("snappy block truncated"));
            };
            self.input = &rest[len..];
            block
        } else {
            if self.started {
                return Ok(false);
            }
            std::mem::take(&mut self.input)
        };
        self.started = true;
        let len = snap::raw::decompress_len(raw).map_err(io::Error::other)?;
        if len as u64 > self.left {
            return Err(io::Error::other(BudgetExceeded));
        }
        self.left -= len as u64;
        self.block.clear();
        self.block.resize(len, 0);
        snap::raw::Decoder::new()
            .decompress(raw, &mut self.block)
            .map_err(io::Error::other)?;
        self.pos = 0;
        Ok(true)
    }
}

impl Read for SnappyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.block.len() - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The decompressed records of a batch as a buffered stream of at most `budget` bytes.
fn open_stream<'a>(codec: i16, body: &'a [u8], budget: u64) -> Result<Box<dyn BufRead + 'a>, StreamError> {
    let capacity = STREAM_BUF;
    Ok(match codec {
        0 => Box::new(body), // (for_each_record reads plain slices directly)
        1 => Box::new(BufReader::with_capacity(
            capacity,
            Budget {
                inner: flate2::read::MultiGzDecoder::new(body),
                left: budget,
            },
        )),
        2 => Box::new(BufReader::with_capacity(capacity, SnappyReader::new(body, budget))),
        3 => Box::new(BufReader::with_capacity(
            capacity,
            Budget {
                inner: lz4::Decoder::new(body)?,
                left: budget,
            },
        )),
        4 => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(body)?;
            decoder.window_log_max(budget_log2(budget).clamp(ZSTD_WINDOW_LOG_MIN, ZSTD_WINDOW_LOG_MAX))?;
            Box::new(BufReader::with_capacity(
                capacity,
                Budget {
                    inner: decoder,
                    left: budget,
                },
            ))
        }
        other => return Err(invalid(format!("Unknown compression type id: {other}"))),
    })
}

/// The largest zstd window log whose window fits in `budget` (at least zstd's minimum, 10); the
/// window is decoder memory, so it follows the budget within [2^24, 2^27].
fn budget_log2(budget: u64) -> u32 {
    (63 - budget.max(1).leading_zeros()).max(10)
}

/// Reads records one by one from a stream.
pub(crate) struct RecordParser<R> {
    src: R,
}

impl<R: BufRead> RecordParser<R> {
    pub(crate) fn new(src: R) -> Self {
        Self { src }
    }

    /// One byte, or `None` at the end of the stream.
    fn byte(&mut self) -> Result<Option<u8>, StreamError> {
        let buf = self.src.fill_buf()?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.src.consume(1);
        Ok(Some(b))
    }

    /// Skips `n` bytes; false if the stream ended first.
    fn skip(&mut self, mut n: usize) -> Result<bool, StreamError> {
        while n > 0 {
            let avail = self.src.fill_buf()?.len();
            if avail == 0 {
                return Ok(false);
            }
            let k = avail.min(n);
            self.src.consume(k);
            n -= k;
        }
        Ok(true)
    }

    /// A zigzag varint of at most `max_bytes` bytes; counts the bytes read into `*used`.
    fn varlong(&mut self, max_bytes: usize, used: &mut usize) -> Result<Option<i64>, StreamError> {
        let mut value: u64 = 0;
        for i in 0..max_bytes {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            *used += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(Some(((value >> 1) as i64) ^ -((value & 1) as i64)));
            }
        }
        Err(invalid("Found invalid record structure (varint too long)"))
    }

    /// Reads one record (Kafka's `DefaultRecord.readFrom`), checking that its fields fill
    /// exactly its declared length.
    pub(crate) fn next_record(&mut self) -> Result<RecordInfo, StreamError> {
        let mut n = 0;
        let size = self.varlong(5, &mut n)?.ok_or_else(|| invalid(EOF))?;
        let size = i32::try_from(size).map_err(|_| invalid("Found invalid record structure"))?;
        if size < 0 {
            return Err(invalid(format!("Invalid record size {size}")));
        }
        let size = size as usize;
        let mut used = 0usize;
        // Every field read below must end within the record.
        let check = |used: usize| within(used, size);
        self.byte()?.ok_or_else(|| invalid(EOF))?; // attributes
        used += 1;
        check(used)?;
        let timestamp_delta = self.varlong(10, &mut used)?.ok_or_else(|| invalid(EOF))?;
        check(used)?;
        let offset_delta = self.varint(&mut used)?;
        check(used)?;
        self.field(&mut used, size)?; // key
        self.field(&mut used, size)?; // value
        let headers = self.varint(&mut used)?;
        check(used)?;
        if headers < 0 {
            return Err(invalid(format!("Found invalid number of record headers {headers}")));
        }
        if headers as usize > size - used {
            return Err(invalid(format!(
                "Found invalid number of record headers. {headers} is larger than the remaining size of the buffer"
            )));
        }
        for _ in 0..headers {
            let key_len = self.field(&mut used, size)?;
            if key_len < 0 {
                return Err(invalid(format!("Invalid negative header key size {key_len}")));
            }
            self.field(&mut used, size)?; // header value
        }
        if used != size {
            return Err(invalid(format!(
                "Invalid record size: expected to read {size} bytes in record payload, but instead read {used}"
            )));
        }
        Ok(RecordInfo {
            timestamp_delta,
            offset_delta,
        })
    }

    /// Skips one length-prefixed field (length -1: null) that must end within a record of
    /// `size` bytes; returns its length.
    fn field(&mut self, used: &mut usize, size: usize) -> Result<i32, StreamError> {
        let len = self.varint(used)?;
        within(*used, size)?;
        if len >= 0 {
            *used += len as usize;
            within(*used, size)?;
            if !self.skip(len as usize)? {
                return Err(invalid(EOF));
            }
        }
        Ok(len)
    }

    /// A zigzag varint that must fit an i32; the stream ending first is a premature EOF.
    fn varint(&mut self, used: &mut usize) -> Result<i32, StreamError> {
        let v = self.varlong(5, used)?.ok_or_else(|| invalid(EOF))?;
        i32::try_from(v).map_err(|_| invalid("Found invalid record structure"))
    }

    /// Fails unless the stream is at its end (Kafka's `ensureNoneRemaining`).
    pub(crate) fn expect_end(&mut self) -> Result<(), StreamError> {
        match self.byte()? {
            None => Ok(()),
            Some(_) => Err(invalid("Incorrect declared batch size, records still remaining in file")),
        }
    }
}

/// Reads `count` records, then checks the end, unless `each` breaks first.
fn walk<R: BufRead>(
    mut parser: RecordParser<R>,
    count: i32,
    each: &mut impl FnMut(i32, RecordInfo) -> ControlFlow<()>,
) -> Result<(), StreamError> {
    for index in 0..count.max(0) {
        let record = parser.next_record()?;
        if each(index, record).is_break() {
            return Ok(());
        }
    }
    parser.expect_end()
}

/// Calls `each(index, record)` for every record of `batch` (one whole batch, header `header`),
/// in order, until it breaks; then, if it never broke, checks that nothing follows the
/// declared records. Decompresses at most `max_uncompressed` bytes.
///
/// Errors: INVALID_RECORD for a bad structure or undecodable compressed data,
/// [`LogError::UncompressedTooLarge`] past the budget.
pub(crate) fn for_each_record(
    batch: &[u8],
    header: &BatchHeader,
    max_uncompressed: u64,
    mut each: impl FnMut(i32, RecordInfo) -> ControlFlow<()>,
) -> Result<(), LogError> {
    let mut run = || -> Result<(), StreamError> {
        let body = batch
            .get(HEADER_LEN..header.total_len)
            .ok_or_else(|| invalid("record batch shorter than its header"))?;
        let codec = header.compression_codec();
        if codec == 0 && body.len() as u64 > max_uncompressed {
            return Err(StreamError::TooLarge);
        }
        let count = header.record_count;
        if codec == 0 {
            // The plain slice, monomorphized: the produce hot path.
            walk(RecordParser::new(body), count, &mut each)
        } else {
            walk(RecordParser::new(open_stream(codec, body, max_uncompressed)?), count, &mut each)
        }
    };
    run().map_err(|e| match e {
        StreamError::Invalid(msg) => LogError::InvalidRecord(msg),
        StreamError::TooLarge => LogError::UncompressedTooLarge { limit: max_uncompressed },
        StreamError::Decode(e) => LogError::InvalidRecord(format!("Failed to decompress record stream: {e}")),
    })
}

/// Returns the offset and timestamp of the first record of `batch` (one whole batch with
/// header `header`) at or after offset `min_offset` whose timestamp is >= `target`, or `None`
/// if there is none. Decompresses at most `max_uncompressed` bytes, and only as far as the
/// record found. `min_offset` is the log start offset: records below it were deleted
/// (DeleteRecords) even if their batch is still stored, as Kafka's `findOffsetByTimestamp`
/// skips them.
pub(crate) fn first_record_at_or_after(
    batch: &[u8],
    header: &BatchHeader,
    target: i64,
    min_offset: i64,
    max_uncompressed: u64,
) -> Result<Option<(i64, i64)>, LogError> {
    if header.max_timestamp < target || header.record_count <= 0 || header.last_offset() < min_offset {
        return Ok(None);
    }
    if header.is_log_append_time() {
        // The broker stamped every record with the batch's max timestamp.
        return Ok(Some((header.base_offset.max(min_offset), header.max_timestamp)));
    }
    let mut found = None;
    for_each_record(batch, header, max_uncompressed, |_, r| {
        let ts = header.base_timestamp.wrapping_add(r.timestamp_delta);
        let offset = header.base_offset.wrapping_add(i64::from(r.offset_delta));
        if ts >= target && offset >= min_offset {
            found = Some((offset, ts));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| match e {
        // A stored batch that does not parse (or, written before the limit, decompresses past
        // it) is a storage problem, not a client's mistake: CORRUPT_MESSAGE.
        LogError::InvalidRecord(msg) => LogError::Corrupt(msg),
        LogError::UncompressedTooLarge { limit } => LogError::Corrupt(format!(
            "batch at offset {} decompresses past message.max.uncompressed.bytes {limit}",
            header.base_offset
        )),
        other => other,
    })?;
    Ok(found)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Appends `v` as a zigzag varlong (the record format's encoding), for building test batches.
    pub(crate) fn zigzag(v: i64, out: &mut Vec<u8>) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn parse_varlong(buf: &[u8]) -> Result<Option<i64>, StreamError> {
        let mut used = 0;
        RecordParser::new(buf).varlong(10, &mut used)
    }

    #[test]
    fn varint_roundtrip() {
        for v in [0i64, 1, -1, 63, -64, 64, 300, -300, i32::MAX as i64, i64::MIN, i64::MAX] {
            let mut buf = Vec::new();
            zigzag(v, &mut buf);
            let mut used = 0;
            assert_eq!(RecordParser::new(&buf[..]).varlong(10, &mut used).unwrap(), Some(v));
            assert_eq!(used, buf.len());
        }
    }

    #[test]
    fn truncated_or_long_varint_is_rejected() {
        assert!(matches!(parse_varlong(&[0x80, 0x80]), Ok(None)));
        let mut used = 0;
        assert!(matches!(
            RecordParser::new(&[0x80u8; 6][..]).varlong(5, &mut used),
            Err(StreamError::Invalid(_))
        ));
    }

    #[test]
    fn budget_allows_exactly_the_limit() {
        let data = [7u8; 100];
        let mut exact = Budget {
            inner: &data[..],
            left: 100,
        };
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 100);
        let mut short = Budget {
            inner: &data[..],
            left: 99,
        };
        let e = short.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(StreamError::from(e), StreamError::TooLarge));
    }

    #[test]
    fn zstd_window_log_follows_the_budget() {
        assert_eq!(budget_log2(64 << 20), 26);
        assert_eq!(budget_log2(1), 10);
        assert_eq!(budget_log2(u64::MAX), 63);
    }
}
