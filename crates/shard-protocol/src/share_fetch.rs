//! ShareFetch (API key 78), versions 1 and 2.
//!
//! Version 2 (Kafka 4.2+) adds two request fields after `BatchSize`: `ShareAcquireMode` (int8,
//! ignorable, KIP-1206) and `IsRenewAck` (bool, KIP-1222). The response layout of v2 is
//! identical to v1.
//!
//! The response encoder has a zero-copy path for the hot fetch path:
//! [`ShareFetchResponse::encode_chunks`] / [`ShareFetchResponse::encode_frame_chunks`] return
//! the encoding as `Bytes` chunks in which every partition's record slices are the caller's
//! own `Bytes` handles (refcount clones), interleaved with slices of one buffer holding all
//! other fields.

#![warn(missing_docs)]

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::share::{
    ACK_PARTITION_MIN, ARRAY_MIN, AcknowledgementBatch, FRAME_PREFIX_LEN, LEADER_MIN, LeaderIdAndEpoch, NODE_ENDPOINT_MIN, NodeEndpoint,
    REQUEST_TOPICS, RESPONSE_TOPICS, Result, ShareCodecError, TAGS_MIN, check_version, get_ack_partition, get_array, get_bool, get_bytes,
    get_i8, get_i16, get_i32, get_i64, get_leader, get_node_endpoint, get_nullable_string, get_topics, get_uuid, patch_frame_len,
    put_ack_partition, put_compact_len, put_frame_prefix, put_leader, put_no_tags, put_node_endpoints, put_nullable_string, put_topics,
    skip_tagged_fields,
};

/// `ForgottenTopic`: uuid, array, tags.
const FORGOTTEN_TOPIC_MIN: usize = 16 + ARRAY_MIN + TAGS_MIN;
/// Response `PartitionData`: int32, int16, string, int16, string, leader, bytes, array, tags.
const PARTITION_DATA_MIN: usize = 4 + 2 + 1 + 2 + 1 + LEADER_MIN + 1 + ARRAY_MIN + TAGS_MIN;
/// `AcquiredRecords`: int64, int64, int16, tags.
const ACQUIRED_RECORDS_MIN: usize = 8 + 8 + 2 + TAGS_MIN;

/// A ShareFetch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareFetchRequest {
    /// The group id.
    pub group_id: Option<StrBytes>,
    /// The member id.
    pub member_id: Option<StrBytes>,
    /// Share session epoch: 0 opens a session, -1 closes it, otherwise the current epoch.
    pub share_session_epoch: i32,
    /// Maximum time to wait for the response, in milliseconds.
    pub max_wait_ms: i32,
    /// Minimum bytes to accumulate in the response.
    pub min_bytes: i32,
    /// Maximum bytes to fetch (schema default `0x7fffffff`).
    pub max_bytes: i32,
    /// Soft cap on the number of records acquired by the request.
    pub max_records: i32,
    /// Preferred number of records per acquired batch and acknowledgement batch.
    pub batch_size: i32,
    /// v2+: 0 batch-optimized, 1 record-limit. Ignorable: dropped when encoding v1.
    pub share_acquire_mode: i8,
    /// v2+: whether the acknowledgement batches contain Renew (4) types.
    pub is_renew_ack: bool,
    /// Topics to fetch from and acknowledge in.
    pub topics: Vec<ShareFetchTopic>,
    /// Partitions to remove from the share session.
    pub forgotten_topics_data: Vec<ForgottenTopic>,
}

impl Default for ShareFetchRequest {
    fn default() -> Self {
        Self {
            group_id: None,
            member_id: None,
            share_session_epoch: 0,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: i32::MAX,
            max_records: 0,
            batch_size: 0,
            share_acquire_mode: 0,
            is_renew_ack: false,
            topics: Vec::new(),
            forgotten_topics_data: Vec::new(),
        }
    }
}

/// A topic of a ShareFetch request (`FetchTopic`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareFetchTopic {
    /// Topic id.
    pub topic_id: Uuid,
    /// Partitions to fetch from.
    pub partitions: Vec<ShareFetchPartition>,
}

/// A partition of a ShareFetch request (`FetchPartition`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareFetchPartition {
    /// Partition index.
    pub partition_index: i32,
    /// Records to acknowledge in this partition.
    pub acknowledgement_batches: Vec<AcknowledgementBatch>,
}

