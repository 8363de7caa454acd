//! Hand-written codecs for the KIP-932 share-group data-plane APIs ShareFetch (78) and
//! ShareAcknowledge (79), versions 1 and 2.
//!
//! The `kafka-protocol` crate (0.18, Apache Kafka 4.1 schemas) generates these messages only up
//! to version 1; Kafka 4.2+ clients also speak version 2 (KIP-1206 `ShareAcquireMode`, KIP-1222
//! renew acknowledgements). Both APIs are flexible in every version: compact strings, arrays
//! and bytes (unsigned-varint length + 1, 0 = null) and a tagged-field section after every
//! struct. None of the fields of these schemas is tagged, so every tagged field is unknown and
//! skipped on decode, and encoders write empty tagged-field sections.
//!
//! The crate's primitive codecs (`protocol::types::*`) sit behind a crate-private trait and
//! cannot be called from here, so the few primitives needed (unsigned varints, compact strings,
//! array lengths, tagged fields) are written in this module; zero-copy slicing uses the
//! crate's public [`ByteBuf`] and strings are the crate's [`StrBytes`].
//!
//! Decoding treats input as untrusted: every read is bounds-checked, array lengths are checked
//! against the remaining bytes before anything is allocated, and malformed input yields a
//! [`ShareCodecError`], never a panic. Decoders stop at the end of the message and leave any
//! trailing bytes in the buffer (as the Java broker does, which ignores them).
//!
//! The message types live in [`crate::share_fetch`] and [`crate::share_acknowledge`]; this
//! module holds the pieces they share.

#![warn(missing_docs)]

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::protocol::buf::ByteBuf;
use uuid::Uuid;

/// Lowest version of ShareFetch and ShareAcknowledge handled here (v0 was early access in
/// Kafka 4.0 and removed in 4.1).
pub const SHARE_MIN_VERSION: i16 = 1;
/// Highest version of ShareFetch and ShareAcknowledge handled here (Kafka 4.2 through trunk).
pub const SHARE_MAX_VERSION: i16 = 2;

/// Why a ShareFetch / ShareAcknowledge message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareCodecError {
    /// The version is outside `1..=2`.
    #[error("{message} version {version} is not supported (supported: 1..=2)")]
    UnsupportedVersion {
        /// Message name, e.g. `ShareFetchRequest`.
        message: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// The input ended in the middle of a field.
    #[error("truncated input reading {field}: {needed} bytes needed, {remaining} remaining")]
    Truncated {
        /// Field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// An unsigned varint is longer than 5 bytes or does not fit 32 bits.
    #[error("malformed unsigned varint in {field}")]
    MalformedVarint {
        /// Field being read.
        field: &'static str,
    },
    /// A non-nullable string, array or bytes field was encoded as null.
    #[error("non-nullable field {field} was null")]
    UnexpectedNull {
        /// Field being read.
        field: &'static str,
    },
    /// An array claims more elements than the remaining input can possibly hold.
    #[error("array {field} claims {len} elements of at least {min_element_size} bytes, only {remaining} bytes remain")]
    ImplausibleArrayLength {
        /// Field being read.
        field: &'static str,
        /// Claimed element count.
        len: u64,
        /// Smallest possible encoding of one element.
        min_element_size: usize,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// A string is longer than the protocol's 32767-byte limit.
    #[error("string {field} has invalid length {len} (max 32767)")]
    StringTooLong {
        /// Field being read or written.
        field: &'static str,
        /// The length found.
        len: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// Field being read.
        field: &'static str,
    },
    /// A field that does not exist in the version being encoded holds a non-default value and
    /// is not ignorable (Java throws `UnsupportedVersionException` in the same case).
    #[error("{field} cannot be encoded at version {version} (it exists from version 2)")]
    FieldNotInVersion {
        /// The field.
        field: &'static str,
        /// The version being encoded.
        version: i16,
    },
    /// An array, bytes field or the whole frame is too large for the wire format.
    #[error("{field} is too large to encode ({len})")]
    TooLarge {
        /// The field (or `frame`).
        field: &'static str,
        /// Its length (elements or bytes).
        len: usize,
    },
}

/// A range of offsets to acknowledge, used by ShareFetch and ShareAcknowledge requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AcknowledgementBatch {
    /// First offset of the batch.
    pub first_offset: i64,
    /// Last offset of the batch (inclusive).
    pub last_offset: i64,
    /// Acknowledge types: 0 Gap, 1 Accept, 2 Release, 3 Reject, 4 Renew (v2 with `IsRenewAck`).
    /// One entry applies to the whole range, otherwise one entry per offset. Not validated here.
    pub acknowledge_types: Vec<i8>,
}

/// The current leader of a partition, answered with `NOT_LEADER_OR_FOLLOWER` /
/// `FENCED_LEADER_EPOCH`. The schema default is 0 / 0; "unknown" is -1 / -1 by convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaderIdAndEpoch {
    /// Broker id of the leader, or -1 if unknown.
    pub leader_id: i32,
    /// Latest known leader epoch.
    pub leader_epoch: i32,
}

