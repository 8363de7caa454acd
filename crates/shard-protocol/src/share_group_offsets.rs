//! DescribeShareGroupOffsets (API key 90), versions 0 and 1.
//!
//! The `kafka-protocol` crate (Kafka 4.1 schemas) stops at version 0. Version 1 (Kafka 4.2+,
//! KIP-1226) only adds `Lag` (int64, ignorable, default -1) to each response partition; the
//! request layout is the same in both versions, so requests are decoded with the crate at
//! version 0 and only the response is written here.

#![warn(missing_docs)]

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::DescribeShareGroupOffsetsRequest;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use uuid::Uuid;

use crate::share::{
    ARRAY_MIN, FRAME_PREFIX_LEN, ShareCodecError, TAGS_MIN, get_array, get_i16, get_i32, get_i64, get_nullable_string, get_string,
    get_uuid, patch_frame_len, put_compact_len, put_frame_prefix, put_no_tags, put_nullable_string, put_string, skip_tagged_fields,
};

/// Lowest DescribeShareGroupOffsets version handled here.
pub const DESCRIBE_SHARE_GROUP_OFFSETS_MIN_VERSION: i16 = 0;
/// Highest DescribeShareGroupOffsets version handled here (Kafka 4.2 through trunk).
pub const DESCRIBE_SHARE_GROUP_OFFSETS_MAX_VERSION: i16 = 1;

/// Response partition: int32, int64, int32, (int64), int16, string, tags.
const PARTITION_MIN: usize = 4 + 8 + 4 + 2 + 1 + TAGS_MIN;
/// Response topic: string, uuid, array, tags.
const TOPIC_MIN: usize = 1 + 16 + ARRAY_MIN + TAGS_MIN;
/// Response group: string, array, int16, string, tags.
const GROUP_MIN: usize = 1 + ARRAY_MIN + 2 + 1 + TAGS_MIN;

/// Why a DescribeShareGroupOffsets message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareGroupOffsetsCodecError {
    /// The version is outside `0..=1`.
    #[error("DescribeShareGroupOffsets version {0} is not supported (supported: 0..=1)")]
    UnsupportedVersion(i16),
    /// A field could not be read or written.
    #[error(transparent)]
    Codec(#[from] ShareCodecError),
    /// The `kafka-protocol` crate refused the request.
    #[error("DescribeShareGroupOffsetsRequest: {0}")]
    Request(String),
}

type Result<T> = std::result::Result<T, ShareGroupOffsetsCodecError>;

fn check_version(version: i16) -> Result<()> {
    if (DESCRIBE_SHARE_GROUP_OFFSETS_MIN_VERSION..=DESCRIBE_SHARE_GROUP_OFFSETS_MAX_VERSION).contains(&version) {
        Ok(())
    } else {
        Err(ShareGroupOffsetsCodecError::UnsupportedVersion(version))
    }
}

/// Decodes a DescribeShareGroupOffsets request body of `version` (0 or 1: same layout).
pub fn decode_describe_share_group_offsets_request(buf: &mut Bytes, version: i16) -> Result<DescribeShareGroupOffsetsRequest> {
    check_version(version)?;
    DescribeShareGroupOffsetsRequest::decode(buf, 0).map_err(|e| ShareGroupOffsetsCodecError::Request(e.to_string()))
}

/// Encodes a DescribeShareGroupOffsets request body at `version` (client side; tests).
pub fn encode_describe_share_group_offsets_request(req: &DescribeShareGroupOffsetsRequest, version: i16) -> Result<BytesMut> {
    check_version(version)?;
    let mut buf = BytesMut::new();
    req.encode(&mut buf, 0)
        .map_err(|e| ShareGroupOffsetsCodecError::Request(e.to_string()))?;
    Ok(buf)
}

/// A DescribeShareGroupOffsets response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeShareGroupOffsetsResponse {
    /// Throttle time in milliseconds.
    pub throttle_time_ms: i32,
    /// One entry per requested group.
    pub groups: Vec<DescribeShareGroupOffsetsResponseGroup>,
}

/// One group of the response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeShareGroupOffsetsResponseGroup {
    /// The group id.
    pub group_id: StrBytes,
    /// Results per topic.
    pub topics: Vec<DescribeShareGroupOffsetsResponseTopic>,
    /// Group-level error, 0 if none.
    pub error_code: i16,
    /// Group-level error message.
    pub error_message: Option<StrBytes>,
}

/// One topic of a group's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeShareGroupOffsetsResponseTopic {
    /// Topic name.
    pub topic_name: StrBytes,
    /// Topic id (zero for an unknown topic).
    pub topic_id: Uuid,
    /// Results per partition.
    pub partitions: Vec<DescribeShareGroupOffsetsResponsePartition>,
}