/// Partitions to remove from the share session (`ForgottenTopic`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForgottenTopic {
    /// Topic id.
    pub topic_id: Uuid,
    /// Partition indexes to forget.
    pub partitions: Vec<i32>,
}

impl ShareFetchRequest {
    /// API key of ShareFetch.
    pub const API_KEY: i16 = 78;

    /// Decodes a request body (after the request header) of `version` (1 or 2), leaving any
    /// trailing bytes in `buf`. Unknown tagged fields are skipped.
    pub fn decode(buf: &mut Bytes, version: i16) -> Result<Self> {
        check_version("ShareFetchRequest", version)?;
        let group_id = get_nullable_string(buf, "ShareFetchRequest.GroupId")?;
        let member_id = get_nullable_string(buf, "ShareFetchRequest.MemberId")?;
        let share_session_epoch = get_i32(buf, "ShareFetchRequest.ShareSessionEpoch")?;
        let max_wait_ms = get_i32(buf, "ShareFetchRequest.MaxWaitMs")?;
        let min_bytes = get_i32(buf, "ShareFetchRequest.MinBytes")?;
        let max_bytes = get_i32(buf, "ShareFetchRequest.MaxBytes")?;
        let max_records = get_i32(buf, "ShareFetchRequest.MaxRecords")?;
        let batch_size = get_i32(buf, "ShareFetchRequest.BatchSize")?;
        let (share_acquire_mode, is_renew_ack) = if version >= 2 {
            (
                get_i8(buf, "ShareFetchRequest.ShareAcquireMode")?,
                get_bool(buf, "ShareFetchRequest.IsRenewAck")?,
            )
        } else {
            (0, false)
        };
        let topics = get_topics(
            buf,
            "ShareFetchRequest.Topics",
            &REQUEST_TOPICS,
            ACK_PARTITION_MIN,
            |buf| {
                let (partition_index, acknowledgement_batches) = get_ack_partition(buf)?;
                Ok(ShareFetchPartition {
                    partition_index,
                    acknowledgement_batches,
                })
            },
            |topic_id, partitions| ShareFetchTopic { topic_id, partitions },
        )?;
        let forgotten_topics_data = get_array(buf, "ShareFetchRequest.ForgottenTopicsData", FORGOTTEN_TOPIC_MIN, |buf| {
            let topic_id = get_uuid(buf, "ForgottenTopicsData.TopicId")?;
            let partitions = get_array(buf, "ForgottenTopicsData.Partitions", 4, |b| {
                get_i32(b, "ForgottenTopicsData.Partitions")
            })?;
            skip_tagged_fields(buf, "ForgottenTopicsData tagged fields")?;
            Ok(ForgottenTopic { topic_id, partitions })
        })?;
        skip_tagged_fields(buf, "ShareFetchRequest tagged fields")?;
        Ok(Self {
            group_id,
            member_id,
            share_session_epoch,
            max_wait_ms,
            min_bytes,
            max_bytes,
            max_records,
            batch_size,
            share_acquire_mode,
            is_renew_ack,
            topics,
            forgotten_topics_data,
        })
    }

    /// Encodes the request body at `version` (client side; tests and tools). At v1,
    /// `share_acquire_mode` is dropped (ignorable) and `is_renew_ack = true` is an error.
    pub fn encode(&self, version: i16) -> Result<BytesMut> {
        check_version("ShareFetchRequest", version)?;
        if version < 2 && self.is_renew_ack {
            return Err(ShareCodecError::FieldNotInVersion {
                field: "ShareFetchRequest.IsRenewAck",
                version,
            });
        }
        let mut buf = BytesMut::with_capacity(64);
        put_nullable_string(&mut buf, self.group_id.as_deref(), "ShareFetchRequest.GroupId")?;
        put_nullable_string(&mut buf, self.member_id.as_deref(), "ShareFetchRequest.MemberId")?;
        buf.put_i32(self.share_session_epoch);
        buf.put_i32(self.max_wait_ms);
        buf.put_i32(self.min_bytes);
        buf.put_i32(self.max_bytes);
        buf.put_i32(self.max_records);
        buf.put_i32(self.batch_size);
        if version >= 2 {
            buf.put_i8(self.share_acquire_mode);
            buf.put_u8(u8::from(self.is_renew_ack));
        }
        put_topics(
            &mut buf,
            "ShareFetchRequest.Topics",
            &REQUEST_TOPICS,
            &self.topics,
            |t| (t.topic_id, &t.partitions),
            |buf, p| put_ack_partition(buf, p.partition_index, &p.acknowledgement_batches),
        )?;
        put_compact_len(&mut buf, self.forgotten_topics_data.len(), "ShareFetchRequest.ForgottenTopicsData")?;
        for f in &self.forgotten_topics_data {
            buf.put_slice(f.topic_id.as_bytes());
            put_compact_len(&mut buf, f.partitions.len(), "ForgottenTopicsData.Partitions")?;
            for &p in &f.partitions {
                buf.put_i32(p);
            }
            put_no_tags(&mut buf);
        }
        put_no_tags(&mut buf);
        Ok(buf)
    }
}

