//! Group administration on the wire, as Admin.listGroups / describeShareGroups /
//! deleteShareGroups / listShareGroupOffsets / alterShareGroupOffsets / deleteShareGroupOffsets
//! and kafka-share-groups.sh use it: ListGroups, DescribeGroups, DeleteGroups,
//! DescribeShareGroupOffsets (hand-written v1 codec), AlterShareGroupOffsets and
//! DeleteShareGroupOffsets against an in-process broker.
//!
//! Groups are made with ShareGroupHeartbeat and share-partition state with ShareFetch (through
//! shard-protocol's codec). Share-partitions start at the log end by default, so sessions are
//! opened before producing.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use common::{RawClient, TestBroker, batch};
use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_share_group_offsets_request::{
    DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use shard_protocol::{
    AcknowledgementBatch, DescribeShareGroupOffsetsResponse as OffsetsResponse, DescribeShareGroupOffsetsResponseTopic as OffsetsTopic,
    ShareFetchPartition, ShareFetchRequest, ShareFetchResponse, ShareFetchTopic,
};
use uuid::Uuid;

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_GROUP_ID: i16 = 24;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const ACCEPT: i8 = 1;
const RESOURCE_GROUP: i8 = 32;
const SOURCE_GROUP_CONFIG: i8 = 8;

// ---------------------------------------------------------------------------------------------
// Helpers.

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}

async fn create_topic(c: &mut RawClient, topic: &str, partitions: i32) -> Uuid {
    let req = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![
        CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1),
    ]);
    let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req).await;
    assert_eq!(resp.topics[0].error_code, NONE, "create {topic}");
    resp.topics[0].topic_id
}

async fn produce(c: &mut RawClient, topic: &str, partition: i32, count: i32) {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![
            PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch(count, -1, -1))),
        ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, NONE);
}

async fn heartbeat(c: &mut RawClient, group: &str, member: &str, epoch: i32, topics: &[&str]) -> i32 {
    let subscribed = (epoch == 0).then(|| topics.iter().map(|t| name(t)).collect());
    let req = ShareGroupHeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_member_id(s(member))
        .with_member_epoch(epoch)
        .with_subscribed_topic_names(subscribed);
    let resp: ShareGroupHeartbeatResponse = c.call(ApiKey::ShareGroupHeartbeat, 1, &req).await;
    assert_eq!(resp.error_code, NONE, "heartbeat {member} epoch {epoch}: {:?}", resp.error_message);
    resp.member_epoch
}

async fn join(c: &mut RawClient, group: &str, member: &str, topics: &[&str]) {
    assert!(heartbeat(c, group, member, 0, topics).await >= 1);
}

async fn leave(c: &mut RawClient, group: &str, member: &str) {
    assert_eq!(heartbeat(c, group, member, -1, &[]).await, -1);
}