/// One partition of a topic's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeShareGroupOffsetsResponsePartition {
    /// Partition index.
    pub partition_index: i32,
    /// Share-partition start offset, -1 when the group has no state for the partition.
    pub start_offset: i64,
    /// Leader epoch of the partition.
    pub leader_epoch: i32,
    /// Records not yet acknowledged or archived from the start offset to the partition end
    /// (v1+; -1 unknown). Dropped at v0 (the field is ignorable).
    pub lag: i64,
    /// Partition-level error, 0 if none.
    pub error_code: i16,
    /// Partition-level error message.
    pub error_message: Option<StrBytes>,
}

impl Default for DescribeShareGroupOffsetsResponsePartition {
    fn default() -> Self {
        DescribeShareGroupOffsetsResponsePartition {
            partition_index: 0,
            start_offset: 0,
            leader_epoch: 0,
            lag: -1,
            error_code: 0,
            error_message: None,
        }
    }
}

impl DescribeShareGroupOffsetsResponse {
    /// Encodes the response body at `version`.
    pub fn encode(&self, version: i16) -> Result<BytesMut> {
        check_version(version)?;
        let mut buf = BytesMut::with_capacity(64);
        self.encode_fields(&mut buf, version)?;
        Ok(buf)
    }

    /// Encodes the complete response frame: 4-byte size, response header v1 (correlation id,
    /// empty tagged fields), body.
    pub fn encode_frame(&self, version: i16, correlation_id: i32) -> Result<Bytes> {
        check_version(version)?;
        let mut buf = BytesMut::with_capacity(FRAME_PREFIX_LEN + 64);
        put_frame_prefix(&mut buf, correlation_id);
        self.encode_fields(&mut buf, version)?;
        let total = buf.len();
        patch_frame_len(&mut buf, total)?;
        Ok(buf.freeze())
    }

    fn encode_fields(&self, buf: &mut BytesMut, version: i16) -> Result<()> {
        buf.put_i32(self.throttle_time_ms);
        put_compact_len(buf, self.groups.len(), "Groups")?;
        for g in &self.groups {
            put_string(buf, &g.group_id, "Groups.GroupId")?;
            put_compact_len(buf, g.topics.len(), "Groups.Topics")?;
            for t in &g.topics {
                put_string(buf, &t.topic_name, "Topics.TopicName")?;
                buf.put_slice(t.topic_id.as_bytes());
                put_compact_len(buf, t.partitions.len(), "Topics.Partitions")?;
                for p in &t.partitions {
                    buf.put_i32(p.partition_index);
                    buf.put_i64(p.start_offset);
                    buf.put_i32(p.leader_epoch);
                    if version >= 1 {
                        buf.put_i64(p.lag);
                    }
                    buf.put_i16(p.error_code);
                    put_nullable_string(buf, p.error_message.as_deref(), "Partitions.ErrorMessage")?;
                    put_no_tags(buf);
                }
                put_no_tags(buf);
            }
            buf.put_i16(g.error_code);
            put_nullable_string(buf, g.error_message.as_deref(), "Groups.ErrorMessage")?;
            put_no_tags(buf);
        }
        put_no_tags(buf);
        Ok(())
    }