/// Endpoint of a broker named as leader in a response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeEndpoint {
    /// Broker id.
    pub node_id: i32,
    /// Host name.
    pub host: StrBytes,
    /// Port.
    pub port: i32,
    /// Rack, if any.
    pub rack: Option<StrBytes>,
}

// ---------------------------------------------------------------------------------------------
// Minimum encoded sizes, used to reject implausible array lengths before allocating.

/// Tagged-field section: one varint count.
pub(crate) const TAGS_MIN: usize = 1;
/// A compact array: one varint length.
pub(crate) const ARRAY_MIN: usize = 1;
/// `AcknowledgementBatch`: two int64, an array, tags.
pub(crate) const ACK_BATCH_MIN: usize = 8 + 8 + ARRAY_MIN + TAGS_MIN;
/// `LeaderIdAndEpoch`: two int32, tags.
pub(crate) const LEADER_MIN: usize = 4 + 4 + TAGS_MIN;
/// `NodeEndpoint`: int32, string, int32, nullable string, tags.
pub(crate) const NODE_ENDPOINT_MIN: usize = 4 + 1 + 4 + 1 + TAGS_MIN;
/// A topic entry: uuid, partition array, tags.
pub(crate) const TOPIC_MIN: usize = 16 + ARRAY_MIN + TAGS_MIN;
/// A request partition with acknowledgements (`FetchPartition`, `AcknowledgePartition`):
/// int32, array, tags.
pub(crate) const ACK_PARTITION_MIN: usize = 4 + ARRAY_MIN + TAGS_MIN;

// ---------------------------------------------------------------------------------------------
// Decoding primitives over an untrusted `Bytes` buffer.

pub(crate) type Result<T> = std::result::Result<T, ShareCodecError>;

/// Fails unless `version` is 1 or 2.
pub(crate) fn check_version(message: &'static str, version: i16) -> Result<()> {
    if (SHARE_MIN_VERSION..=SHARE_MAX_VERSION).contains(&version) {
        Ok(())
    } else {
        Err(ShareCodecError::UnsupportedVersion { message, version })
    }
}

fn need(buf: &Bytes, n: usize, field: &'static str) -> Result<()> {
    if buf.remaining() < n {
        Err(ShareCodecError::Truncated {
            field,
            needed: n,
            remaining: buf.remaining(),
        })
    } else {
        Ok(())
    }
}

pub(crate) fn get_i8(buf: &mut Bytes, field: &'static str) -> Result<i8> {
    need(buf, 1, field)?;
    Ok(buf.get_i8())
}

pub(crate) fn get_bool(buf: &mut Bytes, field: &'static str) -> Result<bool> {
    Ok(get_i8(buf, field)? != 0)
}

pub(crate) fn get_i16(buf: &mut Bytes, field: &'static str) -> Result<i16> {
    need(buf, 2, field)?;
    Ok(buf.get_i16())
}

pub(crate) fn get_i32(buf: &mut Bytes, field: &'static str) -> Result<i32> {
    need(buf, 4, field)?;
    Ok(buf.get_i32())
}

pub(crate) fn get_i64(buf: &mut Bytes, field: &'static str) -> Result<i64> {
    need(buf, 8, field)?;
    Ok(buf.get_i64())
}

