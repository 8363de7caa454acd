//! OffsetCommit 2-10 and OffsetFetch 1-10: version 10 against byte vectors written from Kafka
//! 4.4's JSON schemas, versions below 10 against the `kafka-protocol` crate's own encoder, and
//! the decode path the fuzz targets use. The four v10 vectors are also exactly what
//! kafka-clients 4.4.0's generated `OffsetCommitRequestData` / `OffsetCommitResponseData` /
//! `OffsetFetchRequestData` / `OffsetFetchResponseData` `write(.., version 10)` produce for the
//! same values (checked once by hand with the jar; no JVM in this test).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use shard_protocol::offsets::*;
use shard_protocol::{DEFAULT_NON_PRODUCE_MAX_BYTES, Decoded, RequestBody, Versioned, decode_any_codec_request, decode_request};
use uuid::Uuid;

fn hex(s: &str) -> Bytes {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect::<Vec<_>>()
        .into()
}

fn st(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

const TOPIC_ID: &str = "0102030405060708090a0b0c0d0e0f10";

fn topic_id() -> Uuid {
    Uuid::from_slice(&hex(TOPIC_ID)).expect("uuid")
}

fn commit_v10() -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(st("g")))
        .with_generation_id_or_member_epoch(5)
        .with_member_id(st("m"))
        .with_topics(vec![OffsetCommitRequestTopic::default().with_topic_id(topic_id()).with_partitions(
            vec![
            OffsetCommitRequestPartition::default()
                .with_partition_index(3)
                .with_committed_offset(42)
                .with_committed_leader_epoch(0)
                .with_committed_metadata(Some(st("x"))),
        ],
        )])
}

/// GroupId "g", GenerationIdOrMemberEpoch 5, MemberId "m", GroupInstanceId null, one topic by
/// id with partition 3 at offset 42, epoch 0, metadata "x"; empty tag sections.
const COMMIT_V10: &str = "0267 00000005 026d 00 02 0102030405060708090a0b0c0d0e0f10 02 00000003 000000000000002a 00000000 0278 00 00 00";

#[test]
fn offset_commit_request_v10_matches_the_schema_bytes() {
    let wire = hex(COMMIT_V10);
    assert_eq!(encode_offset_commit_request(&commit_v10(), 10).expect("encode").freeze(), wire);
    let mut b = wire.clone();
    assert_eq!(decode_offset_commit_request(&mut b, 10).expect("decode"), commit_v10());
    assert!(b.is_empty());
}

#[test]
fn offset_commit_response_v10_matches_the_schema_bytes() {
    let resp = OffsetCommitResponse::default().with_throttle_time_ms(7).with_topics(vec![
        OffsetCommitResponseTopic::default().with_topic_id(topic_id()).with_partitions(vec![
            OffsetCommitResponsePartition::default().with_partition_index(3).with_error_code(0),
            OffsetCommitResponsePartition::default()
                .with_partition_index(4)
                .with_error_code(100),
        ]),
    ]);
    let wire = hex(&format!("00000007 02 {TOPIC_ID} 03 00000003 0000 00 00000004 0064 00 00 00"));
    assert_eq!(encode_offset_commit_response(&resp, 10).expect("encode").freeze(), wire);
    let mut b = wire.clone();
    assert_eq!(decode_offset_commit_response(&mut b, 10).expect("decode"), resp);
    // Through the Encodable wrapper the broker's framing uses.
    let mut out = BytesMut::new();
    Versioned(resp.clone()).encode(&mut out, 10).expect("encode");
    assert_eq!(out.freeze(), wire);
    assert_eq!(Versioned(resp.clone()).compute_size(10).expect("size"), wire.len());
}

