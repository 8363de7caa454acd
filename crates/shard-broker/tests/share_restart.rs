//! Share-group state survives broker restarts: acknowledgements, delivery counts, archived
//! records, the share-partition start offset and group configs are persisted in
//! `__share_group_state` (docs/share-coordinator.md) and recovered at start-up, after a graceful
//! shutdown or a `kill -9` of the broker process. Deleting a group removes its state, and the
//! internal topic is not removed at start-up, is listed flagged internal and is refused to
//! clients' produce, create and delete.
//!
//! Graceful restarts run the broker in-process (`TestBroker::stop` / `start_in`); crashes run the
//! `shard-broker` binary as a child process and SIGKILL it.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::child::{ChildBroker, free_port};
use common::share::*;
use common::{RawClient, TestBroker};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

const REJECT: i8 = 3;
const GROUP_RESOURCE: i8 = 32;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const STATE_TOPIC: &str = "__share_group_state";

fn st(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

/// Sets group configs through IncrementalAlterConfigs; they must be accepted.
async fn set_group_configs(c: &mut RawClient, group: &str, configs: &[(&str, &str)]) {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(GROUP_RESOURCE)
            .with_resource_name(st(group))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        AlterableConfig::default()
                            .with_name(st(k))
                            .with_config_operation(0)
                            .with_value(Some(st(v)))
                    })
                    .collect(),
            ),
    ]);
    let resp: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    assert_eq!(resp.responses[0].error_code, NONE, "{:?}", resp.responses[0].error_message);
}

/// The effective value of a group config.
async fn group_config(c: &mut RawClient, group: &str, key: &str) -> String {
    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(GROUP_RESOURCE)
            .with_resource_name(st(group))
            .with_configuration_keys(Some(vec![st(key)])),
    ]);
    let resp: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &req).await;
    let r = &resp.results[0];
    assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
    r.configs[0].value.as_deref().unwrap_or_default().to_string()
}

/// Opens `member`'s share session and fetches until a fetch waiting `wait_ms` acquires nothing;
/// returns every (offset, delivery count) acquired, sorted.
async fn open_and_drain(addr: SocketAddr, group: &str, member: &str, topic: Uuid, wait_ms: i32) -> (Consumer, Vec<(i64, i16)>) {
    let mut c = Consumer::connect(addr, group, member, topic, &[0], 2).await;
    let opened = c.open().await;
    let mut got = acquired(&opened, 0);
    for _ in 0..10 {
        let more = acquired(&c.fetch(wait_ms, 100).await, 0);
        if more.is_empty() {
            break;
        }
        got.extend(more);
    }
    got.sort_unstable();
    (c, got)
}

/// Offsets of `acquired(..)` pairs.
fn offsets(pairs: &[(i64, i16)]) -> Vec<i64> {
    pairs.iter().map(|(o, _)| *o).collect()
}

/// Consumes 10 records: accepts 0..=3, releases 4..=5, rejects 6, keeps 7..=9 acquired.
/// Returns the consumer (its records 7..=9 still acquired).
async fn consume_and_acknowledge(addr: SocketAddr, group: &str, topic: Uuid) -> Consumer {
    let mut admin = RawClient::connect(addr).await;
    let mut c = Consumer::opened(addr, group, "member-1", topic, &[0], 2).await;
    produce(&mut admin, "events", 0, one_batch(10)).await;
    assert_eq!(acquired(&c.fetch(1000, 100).await, 0), delivered(0, 9, 1));
    let code = c
        .acknowledge(0, vec![ack(0, 3, &[ACCEPT]), ack(4, 5, &[RELEASE]), ack(6, 6, &[REJECT])])
        .await;
    assert_eq!(code, NONE, "acknowledged (and durable) before the answer");
    c
}

/// Runs `consume_and_acknowledge` on a fresh in-process broker for group "g" on topic "events",
/// closes the consumer and stops the broker gracefully; returns its data dir and the topic id.
async fn acknowledge_then_stop_gracefully() -> (tempfile::TempDir, Uuid) {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let topic = create_topic(&mut admin, "events", 1).await;
    let c = consume_and_acknowledge(broker.addr, "g", topic).await;
    drop(c);
    (broker.stop().await, topic)
}