/// Sends a request body encoded elsewhere and returns the response body (after header v1).
async fn call_raw(c: &mut RawClient, key: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Bytes {
    let buf = common::request_frame(key, version, correlation_id, "group-admin-test", body);
    c.write_raw(&buf).await;
    let mut resp = c.read_frame().await.expect("response frame");
    let header = ResponseHeader::decode(&mut resp, key.response_header_version(version)).expect("response header");
    assert_eq!(header.correlation_id, correlation_id);
    resp
}

/// The acquired (topic, partition, first, last) ranges of a ShareFetch answer.
fn acquired(resp: &ShareFetchResponse) -> Vec<(Uuid, i32, i64, i64)> {
    let mut out = Vec::new();
    for t in &resp.responses {
        for p in &t.partitions {
            assert_eq!(p.error_code, NONE);
            for r in &p.acquired_records {
                out.push((t.topic_id, p.partition_index, r.first_offset, r.last_offset));
            }
        }
    }
    out
}

/// One member's share session on its own connection.
struct Session {
    client: RawClient,
    group: String,
    member: String,
    epoch: i32,
    next_correlation: i32,
}

impl Session {
    async fn new(broker: &TestBroker, group: &str, member: &str) -> Session {
        Session {
            client: broker.client().await,
            group: group.into(),
            member: member.into(),
            epoch: 0,
            next_correlation: 1_000,
        }
    }

    /// A ShareFetch v1 (acks and, when opening, the session's partitions in `topics`).
    async fn fetch(&mut self, topics: Vec<ShareFetchTopic>, max_wait_ms: i32) -> ShareFetchResponse {
        let req = ShareFetchRequest {
            group_id: Some(s(&self.group)),
            member_id: Some(s(&self.member)),
            share_session_epoch: self.epoch,
            max_wait_ms,
            min_bytes: 1,
            max_bytes: 1 << 20,
            max_records: 500,
            batch_size: 500,
            topics,
            ..Default::default()
        };
        let body = req.encode(1).expect("encode ShareFetch");
        self.next_correlation += 1;
        let mut resp = call_raw(&mut self.client, ApiKey::ShareFetch, 1, self.next_correlation, &body).await;
        let resp = ShareFetchResponse::decode(&mut resp, 1).expect("decode ShareFetch");
        assert_eq!(resp.error_code, NONE, "ShareFetch: {:?}", resp.error_message);
        self.epoch += 1;
        resp
    }

    /// Opens the session on `partitions` without waiting (which creates the share-partitions);
    /// returns what it acquired.
    async fn open(&mut self, partitions: &[(Uuid, i32)]) -> Vec<(Uuid, i32, i64, i64)> {
        let topics = partitions
            .iter()
            .map(|&(topic_id, p)| ShareFetchTopic {
                topic_id,
                partitions: vec![ShareFetchPartition {
                    partition_index: p,
                    acknowledgement_batches: Vec::new(),
                }],
            })
            .collect();
        acquired(&self.fetch(topics, 0).await)
    }

    /// Fetches until records arrive; returns the acquired ranges.
    async fn poll(&mut self) -> Vec<(Uuid, i32, i64, i64)> {
        acquired(&self.fetch(Vec::new(), 2000).await)
    }

    /// Accepts offset ranges of one partition (piggybacked on a fetch that does not wait).
    async fn accept(&mut self, topic_id: Uuid, partition: i32, ranges: &[(i64, i64)]) {
        let batches = ranges
            .iter()
            .map(|&(first, last)| AcknowledgementBatch {
                first_offset: first,
                last_offset: last,
                acknowledge_types: vec![ACCEPT],
            })
            .collect();
        let topics = vec![ShareFetchTopic {
            topic_id,
            partitions: vec![ShareFetchPartition {
                partition_index: partition,
                acknowledgement_batches: batches,
            }],
        }];
        let resp = self.fetch(topics, 0).await;
        let p = resp
            .responses
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == partition)
            .expect("acknowledged partition listed");
        assert_eq!(p.acknowledge_error_code, NONE, "{:?}", p.acknowledge_error_message);
    }
}

async fn list_groups(c: &mut RawClient, version: i16, states: &[&str], types: &[&str]) -> Vec<(String, String, String, String)> {
    let req = ListGroupsRequest::default()
        .with_states_filter(states.iter().map(|v| s(v)).collect())
        .with_types_filter(types.iter().map(|v| s(v)).collect());
    let resp: ListGroupsResponse = c.call(ApiKey::ListGroups, version, &req).await;
    assert_eq!(resp.error_code, NONE);
    let mut out: Vec<_> = resp
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.to_string(),
                g.protocol_type.to_string(),
                g.group_state.to_string(),
                g.group_type.to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn ids(groups: &[(String, String, String, String)]) -> Vec<&str> {
    groups.iter().map(|g| g.0.as_str()).collect()
}

async fn describe_offsets(
    c: &mut RawClient,
    version: i16,
    group: &str,
    topics: Option<Vec<(&str, Vec<i32>)>>,
) -> shard_protocol::DescribeShareGroupOffsetsResponseGroup {
    let req = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
        DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(gid(group))
            .with_topics(topics.map(|ts| {
                ts.into_iter()
                    .map(|(t, ps)| {
                        DescribeShareGroupOffsetsRequestTopic::default()
                            .with_topic_name(name(t))
                            .with_partitions(ps)
                    })
                    .collect()
            })),
    ]);
    let body = shard_protocol::encode_describe_share_group_offsets_request(&req, version).expect("encode");
    let mut resp = call_raw(c, ApiKey::DescribeShareGroupOffsets, version, 7, &body).await;
    let mut decoded = OffsetsResponse::decode(&mut resp, version).expect("decode");
    assert!(resp.is_empty(), "trailing bytes");
    assert_eq!(decoded.groups.len(), 1);
    let g = decoded.groups.remove(0);
    assert_eq!(g.group_id.as_str(), group);
    g
}

