//! ShareFetch / ShareAcknowledge v1-v2 codecs: cross-checks with the `kafka-protocol` crate's
//! generated v1 types, hand-built v2 byte sequences (Apache Kafka 4.2 schemas), robustness
//! against malformed input, and the zero-copy chunked response frame.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, BrokerId, GroupId, share_acknowledge_request as kreq_ack, share_acknowledge_response as kresp_ack,
    share_fetch_request as kreq_fetch, share_fetch_response as kresp_fetch,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use proptest::prelude::*;
use shard_protocol::{
    AcknowledgementBatch, AcquiredRecords, ForgottenTopic, LeaderIdAndEpoch, NodeEndpoint, ShareAcknowledgePartition,
    ShareAcknowledgePartitionResponse, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareAcknowledgeTopic,
    ShareAcknowledgeTopicResponse, ShareCodecError, ShareFetchPartition, ShareFetchPartitionResponse, ShareFetchRequest,
    ShareFetchResponse, ShareFetchTopic, ShareFetchTopicResponse, encode_response,
};
use uuid::Uuid;

fn topic(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn s(v: &'static str) -> StrBytes {
    StrBytes::from_static_str(v)
}

fn tag(n: u8) -> Bytes {
    Bytes::from(vec![n; n as usize])
}

fn encode_kp<T: Encodable>(msg: &T, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    msg.encode(&mut buf, version).expect("kafka-protocol encode");
    buf.freeze()
}

// ------------------------------------------------------------------------------------------
// Sample messages.

fn kp_batch(first: i64, last: i64, types: Vec<i8>) -> kreq_fetch::AcknowledgementBatch {
    kreq_fetch::AcknowledgementBatch::default()
        .with_first_offset(first)
        .with_last_offset(last)
        .with_acknowledge_types(types)
}

/// A v1 ShareFetch request built with the crate, including unknown tagged fields at every level.
fn kp_fetch_request() -> kreq_fetch::ShareFetchRequest {
    kreq_fetch::ShareFetchRequest::default()
        .with_group_id(Some(GroupId(s("group-a"))))
        .with_member_id(Some(s("member-0123456789")))
        .with_share_session_epoch(7)
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(52_428_800)
        .with_max_records(500)
        .with_batch_size(100)
        .with_topics(vec![
            kreq_fetch::FetchTopic::default()
                .with_topic_id(topic(1))
                .with_partitions(vec![
                    kreq_fetch::FetchPartition::default()
                        .with_partition_index(0)
                        .with_acknowledgement_batches(vec![
                            kp_batch(10, 19, vec![1]),
                            kp_batch(20, 22, vec![1, 0, 3]).with_unknown_tagged_field(5, tag(3)),
                        ])
                        .with_unknown_tagged_field(0, tag(1)),
                    kreq_fetch::FetchPartition::default().with_partition_index(3),
                ])
                .with_unknown_tagged_field(9, tag(2)),
            kreq_fetch::FetchTopic::default().with_topic_id(topic(2)).with_partitions(vec![
                kreq_fetch::FetchPartition::default()
                    .with_partition_index(1)
                    .with_acknowledgement_batches(vec![kp_batch(0, 0, vec![2])]),
            ]),
        ])
        .with_forgotten_topics_data(vec![
            kreq_fetch::ForgottenTopic::default()
                .with_topic_id(topic(3))
                .with_partitions(vec![0, 1, 2])
                .with_unknown_tagged_field(1, tag(4)),
        ])
        .with_unknown_tagged_field(2, tag(5))
        .with_unknown_tagged_field(300, tag(6))
}

/// Our equivalent of [`kp_fetch_request`] (tagged fields are skipped, so they are not here).
fn fetch_request() -> ShareFetchRequest {
    let batch = |first_offset, last_offset, acknowledge_types: Vec<i8>| AcknowledgementBatch {
        first_offset,
        last_offset,
        acknowledge_types,
    };
    ShareFetchRequest {
        group_id: Some(s("group-a")),
        member_id: Some(s("member-0123456789")),
        share_session_epoch: 7,
        max_wait_ms: 500,
        min_bytes: 1,
        max_bytes: 52_428_800,
        max_records: 500,
        batch_size: 100,
        share_acquire_mode: 0,
        is_renew_ack: false,
        topics: vec![
            ShareFetchTopic {
                topic_id: topic(1),
                partitions: vec![
                    ShareFetchPartition {
                        partition_index: 0,
                        acknowledgement_batches: vec![batch(10, 19, vec![1]), batch(20, 22, vec![1, 0, 3])],
                    },
                    ShareFetchPartition {
                        partition_index: 3,
                        acknowledgement_batches: vec![],
                    },
                ],
            },
            ShareFetchTopic {
                topic_id: topic(2),
                partitions: vec![ShareFetchPartition {
                    partition_index: 1,
                    acknowledgement_batches: vec![batch(0, 0, vec![2])],
                }],
            },
        ],
        forgotten_topics_data: vec![ForgottenTopic {
            topic_id: topic(3),
            partitions: vec![0, 1, 2],
        }],
    }
}

fn kp_ack_request() -> kreq_ack::ShareAcknowledgeRequest {
    let batch = |first, last, types| {
        kreq_ack::AcknowledgementBatch::default()
            .with_first_offset(first)
            .with_last_offset(last)
            .with_acknowledge_types(types)
    };
    kreq_ack::ShareAcknowledgeRequest::default()
        .with_group_id(None)
        .with_member_id(Some(s("m")))
        .with_share_session_epoch(-1)
        .with_topics(vec![
            kreq_ack::AcknowledgeTopic::default()
                .with_topic_id(topic(4))
                .with_partitions(vec![
                    kreq_ack::AcknowledgePartition::default()
                        .with_partition_index(5)
                        .with_acknowledgement_batches(vec![
                            batch(100, 101, vec![3, 2]).with_unknown_tagged_field(4, tag(2)),
                            batch(102, 200, vec![1]),
                        ])
                        .with_unknown_tagged_field(1, tag(1)),
                ])
                .with_unknown_tagged_field(3, tag(3)),
        ])
        .with_unknown_tagged_field(0, tag(4))
}

fn ack_request() -> ShareAcknowledgeRequest {
    ShareAcknowledgeRequest {
        group_id: None,
        member_id: Some(s("m")),
        share_session_epoch: -1,
        is_renew_ack: false,
        topics: vec![ShareAcknowledgeTopic {
            topic_id: topic(4),
            partitions: vec![ShareAcknowledgePartition {
                partition_index: 5,
                acknowledgement_batches: vec![
                    AcknowledgementBatch {
                        first_offset: 100,
                        last_offset: 101,
                        acknowledge_types: vec![3, 2],
                    },
                    AcknowledgementBatch {
                        first_offset: 102,
                        last_offset: 200,
                        acknowledge_types: vec![1],
                    },
                ],
            }],
        }],
    }
}

/// A ShareFetch response whose first partition's records are two slices of `log` plus an
/// empty slice, the second has no records, the third has a non-contiguous slice.
fn fetch_response(log: &Bytes) -> ShareFetchResponse {
    ShareFetchResponse {
        throttle_time_ms: 3,
        error_code: 0,
        error_message: None,
        acquisition_lock_timeout_ms: 30_000,
        responses: vec![
            ShareFetchTopicResponse {
                topic_id: topic(1),
                partitions: vec![
                    ShareFetchPartitionResponse {
                        partition_index: 0,
                        error_code: 0,
                        error_message: None,
                        acknowledge_error_code: 121,
                        acknowledge_error_message: Some(s("invalid record state")),
                        current_leader: LeaderIdAndEpoch {
                            leader_id: -1,
                            leader_epoch: -1,
                        },
                        records: vec![log.slice(0..100), Bytes::new(), log.slice(100..300)],
                        acquired_records: vec![
                            AcquiredRecords {
                                first_offset: 0,
                                last_offset: 9,
                                delivery_count: 1,
                            },
                            AcquiredRecords {
                                first_offset: 12,
                                last_offset: 20,
                                delivery_count: 3,
                            },
                        ],
                    },
                    ShareFetchPartitionResponse {
                        partition_index: 1,
                        error_code: 6,
                        error_message: Some(s("not leader")),
                        current_leader: LeaderIdAndEpoch {
                            leader_id: 2,
                            leader_epoch: 9,
                        },
                        ..Default::default()
                    },
                ],
            },
            ShareFetchTopicResponse {
                topic_id: topic(2),
                partitions: vec![ShareFetchPartitionResponse {
                    partition_index: 4,
                    records: vec![log.slice(400..1000)],
                    acquired_records: vec![AcquiredRecords {
                        first_offset: 77,
                        last_offset: 77,
                        delivery_count: 2,
                    }],
                    ..Default::default()
                }],
            },
        ],
        node_endpoints: vec![
            NodeEndpoint {
                node_id: 2,
                host: s("broker-2.example"),
                port: 9092,
                rack: Some(s("r1")),
            },
            NodeEndpoint {
                node_id: 3,
                host: s("b3"),
                port: 19092,
                rack: None,
            },
        ],
    }
}

fn log_bytes() -> Bytes {
    Bytes::from((0..1000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>())
}

/// The crate's equivalent of [`fetch_response`].
fn kp_fetch_response(ours: &ShareFetchResponse) -> kresp_fetch::ShareFetchResponse {
    kresp_fetch::ShareFetchResponse::default()
        .with_throttle_time_ms(ours.throttle_time_ms)
        .with_error_code(ours.error_code)
        .with_error_message(ours.error_message.clone())
        .with_acquisition_lock_timeout_ms(ours.acquisition_lock_timeout_ms)
        .with_responses(
            ours.responses
                .iter()
                .map(|t| {
                    kresp_fetch::ShareFetchableTopicResponse::default()
                        .with_topic_id(t.topic_id)
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    let mut records = BytesMut::new();
                                    for r in &p.records {
                                        records.put_slice(r);
                                    }
                                    kresp_fetch::PartitionData::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(p.error_code)
                                        .with_error_message(p.error_message.clone())
                                        .with_acknowledge_error_code(p.acknowledge_error_code)
                                        .with_acknowledge_error_message(p.acknowledge_error_message.clone())
                                        .with_current_leader(
                                            kresp_fetch::LeaderIdAndEpoch::default()
                                                .with_leader_id(p.current_leader.leader_id)
                                                .with_leader_epoch(p.current_leader.leader_epoch),
                                        )
                                        .with_records(Some(records.freeze()))
                                        .with_acquired_records(
                                            p.acquired_records
                                                .iter()
                                                .map(|a| {
                                                    kresp_fetch::AcquiredRecords::default()
                                                        .with_first_offset(a.first_offset)
                                                        .with_last_offset(a.last_offset)
                                                        .with_delivery_count(a.delivery_count)
                                                })
                                                .collect(),
                                        )
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
        .with_node_endpoints(
            ours.node_endpoints
                .iter()
                .map(|n| {
                    kresp_fetch::NodeEndpoint::default()
                        .with_node_id(BrokerId(n.node_id))
                        .with_host(n.host.clone())
                        .with_port(n.port)
                        .with_rack(n.rack.clone())
                })
                .collect(),
        )
}

fn ack_response() -> ShareAcknowledgeResponse {
    ShareAcknowledgeResponse {
        throttle_time_ms: 0,
        error_code: 0,
        error_message: Some(s("partial")),
        acquisition_lock_timeout_ms: 15_000,
        responses: vec![ShareAcknowledgeTopicResponse {
            topic_id: topic(4),
            partitions: vec![
                ShareAcknowledgePartitionResponse {
                    partition_index: 5,
                    error_code: 0,
                    error_message: None,
                    current_leader: LeaderIdAndEpoch::default(),
                },
                ShareAcknowledgePartitionResponse {
                    partition_index: 6,
                    error_code: 6,
                    error_message: Some(s("moved")),
                    current_leader: LeaderIdAndEpoch {
                        leader_id: 3,
                        leader_epoch: 4,
                    },
                },
            ],
        }],
        node_endpoints: vec![NodeEndpoint {
            node_id: 3,
            host: s("b3"),
            port: 19092,
            rack: None,
        }],
    }
}

fn kp_ack_response(ours: &ShareAcknowledgeResponse) -> kresp_ack::ShareAcknowledgeResponse {
    kresp_ack::ShareAcknowledgeResponse::default()
        .with_throttle_time_ms(ours.throttle_time_ms)
        .with_error_code(ours.error_code)
        .with_error_message(ours.error_message.clone())
        .with_responses(
            ours.responses
                .iter()
                .map(|t| {
                    kresp_ack::ShareAcknowledgeTopicResponse::default()
                        .with_topic_id(t.topic_id)
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    kresp_ack::PartitionData::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(p.error_code)
                                        .with_error_message(p.error_message.clone())
                                        .with_current_leader(
                                            kresp_ack::LeaderIdAndEpoch::default()
                                                .with_leader_id(p.current_leader.leader_id)
                                                .with_leader_epoch(p.current_leader.leader_epoch),
                                        )
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
        .with_node_endpoints(
            ours.node_endpoints
                .iter()
                .map(|n| {
                    kresp_ack::NodeEndpoint::default()
                        .with_node_id(BrokerId(n.node_id))
                        .with_host(n.host.clone())
                        .with_port(n.port)
                        .with_rack(n.rack.clone())
                })
                .collect(),
        )
}

fn concat(chunks: &[Bytes]) -> Bytes {
    let mut out = BytesMut::new();
    for c in chunks {
        out.put_slice(c);
    }
    out.freeze()
}

// ------------------------------------------------------------------------------------------
// v1 cross-checks with the kafka-protocol crate.

#[test]
fn v1_fetch_request_from_crate_decodes_to_same_fields() {
    let mut wire = encode_kp(&kp_fetch_request(), 1);
    let decoded = ShareFetchRequest::decode(&mut wire, 1).expect("decode");
    assert!(wire.is_empty(), "decoder consumed the whole body");
    assert_eq!(decoded, fetch_request());
}

#[test]
fn v1_fetch_request_our_encoding_matches_crate_without_tags() {
    let kp = kp_fetch_request();
    // Strip the crate's unknown tagged fields by re-decoding our own encoding with the crate.
    let ours = fetch_request().encode(1).expect("encode").freeze();
    let back = kreq_fetch::ShareFetchRequest::decode(&mut ours.clone(), 1).expect("crate decode");
    assert_eq!(back.group_id, kp.group_id);
    assert_eq!(back.member_id, kp.member_id);
    assert_eq!(back.max_bytes, kp.max_bytes);
    assert_eq!(back.topics.len(), 2);
    assert_eq!(
        back.topics[0].partitions[0].acknowledgement_batches[1].acknowledge_types,
        vec![1, 0, 3]
    );
    assert_eq!(back.forgotten_topics_data[0].partitions, vec![0, 1, 2]);
    assert_eq!(encode_kp(&back, 1), ours);
}

#[test]
fn v1_ack_request_from_crate_decodes_to_same_fields() {
    let mut wire = encode_kp(&kp_ack_request(), 1);
    let decoded = ShareAcknowledgeRequest::decode(&mut wire, 1).expect("decode");
    assert!(wire.is_empty());
    assert_eq!(decoded, ack_request());
    let ours = ack_request().encode(1).expect("encode").freeze();
    let back = kreq_ack::ShareAcknowledgeRequest::decode(&mut ours.clone(), 1).expect("crate decode");
    assert_eq!(encode_kp(&back, 1), ours);
}

#[test]
fn v1_fetch_response_matches_crate_byte_for_byte() {
    let log = log_bytes();
    let ours = fetch_response(&log);
    let kp = kp_fetch_response(&ours);
    let wire = ours.encode(1).expect("encode").freeze();
    assert_eq!(wire, encode_kp(&kp, 1), "same bytes as the crate's encoding");

    let decoded = kresp_fetch::ShareFetchResponse::decode(&mut wire.clone(), 1).expect("crate decode");
    assert_eq!(decoded, kp);
    let p0 = &decoded.responses[0].partitions[0];
    assert_eq!(p0.records.as_deref(), Some(&log[0..300]));
    assert_eq!(p0.acquired_records.len(), 2);
    assert_eq!(p0.acquired_records[1].delivery_count, 3);
    assert_eq!(
        decoded.responses[0].partitions[1].records.as_deref(),
        Some(&[][..]),
        "empty, not null"
    );
    assert_eq!(decoded.responses[1].partitions[0].records.as_deref(), Some(&log[400..1000]));
    assert_eq!(decoded.node_endpoints[0].host, s("broker-2.example"));

    // Chunked body and both frame encodings agree with the copy and with the crate.
    assert_eq!(concat(&ours.encode_chunks(1).expect("chunks")), wire);
    let kp_frame = encode_response(ApiKey::ShareFetch, 1, 0x0102_0304, &kp).expect("crate frame");
    assert_eq!(ours.encode_frame(1, 0x0102_0304).expect("frame"), kp_frame);
    assert_eq!(concat(&ours.encode_frame_chunks(1, 0x0102_0304).expect("frame chunks")), kp_frame);
}

#[test]
fn v1_ack_response_matches_crate_byte_for_byte() {
    let ours = ack_response();
    let kp = kp_ack_response(&ours);
    let wire = ours.encode(1).expect("encode").freeze();
    assert_eq!(wire, encode_kp(&kp, 1));
    let decoded = kresp_ack::ShareAcknowledgeResponse::decode(&mut wire.clone(), 1).expect("crate decode");
    assert_eq!(decoded, kp);
    let frame = ours.encode_frame(1, -5).expect("frame");
    assert_eq!(frame, encode_response(ApiKey::ShareAcknowledge, 1, -5, &kp).expect("crate frame"));
}

#[test]
fn crate_v1_responses_decode_with_our_client_side_decoders() {
    let log = log_bytes();
    let ours = fetch_response(&log);
    let mut wire = encode_kp(&kp_fetch_response(&ours), 1);
    let back = ShareFetchResponse::decode(&mut wire, 1).expect("decode");
    assert!(wire.is_empty());
    // Records come back as one slice per partition.
    let mut expected = ours.clone();
    for t in &mut expected.responses {
        for p in &mut t.partitions {
            let all = concat(&p.records);
            p.records = if all.is_empty() { vec![] } else { vec![all] };
        }
    }
    assert_eq!(back, expected);

    let ack = ack_response();
    let mut wire = encode_kp(&kp_ack_response(&ack), 1);
    let back = ShareAcknowledgeResponse::decode(&mut wire, 1).expect("decode");
    assert_eq!(
        back,
        ShareAcknowledgeResponse {
            acquisition_lock_timeout_ms: 0,
            ..ack
        }
    );
}

// ------------------------------------------------------------------------------------------
// v2, hand-built per the Apache Kafka 4.2 JSON schemas.

/// Appends an unsigned varint.
fn uv(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn cstr(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.push(0),
        Some(v) => {
            uv(out, v.len() as u32 + 1);
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// A tagged-field section holding the given (tag, payload) fields.
fn tags(out: &mut Vec<u8>, fields: &[(u32, &[u8])]) {
    uv(out, fields.len() as u32);
    for (t, data) in fields {
        uv(out, *t);
        uv(out, data.len() as u32);
        out.extend_from_slice(data);
    }
}

/// ShareFetch v2: GroupId, MemberId, ShareSessionEpoch, MaxWaitMs, MinBytes, MaxBytes,
/// MaxRecords, BatchSize, ShareAcquireMode (int8), IsRenewAck (bool), Topics, ForgottenTopicsData,
/// tagged fields. `with_tags` adds unknown tagged fields at every level.
fn v2_fetch_bytes(with_tags: bool) -> Vec<u8> {
    let t = |out: &mut Vec<u8>, payload: &[u8]| {
        if with_tags {
            tags(out, &[(0, payload), (1000, b"")])
        } else {
            tags(out, &[])
        }
    };
    let mut b = Vec::new();
    cstr(&mut b, Some("g"));
    cstr(&mut b, Some("member-x"));
    b.extend_from_slice(&5i32.to_be_bytes()); // ShareSessionEpoch
    b.extend_from_slice(&0i32.to_be_bytes()); // MaxWaitMs
    b.extend_from_slice(&0i32.to_be_bytes()); // MinBytes
    b.extend_from_slice(&0i32.to_be_bytes()); // MaxBytes
    b.extend_from_slice(&0i32.to_be_bytes()); // MaxRecords
    b.extend_from_slice(&250i32.to_be_bytes()); // BatchSize
    b.push(1); // ShareAcquireMode = record_limit
    b.push(1); // IsRenewAck = true
    uv(&mut b, 1 + 1); // Topics: 1
    b.extend_from_slice(topic(9).as_bytes());
    uv(&mut b, 1 + 1); // Partitions: 1
    b.extend_from_slice(&2i32.to_be_bytes());
    uv(&mut b, 2 + 1); // AcknowledgementBatches: 2
    b.extend_from_slice(&40i64.to_be_bytes());
    b.extend_from_slice(&42i64.to_be_bytes());
    uv(&mut b, 3 + 1);
    b.extend_from_slice(&[4, 4, 1]);
    t(&mut b, b"batch");
    b.extend_from_slice(&43i64.to_be_bytes());
    b.extend_from_slice(&43i64.to_be_bytes());
    uv(&mut b, 1 + 1);
    b.push(4);
    tags(&mut b, &[]);
    t(&mut b, b"partition");
    t(&mut b, b"topic");
    uv(&mut b, 1 + 1); // ForgottenTopicsData: 1
    b.extend_from_slice(topic(8).as_bytes());
    uv(&mut b, 1 + 1);
    b.extend_from_slice(&11i32.to_be_bytes());
    t(&mut b, b"forgotten");
    t(&mut b, b"top-level");
    b
}

fn v2_fetch_expected() -> ShareFetchRequest {
    ShareFetchRequest {
        group_id: Some(s("g")),
        member_id: Some(s("member-x")),
        share_session_epoch: 5,
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 0,
        max_records: 0,
        batch_size: 250,
        share_acquire_mode: 1,
        is_renew_ack: true,
        topics: vec![ShareFetchTopic {
            topic_id: topic(9),
            partitions: vec![ShareFetchPartition {
                partition_index: 2,
                acknowledgement_batches: vec![
                    AcknowledgementBatch {
                        first_offset: 40,
                        last_offset: 42,
                        acknowledge_types: vec![4, 4, 1],
                    },
                    AcknowledgementBatch {
                        first_offset: 43,
                        last_offset: 43,
                        acknowledge_types: vec![4],
                    },
                ],
            }],
        }],
        forgotten_topics_data: vec![ForgottenTopic {
            topic_id: topic(8),
            partitions: vec![11],
        }],
    }
}

/// ShareAcknowledge v2: GroupId, MemberId, ShareSessionEpoch, IsRenewAck (bool), Topics, tags.
fn v2_ack_bytes(with_tags: bool) -> Vec<u8> {
    let t = |out: &mut Vec<u8>, payload: &[u8]| {
        if with_tags { tags(out, &[(3, payload)]) } else { tags(out, &[]) }
    };
    let mut b = Vec::new();
    cstr(&mut b, Some("g"));
    cstr(&mut b, None);
    b.extend_from_slice(&3i32.to_be_bytes());
    b.push(1); // IsRenewAck
    uv(&mut b, 1 + 1);
    b.extend_from_slice(topic(7).as_bytes());
    uv(&mut b, 1 + 1);
    b.extend_from_slice(&0i32.to_be_bytes());
    uv(&mut b, 1 + 1);
    b.extend_from_slice(&1i64.to_be_bytes());
    b.extend_from_slice(&2i64.to_be_bytes());
    uv(&mut b, 2 + 1);
    b.extend_from_slice(&[4, 1]);
    t(&mut b, b"b");
    t(&mut b, b"p");
    t(&mut b, b"t");
    t(&mut b, b"top");
    b
}

fn v2_ack_expected() -> ShareAcknowledgeRequest {
    ShareAcknowledgeRequest {
        group_id: Some(s("g")),
        member_id: None,
        share_session_epoch: 3,
        is_renew_ack: true,
        topics: vec![ShareAcknowledgeTopic {
            topic_id: topic(7),
            partitions: vec![ShareAcknowledgePartition {
                partition_index: 0,
                acknowledgement_batches: vec![AcknowledgementBatch {
                    first_offset: 1,
                    last_offset: 2,
                    acknowledge_types: vec![4, 1],
                }],
            }],
        }],
    }
}

#[test]
fn v2_fetch_request_hand_built_decodes() {
    for with_tags in [false, true] {
        let mut wire = Bytes::from(v2_fetch_bytes(with_tags));
        assert_eq!(ShareFetchRequest::decode(&mut wire, 2).expect("decode"), v2_fetch_expected());
        assert!(wire.is_empty());
    }
    assert_eq!(&v2_fetch_expected().encode(2).expect("encode")[..], &v2_fetch_bytes(false)[..]);
}

#[test]
fn v2_ack_request_hand_built_decodes() {
    for with_tags in [false, true] {
        let mut wire = Bytes::from(v2_ack_bytes(with_tags));
        assert_eq!(ShareAcknowledgeRequest::decode(&mut wire, 2).expect("decode"), v2_ack_expected());
        assert!(wire.is_empty());
    }
    assert_eq!(&v2_ack_expected().encode(2).expect("encode")[..], &v2_ack_bytes(false)[..]);
}

#[test]
fn v2_request_fields_sit_after_batch_size_and_epoch() {
    // The v2 encoding is the v1 encoding with the new fields spliced in.
    let mut req = fetch_request();
    req.share_acquire_mode = 1;
    req.is_renew_ack = false;
    let v1 = req.encode(1).expect("v1");
    let v2 = req.encode(2).expect("v2");
    // GroupId (1 + 7), MemberId (1 + 17), six int32.
    let at = 8 + 18 + 6 * 4;
    assert_eq!(&v2[..at], &v1[..at]);
    assert_eq!(&v2[at..at + 2], &[1, 0]);
    assert_eq!(&v2[at + 2..], &v1[at..]);

    let mut ack = ack_request();
    ack.is_renew_ack = true;
    let v2 = ack.encode(2).expect("v2");
    ack.is_renew_ack = false;
    let v1 = ack.encode(1).expect("v1");
    let at = 1 + 2 + 4; // null GroupId, MemberId "m", epoch
    assert_eq!(&v2[..at], &v1[..at]);
    assert_eq!(v2[at], 1);
    assert_eq!(&v2[at + 1..], &v1[at..]);
}

#[test]
fn v1_defaults_for_v2_fields_and_v1_encoding_rules() {
    let decoded = ShareFetchRequest::decode(&mut encode_kp(&kp_fetch_request(), 1), 1).expect("decode");
    assert_eq!((decoded.share_acquire_mode, decoded.is_renew_ack), (0, false));
    // ShareAcquireMode is ignorable: silently dropped at v1. IsRenewAck is not.
    let mut req = fetch_request();
    req.share_acquire_mode = 1;
    assert_eq!(req.encode(1).expect("v1"), fetch_request().encode(1).expect("v1"));
    req.is_renew_ack = true;
    assert!(matches!(req.encode(1), Err(ShareCodecError::FieldNotInVersion { version: 1, .. })));
    let mut ack = ack_request();
    ack.is_renew_ack = true;
    assert!(matches!(ack.encode(1), Err(ShareCodecError::FieldNotInVersion { version: 1, .. })));
}

#[test]
fn v2_fetch_response_is_identical_to_v1() {
    // ShareFetchResponse v2 adds no field (the version bump only signals request changes).
    let log = log_bytes();
    let r = fetch_response(&log);
    assert_eq!(r.encode(2).expect("v2"), r.encode(1).expect("v1"));
    assert_eq!(concat(&r.encode_chunks(2).expect("v2")), r.encode(1).expect("v1").freeze());
    let back = ShareFetchResponse::decode(&mut r.encode(2).expect("v2").freeze(), 2).expect("decode");
    assert_eq!(back.acquisition_lock_timeout_ms, 30_000);
}

#[test]
fn v2_ack_response_inserts_lock_timeout_after_error_message() {
    let r = ack_response();
    let v1 = r.encode(1).expect("v1");
    let v2 = r.encode(2).expect("v2");
    // ThrottleTimeMs (4) + ErrorCode (2) + ErrorMessage "partial" (1 + 7).
    let at = 4 + 2 + 8;
    let mut expected = v1[..at].to_vec();
    expected.extend_from_slice(&15_000i32.to_be_bytes());
    expected.extend_from_slice(&v1[at..]);
    assert_eq!(&v2[..], &expected[..]);
    assert_eq!(ShareAcknowledgeResponse::decode(&mut v2.freeze(), 2).expect("decode"), r);
    // The v2 frame is the v2 body behind the same header.
    let frame = r.encode_frame(2, 77).expect("frame");
    assert_eq!(&frame[0..4], &((4 + 1 + expected.len()) as i32).to_be_bytes());
    assert_eq!(&frame[4..9], &[0, 0, 0, 77, 0]);
    assert_eq!(&frame[9..], &expected[..]);
}

// ------------------------------------------------------------------------------------------
// Robustness.

fn all_request_samples() -> Vec<(&'static str, i16, Bytes)> {
    vec![
        ("fetch", 1, encode_kp(&kp_fetch_request(), 1)),
        ("fetch", 2, Bytes::from(v2_fetch_bytes(true))),
        ("ack", 1, encode_kp(&kp_ack_request(), 1)),
        ("ack", 2, Bytes::from(v2_ack_bytes(true))),
    ]
}

fn decode_any(kind: &str, version: i16, mut buf: Bytes) -> Result<(), ShareCodecError> {
    match kind {
        "fetch" => ShareFetchRequest::decode(&mut buf, version).map(drop),
        "ack" => ShareAcknowledgeRequest::decode(&mut buf, version).map(drop),
        "fetch-resp" => ShareFetchResponse::decode(&mut buf, version).map(drop),
        "ack-resp" => ShareAcknowledgeResponse::decode(&mut buf, version).map(drop),
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn every_truncation_of_a_valid_message_is_an_error() {
    let log = log_bytes();
    let mut samples = all_request_samples();
    for v in [1, 2] {
        samples.push(("fetch-resp", v, fetch_response(&log).encode(v).expect("enc").freeze()));
        samples.push(("ack-resp", v, ack_response().encode(v).expect("enc").freeze()));
    }
    for (kind, version, full) in samples {
        decode_any(kind, version, full.clone()).expect("full message decodes");
        for len in 0..full.len() {
            let r = decode_any(kind, version, full.slice(..len));
            assert!(r.is_err(), "{kind} v{version}: prefix of {len}/{} bytes decoded", full.len());
        }
    }
}

#[test]
fn trailing_bytes_are_left_in_the_buffer() {
    let mut wire = BytesMut::from(&v2_ack_bytes(false)[..]);
    wire.put_slice(b"xyz");
    let mut wire = wire.freeze();
    ShareAcknowledgeRequest::decode(&mut wire, 2).expect("decode");
    assert_eq!(&wire[..], b"xyz");
}

#[test]
fn unsupported_versions_are_errors() {
    for v in [-1, 0, 3, i16::MAX] {
        for (kind, _, bytes) in all_request_samples() {
            assert!(matches!(
                decode_any(kind, v, bytes),
                Err(ShareCodecError::UnsupportedVersion { version, .. }) if version == v
            ));
        }
        assert!(ShareFetchResponse::default().encode(v).is_err());
        assert!(ShareFetchResponse::default().encode_chunks(v).is_err());
        assert!(ShareFetchResponse::default().encode_frame_chunks(v, 1).is_err());
        assert!(ShareAcknowledgeResponse::default().encode(v).is_err());
        assert!(ShareFetchRequest::default().encode(v).is_err());
        assert!(ShareAcknowledgeRequest::default().encode(v).is_err());
    }
}

/// The fixed v1 ShareFetch prefix up to (not including) Topics.
fn fetch_v1_prefix() -> Vec<u8> {
    let mut b = Vec::new();
    cstr(&mut b, Some("g"));
    cstr(&mut b, Some("m"));
    b.extend_from_slice(&[0; 24]);
    b
}

#[test]
fn huge_array_lengths_fail_fast_without_allocating() {
    let start = Instant::now();
    // Topics claims u32::MAX - 1 elements.
    let mut b = fetch_v1_prefix();
    uv(&mut b, u32::MAX);
    b.extend_from_slice(&[0; 40]);
    assert!(matches!(
        ShareFetchRequest::decode(&mut Bytes::from(b), 1),
        Err(ShareCodecError::ImplausibleArrayLength {
            field: "ShareFetchRequest.Topics",
            ..
        })
    ));

    // A nested AcknowledgeTypes array claims 100 million entries.
    let mut b = fetch_v1_prefix();
    uv(&mut b, 2);
    b.extend_from_slice(topic(1).as_bytes());
    uv(&mut b, 2);
    b.extend_from_slice(&0i32.to_be_bytes());
    uv(&mut b, 2);
    b.extend_from_slice(&[0; 16]);
    uv(&mut b, 100_000_001);
    b.extend_from_slice(&[1; 64]);
    assert!(matches!(
        ShareFetchRequest::decode(&mut Bytes::from(b), 1),
        Err(ShareCodecError::ImplausibleArrayLength {
            field: "AcknowledgementBatches.AcknowledgeTypes",
            len: 100_000_000,
            ..
        })
    ));

    // Element count that fits one byte per element but not the element's minimum size.
    let mut b = fetch_v1_prefix();
    uv(&mut b, 1);
    uv(&mut b, 11); // 10 forgotten topics of >= 18 bytes
    b.extend_from_slice(&[0; 100]);
    assert!(matches!(
        ShareFetchRequest::decode(&mut Bytes::from(b), 1),
        Err(ShareCodecError::ImplausibleArrayLength { len: 10, .. })
    ));

    // Responses too (client-side decoders).
    let mut b = Vec::new();
    b.extend_from_slice(&[0; 6]);
    b.push(0);
    b.extend_from_slice(&[0; 4]);
    uv(&mut b, 0x7fff_ffff);
    assert!(matches!(
        ShareFetchResponse::decode(&mut Bytes::from(b), 1),
        Err(ShareCodecError::ImplausibleArrayLength { .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(1), "took {:?}", start.elapsed());
}

#[test]
fn null_where_not_nullable_is_an_error() {
    // Topics = null.
    let mut b = fetch_v1_prefix();
    b.push(0);
    b.push(1);
    b.push(0);
    assert!(matches!(
        ShareFetchRequest::decode(&mut Bytes::from(b), 1),
        Err(ShareCodecError::UnexpectedNull {
            field: "ShareFetchRequest.Topics"
        })
    ));
    // ForgottenTopicsData = null.
    let mut b = fetch_v1_prefix();
    b.push(1);
    b.push(0);
    b.push(0);
    assert!(matches!(
        ShareFetchRequest::decode(&mut Bytes::from(b), 1),
        Err(ShareCodecError::UnexpectedNull { .. })
    ));
    // Null GroupId / MemberId are fine (nullable).
    let mut b = Vec::new();
    cstr(&mut b, None);
    cstr(&mut b, None);
    b.extend_from_slice(&[0; 24]);
    b.extend_from_slice(&[1, 1, 0]);
    let r = ShareFetchRequest::decode(&mut Bytes::from(b), 1).expect("decode");
    assert_eq!((r.group_id, r.member_id), (None, None));
    // Records = null in a v1 response.
    let mut b = Vec::new();
    b.extend_from_slice(&[0; 6]);
    b.push(0);
    b.extend_from_slice(&[0; 4]);
    uv(&mut b, 2);
    b.extend_from_slice(&[0; 16]);
    uv(&mut b, 2);
    b.extend_from_slice(&[0; 6]);
    b.push(0);
    b.extend_from_slice(&[0; 2]);
    b.push(0);
    b.extend_from_slice(&[0; 8]);
    b.push(0);
    b.push(0); // Records null
    b.extend_from_slice(&[1, 0, 0, 1, 0]);
    assert!(matches!(
        ShareFetchResponse::decode(&mut Bytes::from(b), 1),
        Err(ShareCodecError::UnexpectedNull {
            field: "Partitions.Records"
        })
    ));
}

#[test]
fn unknown_tagged_fields_are_skipped_at_every_level() {
    // Covered for v1 by the crate-encoded samples (tags on every struct) and for v2 by the
    // hand-built ones; here tagged fields with large tags and payloads, top level only.
    let mut b = v2_ack_bytes(false);
    b.pop(); // the empty top-level tag section
    tags(&mut b, &[(0, &[0xff; 300]), (u32::MAX >> 1, b""), (7, b"\x00\x01")]);
    let r = ShareAcknowledgeRequest::decode(&mut Bytes::from(b), 2).expect("decode");
    assert_eq!(r, v2_ack_expected());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256), version in -1i16..4) {
        for kind in ["fetch", "ack", "fetch-resp", "ack-resp"] {
            let _ = decode_any(kind, version, Bytes::from(data.clone()));
        }
    }

    #[test]
    fn mutated_valid_messages_never_panic(idx in 0usize..4, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let (kind, version, bytes) = all_request_samples().swap_remove(idx);
        let mut data = bytes.to_vec();
        for (at, v) in edits {
            let i = at % data.len();
            data[i] = v;
        }
        let _ = decode_any(kind, version, Bytes::from(data));
    }
}

fn arb_str() -> impl Strategy<Value = Option<StrBytes>> {
    proptest::option::of("[a-z0-9.-]{0,20}").prop_map(|o| o.map(StrBytes::from_string))
}

fn arb_batches() -> impl Strategy<Value = Vec<AcknowledgementBatch>> {
    proptest::collection::vec(
        (any::<i64>(), any::<i64>(), proptest::collection::vec(0i8..5, 0..5)).prop_map(|(first_offset, last_offset, acknowledge_types)| {
            AcknowledgementBatch {
                first_offset,
                last_offset,
                acknowledge_types,
            }
        }),
        0..3,
    )
}

fn arb_fetch_request() -> impl Strategy<Value = ShareFetchRequest> {
    let topics = proptest::collection::vec(
        (
            any::<u128>(),
            proptest::collection::vec(
                (any::<i32>(), arb_batches()).prop_map(|(partition_index, acknowledgement_batches)| ShareFetchPartition {
                    partition_index,
                    acknowledgement_batches,
                }),
                0..3,
            ),
        )
            .prop_map(|(id, partitions)| ShareFetchTopic {
                topic_id: Uuid::from_u128(id),
                partitions,
            }),
        0..3,
    );
    let forgotten = proptest::collection::vec(
        (any::<u128>(), proptest::collection::vec(any::<i32>(), 0..4)).prop_map(|(id, partitions)| ForgottenTopic {
            topic_id: Uuid::from_u128(id),
            partitions,
        }),
        0..2,
    );
    (
        arb_str(),
        arb_str(),
        any::<[i32; 6]>(),
        any::<i8>(),
        any::<bool>(),
        topics,
        forgotten,
    )
        .prop_map(
            |(group_id, member_id, ints, share_acquire_mode, is_renew_ack, topics, forgotten_topics_data)| ShareFetchRequest {
                group_id,
                member_id,
                share_session_epoch: ints[0],
                max_wait_ms: ints[1],
                min_bytes: ints[2],
                max_bytes: ints[3],
                max_records: ints[4],
                batch_size: ints[5],
                share_acquire_mode,
                is_renew_ack,
                topics,
                forgotten_topics_data,
            },
        )
}

proptest! {
    #[test]
    fn fetch_request_round_trips(req in arb_fetch_request()) {
        let v2 = req.encode(2).expect("encode v2").freeze();
        prop_assert_eq!(ShareFetchRequest::decode(&mut v2.clone(), 2).expect("decode v2"), req.clone());
        let mut v1_req = req.clone();
        v1_req.is_renew_ack = false;
        let v1 = v1_req.encode(1).expect("encode v1").freeze();
        v1_req.share_acquire_mode = 0;
        prop_assert_eq!(ShareFetchRequest::decode(&mut v1.clone(), 1).expect("decode v1"), v1_req);
        // The crate agrees on v1.
        let kp = kreq_fetch::ShareFetchRequest::decode(&mut v1.clone(), 1).expect("crate decode");
        prop_assert_eq!(encode_kp(&kp, 1), v1);
    }

    #[test]
    fn ack_request_round_trips(
        group_id in arb_str(), member_id in arb_str(), epoch in any::<i32>(), renew in any::<bool>(),
        parts in proptest::collection::vec((any::<i32>(), arb_batches()), 0..4),
    ) {
        let req = ShareAcknowledgeRequest {
            group_id,
            member_id,
            share_session_epoch: epoch,
            is_renew_ack: renew,
            topics: vec![ShareAcknowledgeTopic {
                topic_id: topic(1),
                partitions: parts
                    .into_iter()
                    .map(|(partition_index, acknowledgement_batches)| ShareAcknowledgePartition { partition_index, acknowledgement_batches })
                    .collect(),
            }],
        };
        let v2 = req.encode(2).expect("encode").freeze();
        prop_assert_eq!(ShareAcknowledgeRequest::decode(&mut v2.clone(), 2).expect("decode"), req);
    }

    #[test]
    fn chunked_fetch_response_matches_copy(
        slices in proptest::collection::vec(proptest::collection::vec(0usize..64, 0..4), 0..5),
        version in 1i16..=2,
        correlation_id in any::<i32>(),
    ) {
        let log = log_bytes();
        let resp = ShareFetchResponse {
            acquisition_lock_timeout_ms: 1,
            responses: vec![ShareFetchTopicResponse {
                topic_id: topic(1),
                partitions: slices
                    .iter()
                    .enumerate()
                    .map(|(i, lens)| ShareFetchPartitionResponse {
                        partition_index: i as i32,
                        records: lens.iter().enumerate().map(|(j, &l)| log.slice(j * 64..j * 64 + l)).collect(),
                        ..Default::default()
                    })
                    .collect(),
            }],
            ..Default::default()
        };
        let frame = resp.encode_frame(version, correlation_id).expect("frame");
        prop_assert_eq!(concat(&resp.encode_frame_chunks(version, correlation_id).expect("chunks")), frame.clone());
        prop_assert_eq!(concat(&resp.encode_chunks(version).expect("chunks")), resp.encode(version).expect("enc").freeze());
        prop_assert_eq!(&frame[9..], &resp.encode(version).expect("enc")[..]);
    }
}

// ------------------------------------------------------------------------------------------
// Zero-copy frame.

#[test]
fn chunked_frame_equals_copied_frame_and_shares_record_memory() {
    let log = log_bytes();
    let resp = fetch_response(&log);
    let chunks = resp.encode_frame_chunks(1, 42).expect("chunks");
    let copied = resp.encode_frame(1, 42).expect("frame");
    assert_eq!(concat(&chunks), copied);

    let total: usize = chunks.iter().map(Bytes::len).sum();
    assert_eq!(
        &copied[0..4],
        &((total - 4) as i32).to_be_bytes(),
        "length prefix covers header, body and records"
    );
    assert_eq!(
        &copied[4..9],
        &[0, 0, 0, 42, 0],
        "response header v1: correlation id + empty tagged fields"
    );

    // The record chunks are the caller's slices: same memory, no copy; empty slices dropped.
    let record_slices: Vec<&Bytes> = resp
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .flat_map(|p| p.records.iter())
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(record_slices.len(), 3);
    for r in &record_slices {
        let found = chunks.iter().find(|c| c.as_ptr() == r.as_ptr() && c.len() == r.len());
        assert!(found.is_some(), "record slice at {:p} is not in the chunks", r.as_ptr());
    }
    // Every record chunk points into `log`; every other chunk is outside it.
    let log_range = log.as_ptr() as usize..log.as_ptr() as usize + log.len();
    let in_log = chunks.iter().filter(|c| log_range.contains(&(c.as_ptr() as usize))).count();
    assert_eq!(in_log, 3);
    // Non-record chunks: before p0 records, between p0 and topic-2 records, after: 3 chunks.
    assert_eq!(chunks.len(), 3 + 3);
    assert!(chunks.iter().all(|c| !c.is_empty()));

    // The body chunks are the frame chunks minus the 9-byte prefix.
    let body = resp.encode_chunks(1).expect("body");
    assert_eq!(concat(&body), copied.slice(9..));
    assert_eq!(body.iter().filter(|c| log_range.contains(&(c.as_ptr() as usize))).count(), 3);
}

#[test]
fn empty_fetch_response_frame() {
    let resp = ShareFetchResponse {
        error_code: 122,
        ..Default::default()
    };
    let chunks = resp.encode_frame_chunks(2, 9).expect("chunks");
    assert_eq!(chunks.len(), 1);
    // size, corr id, tags | throttle, error, null msg, lock timeout, [] responses, [] endpoints, tags
    let mut expected = vec![0, 0, 0, 19, 0, 0, 0, 9, 0];
    expected.extend_from_slice(&[0, 0, 0, 0, 0, 122, 0, 0, 0, 0, 0, 1, 1, 0]);
    assert_eq!(&chunks[0][..], &expected[..]);
}