/// What a new consumer is delivered after a restart of the state `consume_and_acknowledge` left.
/// `held_count` is the delivery count 7..=9 come back with: 1 after a crash (acquisitions are
/// not persisted, so they return with the count they had before), 2 after a graceful stop
/// (the consumer's connection closed first, and that release was persisted).
async fn assert_recovered(addr: SocketAddr, group: &str, topic: Uuid, held_count: i16) {
    let (_c, got) = open_and_drain(addr, group, "member-2", topic, 300).await;
    let mut expected = delivered(4, 5, 2);
    expected.extend(delivered(7, 9, held_count));
    assert_eq!(got, expected, "accepted 0..=3 and rejected 6 are never delivered again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_are_not_redelivered_after_a_graceful_restart() {
    let (dir, topic) = acknowledge_then_stop_gracefully().await;

    let broker = TestBroker::start_in(dir, "").await;
    assert_recovered(broker.addr, "g", topic, 2).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_are_not_redelivered_after_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let broker = ChildBroker::start(dir.path(), port, "").await;
    let mut admin = RawClient::connect(broker.addr).await;
    let topic = create_topic(&mut admin, "events", 1).await;
    let c = consume_and_acknowledge(broker.addr, "g", topic).await;
    broker.kill_9();
    drop(c);

    let broker = ChildBroker::start(dir.path(), port, "").await;
    assert_recovered(broker.addr, "g", topic, 1).await;
    broker.kill_9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_records_keep_their_delivery_counts_across_restart() {
    let broker = TestBroker::start("group.share.delivery.count.limit = 10").await;
    let mut admin = broker.client().await;
    let topic = create_topic(&mut admin, "events", 1).await;
    let mut c = Consumer::opened(broker.addr, "g", "m", topic, &[0], 2).await;
    produce(&mut admin, "events", 0, one_batch(3)).await;
    for round in 1..=3 {
        assert_eq!(acquired(&c.fetch(1000, 100).await, 0), delivered(0, 2, round));
        assert_eq!(c.acknowledge(0, vec![ack(0, 2, &[RELEASE])]).await, NONE);
    }
    drop(c);
    let dir = broker.stop().await;

    let broker = TestBroker::start_in(dir, "group.share.delivery.count.limit = 10").await;
    let (_c, got) = open_and_drain(broker.addr, "g", "m", topic, 300).await;
    assert_eq!(got, delivered(0, 2, 4), "three deliveries before the restart, the fourth after");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_released_to_the_delivery_limit_before_a_crash_stays_archived() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let limit = "group.share.delivery.count.limit = 2\n";
    let broker = ChildBroker::start(dir.path(), port, limit).await;
    let mut admin = RawClient::connect(broker.addr).await;
    let topic = create_topic(&mut admin, "events", 1).await;
    let mut c = Consumer::opened(broker.addr, "g", "m", topic, &[0], 2).await;
    produce(&mut admin, "events", 0, one_batch(3)).await;
    // Release whatever comes until nothing does (near the limit redelivery is throttled, so
    // records may come back one at a time).
    let mut deliveries = Vec::new();
    for _ in 0..20 {
        let got = acquired(&c.fetch(300, 100).await, 0);
        if got.is_empty() {
            break;
        }
        for &(o, _) in &got {
            assert_eq!(c.acknowledge(0, vec![ack(o, o, &[RELEASE])]).await, NONE);
        }
        deliveries.extend(got);
    }
    deliveries.sort_unstable();
    let mut expected: Vec<(i64, i16)> = (0..=2).flat_map(|o| [(o, 1), (o, 2)]).collect();
    expected.sort_unstable();
    assert_eq!(
        deliveries, expected,
        "each record delivered twice, then archived by the second release"
    );
    broker.kill_9();
    drop(c);

    let broker = ChildBroker::start(dir.path(), port, limit).await;
    let mut admin = RawClient::connect(broker.addr).await;
    produce(&mut admin, "events", 0, one_batch(2)).await;
    let (_c, got) = open_and_drain(broker.addr, "g", "m", topic, 300).await;
    assert_eq!(got, delivered(3, 4, 1), "only the new records; 0..=2 stay archived");
    broker.kill_9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_offset_persists_so_a_latest_group_does_not_skip_records_produced_before_the_restart() {
    // share.auto.offset.reset is `latest` by default.
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let topic = create_topic(&mut admin, "events", 1).await;
    produce(&mut admin, "events", 0, one_batch(5)).await;
    let mut c = Consumer::opened(broker.addr, "g", "m", topic, &[0], 2).await;
    // The share-partition started at the log end (5): records produced now are delivered.
    produce(&mut admin, "events", 0, one_batch(2)).await;
    let got = acquired(&c.fetch(1000, 100).await, 0);
    assert_eq!(got, delivered(5, 6, 1));
    assert_eq!(c.acknowledge(0, vec![ack(5, 6, &[ACCEPT])]).await, NONE);
    // Produced while the group is not fetching.
    produce(&mut admin, "events", 0, one_batch(3)).await;
    drop(c);
    let dir = broker.stop().await;

    let broker = TestBroker::start_in(dir, "").await;
    let mut admin = broker.client().await;
    produce(&mut admin, "events", 0, one_batch(1)).await;
    let (_c, got) = open_and_drain(broker.addr, "g", "m", topic, 300).await;
    assert_eq!(
        offsets(&got),
        (7..=10).collect::<Vec<_>>(),
        "the persisted start offset wins over latest"
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_configs_persist_across_restart() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    set_group_configs(
        &mut admin,
        "g",
        &[("share.auto.offset.reset", "earliest"), ("share.record.lock.duration.ms", "20000")],
    )
    .await;
    let dir = broker.stop().await;

    let broker = TestBroker::start_in(dir, "").await;
    let mut admin = broker.client().await;
    assert_eq!(group_config(&mut admin, "g", "share.auto.offset.reset").await, "earliest");
    assert_eq!(group_config(&mut admin, "g", "share.record.lock.duration.ms").await, "20000");
    // And they are in force: an earliest group starts at offset 0.
    let topic = create_topic(&mut admin, "events", 1).await;
    produce(&mut admin, "events", 0, one_batch(2)).await;
    let mut c = Consumer::connect(broker.addr, "g", "m", topic, &[0], 2).await;
    let opened = c.open().await;
    assert_eq!(opened.acquisition_lock_timeout_ms, 20000);
    let mut got = acquired(&opened, 0);
    if got.is_empty() {
        got = acquired(&c.fetch(1000, 100).await, 0);
    }
    assert_eq!(got, delivered(0, 1, 1));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_groups_removes_persisted_state_so_a_recreated_group_starts_fresh() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let topic = create_topic(&mut admin, "events", 1).await;
    set_group_configs(&mut admin, "g", &[("share.auto.offset.reset", "earliest")]).await;
    produce(&mut admin, "events", 0, one_batch(4)).await;
    let (mut c, got) = open_and_drain(broker.addr, "g", "m", topic, 300).await;
    assert_eq!(got, delivered(0, 3, 1));
    assert_eq!(c.acknowledge(0, vec![ack(0, 3, &[ACCEPT])]).await, NONE);
    drop(c);
    let dir = broker.stop().await;

    // After a restart the group exists (empty) with its state, so it can be deleted.
    let broker = TestBroker::start_in(dir, "").await;
    let mut admin = broker.client().await;
    let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(st("g"))]);
    let resp: DeleteGroupsResponse = admin.call(ApiKey::DeleteGroups, 2, &req).await;
    assert_eq!(resp.results[0].error_code, NONE);
    let dir = broker.stop().await;

    let broker = TestBroker::start_in(dir, "").await;
    let mut admin = broker.client().await;
    assert_eq!(
        group_config(&mut admin, "g", "share.auto.offset.reset").await,
        "latest",
        "the group's configs went with it"
    );
    let resp: DeleteGroupsResponse = admin.call(ApiKey::DeleteGroups, 2, &req).await;
    assert_eq!(resp.results[0].error_code, GROUP_ID_NOT_FOUND, "nothing of the group was restored");
    set_group_configs(&mut admin, "g", &[("share.auto.offset.reset", "earliest")]).await;
    let (_c, got) = open_and_drain(broker.addr, "g", "m", topic, 300).await;
    assert_eq!(got, delivered(0, 3, 1), "a recreated group starts fresh");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_topic_survives_start_up_is_listed_as_internal_and_is_refused_to_clients() {
    let (dir, topic) = acknowledge_then_stop_gracefully().await;
    assert!(dir.path().join("__share_group_state-0").is_dir());

    let broker = TestBroker::start_in(dir, "").await;
    assert!(
        broker.dir.path().join("__share_group_state-0").is_dir(),
        "not removed as an orphan partition directory at start-up"
    );
    let mut c = broker.client().await;

    let create = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![
        kafka_protocol::messages::create_topics_request::CreatableTopic::default()
            .with_name(TopicName(st(STATE_TOPIC)))
            .with_num_partitions(1)
            .with_replication_factor(1),
    ]);
    let created: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &create).await;
    assert_eq!(created.topics[0].error_code, TOPIC_ALREADY_EXISTS);

    let produce_req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default()
            .with_name(TopicName(st(STATE_TOPIC)))
            .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(one_batch(1)))]),
    ]);
    let produced: ProduceResponse = c.call(ApiKey::Produce, 11, &produce_req).await;
    assert_eq!(produced.responses[0].partition_responses[0].error_code, INVALID_TOPIC_EXCEPTION);

    let delete = DeleteTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topic_names(vec![TopicName(st(STATE_TOPIC))]);
    let deleted: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &delete).await;
    assert_eq!(deleted.responses[0].error_code, INVALID_REQUEST);

    // Listed flagged internal (Admin.listTopics() drops it unless listInternal is set), with
    // one partition and an id that is stable across restarts.
    let all: MetadataResponse = c.call(ApiKey::Metadata, 12, &MetadataRequest::default().with_topics(None)).await;
    let listed: Vec<(String, bool, usize)> = all
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                t.is_internal,
                t.partitions.len(),
            )
        })
        .collect();
    assert_eq!(listed, vec![("events".to_string(), false, 1), (STATE_TOPIC.to_string(), true, 1)]);
    let state_id = all.topics[1].topic_id;
    assert!(!state_id.is_nil());
    let by_name = MetadataRequest::default()
        .with_topics(Some(vec![
            kafka_protocol::messages::metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(st(STATE_TOPIC)))),
        ]))
        .with_allow_auto_topic_creation(true);
    let asked: MetadataResponse = c.call(ApiKey::Metadata, 12, &by_name).await;
    assert_eq!(asked.topics[0].error_code, NONE);
    assert!(asked.topics[0].is_internal);
    assert_eq!(asked.topics[0].topic_id, state_id);

    // The state is intact after all that, and the internal topic keeps its id.
    assert_recovered(broker.addr, "g", topic, 2).await;
    let dir = broker.stop().await;
    let broker = TestBroker::start_in(dir, "").await;
    let mut c = broker.client().await;
    let again: MetadataResponse = c.call(ApiKey::Metadata, 12, &by_name).await;
    assert_eq!(
        again.topics[0].topic_id, state_id,
        "the internal topic's id is stable across restarts"
    );
    broker.stop().await;
}