/// (topic, partition, start offset, leader epoch, lag) of every described partition, sorted.
fn offsets(topics: &[OffsetsTopic]) -> Vec<(String, i32, i64, i32, i64)> {
    let mut out: Vec<_> = topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                assert_eq!(p.error_code, NONE, "{}-{}", t.topic_name.as_str(), p.partition_index);
                (t.topic_name.to_string(), p.partition_index, p.start_offset, p.leader_epoch, p.lag)
            })
        })
        .collect();
    out.sort();
    out
}

async fn alter_offsets(c: &mut RawClient, group: &str, offsets: &[(&str, i32, i64)]) -> AlterShareGroupOffsetsResponse {
    let mut topics: Vec<AlterShareGroupOffsetsRequestTopic> = Vec::new();
    for &(topic, partition, offset) in offsets {
        let p = AlterShareGroupOffsetsRequestPartition::default()
            .with_partition_index(partition)
            .with_start_offset(offset);
        match topics.iter_mut().find(|t| t.topic_name.as_str() == topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(
                AlterShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(name(topic))
                    .with_partitions(vec![p]),
            ),
        }
    }
    let req = AlterShareGroupOffsetsRequest::default()
        .with_group_id(gid(group))
        .with_topics(topics);
    c.call(ApiKey::AlterShareGroupOffsets, 0, &req).await
}

/// (topic, partition, error code) of an alter answer, sorted.
fn alter_results(resp: &AlterShareGroupOffsetsResponse) -> Vec<(String, i32, i16)> {
    let mut out: Vec<_> = resp
        .responses
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.topic_name.to_string(), p.partition_index, p.error_code))
        })
        .collect();
    out.sort();
    out
}

async fn delete_offsets(c: &mut RawClient, group: &str, topics: &[&str]) -> DeleteShareGroupOffsetsResponse {
    let req = DeleteShareGroupOffsetsRequest::default().with_group_id(gid(group)).with_topics(
        topics
            .iter()
            .map(|t| DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(name(t)))
            .collect(),
    );
    c.call(ApiKey::DeleteShareGroupOffsets, 0, &req).await
}

async fn delete_groups(c: &mut RawClient, version: i16, groups: &[&str]) -> Vec<(String, i16)> {
    let req = DeleteGroupsRequest::default().with_groups_names(groups.iter().map(|g| gid(g)).collect());
    let resp: DeleteGroupsResponse = c.call(ApiKey::DeleteGroups, version, &req).await;
    resp.results.iter().map(|r| (r.group_id.to_string(), r.error_code)).collect()
}