/// A ShareFetch response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareFetchResponse {
    /// Throttle time in milliseconds.
    pub throttle_time_ms: i32,
    /// Top-level error code.
    pub error_code: i16,
    /// Top-level error message.
    pub error_message: Option<StrBytes>,
    /// Lock duration applied to the acquired records, in milliseconds.
    pub acquisition_lock_timeout_ms: i32,
    /// Per-topic results (`ShareFetchableTopicResponse`).
    pub responses: Vec<ShareFetchTopicResponse>,
    /// Endpoints of the leaders named in partitions answered with `NOT_LEADER_OR_FOLLOWER`.
    pub node_endpoints: Vec<NodeEndpoint>,
}

/// Per-topic result of a ShareFetch response (`ShareFetchableTopicResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareFetchTopicResponse {
    /// Topic id.
    pub topic_id: Uuid,
    /// Per-partition results.
    pub partitions: Vec<ShareFetchPartitionResponse>,
}

/// Per-partition result of a ShareFetch response (`PartitionData`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareFetchPartitionResponse {
    /// Partition index.
    pub partition_index: i32,
    /// Fetch error code.
    pub error_code: i16,
    /// Fetch error message.
    pub error_message: Option<StrBytes>,
    /// Acknowledgement error code.
    pub acknowledge_error_code: i16,
    /// Acknowledgement error message.
    pub acknowledge_error_message: Option<StrBytes>,
    /// Current leader (meaningful with `NOT_LEADER_OR_FOLLOWER` / `FENCED_LEADER_EPOCH`).
    pub current_leader: LeaderIdAndEpoch,
    /// Record batches, possibly several slices (e.g. from different log segments), written
    /// back to back as one `records` field. Empty = no records (never null on the wire: v1+
    /// does not allow null records).
    pub records: Vec<Bytes>,
    /// Acquired offset ranges.
    pub acquired_records: Vec<AcquiredRecords>,
}

impl ShareFetchPartitionResponse {
    /// Total length of the record slices.
    pub fn records_len(&self) -> usize {
        self.records.iter().map(Bytes::len).sum()
    }
}

/// A range of acquired offsets in a ShareFetch response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcquiredRecords {
    /// First acquired offset.
    pub first_offset: i64,
    /// Last acquired offset (inclusive).
    pub last_offset: i64,
    /// Delivery count of these records.
    pub delivery_count: i16,
}

/// Where a partition's record slices go in the encoded output: at `offset` of the buffer that
/// holds every other field.
type Splice<'a> = (usize, &'a [Bytes]);

impl ShareFetchResponse {
    /// API key of ShareFetch.
    pub const API_KEY: i16 = 78;

    /// Encodes the response body at `version` into one contiguous buffer, copying the record
    /// bytes. For tests and small responses; the broker uses [`Self::encode_frame_chunks`].
    pub fn encode(&self, version: i16) -> Result<BytesMut> {
        check_version("ShareFetchResponse", version)?;
        let mut buf = BytesMut::with_capacity(self.estimated_len(true));
        self.encode_fields(&mut buf, None)?;
        if buf.len() > i32::MAX as usize {
            return Err(ShareCodecError::TooLarge {
                field: "ShareFetchResponse",
                len: buf.len(),
            });
        }
        Ok(buf)
    }

    /// Encodes the complete response frame (4-byte size, response header v1, body) into one
    /// buffer, copying the record bytes.
    pub fn encode_frame(&self, version: i16, correlation_id: i32) -> Result<Bytes> {
        check_version("ShareFetchResponse", version)?;
        let mut buf = BytesMut::with_capacity(FRAME_PREFIX_LEN + self.estimated_len(true));
        put_frame_prefix(&mut buf, correlation_id);
        self.encode_fields(&mut buf, None)?;
        let total = buf.len();
        patch_frame_len(&mut buf, total)?;
        Ok(buf.freeze())
    }