/// The share state persisted under `dir` (the broker must be stopped).
fn persisted(dir: &Path) -> shard_coordinator::Recovered {
    let (store, recovered) =
        shard_coordinator::ShareStateStore::open(dir, shard_log::LogConfig::default(), shard_coordinator::StoreOptions::default())
            .expect("open the share state store");
    store.close().expect("close");
    recovered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_offsets_persist_and_deleted_topics_lose_their_share_state() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let kept = create_topic(&mut admin, "kept", 1).await;
    let doomed = create_topic(&mut admin, "doomed", 1).await;
    produce(&mut admin, "kept", 0, one_batch(6)).await;
    for topic in [kept, doomed] {
        let (c, _) = open_and_drain(broker.addr, "g", "m", topic, 0).await;
        drop(c);
    }
    let alter = AlterShareGroupOffsetsRequest::default()
        .with_group_id(GroupId(st("h")))
        .with_topics(vec![
            kafka_protocol::messages::alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                .with_topic_name(TopicName(st("kept")))
                .with_partitions(vec![
                    kafka_protocol::messages::alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                        .with_partition_index(0)
                        .with_start_offset(2),
                ]),
        ]);
    let altered: AlterShareGroupOffsetsResponse = admin.call(ApiKey::AlterShareGroupOffsets, 0, &alter).await;
    assert_eq!(altered.responses[0].partitions[0].error_code, NONE);
    let delete = DeleteTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topic_names(vec![TopicName(st("doomed"))]);
    let deleted: DeleteTopicsResponse = admin.call(ApiKey::DeleteTopics, 5, &delete).await;
    assert_eq!(deleted.responses[0].error_code, NONE);
    let dir = broker.stop().await;

    let state = persisted(dir.path());
    let keys: Vec<(String, Uuid)> = state.partitions.keys().map(|k| (k.group_id.clone(), k.topic_id)).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|(_, t)| *t == kept), "the deleted topic's state is gone: {keys:?}");
    let altered_start = state
        .partitions
        .iter()
        .find(|(k, _)| k.group_id == "h")
        .map(|(_, s)| s.start_offset);
    assert_eq!(altered_start, Some(2));

    // And the broker serves it: group h starts at offset 2.
    let broker = TestBroker::start_in(dir, "").await;
    let (_c, got) = open_and_drain(broker.addr, "h", "m", kept, 300).await;
    assert_eq!(got, delivered(2, 5, 1));
    broker.stop().await;
}