// ---------------------------------------------------------------------------------------------
// ListGroups

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_groups_lists_share_groups_with_state_and_type_filters() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    join(&mut c, "busy", "m1", &["t"]).await;
    join(&mut c, "idle", "m2", &["t"]).await;
    leave(&mut c, "idle", "m2").await;

    let all = list_groups(&mut c, 5, &[], &[]).await;
    assert_eq!(
        all,
        vec![
            ("busy".into(), "share".into(), "Stable".into(), "share".into()),
            ("idle".into(), "share".into(), "Empty".into(), "share".into()),
        ]
    );
    // Admin.listGroups(ListGroupsOptions.forShareGroups()) sends TypesFilter ["share"].
    assert_eq!(ids(&list_groups(&mut c, 5, &[], &["share"]).await), ["busy", "idle"]);
    assert_eq!(ids(&list_groups(&mut c, 5, &[], &["SHARE"]).await), ["busy", "idle"]);
    assert_eq!(ids(&list_groups(&mut c, 5, &[], &["classic", "share"]).await), ["busy", "idle"]);
    for other in ["classic", "consumer", "streams", "bogus"] {
        assert!(list_groups(&mut c, 5, &[], &[other]).await.is_empty(), "{other}");
    }
    // States compare trimmed and case-insensitively.
    assert_eq!(ids(&list_groups(&mut c, 5, &[" stable "], &[]).await), ["busy"]);
    assert_eq!(ids(&list_groups(&mut c, 4, &["EMPTY"], &[]).await), ["idle"]);
    assert_eq!(
        ids(&list_groups(&mut c, 5, &["Empty", "Stable"], &["share"]).await),
        ["busy", "idle"]
    );
    assert!(list_groups(&mut c, 4, &["Dead"], &[]).await.is_empty());
    assert!(list_groups(&mut c, 5, &["Empty"], &["consumer"]).await.is_empty());

    // Older versions carry fewer fields; the groups are the same.
    for v in 0..=5 {
        let groups = list_groups(&mut c, v, &[], &[]).await;
        assert_eq!(ids(&groups), ["busy", "idle"], "v{v}");
        assert!(groups.iter().all(|g| g.1 == "share"), "v{v} protocol type");
        let states: Vec<&str> = groups.iter().map(|g| g.2.as_str()).collect();
        assert_eq!(states, if v >= 4 { vec!["Stable", "Empty"] } else { vec!["", ""] }, "v{v}");
        assert!(groups.iter().all(|g| g.3 == if v >= 5 { "share" } else { "" }), "v{v} group type");
    }
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// DescribeGroups

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_groups_answers_dead_for_share_and_unknown_groups() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    create_topic(&mut c, "t", 1).await;
    join(&mut c, "g", "m1", &["t"]).await;
    for v in 0..=6 {
        let req = DescribeGroupsRequest::default()
            .with_groups(vec![gid("g"), gid("nope")])
            .with_include_authorized_operations(v >= 3);
        let resp: DescribeGroupsResponse = c.call(ApiKey::DescribeGroups, v, &req).await;
        assert_eq!(resp.groups.len(), 2);
        for (g, message) in resp.groups.iter().zip(["Group g is not a classic group.", "Group nope not found."]) {
            assert_eq!(g.group_state.as_str(), "Dead", "v{v}");
            assert_eq!(g.protocol_type.as_str(), "");
            assert!(g.members.is_empty());
            if v >= 6 {
                assert_eq!(g.error_code, GROUP_ID_NOT_FOUND, "v{v}");
                assert_eq!(g.error_message.as_deref(), Some(message));
            } else {
                assert_eq!(g.error_code, NONE, "v{v}");
            }
        }
        assert_eq!(resp.groups[0].group_id.as_str(), "g");
        assert_eq!(resp.groups[1].group_id.as_str(), "nope");
    }
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// DeleteGroups

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_groups_deletes_only_empty_groups_with_their_state_and_configs() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let t = create_topic(&mut c, "t", 1).await;
    join(&mut c, "g", "m1", &["t"]).await;
    let mut session = Session::new(&broker, "g", "m1").await;
    session.open(&[(t, 0)]).await;
    produce(&mut c, "t", 0, 5).await;
    assert_eq!(session.poll().await, vec![(t, 0, 0, 4)]);

    // A group named twice is answered once.
    assert_eq!(
        delete_groups(&mut c, 2, &["g", "nope", "g"]).await,
        vec![("g".into(), NON_EMPTY_GROUP), ("nope".into(), GROUP_ID_NOT_FOUND)]
    );
    leave(&mut c, "g", "m1").await;

    // Give the group a config, which deleting it must remove.
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(RESOURCE_GROUP)
            .with_resource_name(s("g"))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(s("share.auto.offset.reset"))
                    .with_config_operation(0)
                    .with_value(Some(s("earliest"))),
            ]),
    ]);
    let resp: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    assert_eq!(resp.responses[0].error_code, NONE);
    let reset_source = |resp: &DescribeConfigsResponse| {
        resp.results[0]
            .configs
            .iter()
            .find(|e| e.name.as_str() == "share.auto.offset.reset")
            .map(|e| e.config_source)
    };
    let describe_configs = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_GROUP)
            .with_resource_name(s("g"))
            .with_configuration_keys(None),
    ]);
    let before: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &describe_configs).await;
    assert_eq!(reset_source(&before), Some(SOURCE_GROUP_CONFIG));

    assert_eq!(describe_offsets(&mut c, 1, "g", None).await.topics.len(), 1);
    assert_eq!(delete_groups(&mut c, 0, &["g"]).await, vec![("g".into(), NONE)]);
    assert!(list_groups(&mut c, 5, &[], &[]).await.is_empty());
    assert!(
        describe_offsets(&mut c, 1, "g", None).await.topics.is_empty(),
        "share state deleted"
    );
    let after: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &describe_configs).await;
    assert_ne!(reset_source(&after), Some(SOURCE_GROUP_CONFIG), "group config deleted");
    for v in 0..=2 {
        assert_eq!(
            delete_groups(&mut c, v, &["g"]).await,
            vec![("g".into(), GROUP_ID_NOT_FOUND)],
            "v{v}"
        );
    }
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// DescribeShareGroupOffsets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_offsets_reports_start_offsets_and_lag_after_consuming() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let t = create_topic(&mut c, "t", 2).await;
    join(&mut c, "g", "m1", &["t"]).await;
    let mut session = Session::new(&broker, "g", "m1").await;
    session.open(&[(t, 0), (t, 1)]).await;
    produce(&mut c, "t", 0, 10).await;
    produce(&mut c, "t", 1, 4).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(session.poll().await);
    }
    got.sort();
    assert_eq!(got, vec![(t, 0, 0, 9), (t, 1, 0, 3)]);
    // Accept 0..=5 (the start moves to 6) and 8..=9 (acknowledged above the start); 6 and 7 stay
    // acquired. Lag = 10 - 6 - 2.
    session.accept(t, 0, &[(0, 5), (8, 9)]).await;

    let g = describe_offsets(&mut c, 1, "g", None).await;
    assert_eq!((g.error_code, g.error_message.as_deref()), (NONE, None));
    assert_eq!(g.topics.len(), 1);
    assert_eq!(g.topics[0].topic_id, t);
    assert_eq!(offsets(&g.topics), vec![("t".into(), 0, 6, 0, 2), ("t".into(), 1, 0, 0, 4)]);

    // v0 has no lag.
    let g = describe_offsets(&mut c, 0, "g", None).await;
    assert_eq!(offsets(&g.topics), vec![("t".into(), 0, 6, 0, -1), ("t".into(), 1, 0, 0, -1)]);

    // v0 through the crate's own codec decodes the same.
    let req = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
        DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(gid("g"))
            .with_topics(None),
    ]);
    let crate_resp: kafka_protocol::messages::DescribeShareGroupOffsetsResponse = c.call(ApiKey::DescribeShareGroupOffsets, 0, &req).await;
    let p = &crate_resp.groups[0].topics[0].partitions;
    assert_eq!(p.len(), 2);
    assert_eq!(
        p.iter().map(|p| (p.partition_index, p.start_offset)).collect::<Vec<_>>(),
        vec![(0, 6), (1, 0)]
    );

    // Explicit topics: a partition without state and an unknown topic answer -1, no error.
    let g = describe_offsets(&mut c, 1, "g", Some(vec![("t", vec![1, 5]), ("missing", vec![0])])).await;
    assert_eq!(
        offsets(&g.topics),
        vec![
            ("missing".into(), 0, -1, 0, -1),
            ("t".into(), 1, 0, 0, 4),
            ("t".into(), 5, -1, 0, -1)
        ]
    );
    let missing = g.topics.iter().find(|t| t.topic_name.as_str() == "missing").expect("missing");
    assert!(missing.topic_id.is_nil());
    // An empty topic list answers nothing; an unknown group is not an error (as Kafka).
    assert!(describe_offsets(&mut c, 1, "g", Some(vec![])).await.topics.is_empty());
    let other = describe_offsets(&mut c, 1, "other", None).await;
    assert_eq!(other.error_code, NONE);
    assert!(other.topics.is_empty());

    // More records raise the lag; accepting the held ones moves the start past the acknowledged.
    produce(&mut c, "t", 0, 5).await;
    session.accept(t, 0, &[(6, 7)]).await;
    let g = describe_offsets(&mut c, 1, "g", Some(vec![("t", vec![0])])).await;
    assert_eq!(offsets(&g.topics), vec![("t".into(), 0, 10, 0, 5)]);
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// AlterShareGroupOffsets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_offsets_on_an_empty_group_moves_where_fetches_start() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let t = create_topic(&mut c, "t", 1).await;
    produce(&mut c, "t", 0, 10).await;

    // An unknown group is created, empty (as Kafka's alterShareGroupOffsets does).
    let resp = alter_offsets(&mut c, "g", &[("t", 0, 3), ("t", 7, 0), ("missing", 0, 0)]).await;
    assert_eq!(resp.error_code, NONE);
    assert_eq!(
        alter_results(&resp),
        vec![
            ("missing".into(), 0, UNKNOWN_TOPIC_OR_PARTITION),
            ("t".into(), 0, NONE),
            ("t".into(), 7, UNKNOWN_TOPIC_OR_PARTITION),
        ]
    );
    let topic_ids: Vec<(String, Uuid)> = resp.responses.iter().map(|r| (r.topic_name.to_string(), r.topic_id)).collect();
    assert!(topic_ids.contains(&("t".into(), t)));
    assert!(topic_ids.contains(&("missing".into(), Uuid::nil())));
    assert_eq!(ids(&list_groups(&mut c, 5, &["Empty"], &["share"]).await), ["g"]);
    let g = describe_offsets(&mut c, 1, "g", None).await;
    assert_eq!(offsets(&g.topics), vec![("t".into(), 0, 3, 0, 7)]);

    // A fetch starts at the altered offset.
    join(&mut c, "g", "m1", &["t"]).await;
    let mut session = Session::new(&broker, "g", "m1").await;
    // Records are there already: opening the session acquires them.
    assert_eq!(session.open(&[(t, 0)]).await, vec![(t, 0, 3, 9)]);

    // Not while the group has members.
    let resp = alter_offsets(&mut c, "g", &[("t", 0, 0)]).await;
    assert_eq!(resp.error_code, NON_EMPTY_GROUP);
    assert_eq!(resp.error_message.as_deref(), Some("The group is not empty."));
    assert!(resp.responses.is_empty());

    // Once it is empty again (leaving releases the member's records), the state is replaced.
    leave(&mut c, "g", "m1").await;
    let resp = alter_offsets(&mut c, "g", &[("t", 0, 8)]).await;
    assert_eq!(alter_results(&resp), vec![("t".into(), 0, NONE)]);
    let g = describe_offsets(&mut c, 1, "g", None).await;
    assert_eq!(offsets(&g.topics), vec![("t".into(), 0, 8, 0, 2)]);
    join(&mut c, "g", "m2", &["t"]).await;
    let mut session = Session::new(&broker, "g", "m2").await;
    assert_eq!(session.open(&[(t, 0)]).await, vec![(t, 0, 8, 9)]);
    leave(&mut c, "g", "m2").await;

    // -1 drops the state (the next fetch starts from share.auto.offset.reset); below -1 is invalid.
    let resp = alter_offsets(&mut c, "g", &[("t", 0, -1)]).await;
    assert_eq!(alter_results(&resp), vec![("t".into(), 0, NONE)]);
    assert!(describe_offsets(&mut c, 1, "g", None).await.topics.is_empty());
    let resp = alter_offsets(&mut c, "g", &[("t", 0, -5)]).await;
    assert_eq!(alter_results(&resp), vec![("t".into(), 0, 42)]);

    let resp = alter_offsets(&mut c, "", &[("t", 0, 0)]).await;
    assert_eq!(resp.error_code, INVALID_GROUP_ID);
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// DeleteShareGroupOffsets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_offsets_drops_whole_topics_of_an_empty_group() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let a = create_topic(&mut c, "a", 2).await;
    let b = create_topic(&mut c, "b", 1).await;
    create_topic(&mut c, "c", 1).await;
    join(&mut c, "g", "m1", &["a", "b"]).await;
    let mut session = Session::new(&broker, "g", "m1").await;
    session.open(&[(a, 0), (a, 1), (b, 0)]).await;
    produce(&mut c, "a", 0, 3).await;
    produce(&mut c, "b", 0, 2).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(session.poll().await);
    }
    session.accept(a, 0, &[(0, 2)]).await;
    session.accept(b, 0, &[(0, 1)]).await;

    let resp = delete_offsets(&mut c, "g", &["a"]).await;
    assert_eq!(resp.error_code, NON_EMPTY_GROUP);
    assert!(resp.responses.is_empty());
    let resp = delete_offsets(&mut c, "nope", &["a"]).await;
    assert_eq!(resp.error_code, GROUP_ID_NOT_FOUND);
    assert_eq!(resp.error_message.as_deref(), Some("Group nope not found."));
    assert_eq!(delete_offsets(&mut c, "", &["a"]).await.error_code, INVALID_GROUP_ID);

    leave(&mut c, "g", "m1").await;
    let resp = delete_offsets(&mut c, "g", &["a", "missing", "c"]).await;
    assert_eq!(resp.error_code, NONE);
    let mut results: Vec<(String, Uuid, i16, Option<String>)> = resp
        .responses
        .iter()
        .map(|r| {
            (
                r.topic_name.to_string(),
                r.topic_id,
                r.error_code,
                r.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    results.sort();
    assert_eq!(
        results,
        vec![
            ("a".into(), a, NONE, None),
            (
                "c".into(),
                Uuid::nil(),
                UNKNOWN_TOPIC_OR_PARTITION,
                Some("There is no offset information to delete.".into())
            ),
            (
                "missing".into(),
                Uuid::nil(),
                UNKNOWN_TOPIC_OR_PARTITION,
                Some("This server does not host this topic-partition.".into())
            ),
        ]
    );
    // Only b keeps its state; deleting a again finds nothing.
    let g = describe_offsets(&mut c, 1, "g", None).await;
    assert_eq!(offsets(&g.topics), vec![("b".into(), 0, 2, 0, 0)]);
    let resp = delete_offsets(&mut c, "g", &["a"]).await;
    assert_eq!(resp.responses[0].error_code, UNKNOWN_TOPIC_OR_PARTITION);

    // The next fetch of a starts again from share.auto.offset.reset (latest: the log end).
    join(&mut c, "g", "m2", &["a"]).await;
    let mut session = Session::new(&broker, "g", "m2").await;
    assert!(session.open(&[(a, 0)]).await.is_empty());
    let g = describe_offsets(&mut c, 1, "g", Some(vec![("a", vec![0])])).await;
    assert_eq!(offsets(&g.topics), vec![("a".into(), 0, 3, 0, 0)]);
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Versions

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertised_versions_match_kafka_4_2() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let resp: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    let range = |key: ApiKey| {
        resp.api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    assert_eq!(range(ApiKey::ListGroups), Some((0, 5)));
    assert_eq!(range(ApiKey::DescribeGroups), Some((0, 6)));
    assert_eq!(range(ApiKey::DeleteGroups), Some((0, 2)));
    assert_eq!(range(ApiKey::DescribeShareGroupOffsets), Some((0, 1)));
    assert_eq!(range(ApiKey::AlterShareGroupOffsets), Some((0, 0)));
    assert_eq!(range(ApiKey::DeleteShareGroupOffsets), Some((0, 0)));
    // A malformed DescribeShareGroupOffsets closes the connection, as Kafka does.
    let mut bad = RawClient::connect(broker.addr).await;
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::DescribeShareGroupOffsets as i16)
        .with_request_api_version(1)
        .with_correlation_id(1);
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, ApiKey::DescribeShareGroupOffsets.request_header_version(1))
        .expect("header");
    buf.put_slice(&[0xff, 0xff, 0xff]);
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    bad.write_raw(&buf).await;
    assert!(bad.is_closed_by_broker().await);
    broker.stop().await;
}