#[test]
fn offset_fetch_v10_matches_the_schema_bytes() {
    let req = OffsetFetchRequest::default()
        .with_groups(vec![
            OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(st("g")))
                .with_member_id(Some(st("m")))
                .with_member_epoch(9)
                .with_topics(Some(vec![
                    OffsetFetchRequestTopics::default()
                        .with_topic_id(topic_id())
                        .with_partition_indexes(vec![0, 2]),
                ])),
            // Null topics: every committed offset of the group.
            OffsetFetchRequestGroup::default().with_group_id(GroupId(st("h"))).with_topics(None),
        ])
        .with_require_stable(true);
    let wire = hex(&format!(
        "03 0267 026d 00000009 02 {TOPIC_ID} 03 00000000 00000002 00 00 0268 00 ffffffff 00 00 01 00"
    ));
    assert_eq!(encode_offset_fetch_request(&req, 10).expect("encode").freeze(), wire);
    let mut b = wire.clone();
    assert_eq!(decode_offset_fetch_request(&mut b, 10).expect("decode"), req);

    let resp = OffsetFetchResponse::default().with_groups(vec![
        OffsetFetchResponseGroup::default()
            .with_group_id(GroupId(st("g")))
            .with_topics(vec![
                OffsetFetchResponseTopics::default().with_topic_id(topic_id()).with_partitions(vec![
                    OffsetFetchResponsePartitions::default()
                        .with_partition_index(2)
                        .with_committed_offset(-1)
                        .with_committed_leader_epoch(-1)
                        .with_metadata(None)
                        .with_error_code(0),
                ]),
            ])
            .with_error_code(16),
    ]);
    let wire = hex(&format!(
        "00000000 02 0267 02 {TOPIC_ID} 02 00000002 ffffffffffffffff ffffffff 00 0000 00 00 0010 00 00"
    ));
    assert_eq!(encode_offset_fetch_response(&resp, 10).expect("encode").freeze(), wire);
    let mut b = wire.clone();
    assert_eq!(decode_offset_fetch_response(&mut b, 10).expect("decode"), resp);
}

/// A v2-9 / v1-9 message as the crate encodes it decodes to the same value through this module,
/// and the module's encoder writes the crate's bytes.
fn crate_round_trip<T: Encodable + Decodable + PartialEq + std::fmt::Debug + Clone>(msg: &T, version: i16)
where
    Versioned<T>: Encodable + Decodable,
{
    let mut crate_bytes = BytesMut::new();
    msg.encode(&mut crate_bytes, version).expect("crate encodes");
    let mut ours = BytesMut::new();
    Versioned(msg.clone()).encode(&mut ours, version).expect("module encodes");
    assert_eq!(ours, crate_bytes, "v{version}");
    let mut b = crate_bytes.freeze();
    assert_eq!(&Versioned::<T>::decode(&mut b, version).expect("decodes").0, msg, "v{version}");
}

#[test]
fn versions_below_10_are_the_crates() {
    let by_name = |v: i16| {
        let mut t = OffsetCommitRequestTopic::default()
            .with_name(TopicName(st("t")))
            .with_partitions(vec![
                OffsetCommitRequestPartition::default()
                    .with_partition_index(1)
                    .with_committed_offset(9)
                    .with_committed_metadata(Some(st("meta"))),
            ]);
        if v >= 6 {
            t.partitions[0].committed_leader_epoch = 4;
        }
        let mut r = OffsetCommitRequest::default()
            .with_group_id(GroupId(st("g")))
            .with_generation_id_or_member_epoch(3)
            .with_member_id(st("m"))
            .with_topics(vec![t]);
        if v >= 7 {
            r.group_instance_id = Some(st("i"));
        }
        if v <= 4 {
            r.retention_time_ms = 1000;
        }
        r
    };
    for v in 2..=9 {
        crate_round_trip(&by_name(v), v);
        let resp = OffsetCommitResponse::default().with_topics(vec![
            OffsetCommitResponseTopic::default()
                .with_name(TopicName(st("t")))
                .with_partitions(vec![
                    OffsetCommitResponsePartition::default().with_partition_index(1).with_error_code(27),
                ]),
        ]);
        crate_round_trip(&resp, v);
    }
    for v in 1..=9 {
        let (req, resp) = if v < 8 {
            (
                OffsetFetchRequest::default().with_group_id(GroupId(st("g"))).with_topics(Some(vec![
                    OffsetFetchRequestTopic::default()
                        .with_name(TopicName(st("t")))
                        .with_partition_indexes(vec![0]),
                ])),
                OffsetFetchResponse::default().with_topics(vec![
                    OffsetFetchResponseTopic::default()
                        .with_name(TopicName(st("t")))
                        .with_partitions(vec![
                            OffsetFetchResponsePartition::default()
                                .with_committed_offset(5)
                                .with_metadata(Some(st(""))),
                        ]),
                ]),
            )
        } else {
            (
                OffsetFetchRequest::default().with_groups(vec![
                    OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(st("g")))
                        .with_topics(Some(vec![
                            OffsetFetchRequestTopics::default()
                                .with_name(TopicName(st("t")))
                                .with_partition_indexes(vec![0]),
                        ])),
                ]),
                OffsetFetchResponse::default().with_groups(vec![OffsetFetchResponseGroup::default().with_group_id(GroupId(st("g")))]),
            )
        };
        crate_round_trip(&req, v);
        crate_round_trip(&resp, v);
    }
    // Outside Kafka 4.4's ranges.
    assert!(encode_offset_commit_request(&commit_v10(), 1).is_err());
    assert!(encode_offset_commit_request(&commit_v10(), 11).is_err());
    assert!(decode_offset_fetch_request(&mut Bytes::new(), 0).is_err());
    assert!(decode_offset_fetch_request(&mut Bytes::new(), 11).is_err());
}