/// Produces `records` to `topic`-0; returns the partition's error code.
async fn produce_code(c: &mut RawClient, topic: &str, records: bytes::Bytes) -> i16 {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(records))]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    resp.responses[0].partition_responses[0].error_code
}

const UNKNOWN_SERVER_ERROR: i16 = -1;
const KAFKA_STORAGE_ERROR: i16 = 56;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_of_share_state_is_never_answered_as_done_and_stops_delivery_until_restart() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let topic = create_topic(&mut admin, "events", 1).await;
    let mut c = Consumer::opened(broker.addr, "g", "m", topic, &[0], 2).await;
    produce(&mut admin, "events", 0, one_batch(10)).await;
    assert_eq!(acquired(&c.fetch(1000, 100).await, 0), delivered(0, 9, 1));
    assert_eq!(c.acknowledge(0, vec![ack(0, 3, &[ACCEPT])]).await, NONE);

    // The disk fails the next fsync of the share-state log: the acknowledgement waiting for it
    // is not confirmed, and the poisoned store refuses every later one.
    broker
        .broker
        .shares
        .store()
        .expect("share state is persisted")
        .log()
        .inject_fsync_failure();
    assert_eq!(c.acknowledge(0, vec![ack(4, 5, &[ACCEPT])]).await, UNKNOWN_SERVER_ERROR);
    let resp = c.fetch_acking(0, vec![ack(6, 9, &[ACCEPT])]).await;
    assert_eq!(fetch_ack_code(&resp, 0), UNKNOWN_SERVER_ERROR, "{resp:?}");
    // Records whose acknowledgements could not be kept are not handed out. The share-state log
    // lives in log.dir, so its failed fsync takes the whole directory offline (as Kafka takes a
    // failed log dir offline): produce to the topic is refused too.
    assert_eq!(part(&resp, 0).map(|p| p.error_code), Some(KAFKA_STORAGE_ERROR), "{resp:?}");
    assert_eq!(produce_code(&mut admin, "events", one_batch(1)).await, KAFKA_STORAGE_ERROR);
    assert!(broker.broker.topics.log_dir_health().is_offline());
    let fresh = c.fetch(100, 100).await;
    assert_eq!(part(&fresh, 0).map(|p| p.error_code), Some(KAFKA_STORAGE_ERROR), "{fresh:?}");
    assert!(acquired(&fresh, 0).is_empty());
    drop(c);
    let dir = broker.stop().await;

    // After a restart the store and the directory are healthy again: what was confirmed stays
    // acknowledged, what was not confirmed is delivered again (4 and 5 may have reached the disk
    // before the failure), and produce works.
    let broker = TestBroker::start_in(dir, "").await;
    let mut admin = broker.client().await;
    assert_eq!(produce(&mut admin, "events", 0, one_batch(1)).await, 10);
    let (_c, got) = open_and_drain(broker.addr, "g", "m2", topic, 300).await;
    let got = offsets(&got);
    assert!(got.iter().all(|o| (4..=10).contains(o)), "confirmed 0..=3 came back: {got:?}");
    assert!(
        (6..=10).all(|o| got.contains(&o)),
        "unconfirmed 6..=9 and new 10 must be delivered: {got:?}"
    );
    broker.stop().await;
}