pub(crate) fn get_uuid(buf: &mut Bytes, field: &'static str) -> Result<Uuid> {
    need(buf, 16, field)?;
    let mut raw = [0u8; 16];
    buf.copy_to_slice(&mut raw);
    Ok(Uuid::from_bytes(raw))
}

/// Reads an unsigned varint of at most 5 bytes whose value fits 32 bits.
pub(crate) fn get_uvarint(buf: &mut Bytes, field: &'static str) -> Result<u32> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let b = get_i8(buf, field)? as u8;
        if i == 4 && b > 0x0f {
            return Err(ShareCodecError::MalformedVarint { field });
        }
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ShareCodecError::MalformedVarint { field })
}

/// Takes `len` bytes as a zero-copy slice of `buf`.
pub(crate) fn get_slice(buf: &mut Bytes, len: usize, field: &'static str) -> Result<Bytes> {
    let remaining = buf.remaining();
    buf.try_get_bytes(len).map_err(|_| ShareCodecError::Truncated {
        field,
        needed: len,
        remaining,
    })
}

/// Reads a compact nullable string (length ≤ 32767, UTF-8).
pub(crate) fn get_nullable_string(buf: &mut Bytes, field: &'static str) -> Result<Option<StrBytes>> {
    let n = get_uvarint(buf, field)?;
    if n == 0 {
        return Ok(None);
    }
    let len = (n - 1) as usize;
    if len > i16::MAX as usize {
        return Err(ShareCodecError::StringTooLong { field, len });
    }
    let raw = get_slice(buf, len, field)?;
    StrBytes::from_utf8(raw)
        .map(Some)
        .map_err(|_| ShareCodecError::InvalidUtf8 { field })
}

/// Reads a compact non-nullable string.
pub(crate) fn get_string(buf: &mut Bytes, field: &'static str) -> Result<StrBytes> {
    get_nullable_string(buf, field)?.ok_or(ShareCodecError::UnexpectedNull { field })
}

/// Reads compact non-nullable bytes as a zero-copy slice.
pub(crate) fn get_bytes(buf: &mut Bytes, field: &'static str) -> Result<Bytes> {
    let n = get_uvarint(buf, field)?;
    if n == 0 {
        return Err(ShareCodecError::UnexpectedNull { field });
    }
    get_slice(buf, (n - 1) as usize, field)
}

/// Reads the length of a compact non-nullable array whose elements take at least
/// `min_element_size` bytes each, and checks that many elements can fit in what remains.
pub(crate) fn get_array_len(buf: &mut Bytes, field: &'static str, min_element_size: usize) -> Result<usize> {
    let n = get_uvarint(buf, field)?;
    if n == 0 {
        return Err(ShareCodecError::UnexpectedNull { field });
    }
    let len = u64::from(n - 1);
    let remaining = buf.remaining();
    if len.saturating_mul(min_element_size as u64) > remaining as u64 {
        return Err(ShareCodecError::ImplausibleArrayLength {
            field,
            len,
            min_element_size,
            remaining,
        });
    }
    // `len * min_element_size <= remaining` and min_element_size >= 1, so this fits usize.
    Ok(len as usize)
}

/// Reads a compact non-nullable array, decoding each element with `element`.
pub(crate) fn get_array<T>(
    buf: &mut Bytes,
    field: &'static str,
    min_element_size: usize,
    mut element: impl FnMut(&mut Bytes) -> Result<T>,
) -> Result<Vec<T>> {
    let len = get_array_len(buf, field, min_element_size)?;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push(element(buf)?);
    }
    Ok(out)
}

/// Skips a tagged-field section. These schemas define no tagged fields, so all are unknown.
pub(crate) fn skip_tagged_fields(buf: &mut Bytes, field: &'static str) -> Result<()> {
    let count = get_uvarint(buf, field)?;
    // Each tagged field takes at least two bytes (tag, size), so the loop is bounded by the
    // input length: every iteration consumes bytes or fails.
    for _ in 0..count {
        let _tag = get_uvarint(buf, field)?;
        let size = get_uvarint(buf, field)? as usize;
        need(buf, size, field)?;
        buf.advance(size);
    }
    Ok(())
}