/// A request frame: key, version, correlation id 7, client id "c", header tags at v8+/v6+.
fn frame(key: ApiKey, version: i16, body: &[u8], flexible: bool) -> Bytes {
    let mut f = Vec::new();
    f.extend_from_slice(&(key as i16).to_be_bytes());
    f.extend_from_slice(&version.to_be_bytes());
    f.extend_from_slice(&7i32.to_be_bytes());
    f.extend_from_slice(&[0, 1, b'c']);
    if flexible {
        f.push(0);
    }
    f.extend_from_slice(body);
    f.into()
}

#[test]
fn decode_path_reaches_the_codecs_but_the_broker_does_not_serve_them_yet() {
    let f = frame(ApiKey::OffsetCommit, 10, &hex(COMMIT_V10), true);
    let Decoded::Request(req) = decode_any_codec_request(f.clone(), DEFAULT_NON_PRODUCE_MAX_BYTES).expect("decodes") else {
        panic!("OffsetCommit v10 has a codec");
    };
    assert_eq!(req.body, RequestBody::OffsetCommit(commit_v10()));
    assert!(matches!(
        decode_request(f, DEFAULT_NON_PRODUCE_MAX_BYTES).expect("prefix decodes"),
        Decoded::Unsupported {
            api_key: Some(ApiKey::OffsetCommit),
            ..
        }
    ));
    // OffsetFetch v1 (not flexible): group "g", one topic "t" with partition 0.
    let body = hex("0001 67 00000001 0001 74 00000001 00000000");
    let Decoded::Request(req) =
        decode_any_codec_request(frame(ApiKey::OffsetFetch, 1, &body, false), DEFAULT_NON_PRODUCE_MAX_BYTES).expect("decodes")
    else {
        panic!("OffsetFetch v1 has a codec");
    };
    let RequestBody::OffsetFetch(r) = req.body else {
        panic!("OffsetFetch")
    };
    assert_eq!((r.group_id.as_str(), r.topics.expect("topics")[0].name.as_str()), ("g", "t"));
    assert!(matches!(
        decode_any_codec_request(frame(ApiKey::OffsetFetch, 11, &body, true), DEFAULT_NON_PRODUCE_MAX_BYTES).expect("prefix"),
        Decoded::Unsupported { .. }
    ));
}

#[test]
fn malformed_v10_input_fails_without_allocating_claimed_counts() {
    let wire = hex(COMMIT_V10);
    for cut in 0..wire.len() {
        let mut b = wire.slice(..cut);
        assert!(decode_offset_commit_request(&mut b, 10).is_err(), "cut at {cut}");
    }
    // Topics claims 2^28 entries with a few bytes left.
    let mut b = hex("0267 00000005 026d 00 ffffffff0f 00");
    let err = decode_offset_commit_request(&mut b, 10).expect_err("implausible");
    assert!(err.to_string().contains("claims"), "{err}");
    let mut b = hex("ffffff7f 00");
    assert!(decode_offset_fetch_request(&mut b, 10).is_err());
    let mut b = hex("00000000 02 0267 02 ffffffff");
    assert!(decode_offset_fetch_response(&mut b, 10).is_err());
}

/// The `request` fuzz target's mapping (first byte: index into `codec_apis()`, second: version
/// offset) takes the hand-made v10 seeds to OffsetCommit and OffsetFetch v10, which decode.
#[test]
fn fuzz_seeds_reach_the_v10_codecs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/request");
    for (name, key) in [("OffsetCommit-v10", ApiKey::OffsetCommit), ("OffsetFetch-v10", ApiKey::OffsetFetch)] {
        let data = std::fs::read(dir.join(name)).expect("seed");
        let count = shard_protocol::codec_apis().count();
        let api = shard_protocol::codec_apis().nth(usize::from(data[0]) % count).expect("api");
        assert_eq!(api.key, key);
        let version = api.min + (i16::from(data[1]) % (api.max - api.min + 1));
        assert_eq!(version, 10);
        let mut frame = Vec::new();
        frame.extend_from_slice(&(key as i16).to_be_bytes());
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&7i32.to_be_bytes());
        frame.extend_from_slice(&data[2..]);
        assert!(matches!(
            decode_any_codec_request(frame.into(), DEFAULT_NON_PRODUCE_MAX_BYTES).expect(name),
            Decoded::Request(_)
        ));
    }
}
