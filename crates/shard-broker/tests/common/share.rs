//! Share-group helpers for raw-protocol tests: admin, produce, heartbeat, ShareFetch and
//! ShareAcknowledge through the hand-written codecs, and a share consumer with its own
//! connection and share-session epoch.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use shard_protocol::{
    AcknowledgementBatch, ShareAcknowledgePartition, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareAcknowledgeTopic,
    ShareFetchPartition, ShareFetchPartitionResponse, ShareFetchRequest, ShareFetchResponse, ShareFetchTopic,
};
use uuid::Uuid;

use super::RawClient;

// Acknowledge types.
pub const ACCEPT: i8 = 1;
pub const RELEASE: i8 = 2;
pub const RENEW: i8 = 4;

// Error codes, as on the wire.
pub const NONE: i16 = 0;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const UNKNOWN_MEMBER_ID: i16 = 25;
pub const INVALID_REQUEST: i16 = 42;
pub const GROUP_ID_NOT_FOUND: i16 = 69;
pub const UNKNOWN_TOPIC_ID: i16 = 100;
pub const FENCED_MEMBER_EPOCH: i16 = 110;
pub const INVALID_RECORD_STATE: i16 = 121;
pub const SHARE_SESSION_NOT_FOUND: i16 = 122;
pub const INVALID_SHARE_SESSION_EPOCH: i16 = 123;
pub const SHARE_SESSION_LIMIT_REACHED: i16 = 133;

/// Broker settings for a 1 s acquisition lock.
pub const ONE_SECOND_LOCKS: &str = "group.share.min.record.lock.duration.ms = 1000\ngroup.share.record.lock.duration.ms = 1000\n";

// ---------------------------------------------------------------------------------------------
// Helpers: admin, produce, heartbeat and describe through kafka-protocol types.

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

pub async fn create_topic(c: &mut RawClient, topic: &str, partitions: i32) -> Uuid {
    let req = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![
        CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1),
    ]);
    let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req).await;
    let t = &resp.topics[0];
    assert_eq!(t.error_code, NONE, "create {topic}: {:?}", t.error_message);
    assert!(!t.topic_id.is_nil());
    t.topic_id
}

/// Appends `records` to `topic`-`partition`; returns the base offset.
pub async fn produce(c: &mut RawClient, topic: &str, partition: i32, records: Bytes) -> i64 {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![
            PartitionProduceData::default().with_index(partition).with_records(Some(records)),
        ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, NONE, "produce to {topic}-{partition}: {:?}", p.error_message);
    p.base_offset
}