    /// Encodes the response body at `version` as chunks to be written back to back. Record
    /// slices are not copied: each appears as a clone of the caller's `Bytes` handle. All other
    /// fields share one allocation. Empty record slices are left out.
    pub fn encode_chunks(&self, version: i16) -> Result<Vec<Bytes>> {
        self.chunks(version, None)
    }

    /// Like [`Self::encode_chunks`], for the complete response frame: the first chunk starts
    /// with the 4-byte size (covering header, body and all record bytes) and the response
    /// header v1 (correlation id, empty tagged fields).
    pub fn encode_frame_chunks(&self, version: i16, correlation_id: i32) -> Result<Vec<Bytes>> {
        self.chunks(version, Some(correlation_id))
    }

    /// Decodes a response body of `version` (client side; tests and tools). Each partition's
    /// records come back as at most one zero-copy slice of `buf`.
    pub fn decode(buf: &mut Bytes, version: i16) -> Result<Self> {
        check_version("ShareFetchResponse", version)?;
        let throttle_time_ms = get_i32(buf, "ShareFetchResponse.ThrottleTimeMs")?;
        let error_code = get_i16(buf, "ShareFetchResponse.ErrorCode")?;
        let error_message = get_nullable_string(buf, "ShareFetchResponse.ErrorMessage")?;
        let acquisition_lock_timeout_ms = get_i32(buf, "ShareFetchResponse.AcquisitionLockTimeoutMs")?;
        let responses = get_topics(
            buf,
            "ShareFetchResponse.Responses",
            &RESPONSE_TOPICS,
            PARTITION_DATA_MIN,
            |buf| {
                let partition_index = get_i32(buf, "Partitions.PartitionIndex")?;
                let error_code = get_i16(buf, "Partitions.ErrorCode")?;
                let error_message = get_nullable_string(buf, "Partitions.ErrorMessage")?;
                let acknowledge_error_code = get_i16(buf, "Partitions.AcknowledgeErrorCode")?;
                let acknowledge_error_message = get_nullable_string(buf, "Partitions.AcknowledgeErrorMessage")?;
                let current_leader = get_leader(buf)?;
                let records = get_bytes(buf, "Partitions.Records")?;
                let acquired_records = get_array(buf, "Partitions.AcquiredRecords", ACQUIRED_RECORDS_MIN, |buf| {
                    let first_offset = get_i64(buf, "AcquiredRecords.FirstOffset")?;
                    let last_offset = get_i64(buf, "AcquiredRecords.LastOffset")?;
                    let delivery_count = get_i16(buf, "AcquiredRecords.DeliveryCount")?;
                    skip_tagged_fields(buf, "AcquiredRecords tagged fields")?;
                    Ok(AcquiredRecords {
                        first_offset,
                        last_offset,
                        delivery_count,
                    })
                })?;
                skip_tagged_fields(buf, "Partitions tagged fields")?;
                Ok(ShareFetchPartitionResponse {
                    partition_index,
                    error_code,
                    error_message,
                    acknowledge_error_code,
                    acknowledge_error_message,
                    current_leader,
                    records: if records.is_empty() { Vec::new() } else { vec![records] },
                    acquired_records,
                })
            },
            |topic_id, partitions| ShareFetchTopicResponse { topic_id, partitions },
        )?;
        let node_endpoints = get_array(buf, "ShareFetchResponse.NodeEndpoints", NODE_ENDPOINT_MIN, get_node_endpoint)?;
        skip_tagged_fields(buf, "ShareFetchResponse tagged fields")?;
        Ok(Self {
            throttle_time_ms,
            error_code,
            error_message,
            acquisition_lock_timeout_ms,
            responses,
            node_endpoints,
        })
    }

