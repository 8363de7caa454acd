//! OffsetCommit (API key 8) versions 2-10 and OffsetFetch (API key 9) versions 1-10.
//!
//! Kafka 4.4 serves OffsetCommit 2-10 and OffsetFetch 1-10. The `kafka-protocol` crate
//! (Kafka 4.1 schemas) encodes and decodes these messages up to version 9 only, although its
//! structs already carry the `topic_id` field that version 10 (KIP-848 topic ids) uses in place
//! of the topic name, and `ApiKey::valid_versions` already claims 10.
//!
//! Why this shape: versions 2-9 go through the crate unchanged, and only version 10 is written
//! here, into and from the crate's own structs (`name` empty and `topic_id` set at v10; `name`
//! set and `topic_id` nil below). So handlers see one type per API at every version and no
//! conversion layer exists; hand-written bytes are limited to the one version the crate lacks.
//! The [`Versioned`] wrapper makes these types `Encodable`/`Decodable` at every version, so the
//! broker's response framing and test clients use them like any crate message.
//!
//! Version 10 layouts (flexible: compact strings and arrays, tagged fields after every struct;
//! none of these schemas defines a tagged field, so all are skipped on decode):
//! - OffsetCommitRequest: GroupId, GenerationIdOrMemberEpoch int32, MemberId,
//!   GroupInstanceId (nullable), Topics [TopicId uuid, Partitions [PartitionIndex int32,
//!   CommittedOffset int64, CommittedLeaderEpoch int32, CommittedMetadata (nullable)]].
//! - OffsetCommitResponse: ThrottleTimeMs int32, Topics [TopicId uuid, Partitions
//!   [PartitionIndex int32, ErrorCode int16]].
//! - OffsetFetchRequest: Groups [GroupId, MemberId (nullable), MemberEpoch int32, Topics
//!   (nullable: all topics) [TopicId uuid, PartitionIndexes [int32]]], RequireStable bool.
//! - OffsetFetchResponse: ThrottleTimeMs int32, Groups [GroupId, Topics [TopicId uuid,
//!   Partitions [PartitionIndex int32, CommittedOffset int64, CommittedLeaderEpoch int32,
//!   Metadata (nullable), ErrorCode int16]], ErrorCode int16].
//!
//! Decoding is bounded as in the share codecs: every array length is checked against the bytes
//! left before anything is allocated ([`crate::share`]'s `get_array`).

#![warn(missing_docs)]

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics};
use kafka_protocol::messages::offset_fetch_response::{OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse};
use kafka_protocol::protocol::buf::{ByteBuf, ByteBufMut};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::share::{
    ARRAY_MIN, ShareCodecError, TAGS_MIN, get_array, get_bool, get_i16, get_i32, get_i64, get_nullable_string, get_string, get_uuid,
    put_compact_len, put_no_tags, put_nullable_string, put_string, put_uvarint, skip_tagged_fields,
};

/// Lowest OffsetCommit version handled here (Kafka 4.4's lowest).
pub const OFFSET_COMMIT_MIN_VERSION: i16 = 2;
/// Highest OffsetCommit version handled here (Kafka 4.4's highest).
pub const OFFSET_COMMIT_MAX_VERSION: i16 = 10;
/// Lowest OffsetFetch version handled here (Kafka 4.4's lowest).
pub const OFFSET_FETCH_MIN_VERSION: i16 = 1;
/// Highest OffsetFetch version handled here (Kafka 4.4's highest).
pub const OFFSET_FETCH_MAX_VERSION: i16 = 10;
/// The version from which topics are named by id, not name (KIP-848), in both APIs.
pub const TOPIC_ID_VERSION: i16 = 10;

/// Commit request partition: int32, int64, int32, nullable string, tags.
const COMMIT_PARTITION_MIN: usize = 4 + 8 + 4 + 1 + TAGS_MIN;
/// Commit response partition: int32, int16, tags.
const COMMIT_RESULT_MIN: usize = 4 + 2 + TAGS_MIN;
/// A topic by id: uuid, array, tags.
const TOPIC_ID_MIN: usize = 16 + ARRAY_MIN + TAGS_MIN;
/// Fetch request group: string, nullable string, int32, nullable array, tags.
const FETCH_GROUP_MIN: usize = 1 + 1 + 4 + 1 + TAGS_MIN;
/// Fetch response partition: int32, int64, int32, nullable string, int16, tags.
const FETCH_PARTITION_MIN: usize = 4 + 8 + 4 + 1 + 2 + TAGS_MIN;
/// Fetch response group: string, array, int16, tags.
const FETCH_RESULT_GROUP_MIN: usize = 1 + ARRAY_MIN + 2 + TAGS_MIN;