pub(crate) fn get_ack_batch(buf: &mut Bytes) -> Result<AcknowledgementBatch> {
    let first_offset = get_i64(buf, "AcknowledgementBatches.FirstOffset")?;
    let last_offset = get_i64(buf, "AcknowledgementBatches.LastOffset")?;
    let acknowledge_types = get_array(buf, "AcknowledgementBatches.AcknowledgeTypes", 1, |b| {
        get_i8(b, "AcknowledgementBatches.AcknowledgeTypes")
    })?;
    skip_tagged_fields(buf, "AcknowledgementBatches tagged fields")?;
    Ok(AcknowledgementBatch {
        first_offset,
        last_offset,
        acknowledge_types,
    })
}

/// Reads a request partition with acknowledgements (`FetchPartition`, `AcknowledgePartition`,
/// the same layout in both schemas): its index and acknowledgement batches.
pub(crate) fn get_ack_partition(buf: &mut Bytes) -> Result<(i32, Vec<AcknowledgementBatch>)> {
    let partition_index = get_i32(buf, "Partitions.PartitionIndex")?;
    let batches = get_array(buf, "Partitions.AcknowledgementBatches", ACK_BATCH_MIN, get_ack_batch)?;
    skip_tagged_fields(buf, "Partitions tagged fields")?;
    Ok((partition_index, batches))
}

/// Field names, for errors, of a topic array entry. The entry layout (topic id, partition
/// array, tags) is shared by both schemas' request `Topics` and response `Responses`.
pub(crate) struct TopicFields {
    /// The topic id.
    pub(crate) topic_id: &'static str,
    /// The partition array.
    pub(crate) partitions: &'static str,
    /// The entry's tagged fields.
    pub(crate) tags: &'static str,
}

/// A request's `Topics`.
pub(crate) const REQUEST_TOPICS: TopicFields = TopicFields {
    topic_id: "Topics.TopicId",
    partitions: "Topics.Partitions",
    tags: "Topics tagged fields",
};

/// A response's `Responses`.
pub(crate) const RESPONSE_TOPICS: TopicFields = TopicFields {
    topic_id: "Responses.TopicId",
    partitions: "Responses.Partitions",
    tags: "Responses tagged fields",
};

/// Reads the topic array `field`: per entry a topic id, a partition array whose elements
/// `partition` reads (each at least `partition_min` bytes) and tags, made into a `T` by `topic`.
pub(crate) fn get_topics<T, P>(
    buf: &mut Bytes,
    field: &'static str,
    names: &TopicFields,
    partition_min: usize,
    mut partition: impl FnMut(&mut Bytes) -> Result<P>,
    topic: impl Fn(Uuid, Vec<P>) -> T,
) -> Result<Vec<T>> {
    get_array(buf, field, TOPIC_MIN, |buf| {
        let topic_id = get_uuid(buf, names.topic_id)?;
        let partitions = get_array(buf, names.partitions, partition_min, &mut partition)?;
        skip_tagged_fields(buf, names.tags)?;
        Ok(topic(topic_id, partitions))
    })
}

pub(crate) fn get_leader(buf: &mut Bytes) -> Result<LeaderIdAndEpoch> {
    let leader_id = get_i32(buf, "CurrentLeader.LeaderId")?;
    let leader_epoch = get_i32(buf, "CurrentLeader.LeaderEpoch")?;
    skip_tagged_fields(buf, "CurrentLeader tagged fields")?;
    Ok(LeaderIdAndEpoch { leader_id, leader_epoch })
}

pub(crate) fn get_node_endpoint(buf: &mut Bytes) -> Result<NodeEndpoint> {
    let node_id = get_i32(buf, "NodeEndpoints.NodeId")?;
    let host = get_string(buf, "NodeEndpoints.Host")?;
    let port = get_i32(buf, "NodeEndpoints.Port")?;
    let rack = get_nullable_string(buf, "NodeEndpoints.Rack")?;
    skip_tagged_fields(buf, "NodeEndpoints tagged fields")?;
    Ok(NodeEndpoint { node_id, host, port, rack })
}

// ---------------------------------------------------------------------------------------------
// Encoding primitives.

