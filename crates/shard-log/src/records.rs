//! Record-level decoding, needed only to find the exact record for a timestamp.
//!
//! We parse the few varints we need ourselves instead of using `RecordBatchDecoder`, which
//! reserves capacity from the untrusted `record_count` and materializes every key and value.

use bytes::Bytes;
use kafka_protocol::compression::{Decompressor, Gzip, Lz4, Snappy, Zstd};

use crate::LogError;
use crate::batch::{BatchHeader, HEADER_LEN, MIN_RECORD_LEN};

/// Reads a zigzag varint of at most `max_bytes` bytes at `*pos`.
fn read_varlong(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<i64, LogError> {
    let mut value: u64 = 0;
    for i in 0..max_bytes {
        let Some(&byte) = buf.get(*pos) else {
            return Err(LogError::Corrupt("record varint truncated".into()));
        };
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    Err(LogError::Corrupt("record varint too long".into()))
}

/// Decompresses a batch's records section with the codec in its attributes.
fn decompress(codec: i16, data: Bytes) -> Result<Bytes, LogError> {
    let mut data = data;
    let take = |b: &mut Bytes| Ok(std::mem::take(b));
    let out = match codec {
        0 => Ok(data),
        1 => <Gzip as Decompressor<Bytes>>::decompress(&mut data, take),
        2 => <Snappy as Decompressor<Bytes>>::decompress(&mut data, take),
        3 => <Lz4 as Decompressor<Bytes>>::decompress(&mut data, take),
        4 => <Zstd as Decompressor<Bytes>>::decompress(&mut data, take),
        other => return Err(LogError::Corrupt(format!("unknown compression codec {other}"))),
    };
    out.map_err(|e| LogError::Corrupt(format!("cannot decompress records: {e}")))
}

/// Returns the offset and timestamp of the first record of `batch` (one whole batch with
/// header `header`) whose timestamp is >= `target`, or `None` if there is none.
pub(crate) fn first_record_at_or_after(batch: &[u8], header: &BatchHeader, target: i64) -> Result<Option<(i64, i64)>, LogError> {
    if header.max_timestamp < target || header.record_count <= 0 {
        return Ok(None);
    }
    if header.is_log_append_time() {
        // The broker stamped every record with the batch's max timestamp.
        return Ok(Some((header.base_offset, header.max_timestamp)));
    }
    let body = batch
        .get(HEADER_LEN..header.total_len)
        .ok_or_else(|| LogError::Corrupt("record batch shorter than its header".into()))?;
    let records = decompress(header.compression_codec(), Bytes::copy_from_slice(body))?;
    let count = header.record_count as usize;
    if count.saturating_mul(MIN_RECORD_LEN) > records.len() {
        return Err(LogError::Corrupt(format!(
            "record count {count} does not fit in {} bytes of records",
            records.len()
        )));
    }
    let mut pos = 0;
    for _ in 0..count {
        let len = read_varlong(&records, &mut pos, 5)?;
        let start = pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= records.len())
            .ok_or_else(|| LogError::Corrupt(format!("bad record length {len}")))?;
        pos += 1; // attributes
        let ts_delta = read_varlong(&records[..end], &mut pos, 10)?;
        let offset_delta = read_varlong(&records[..end], &mut pos, 5)?;
        let ts = header.base_timestamp.wrapping_add(ts_delta);
        if ts >= target {
            return Ok(Some((header.base_offset.wrapping_add(offset_delta), ts)));
        }
        pos = end;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zigzag(v: i64, out: &mut Vec<u8>) {
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

    #[test]
    fn varint_roundtrip() {
        for v in [0i64, 1, -1, 63, -64, 64, 300, -300, i32::MAX as i64, i64::MIN, i64::MAX] {
            let mut buf = Vec::new();
            zigzag(v, &mut buf);
            let mut pos = 0;
            assert_eq!(read_varlong(&buf, &mut pos, 10).unwrap(), v);
            assert_eq!(pos, buf.len());
        }
    }

    #[test]
    fn truncated_varint_is_corrupt() {
        let mut pos = 0;
        assert!(read_varlong(&[0x80, 0x80], &mut pos, 10).is_err());
        let mut pos = 0;
        assert!(read_varlong(&[0x80; 6], &mut pos, 5).is_err());
    }
}