    /// Decodes a response body of `version` (client side; tests and tools). At v0 every
    /// partition's lag is -1.
    pub fn decode(buf: &mut Bytes, version: i16) -> Result<Self> {
        check_version(version)?;
        let throttle_time_ms = get_i32(buf, "ThrottleTimeMs")?;
        let groups = get_array(buf, "Groups", GROUP_MIN, |buf| {
            let group_id = get_string(buf, "Groups.GroupId")?;
            let topics = get_array(buf, "Groups.Topics", TOPIC_MIN, |buf| {
                let topic_name = get_string(buf, "Topics.TopicName")?;
                let topic_id = get_uuid(buf, "Topics.TopicId")?;
                let partitions = get_array(buf, "Topics.Partitions", PARTITION_MIN, |buf| {
                    let partition_index = get_i32(buf, "Partitions.PartitionIndex")?;
                    let start_offset = get_i64(buf, "Partitions.StartOffset")?;
                    let leader_epoch = get_i32(buf, "Partitions.LeaderEpoch")?;
                    let lag = if version >= 1 { get_i64(buf, "Partitions.Lag")? } else { -1 };
                    let error_code = get_i16(buf, "Partitions.ErrorCode")?;
                    let error_message = get_nullable_string(buf, "Partitions.ErrorMessage")?;
                    skip_tagged_fields(buf, "Partitions tagged fields")?;
                    Ok(DescribeShareGroupOffsetsResponsePartition {
                        partition_index,
                        start_offset,
                        leader_epoch,
                        lag,
                        error_code,
                        error_message,
                    })
                })?;
                skip_tagged_fields(buf, "Topics tagged fields")?;
                Ok(DescribeShareGroupOffsetsResponseTopic {
                    topic_name,
                    topic_id,
                    partitions,
                })
            })?;
            let error_code = get_i16(buf, "Groups.ErrorCode")?;
            let error_message = get_nullable_string(buf, "Groups.ErrorMessage")?;
            skip_tagged_fields(buf, "Groups tagged fields")?;
            Ok(DescribeShareGroupOffsetsResponseGroup {
                group_id,
                topics,
                error_code,
                error_message,
            })
        })?;
        skip_tagged_fields(buf, "DescribeShareGroupOffsetsResponse tagged fields")?;
        Ok(DescribeShareGroupOffsetsResponse { throttle_time_ms, groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Buf;
    use kafka_protocol::messages::describe_share_group_offsets_request::{
        DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
    };
    use kafka_protocol::messages::{GroupId, TopicName};

    fn sample() -> DescribeShareGroupOffsetsResponse {
        DescribeShareGroupOffsetsResponse {
            throttle_time_ms: 7,
            groups: vec![
                DescribeShareGroupOffsetsResponseGroup {
                    group_id: StrBytes::from_static_str("g"),
                    topics: vec![DescribeShareGroupOffsetsResponseTopic {
                        topic_name: StrBytes::from_static_str("t"),
                        topic_id: Uuid::from_u128(0x0102_0304),
                        partitions: vec![
                            DescribeShareGroupOffsetsResponsePartition {
                                partition_index: 0,
                                start_offset: 42,
                                leader_epoch: 0,
                                lag: 5,
                                ..Default::default()
                            },
                            DescribeShareGroupOffsetsResponsePartition {
                                partition_index: 1,
                                start_offset: -1,
                                error_code: 3,
                                error_message: Some(StrBytes::from_static_str("no")),
                                ..Default::default()
                            },
                        ],
                    }],
                    error_code: 0,
                    error_message: None,
                },
                DescribeShareGroupOffsetsResponseGroup {
                    group_id: StrBytes::from_static_str("h"),
                    error_code: 69,
                    error_message: Some(StrBytes::from_static_str("Group h not found.")),
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn v1_round_trips() {
        let resp = sample();
        let mut bytes = resp.encode(1).expect("encode").freeze();
        let back = DescribeShareGroupOffsetsResponse::decode(&mut bytes, 1).expect("decode");
        assert_eq!(back, resp);
        assert_eq!(bytes.remaining(), 0);
    }

    #[test]
    fn v0_matches_the_crate_and_drops_lag() {
        let resp = sample();
        let mut ours = resp.encode(0).expect("encode").freeze();
        let theirs = kafka_protocol::messages::DescribeShareGroupOffsetsResponse::decode(&mut ours.clone(), 0).expect("crate decodes v0");
        assert_eq!(theirs.throttle_time_ms, 7);
        assert_eq!(theirs.groups.len(), 2);
        let p = &theirs.groups[0].topics[0].partitions[0];
        assert_eq!((p.partition_index, p.start_offset, p.leader_epoch), (0, 42, 0));
        assert_eq!(theirs.groups[1].error_code, 69);
        let mut reencoded = BytesMut::new();
        theirs.encode(&mut reencoded, 0).expect("crate encodes v0");
        assert_eq!(reencoded.freeze(), ours.clone());
        let back = DescribeShareGroupOffsetsResponse::decode(&mut ours, 0).expect("decode v0");
        assert_eq!(back.groups[0].topics[0].partitions[0].lag, -1);
    }

    #[test]
    fn v1_adds_eight_bytes_per_partition() {
        let resp = sample();
        let v0 = resp.encode(0).expect("v0").len();
        let v1 = resp.encode(1).expect("v1").len();
        assert_eq!(v1 - v0, 16);
    }

    #[test]
    fn frame_has_length_and_header_v1() {
        let frame = sample().encode_frame(1, 99).expect("frame");
        let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - 4);
        assert_eq!(&frame[4..8], &99i32.to_be_bytes());
        assert_eq!(frame[8], 0, "empty header tagged fields");
        let mut body = frame.slice(9..);
        assert_eq!(DescribeShareGroupOffsetsResponse::decode(&mut body, 1).expect("decode"), sample());
    }

    #[test]
    fn request_decodes_at_both_versions() {
        let req = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_topics(Some(vec![
                    DescribeShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(TopicName(StrBytes::from_static_str("t")))
                        .with_partitions(vec![0, 1]),
                ])),
            DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str("h")))
                .with_topics(None),
        ]);
        for v in [0, 1] {
            let mut bytes = encode_describe_share_group_offsets_request(&req, v).expect("encode").freeze();
            assert_eq!(decode_describe_share_group_offsets_request(&mut bytes, v).expect("decode"), req);
        }
        assert_eq!(
            decode_describe_share_group_offsets_request(&mut Bytes::new(), 2),
            Err(ShareGroupOffsetsCodecError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn truncated_or_garbage_input_is_an_error_not_a_panic() {
        let full = sample().encode(1).expect("encode").freeze();
        for cut in 0..full.len() {
            let mut part = full.slice(..cut);
            assert!(DescribeShareGroupOffsetsResponse::decode(&mut part, 1).is_err(), "cut at {cut}");
        }
        let mut huge = Bytes::from_static(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(DescribeShareGroupOffsetsResponse::decode(&mut huge, 1).is_err());
        let mut junk = Bytes::from_static(&[0xff; 3]);
        assert!(decode_describe_share_group_offsets_request(&mut junk, 1).is_err());
    }
}
