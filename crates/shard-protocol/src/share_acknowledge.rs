//! ShareAcknowledge (API key 79), versions 1 and 2.
//!
//! Version 2 (Kafka 4.2+, KIP-1222) adds `IsRenewAck` (bool) to the request after
//! `ShareSessionEpoch`, and `AcquisitionLockTimeoutMs` (int32, ignorable) to the response after
//! the top-level `ErrorMessage`.

#![warn(missing_docs)]

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::share::{
    ACK_PARTITION_MIN, AcknowledgementBatch, FRAME_PREFIX_LEN, LEADER_MIN, LeaderIdAndEpoch, NODE_ENDPOINT_MIN, NodeEndpoint,
    REQUEST_TOPICS, RESPONSE_TOPICS, Result, ShareCodecError, TAGS_MIN, check_version, get_ack_partition, get_array, get_bool, get_i16,
    get_i32, get_leader, get_node_endpoint, get_nullable_string, get_topics, patch_frame_len, put_ack_partition, put_frame_prefix,
    put_leader, put_no_tags, put_node_endpoints, put_nullable_string, put_topics, skip_tagged_fields,
};

/// Response `PartitionData`: int32, int16, string, leader, tags.
const PARTITION_DATA_MIN: usize = 4 + 2 + 1 + LEADER_MIN + TAGS_MIN;

/// A ShareAcknowledge request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareAcknowledgeRequest {
    /// The group id.
    pub group_id: Option<StrBytes>,
    /// The member id.
    pub member_id: Option<StrBytes>,
    /// Share session epoch (0 is invalid for ShareAcknowledge; -1 closes the session).
    pub share_session_epoch: i32,
    /// v2+: whether the acknowledgement batches contain Renew (4) types.
    pub is_renew_ack: bool,
    /// Topics with records to acknowledge.
    pub topics: Vec<ShareAcknowledgeTopic>,
}

/// A topic of a ShareAcknowledge request (`AcknowledgeTopic`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareAcknowledgeTopic {
    /// Topic id.
    pub topic_id: Uuid,
    /// Partitions with records to acknowledge.
    pub partitions: Vec<ShareAcknowledgePartition>,
}

/// A partition of a ShareAcknowledge request (`AcknowledgePartition`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareAcknowledgePartition {
    /// Partition index.
    pub partition_index: i32,
    /// Records to acknowledge.
    pub acknowledgement_batches: Vec<AcknowledgementBatch>,
}

impl ShareAcknowledgeRequest {
    /// API key of ShareAcknowledge.
    pub const API_KEY: i16 = 79;

    /// Decodes a request body (after the request header) of `version` (1 or 2), leaving any
    /// trailing bytes in `buf`. Unknown tagged fields are skipped.
    pub fn decode(buf: &mut Bytes, version: i16) -> Result<Self> {
        check_version("ShareAcknowledgeRequest", version)?;
        let group_id = get_nullable_string(buf, "ShareAcknowledgeRequest.GroupId")?;
        let member_id = get_nullable_string(buf, "ShareAcknowledgeRequest.MemberId")?;
        let share_session_epoch = get_i32(buf, "ShareAcknowledgeRequest.ShareSessionEpoch")?;
        let is_renew_ack = if version >= 2 {
            get_bool(buf, "ShareAcknowledgeRequest.IsRenewAck")?
        } else {
            false
        };
        let topics = get_topics(
            buf,
            "ShareAcknowledgeRequest.Topics",
            &REQUEST_TOPICS,
            ACK_PARTITION_MIN,
            |buf| {
                let (partition_index, acknowledgement_batches) = get_ack_partition(buf)?;
                Ok(ShareAcknowledgePartition {
                    partition_index,
                    acknowledgement_batches,
                })
            },
            |topic_id, partitions| ShareAcknowledgeTopic { topic_id, partitions },
        )?;
        skip_tagged_fields(buf, "ShareAcknowledgeRequest tagged fields")?;
        Ok(Self {
            group_id,
            member_id,
            share_session_epoch,
            is_renew_ack,
            topics,
        })
    }

    /// Encodes the request body at `version` (client side; tests and tools). At v1,
    /// `is_renew_ack = true` is an error.
    pub fn encode(&self, version: i16) -> Result<BytesMut> {
        check_version("ShareAcknowledgeRequest", version)?;
        if version < 2 && self.is_renew_ack {
            return Err(ShareCodecError::FieldNotInVersion {
                field: "ShareAcknowledgeRequest.IsRenewAck",
                version,
            });
        }
        let mut buf = BytesMut::with_capacity(64);
        put_nullable_string(&mut buf, self.group_id.as_deref(), "ShareAcknowledgeRequest.GroupId")?;
        put_nullable_string(&mut buf, self.member_id.as_deref(), "ShareAcknowledgeRequest.MemberId")?;
        buf.put_i32(self.share_session_epoch);
        if version >= 2 {
            buf.put_u8(u8::from(self.is_renew_ack));
        }
        put_topics(
            &mut buf,
            "ShareAcknowledgeRequest.Topics",
            &REQUEST_TOPICS,
            &self.topics,
            |t| (t.topic_id, &t.partitions),
            |buf, p| put_ack_partition(buf, p.partition_index, &p.acknowledgement_batches),
        )?;
        put_no_tags(&mut buf);
        Ok(buf)
    }
}

/// A ShareAcknowledge response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareAcknowledgeResponse {
    /// Throttle time in milliseconds.
    pub throttle_time_ms: i32,
    /// Top-level error code.
    pub error_code: i16,
    /// Top-level error message.
    pub error_message: Option<StrBytes>,
    /// v2+: lock duration of acquired records, in milliseconds. Ignorable: dropped at v1.
    pub acquisition_lock_timeout_ms: i32,
    /// Per-topic results (`ShareAcknowledgeTopicResponse`).
    pub responses: Vec<ShareAcknowledgeTopicResponse>,
    /// Endpoints of the leaders named in partitions answered with `NOT_LEADER_OR_FOLLOWER`.
    pub node_endpoints: Vec<NodeEndpoint>,
}