    fn chunks(&self, version: i16, correlation_id: Option<i32>) -> Result<Vec<Bytes>> {
        check_version("ShareFetchResponse", version)?;
        let prefix = if correlation_id.is_some() { FRAME_PREFIX_LEN } else { 0 };
        let mut buf = BytesMut::with_capacity(prefix + self.estimated_len(false));
        if let Some(id) = correlation_id {
            put_frame_prefix(&mut buf, id);
        }
        let mut splices: Vec<Splice<'_>> = Vec::new();
        let records_len = self.encode_fields(&mut buf, Some(&mut splices))?;
        let total = buf.len().checked_add(records_len).ok_or(ShareCodecError::TooLarge {
            field: "ShareFetchResponse",
            len: usize::MAX,
        })?;
        if total > i32::MAX as usize {
            return Err(ShareCodecError::TooLarge {
                field: "ShareFetchResponse",
                len: total,
            });
        }
        if correlation_id.is_some() {
            patch_frame_len(&mut buf, total)?;
        }
        let fields = buf.freeze();
        let slices: usize = splices.iter().map(|(_, r)| r.len()).sum();
        let mut out = Vec::with_capacity(2 * splices.len() + slices + 1);
        let mut pos = 0;
        for (at, records) in splices {
            if at > pos {
                out.push(fields.slice(pos..at));
                pos = at;
            }
            out.extend(records.iter().filter(|r| !r.is_empty()).cloned());
        }
        if pos < fields.len() {
            out.push(fields.slice(pos..));
        }
        Ok(out)
    }

    /// Writes every field into `buf`. Record slices are copied into `buf` when `splices` is
    /// `None`, otherwise their position is recorded there. Returns the number of record bytes
    /// recorded in `splices` (not written to `buf`).
    fn encode_fields<'a>(&'a self, buf: &mut BytesMut, mut splices: Option<&mut Vec<Splice<'a>>>) -> Result<usize> {
        let mut spliced = 0usize;
        buf.put_i32(self.throttle_time_ms);
        buf.put_i16(self.error_code);
        put_nullable_string(buf, self.error_message.as_deref(), "ShareFetchResponse.ErrorMessage")?;
        buf.put_i32(self.acquisition_lock_timeout_ms);
        put_topics(
            buf,
            "ShareFetchResponse.Responses",
            &RESPONSE_TOPICS,
            &self.responses,
            |t| (t.topic_id, &t.partitions),
            |buf, p| {
                buf.put_i32(p.partition_index);
                buf.put_i16(p.error_code);
                put_nullable_string(buf, p.error_message.as_deref(), "Partitions.ErrorMessage")?;
                buf.put_i16(p.acknowledge_error_code);
                put_nullable_string(buf, p.acknowledge_error_message.as_deref(), "Partitions.AcknowledgeErrorMessage")?;
                put_leader(buf, &p.current_leader);
                let records_len =
                    p.records
                        .iter()
                        .try_fold(0usize, |acc, r| acc.checked_add(r.len()))
                        .ok_or(ShareCodecError::TooLarge {
                            field: "Partitions.Records",
                            len: usize::MAX,
                        })?;
                put_compact_len(buf, records_len, "Partitions.Records")?;
                match splices.as_deref_mut() {
                    Some(_) if records_len == 0 => {}
                    Some(s) => {
                        s.push((buf.len(), &p.records));
                        spliced = spliced.checked_add(records_len).ok_or(ShareCodecError::TooLarge {
                            field: "ShareFetchResponse",
                            len: usize::MAX,
                        })?;
                    }
                    None => {
                        buf.reserve(records_len);
                        for r in &p.records {
                            buf.put_slice(r);
                        }
                    }
                }
                put_compact_len(buf, p.acquired_records.len(), "Partitions.AcquiredRecords")?;
                for a in &p.acquired_records {
                    buf.put_i64(a.first_offset);
                    buf.put_i64(a.last_offset);
                    buf.put_i16(a.delivery_count);
                    put_no_tags(buf);
                }
                put_no_tags(buf);
                Ok(())
            },
        )?;
        put_node_endpoints(buf, &self.node_endpoints)?;
        put_no_tags(buf);
        Ok(spliced)
    }

    /// Upper-bound-ish estimate of the encoded length (without records unless
    /// `with_records`), to size the buffer in one allocation.
    fn estimated_len(&self, with_records: bool) -> usize {
        let s = |v: &Option<StrBytes>| v.as_ref().map_or(0, |s| s.len() + 3);
        let mut n = 32 + s(&self.error_message);
        for t in &self.responses {
            n += 16 + 10;
            for p in &t.partitions {
                n += 40 + s(&p.error_message) + s(&p.acknowledge_error_message) + 19 * p.acquired_records.len();
                if with_records {
                    n += p.records_len();
                }
            }
        }
        for e in &self.node_endpoints {
            n += 20 + e.host.len() + s(&e.rack);
        }
        n
    }
}