/// Why an OffsetCommit or OffsetFetch message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffsetsCodecError {
    /// The version is outside what Kafka 4.4 serves for the API.
    #[error("{message} version {version} is not supported")]
    UnsupportedVersion {
        /// Message name, e.g. `OffsetCommitRequest`.
        message: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A v10 field could not be read or written.
    #[error(transparent)]
    Codec(#[from] ShareCodecError),
    /// The `kafka-protocol` crate refused the message (versions below 10).
    #[error("{message}: {reason}")]
    Crate {
        /// Message name.
        message: &'static str,
        /// The crate's error.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, OffsetsCodecError>;

/// A message of the crate made encodable and decodable at every version Kafka 4.4 serves
/// (the crate for versions below 10, this module for 10). Used for OffsetCommit and
/// OffsetFetch requests and responses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Versioned<T>(pub T);

/// The four messages [`Versioned`] covers: their version range and their v10 layout.
pub trait OffsetsMessage: Sized + Encodable + Decodable {
    /// Message name, for errors.
    const NAME: &'static str;
    /// Lowest version Kafka 4.4 serves.
    const MIN: i16;
    /// Highest version Kafka 4.4 serves.
    const MAX: i16;
    /// Writes the v10 body.
    fn encode_v10(&self, buf: &mut BytesMut) -> Result<()>;
    /// Reads a v10 body.
    fn decode_v10(buf: &mut Bytes) -> Result<Self>;
}

fn check<T: OffsetsMessage>(version: i16) -> Result<()> {
    if (T::MIN..=T::MAX).contains(&version) {
        Ok(())
    } else {
        Err(OffsetsCodecError::UnsupportedVersion { message: T::NAME, version })
    }
}

/// Encodes `msg` at `version` into a new buffer.
fn encode_any<T: OffsetsMessage>(msg: &T, version: i16) -> Result<BytesMut> {
    check::<T>(version)?;
    let mut buf = BytesMut::with_capacity(64);
    if version >= TOPIC_ID_VERSION {
        msg.encode_v10(&mut buf)?;
    } else {
        msg.encode(&mut buf, version).map_err(|e| OffsetsCodecError::Crate {
            message: T::NAME,
            reason: e.to_string(),
        })?;
    }
    Ok(buf)
}

/// Decodes a body of `version` from `buf`, leaving trailing bytes.
fn decode_any<T: OffsetsMessage>(buf: &mut Bytes, version: i16) -> Result<T> {
    check::<T>(version)?;
    if version >= TOPIC_ID_VERSION {
        T::decode_v10(buf)
    } else {
        T::decode(buf, version).map_err(|e| OffsetsCodecError::Crate {
            message: T::NAME,
            reason: e.to_string(),
        })
    }
}

/// Decodes an OffsetCommit request body (versions 2-10).
pub fn decode_offset_commit_request(buf: &mut Bytes, version: i16) -> Result<OffsetCommitRequest> {
    decode_any(buf, version)
}

/// Encodes an OffsetCommit request body (client side; tests and fuzz seeds).
pub fn encode_offset_commit_request(req: &OffsetCommitRequest, version: i16) -> Result<BytesMut> {
    encode_any(req, version)
}

/// Decodes an OffsetCommit response body (client side; tests).
pub fn decode_offset_commit_response(buf: &mut Bytes, version: i16) -> Result<OffsetCommitResponse> {
    decode_any(buf, version)
}

/// Encodes an OffsetCommit response body (versions 2-10).
pub fn encode_offset_commit_response(resp: &OffsetCommitResponse, version: i16) -> Result<BytesMut> {
    encode_any(resp, version)
}

/// Decodes an OffsetFetch request body (versions 1-10).
pub fn decode_offset_fetch_request(buf: &mut Bytes, version: i16) -> Result<OffsetFetchRequest> {
    decode_any(buf, version)
}

/// Encodes an OffsetFetch request body (client side; tests and fuzz seeds).
pub fn encode_offset_fetch_request(req: &OffsetFetchRequest, version: i16) -> Result<BytesMut> {
    encode_any(req, version)
}

/// Decodes an OffsetFetch response body (client side; tests).
pub fn decode_offset_fetch_response(buf: &mut Bytes, version: i16) -> Result<OffsetFetchResponse> {
    decode_any(buf, version)
}

/// Encodes an OffsetFetch response body (versions 1-10).
pub fn encode_offset_fetch_response(resp: &OffsetFetchResponse, version: i16) -> Result<BytesMut> {
    encode_any(resp, version)
}

fn to_anyhow(e: OffsetsCodecError) -> anyhow::Error {
    anyhow::Error::new(e)
}

impl<T: OffsetsMessage> Encodable for Versioned<T> {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> anyhow::Result<()> {
        if version < TOPIC_ID_VERSION {
            check::<T>(version).map_err(to_anyhow)?;
            return self.0.encode(buf, version);
        }
        let bytes = encode_any(&self.0, version).map_err(to_anyhow)?;
        buf.put_slice(&bytes);
        Ok(())
    }

    fn compute_size(&self, version: i16) -> anyhow::Result<usize> {
        if version < TOPIC_ID_VERSION {
            check::<T>(version).map_err(to_anyhow)?;
            return self.0.compute_size(version);
        }
        Ok(encode_any(&self.0, version).map_err(to_anyhow)?.len())
    }
}

impl<T: OffsetsMessage> Decodable for Versioned<T> {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> anyhow::Result<Self> {
        let mut bytes = buf.copy_to_bytes(buf.remaining());
        decode_any(&mut bytes, version).map(Versioned).map_err(to_anyhow)
    }
}

/// Reads a compact nullable array: `None` for the null encoding (a single 0 byte).
fn get_nullable_array<T>(
    buf: &mut Bytes,
    field: &'static str,
    min_element_size: usize,
    element: impl FnMut(&mut Bytes) -> std::result::Result<T, ShareCodecError>,
) -> std::result::Result<Option<Vec<T>>, ShareCodecError> {
    if buf.first() == Some(&0) {
        buf.advance(1);
        return Ok(None);
    }
    get_array(buf, field, min_element_size, element).map(Some)
}

fn put_i32_array(buf: &mut BytesMut, values: &[i32], field: &'static str) -> Result<()> {
    put_compact_len(buf, values.len(), field)?;
    for v in values {
        buf.put_i32(*v);
    }
    Ok(())
}

impl OffsetsMessage for OffsetCommitRequest {
    const NAME: &'static str = "OffsetCommitRequest";
    const MIN: i16 = OFFSET_COMMIT_MIN_VERSION;
    const MAX: i16 = OFFSET_COMMIT_MAX_VERSION;

    fn encode_v10(&self, buf: &mut BytesMut) -> Result<()> {
        put_string(buf, &self.group_id, "GroupId")?;
        buf.put_i32(self.generation_id_or_member_epoch);
        put_string(buf, &self.member_id, "MemberId")?;
        put_nullable_string(buf, self.group_instance_id.as_deref(), "GroupInstanceId")?;
        put_compact_len(buf, self.topics.len(), "Topics")?;
        for t in &self.topics {
            buf.put_slice(t.topic_id.as_bytes());
            put_compact_len(buf, t.partitions.len(), "Topics.Partitions")?;
            for p in &t.partitions {
                buf.put_i32(p.partition_index);
                buf.put_i64(p.committed_offset);
                buf.put_i32(p.committed_leader_epoch);
                put_nullable_string(buf, p.committed_metadata.as_deref(), "Partitions.CommittedMetadata")?;
                put_no_tags(buf);
            }
            put_no_tags(buf);
        }
        put_no_tags(buf);
        Ok(())
    }

    fn decode_v10(buf: &mut Bytes) -> Result<Self> {
        let group_id = get_string(buf, "GroupId")?;
        let generation = get_i32(buf, "GenerationIdOrMemberEpoch")?;
        let member_id = get_string(buf, "MemberId")?;
        let group_instance_id = get_nullable_string(buf, "GroupInstanceId")?;
        let topics = get_array(buf, "Topics", TOPIC_ID_MIN, |buf| {
            let topic_id = get_uuid(buf, "Topics.TopicId")?;
            let partitions = get_array(buf, "Topics.Partitions", COMMIT_PARTITION_MIN, |buf| {
                let p = OffsetCommitRequestPartition::default()
                    .with_partition_index(get_i32(buf, "Partitions.PartitionIndex")?)
                    .with_committed_offset(get_i64(buf, "Partitions.CommittedOffset")?)
                    .with_committed_leader_epoch(get_i32(buf, "Partitions.CommittedLeaderEpoch")?)
                    .with_committed_metadata(get_nullable_string(buf, "Partitions.CommittedMetadata")?);
                skip_tagged_fields(buf, "Partitions tagged fields")?;
                Ok(p)
            })?;
            skip_tagged_fields(buf, "Topics tagged fields")?;
            Ok(OffsetCommitRequestTopic::default()
                .with_topic_id(topic_id)
                .with_partitions(partitions))
        })?;
        skip_tagged_fields(buf, "OffsetCommitRequest tagged fields")?;
        Ok(OffsetCommitRequest::default()
            .with_group_id(GroupId(group_id))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(member_id)
            .with_group_instance_id(group_instance_id)
            .with_topics(topics))
    }
}

impl OffsetsMessage for OffsetCommitResponse {
    const NAME: &'static str = "OffsetCommitResponse";
    const MIN: i16 = OFFSET_COMMIT_MIN_VERSION;
    const MAX: i16 = OFFSET_COMMIT_MAX_VERSION;

    fn encode_v10(&self, buf: &mut BytesMut) -> Result<()> {
        buf.put_i32(self.throttle_time_ms);
        put_compact_len(buf, self.topics.len(), "Topics")?;
        for t in &self.topics {
            buf.put_slice(t.topic_id.as_bytes());
            put_compact_len(buf, t.partitions.len(), "Topics.Partitions")?;
            for p in &t.partitions {
                buf.put_i32(p.partition_index);
                buf.put_i16(p.error_code);
                put_no_tags(buf);
            }
            put_no_tags(buf);
        }
        put_no_tags(buf);
        Ok(())
    }

    fn decode_v10(buf: &mut Bytes) -> Result<Self> {
        let throttle_time_ms = get_i32(buf, "ThrottleTimeMs")?;
        let topics = get_array(buf, "Topics", TOPIC_ID_MIN, |buf| {
            let topic_id = get_uuid(buf, "Topics.TopicId")?;
            let partitions = get_array(buf, "Topics.Partitions", COMMIT_RESULT_MIN, |buf| {
                let p = OffsetCommitResponsePartition::default()
                    .with_partition_index(get_i32(buf, "Partitions.PartitionIndex")?)
                    .with_error_code(get_i16(buf, "Partitions.ErrorCode")?);
                skip_tagged_fields(buf, "Partitions tagged fields")?;
                Ok(p)
            })?;
            skip_tagged_fields(buf, "Topics tagged fields")?;
            Ok(OffsetCommitResponseTopic::default()
                .with_topic_id(topic_id)
                .with_partitions(partitions))
        })?;
        skip_tagged_fields(buf, "OffsetCommitResponse tagged fields")?;
        Ok(OffsetCommitResponse::default()
            .with_throttle_time_ms(throttle_time_ms)
            .with_topics(topics))
    }
}

impl OffsetsMessage for OffsetFetchRequest {
    const NAME: &'static str = "OffsetFetchRequest";
    const MIN: i16 = OFFSET_FETCH_MIN_VERSION;
    const MAX: i16 = OFFSET_FETCH_MAX_VERSION;

    fn encode_v10(&self, buf: &mut BytesMut) -> Result<()> {
        put_compact_len(buf, self.groups.len(), "Groups")?;
        for g in &self.groups {
            put_string(buf, &g.group_id, "Groups.GroupId")?;
            put_nullable_string(buf, g.member_id.as_deref(), "Groups.MemberId")?;
            buf.put_i32(g.member_epoch);
            match &g.topics {
                None => put_uvarint(buf, 0),
                Some(topics) => {
                    put_compact_len(buf, topics.len(), "Groups.Topics")?;
                    for t in topics {
                        buf.put_slice(t.topic_id.as_bytes());
                        put_i32_array(buf, &t.partition_indexes, "Topics.PartitionIndexes")?;
                        put_no_tags(buf);
                    }
                }
            }
            put_no_tags(buf);
        }
        buf.put_u8(u8::from(self.require_stable));
        put_no_tags(buf);
        Ok(())
    }

    fn decode_v10(buf: &mut Bytes) -> Result<Self> {
        let groups = get_array(buf, "Groups", FETCH_GROUP_MIN, |buf| {
            let group_id = get_string(buf, "Groups.GroupId")?;
            let member_id = get_nullable_string(buf, "Groups.MemberId")?;
            let member_epoch = get_i32(buf, "Groups.MemberEpoch")?;
            let topics = get_nullable_array(buf, "Groups.Topics", TOPIC_ID_MIN, |buf| {
                let topic_id = get_uuid(buf, "Topics.TopicId")?;
                let partition_indexes = get_array(buf, "Topics.PartitionIndexes", 4, |buf| get_i32(buf, "PartitionIndexes"))?;
                skip_tagged_fields(buf, "Topics tagged fields")?;
                Ok(OffsetFetchRequestTopics::default()
                    .with_topic_id(topic_id)
                    .with_partition_indexes(partition_indexes))
            })?;
            skip_tagged_fields(buf, "Groups tagged fields")?;
            Ok(OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(group_id))
                .with_member_id(member_id)
                .with_member_epoch(member_epoch)
                .with_topics(topics))
        })?;
        let require_stable = get_bool(buf, "RequireStable")?;
        skip_tagged_fields(buf, "OffsetFetchRequest tagged fields")?;
        Ok(OffsetFetchRequest::default()
            .with_groups(groups)
            .with_require_stable(require_stable))
    }
}

impl OffsetsMessage for OffsetFetchResponse {
    const NAME: &'static str = "OffsetFetchResponse";
    const MIN: i16 = OFFSET_FETCH_MIN_VERSION;
    const MAX: i16 = OFFSET_FETCH_MAX_VERSION;

    fn encode_v10(&self, buf: &mut BytesMut) -> Result<()> {
        buf.put_i32(self.throttle_time_ms);
        put_compact_len(buf, self.groups.len(), "Groups")?;
        for g in &self.groups {
            put_string(buf, &g.group_id, "Groups.GroupId")?;
            put_compact_len(buf, g.topics.len(), "Groups.Topics")?;
            for t in &g.topics {
                buf.put_slice(t.topic_id.as_bytes());
                put_compact_len(buf, t.partitions.len(), "Topics.Partitions")?;
                for p in &t.partitions {
                    buf.put_i32(p.partition_index);
                    buf.put_i64(p.committed_offset);
                    buf.put_i32(p.committed_leader_epoch);
                    put_nullable_string(buf, p.metadata.as_deref(), "Partitions.Metadata")?;
                    buf.put_i16(p.error_code);
                    put_no_tags(buf);
                }
                put_no_tags(buf);
            }
            buf.put_i16(g.error_code);
            put_no_tags(buf);
        }
        put_no_tags(buf);
        Ok(())
    }

    fn decode_v10(buf: &mut Bytes) -> Result<Self> {
        let throttle_time_ms = get_i32(buf, "ThrottleTimeMs")?;
        let groups = get_array(buf, "Groups", FETCH_RESULT_GROUP_MIN, |buf| {
            let group_id = get_string(buf, "Groups.GroupId")?;
            let topics = get_array(buf, "Groups.Topics", TOPIC_ID_MIN, |buf| {
                let topic_id = get_uuid(buf, "Topics.TopicId")?;
                let partitions = get_array(buf, "Topics.Partitions", FETCH_PARTITION_MIN, |buf| {
                    let p = OffsetFetchResponsePartitions::default()
                        .with_partition_index(get_i32(buf, "Partitions.PartitionIndex")?)
                        .with_committed_offset(get_i64(buf, "Partitions.CommittedOffset")?)
                        .with_committed_leader_epoch(get_i32(buf, "Partitions.CommittedLeaderEpoch")?)
                        .with_metadata(get_nullable_string(buf, "Partitions.Metadata")?)
                        .with_error_code(get_i16(buf, "Partitions.ErrorCode")?);
                    skip_tagged_fields(buf, "Partitions tagged fields")?;
                    Ok(p)
                })?;
                skip_tagged_fields(buf, "Topics tagged fields")?;
                Ok(OffsetFetchResponseTopics::default()
                    .with_topic_id(topic_id)
                    .with_partitions(partitions))
            })?;
            let error_code = get_i16(buf, "Groups.ErrorCode")?;
            skip_tagged_fields(buf, "Groups tagged fields")?;
            Ok(OffsetFetchResponseGroup::default()
                .with_group_id(GroupId(group_id))
                .with_topics(topics)
                .with_error_code(error_code))
        })?;
        skip_tagged_fields(buf, "OffsetFetchResponse tagged fields")?;
        Ok(OffsetFetchResponse::default()
            .with_throttle_time_ms(throttle_time_ms)
            .with_groups(groups))
    }
}