/// Per-topic result of a ShareAcknowledge response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareAcknowledgeTopicResponse {
    /// Topic id.
    pub topic_id: Uuid,
    /// Per-partition results.
    pub partitions: Vec<ShareAcknowledgePartitionResponse>,
}

/// Per-partition result of a ShareAcknowledge response (`PartitionData`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareAcknowledgePartitionResponse {
    /// Partition index.
    pub partition_index: i32,
    /// Error code.
    pub error_code: i16,
    /// Error message.
    pub error_message: Option<StrBytes>,
    /// Current leader (meaningful with `NOT_LEADER_OR_FOLLOWER`).
    pub current_leader: LeaderIdAndEpoch,
}

impl ShareAcknowledgeResponse {
    /// API key of ShareAcknowledge.
    pub const API_KEY: i16 = 79;

    /// Encodes the response body at `version`. At v1 `acquisition_lock_timeout_ms` is not
    /// written (the field is ignorable).
    pub fn encode(&self, version: i16) -> Result<BytesMut> {
        check_version("ShareAcknowledgeResponse", version)?;
        let mut buf = BytesMut::with_capacity(self.estimated_len());
        self.encode_fields(&mut buf, version)?;
        if buf.len() > i32::MAX as usize {
            return Err(ShareCodecError::TooLarge {
                field: "ShareAcknowledgeResponse",
                len: buf.len(),
            });
        }
        Ok(buf)
    }

    /// Encodes the complete response frame: 4-byte size, response header v1 (correlation id,
    /// empty tagged fields), body.
    pub fn encode_frame(&self, version: i16, correlation_id: i32) -> Result<Bytes> {
        check_version("ShareAcknowledgeResponse", version)?;
        let mut buf = BytesMut::with_capacity(FRAME_PREFIX_LEN + self.estimated_len());
        put_frame_prefix(&mut buf, correlation_id);
        self.encode_fields(&mut buf, version)?;
        let total = buf.len();
        patch_frame_len(&mut buf, total)?;
        Ok(buf.freeze())
    }

    /// Decodes a response body of `version` (client side; tests and tools).
    pub fn decode(buf: &mut Bytes, version: i16) -> Result<Self> {
        check_version("ShareAcknowledgeResponse", version)?;
        let throttle_time_ms = get_i32(buf, "ShareAcknowledgeResponse.ThrottleTimeMs")?;
        let error_code = get_i16(buf, "ShareAcknowledgeResponse.ErrorCode")?;
        let error_message = get_nullable_string(buf, "ShareAcknowledgeResponse.ErrorMessage")?;
        let acquisition_lock_timeout_ms = if version >= 2 {
            get_i32(buf, "ShareAcknowledgeResponse.AcquisitionLockTimeoutMs")?
        } else {
            0
        };
        let responses = get_topics(
            buf,
            "ShareAcknowledgeResponse.Responses",
            &RESPONSE_TOPICS,
            PARTITION_DATA_MIN,
            |buf| {
                let partition_index = get_i32(buf, "Partitions.PartitionIndex")?;
                let error_code = get_i16(buf, "Partitions.ErrorCode")?;
                let error_message = get_nullable_string(buf, "Partitions.ErrorMessage")?;
                let current_leader = get_leader(buf)?;
                skip_tagged_fields(buf, "Partitions tagged fields")?;
                Ok(ShareAcknowledgePartitionResponse {
                    partition_index,
                    error_code,
                    error_message,
                    current_leader,
                })
            },
            |topic_id, partitions| ShareAcknowledgeTopicResponse { topic_id, partitions },
        )?;
        let node_endpoints = get_array(buf, "ShareAcknowledgeResponse.NodeEndpoints", NODE_ENDPOINT_MIN, get_node_endpoint)?;
        skip_tagged_fields(buf, "ShareAcknowledgeResponse tagged fields")?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            error_message,
            acquisition_lock_timeout_ms,
            responses,
            node_endpoints,
        })
    }

    fn encode_fields(&self, buf: &mut BytesMut, version: i16) -> Result<()> {
        buf.put_i32(self.throttle_time_ms);
        buf.put_i16(self.error_code);
        put_nullable_string(buf, self.error_message.as_deref(), "ShareAcknowledgeResponse.ErrorMessage")?;
        if version >= 2 {
            buf.put_i32(self.acquisition_lock_timeout_ms);
        }
        put_topics(
            buf,
            "ShareAcknowledgeResponse.Responses",
            &RESPONSE_TOPICS,
            &self.responses,
            |t| (t.topic_id, &t.partitions),
            |buf, p| {
                buf.put_i32(p.partition_index);
                buf.put_i16(p.error_code);
                put_nullable_string(buf, p.error_message.as_deref(), "Partitions.ErrorMessage")?;
                put_leader(buf, &p.current_leader);
                put_no_tags(buf);
                Ok(())
            },
        )?;
        put_node_endpoints(buf, &self.node_endpoints)?;
        put_no_tags(buf);
        Ok(())
    }

    fn estimated_len(&self) -> usize {
        let s = |v: &Option<StrBytes>| v.as_ref().map_or(0, |s| s.len() + 3);
        let mut n = 32 + s(&self.error_message);
        for t in &self.responses {
            n += 16 + 10;
            for p in &t.partitions {
                n += 24 + s(&p.error_message);
            }
        }
        for e in &self.node_endpoints {
            n += 20 + e.host.len() + s(&e.rack);
        }
        n
    }
}