/// One v2 record batch of `count` records without a producer id. (`common::batch` with producer
/// id -1 gives every record its own batch: the encoder starts a new batch whenever
/// `offset - sequence` changes, and with sequence -1 it always does.)
pub fn one_batch(count: i32) -> Bytes {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i64::from(i),
            // Base sequence -1 (no producer id); the per-record values only keep one batch.
            sequence: i - 1,
            timestamp: 1_700_000_000_000 + i64::from(i),
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(format!("value-{i}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).expect("encode batch");
    let buf = buf.freeze();
    let len = i32::from_be_bytes(buf[8..12].try_into().expect("4 bytes"));
    assert_eq!(buf.len(), 12 + len as usize, "one batch of {count} records");
    buf
}

pub async fn heartbeat(c: &mut RawClient, group: &str, member: &str, epoch: i32, topics: Option<&[&str]>) -> ShareGroupHeartbeatResponse {
    let req = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(epoch)
        .with_rack_id(None)
        .with_subscribed_topic_names(topics.map(|t| t.iter().map(|n| name(n)).collect()));
    c.call(ApiKey::ShareGroupHeartbeat, 1, &req).await
}

/// A successful join: returns the member epoch.
pub async fn join(c: &mut RawClient, group: &str, member: &str, topics: &[&str]) -> i32 {
    let resp = heartbeat(c, group, member, 0, Some(topics)).await;
    assert_eq!(resp.error_code, NONE, "join {member}: {:?}", resp.error_message);
    assert!(resp.member_epoch >= 1, "join {member}: epoch {}", resp.member_epoch);
    resp.member_epoch
}

/// The assignment in a heartbeat answer as (topic id, sorted partitions), sorted by topic id.
pub fn assignment(resp: &ShareGroupHeartbeatResponse) -> Option<Vec<(Uuid, Vec<i32>)>> {
    resp.assignment.as_ref().map(|a| {
        let mut out: Vec<(Uuid, Vec<i32>)> = a
            .topic_partitions
            .iter()
            .map(|tp| {
                let mut p = tp.partitions.clone();
                p.sort_unstable();
                (tp.topic_id, p)
            })
            .collect();
        out.sort();
        out
    })
}

pub async fn describe(c: &mut RawClient, groups: &[&str]) -> ShareGroupDescribeResponse {
    let req = ShareGroupDescribeRequest::default().with_group_ids(groups.iter().map(|g| GroupId(s(g))).collect());
    c.call(ApiKey::ShareGroupDescribe, 1, &req).await
}

// ---------------------------------------------------------------------------------------------
// Helpers: ShareFetch / ShareAcknowledge through the hand-written codecs.

pub async fn share_fetch(c: &mut RawClient, version: i16, req: &ShareFetchRequest) -> ShareFetchResponse {
    let body = req.encode(version).expect("encode ShareFetch");
    let mut resp = c.call_body(ApiKey::ShareFetch, version, &body).await;
    let decoded = ShareFetchResponse::decode(&mut resp, version).expect("decode ShareFetch response");
    assert!(resp.is_empty(), "ShareFetch v{version}: trailing bytes in response");
    decoded
}

pub async fn share_ack(c: &mut RawClient, version: i16, req: &ShareAcknowledgeRequest) -> ShareAcknowledgeResponse {
    let body = req.encode(version).expect("encode ShareAcknowledge");
    let mut resp = c.call_body(ApiKey::ShareAcknowledge, version, &body).await;
    let decoded = ShareAcknowledgeResponse::decode(&mut resp, version).expect("decode ShareAcknowledge response");
    assert!(resp.is_empty(), "ShareAcknowledge v{version}: trailing bytes in response");
    decoded
}

pub fn ack(first: i64, last: i64, types: &[i8]) -> AcknowledgementBatch {
    AcknowledgementBatch {
        first_offset: first,
        last_offset: last,
        acknowledge_types: types.to_vec(),
    }
}

/// The answer for `partition`, if listed.
pub fn part(resp: &ShareFetchResponse, partition: i32) -> Option<&ShareFetchPartitionResponse> {
    resp.responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
}

/// Every offset acquired in `partition`, with its delivery count, in offset order.
pub fn acquired(resp: &ShareFetchResponse, partition: i32) -> Vec<(i64, i16)> {
    let Some(p) = part(resp, partition) else {
        return Vec::new();
    };
    let mut out: Vec<(i64, i16)> = p
        .acquired_records
        .iter()
        .flat_map(|r| {
            assert!(r.first_offset <= r.last_offset, "inverted AcquiredRecords {r:?}");
            (r.first_offset..=r.last_offset).map(move |o| (o, r.delivery_count))
        })
        .collect();
    out.sort_unstable();
    let distinct: BTreeSet<i64> = out.iter().map(|(o, _)| *o).collect();
    assert_eq!(distinct.len(), out.len(), "overlapping AcquiredRecords: {:?}", p.acquired_records);
    out
}

/// Records acquired across all partitions.
pub fn acquired_total(resp: &ShareFetchResponse) -> usize {
    resp.responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .flat_map(|p| p.acquired_records.iter())
        .map(|r| (r.last_offset - r.first_offset + 1) as usize)
        .sum()
}

/// `first..=last`, each with delivery count `count`.
pub fn delivered(first: i64, last: i64, count: i16) -> Vec<(i64, i16)> {
    (first..=last).map(|o| (o, count)).collect()
}

/// A partition's Records field split into its stored batches (BaseOffset int64, then BatchLength
/// int32 counting the bytes after it).
pub fn split_batches(p: &ShareFetchPartitionResponse) -> Vec<Bytes> {
    let mut all = BytesMut::new();
    for chunk in &p.records {
        all.extend_from_slice(chunk);
    }
    let all = all.freeze();
    let mut out = Vec::new();
    let mut at = 0;
    while at < all.len() {
        assert!(all.len() - at >= 12, "partial batch header at byte {at}");
        let len = i32::from_be_bytes(all[at + 8..at + 12].try_into().expect("4 bytes"));
        let end = at + 12 + usize::try_from(len).expect("non-negative batch length");
        assert!(end <= all.len(), "partial batch at byte {at}: records hold whole batches only");
        out.push(all.slice(at..end));
        at = end;
    }
    out
}

pub fn base_offset(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[0..8].try_into().expect("8 bytes"))
}

/// Offsets of the records in a partition's Records field.
pub fn record_offsets(p: &ShareFetchPartitionResponse) -> Vec<i64> {
    split_batches(p)
        .into_iter()
        .flat_map(|b| {
            let mut b = b;
            RecordBatchDecoder::decode_all(&mut b).expect("decode stored batch")
        })
        .flat_map(|set| set.records.into_iter().map(|r| r.offset))
        .collect()
}

/// One share consumer: a member id with its own connection and share-session epoch.
pub struct Consumer {
    pub client: RawClient,
    pub group: String,
    pub member: String,
    pub topic: Uuid,
    pub partitions: Vec<i32>,
    pub version: i16,
    /// The epoch the next ShareFetch / ShareAcknowledge carries.
    pub epoch: i32,
}

impl Consumer {
    pub async fn connect(addr: SocketAddr, group: &str, member: &str, topic: Uuid, partitions: &[i32], version: i16) -> Consumer {
        Consumer {
            client: RawClient::connect(addr).await,
            group: group.to_string(),
            member: member.to_string(),
            topic,
            partitions: partitions.to_vec(),
            version,
            epoch: 0,
        }
    }

    /// Connects and opens the share session (epoch 0, no wait).
    pub async fn opened(addr: SocketAddr, group: &str, member: &str, topic: Uuid, partitions: &[i32], version: i16) -> Consumer {
        let mut c = Consumer::connect(addr, group, member, topic, partitions, version).await;
        let resp = c.open().await;
        for &p in partitions {
            let listed = part(&resp, p).unwrap_or_else(|| panic!("opening response lists partition {p}"));
            assert_eq!(listed.error_code, NONE);
        }
        c
    }

    /// A ShareFetch at the current epoch; an opening request lists the consumer's partitions.
    pub fn request(&self, max_wait_ms: i32, max_records: i32) -> ShareFetchRequest {
        let topics = if self.epoch == 0 {
            vec![ShareFetchTopic {
                topic_id: self.topic,
                partitions: self
                    .partitions
                    .iter()
                    .map(|&p| ShareFetchPartition {
                        partition_index: p,
                        acknowledgement_batches: Vec::new(),
                    })
                    .collect(),
            }]
        } else {
            Vec::new()
        };
        ShareFetchRequest {
            group_id: Some(s(&self.group)),
            member_id: Some(s(&self.member)),
            share_session_epoch: self.epoch,
            max_wait_ms,
            min_bytes: 1,
            max_bytes: 1 << 20,
            max_records,
            batch_size: max_records,
            topics,
            ..Default::default()
        }
    }

    /// `acks` for `partition` in the shape of ShareFetch topics.
    pub fn fetch_acks(&self, partition: i32, acks: Vec<AcknowledgementBatch>) -> Vec<ShareFetchTopic> {
        vec![ShareFetchTopic {
            topic_id: self.topic,
            partitions: vec![ShareFetchPartition {
                partition_index: partition,
                acknowledgement_batches: acks,
            }],
        }]
    }

    /// Sends `req`; a successful answer moves the session epoch on.
    pub async fn send(&mut self, req: &ShareFetchRequest) -> ShareFetchResponse {
        let resp = share_fetch(&mut self.client, self.version, req).await;
        if resp.error_code == NONE {
            self.epoch = next_epoch(req.share_session_epoch);
        }
        resp
    }

    pub async fn open(&mut self) -> ShareFetchResponse {
        assert_eq!(self.epoch, 0, "session already open");
        let resp = self.send(&self.request(0, 500)).await;
        assert_eq!(resp.error_code, NONE, "open session: {:?}", resp.error_message);
        resp
    }

    /// A plain fetch that must succeed at the top level.
    pub async fn fetch(&mut self, max_wait_ms: i32, max_records: i32) -> ShareFetchResponse {
        let resp = self.send(&self.request(max_wait_ms, max_records)).await;
        assert_eq!(resp.error_code, NONE, "{} fetch: {:?}", self.member, resp.error_message);
        resp
    }

    /// A fetch piggybacking `acks` for `partition` (no wait).
    pub async fn fetch_acking(&mut self, partition: i32, acks: Vec<AcknowledgementBatch>) -> ShareFetchResponse {
        let mut req = self.request(0, 500);
        req.topics = self.fetch_acks(partition, acks);
        let resp = self.send(&req).await;
        assert_eq!(resp.error_code, NONE, "{} fetch with acks: {:?}", self.member, resp.error_message);
        resp
    }

    /// ShareAcknowledge at the current epoch; a successful answer moves the epoch on.
    pub async fn acknowledge_at(
        &mut self,
        epoch: i32,
        partition: i32,
        acks: Vec<AcknowledgementBatch>,
        renew: bool,
    ) -> ShareAcknowledgeResponse {
        let req = ShareAcknowledgeRequest {
            group_id: Some(s(&self.group)),
            member_id: Some(s(&self.member)),
            share_session_epoch: epoch,
            is_renew_ack: renew,
            topics: vec![ShareAcknowledgeTopic {
                topic_id: self.topic,
                partitions: vec![ShareAcknowledgePartition {
                    partition_index: partition,
                    acknowledgement_batches: acks,
                }],
            }],
        };
        let resp = share_ack(&mut self.client, self.version, &req).await;
        if resp.error_code == NONE {
            self.epoch = next_epoch(epoch);
        }
        resp
    }

    /// ShareAcknowledge at the current epoch that must succeed at the top level; returns the
    /// partition's error code.
    pub async fn acknowledge(&mut self, partition: i32, acks: Vec<AcknowledgementBatch>) -> i16 {
        let resp = self.acknowledge_at(self.epoch, partition, acks, false).await;
        assert_eq!(resp.error_code, NONE, "{} acknowledge: {:?}", self.member, resp.error_message);
        ack_code(&resp, partition)
    }

    /// Closes the share session (epoch -1).
    pub async fn close(&mut self) -> ShareFetchResponse {
        let mut req = self.request(0, 500);
        req.share_session_epoch = -1;
        req.topics.clear();
        let resp = self.send(&req).await;
        assert_eq!(resp.error_code, NONE, "close session: {:?}", resp.error_message);
        resp
    }
}

/// Epoch after a successful request at `epoch`: 0 opens (next 1), -1 closes (next must open).
pub fn next_epoch(epoch: i32) -> i32 {
    match epoch {
        -1 => 0,
        e => e + 1,
    }
}

pub fn ack_code(resp: &ShareAcknowledgeResponse, partition: i32) -> i16 {
    resp.responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .unwrap_or_else(|| panic!("ShareAcknowledge answers partition {partition}: {resp:?}"))
        .error_code
}

pub fn fetch_ack_code(resp: &ShareFetchResponse, partition: i32) -> i16 {
    part(resp, partition)
        .unwrap_or_else(|| panic!("ShareFetch answers partition {partition}: {resp:?}"))
        .acknowledge_error_code
}

pub fn millis(d: Duration) -> u128 {
    d.as_millis()
}