pub(crate) fn put_uvarint(buf: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// Writes a compact length prefix (`len + 1`); `len` must stay within Java's `int` range.
pub(crate) fn put_compact_len(buf: &mut BytesMut, len: usize, field: &'static str) -> Result<()> {
    if len >= i32::MAX as usize {
        return Err(ShareCodecError::TooLarge { field, len });
    }
    put_uvarint(buf, len as u32 + 1);
    Ok(())
}

pub(crate) fn put_nullable_string(buf: &mut BytesMut, value: Option<&str>, field: &'static str) -> Result<()> {
    match value {
        None => {
            buf.put_u8(0);
            Ok(())
        }
        Some(s) => {
            if s.len() > i16::MAX as usize {
                return Err(ShareCodecError::StringTooLong { field, len: s.len() });
            }
            put_uvarint(buf, s.len() as u32 + 1);
            buf.put_slice(s.as_bytes());
            Ok(())
        }
    }
}

pub(crate) fn put_string(buf: &mut BytesMut, value: &str, field: &'static str) -> Result<()> {
    put_nullable_string(buf, Some(value), field)
}

/// Writes an empty tagged-field section.
pub(crate) fn put_no_tags(buf: &mut BytesMut) {
    buf.put_u8(0);
}

pub(crate) fn put_ack_batches(buf: &mut BytesMut, batches: &[AcknowledgementBatch]) -> Result<()> {
    put_compact_len(buf, batches.len(), "AcknowledgementBatches")?;
    for b in batches {
        buf.put_i64(b.first_offset);
        buf.put_i64(b.last_offset);
        put_compact_len(buf, b.acknowledge_types.len(), "AcknowledgementBatches.AcknowledgeTypes")?;
        for &t in &b.acknowledge_types {
            buf.put_i8(t);
        }
        put_no_tags(buf);
    }
    Ok(())
}

/// Writes a request partition with acknowledgements (see [`get_ack_partition`]).
pub(crate) fn put_ack_partition(buf: &mut BytesMut, partition_index: i32, batches: &[AcknowledgementBatch]) -> Result<()> {
    buf.put_i32(partition_index);
    put_ack_batches(buf, batches)?;
    put_no_tags(buf);
    Ok(())
}

/// Writes the topic array `field` (see [`get_topics`]): `split` gives an entry's topic id and
/// partitions, `partition` writes one partition.
pub(crate) fn put_topics<'a, T, P: 'a>(
    buf: &mut BytesMut,
    field: &'static str,
    names: &TopicFields,
    topics: &'a [T],
    split: impl Fn(&'a T) -> (Uuid, &'a [P]),
    mut partition: impl FnMut(&mut BytesMut, &'a P) -> Result<()>,
) -> Result<()> {
    put_compact_len(buf, topics.len(), field)?;
    for t in topics {
        let (topic_id, partitions) = split(t);
        buf.put_slice(topic_id.as_bytes());
        put_compact_len(buf, partitions.len(), names.partitions)?;
        for p in partitions {
            partition(buf, p)?;
        }
        put_no_tags(buf);
    }
    Ok(())
}

pub(crate) fn put_leader(buf: &mut BytesMut, leader: &LeaderIdAndEpoch) {
    buf.put_i32(leader.leader_id);
    buf.put_i32(leader.leader_epoch);
    put_no_tags(buf);
}

pub(crate) fn put_node_endpoints(buf: &mut BytesMut, nodes: &[NodeEndpoint]) -> Result<()> {
    put_compact_len(buf, nodes.len(), "NodeEndpoints")?;
    for n in nodes {
        buf.put_i32(n.node_id);
        put_string(buf, &n.host, "NodeEndpoints.Host")?;
        buf.put_i32(n.port);
        put_nullable_string(buf, n.rack.as_deref(), "NodeEndpoints.Rack")?;
        put_no_tags(buf);
    }
    Ok(())
}

/// Size of the frame prefix written before a response body: 4-byte length, then response
/// header v1 (correlation id + empty tagged fields). All versions of these APIs are flexible.
pub(crate) const FRAME_PREFIX_LEN: usize = 4 + 4 + 1;

/// Writes a placeholder frame prefix (length patched later by [`patch_frame_len`]).
pub(crate) fn put_frame_prefix(buf: &mut BytesMut, correlation_id: i32) {
    buf.put_i32(0);
    buf.put_i32(correlation_id);
    put_no_tags(buf);
}

/// Sets the 4-byte length at the start of `buf` for a frame of `total_len` bytes (prefix
/// included).
pub(crate) fn patch_frame_len(buf: &mut BytesMut, total_len: usize) -> Result<()> {
    let len = total_len - 4;
    let len = i32::try_from(len).map_err(|_| ShareCodecError::TooLarge { field: "frame", len })?;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: u32) -> Bytes {
        let mut b = BytesMut::new();
        put_uvarint(&mut b, v);
        b.freeze()
    }

    #[test]
    fn uvarint_round_trips_edges() {
        for v in [
            0,
            1,
            0x7f,
            0x80,
            0x3fff,
            0x4000,
            0x1f_ffff,
            0x20_0000,
            0xfff_ffff,
            0x1000_0000,
            u32::MAX,
        ] {
            let mut b = enc(v);
            assert_eq!(get_uvarint(&mut b, "x"), Ok(v));
            assert!(b.is_empty());
        }
    }

    #[test]
    fn uvarint_rejects_overlong_and_overflow() {
        let mut six = Bytes::from_static(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
        assert_eq!(get_uvarint(&mut six, "x"), Err(ShareCodecError::MalformedVarint { field: "x" }));
        let mut overflow = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x1f]);
        assert_eq!(
            get_uvarint(&mut overflow, "x"),
            Err(ShareCodecError::MalformedVarint { field: "x" })
        );
        let mut truncated = Bytes::from_static(&[0x80]);
        assert!(matches!(get_uvarint(&mut truncated, "x"), Err(ShareCodecError::Truncated { .. })));
    }

    #[test]
    fn array_length_is_checked_against_remaining_bytes() {
        // 3 elements of at least 4 bytes need 12 bytes; 11 remain.
        let mut b = Bytes::from(vec![4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(
            get_array_len(&mut b, "a", 4),
            Err(ShareCodecError::ImplausibleArrayLength { len: 3, remaining: 11, .. })
        ));
        let mut ok = Bytes::from(vec![4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(get_array_len(&mut ok, "a", 4), Ok(3));
        let mut null = Bytes::from_static(&[0]);
        assert_eq!(
            get_array_len(&mut null, "a", 4),
            Err(ShareCodecError::UnexpectedNull { field: "a" })
        );
    }

    #[test]
    fn strings_enforce_length_limit_and_utf8() {
        let mut b = BytesMut::new();
        put_uvarint(&mut b, 0x8000 + 1);
        b.put_bytes(b'a', 0x8000);
        assert!(matches!(
            get_nullable_string(&mut b.freeze(), "s"),
            Err(ShareCodecError::StringTooLong { len: 0x8000, .. })
        ));
        let mut bad = Bytes::from_static(&[3, 0xc3, 0x28]);
        assert_eq!(get_nullable_string(&mut bad, "s"), Err(ShareCodecError::InvalidUtf8 { field: "s" }));
        let long = "a".repeat(0x8000);
        assert!(put_string(&mut BytesMut::new(), &long, "s").is_err());
    }

    #[test]
    fn tagged_fields_are_skipped_and_bounded() {
        // two tagged fields: tag 0 size 2, tag 7 size 0; then a trailing byte.
        let mut b = Bytes::from_static(&[2, 0, 2, 0xaa, 0xbb, 7, 0, 0x42]);
        skip_tagged_fields(&mut b, "t").expect("skip");
        assert_eq!(&b[..], &[0x42]);
        // claims u32::MAX-ish tagged fields with no bytes behind them
        let mut huge = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(skip_tagged_fields(&mut huge, "t"), Err(ShareCodecError::Truncated { .. })));
        // a tagged field larger than the rest of the input
        let mut big = Bytes::from_static(&[1, 0, 0x7f, 1, 2]);
        assert!(matches!(skip_tagged_fields(&mut big, "t"), Err(ShareCodecError::Truncated { .. })));
    }

    #[test]
    fn version_range() {
        assert!(check_version("M", 0).is_err());
        assert!(check_version("M", 1).is_ok());
        assert!(check_version("M", 2).is_ok());
        assert!(check_version("M", 3).is_err());
        assert!(check_version("M", -1).is_err());
    }
}
