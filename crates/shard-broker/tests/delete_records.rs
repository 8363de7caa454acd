//! DeleteRecords and OffsetForLeaderEpoch on the wire: Kafka's answers (high watermark for -1,
//! OFFSET_OUT_OF_RANGE above it, a lower offset is a no-op answering the current start, unknown
//! and internal topics), what Fetch, ListOffsets and share groups see afterwards, and a moved
//! log start surviving `kill -9` of the broker in both flush modes.

mod common;

use common::child::{ChildBroker, free_port};
use common::share::*;
use common::{RawClient, TestBroker};
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::*;

const OFFSET_OUT_OF_RANGE: i16 = 1;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const FENCED_LEADER_EPOCH: i16 = 74;
const UNKNOWN_LEADER_EPOCH: i16 = 75;
const EARLIEST: i64 = -2;

/// DeleteRecords for one partition; returns (error code, low watermark).
async fn delete_records(c: &mut RawClient, version: i16, topic: &str, partition: i32, offset: i64) -> (i16, i64) {
    let req = DeleteRecordsRequest::default().with_timeout_ms(5000).with_topics(vec![
        DeleteRecordsTopic::default().with_name(name(topic)).with_partitions(vec![
            DeleteRecordsPartition::default()
                .with_partition_index(partition)
                .with_offset(offset),
        ]),
    ]);
    let resp: DeleteRecordsResponse = c.call(ApiKey::DeleteRecords, version, &req).await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.partition_index, partition);
    (p.error_code, p.low_watermark)
}

/// ListOffsets EARLIEST of partition 0.
async fn earliest(c: &mut RawClient, topic: &str) -> i64 {
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        ListOffsetsTopic::default().with_name(name(topic)).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(0).with_timestamp(EARLIEST),
        ]),
    ]);
    let resp: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &req).await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, NONE);
    p.offset
}

/// Fetch of partition 0 from `offset`: (error code, log start offset, first record offset).
async fn fetch(c: &mut RawClient, topic: &str, offset: i64) -> (i16, i64, Option<i64>) {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(vec![
            FetchPartition::default().with_partition(0).with_fetch_offset(offset).with_partition_max_bytes(1 << 20),
        ])]);
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &req).await;
    let p = &resp.responses[0].partitions[0];
    let mut records = p.records.clone().unwrap_or_default();
    let first = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records)
        .expect("decode")
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.offset))
        .next();
    (p.error_code, p.log_start_offset, first)
}

/// OffsetForLeaderEpoch for partition `partition`: (error, leader epoch, end offset).
async fn epoch_end(c: &mut RawClient, version: i16, topic: &str, partition: i32, current: i32, epoch: i32) -> (i16, i32, i64) {
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default().with_topic(name(topic)).with_partitions(vec![
            OffsetForLeaderPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(current)
                .with_leader_epoch(epoch),
        ])]);
    let resp: OffsetForLeaderEpochResponse = c.call(ApiKey::OffsetForLeaderEpoch, version, &req).await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.partition, partition);
    (p.error_code, p.leader_epoch, p.end_offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_answers_as_kafka_and_moves_what_readers_see() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    create_topic(&mut c, "dr", 1).await;
    assert_eq!(produce(&mut c, "dr", 0, one_batch(10)).await, 0);
    assert_eq!(produce(&mut c, "dr", 0, one_batch(10)).await, 10);

    for version in 0..=2 {
        // Inside the first batch: the start moves to exactly 5.
        assert_eq!(delete_records(&mut c, version, "dr", 0, 5).await, (NONE, 5), "v{version}");
        // Lower than the start: a no-op answering the current start.
        assert_eq!(delete_records(&mut c, version, "dr", 0, 3).await, (NONE, 5));
        // Above the high watermark (20), or negative other than -1.
        assert_eq!(delete_records(&mut c, version, "dr", 0, 21).await, (OFFSET_OUT_OF_RANGE, -1));
        assert_eq!(delete_records(&mut c, version, "dr", 0, -5).await, (OFFSET_OUT_OF_RANGE, -1));
        assert_eq!(delete_records(&mut c, version, "dr", 7, 1).await, (UNKNOWN_TOPIC_OR_PARTITION, -1));
        assert_eq!(
            delete_records(&mut c, version, "nope", 0, 1).await,
            (UNKNOWN_TOPIC_OR_PARTITION, -1)
        );
        assert_eq!(
            delete_records(&mut c, version, "__share_group_state", 0, 0).await,
            (INVALID_TOPIC_EXCEPTION, -1)
        );
    }

    assert_eq!(earliest(&mut c, "dr").await, 5);
    assert_eq!(fetch(&mut c, "dr", 4).await.0, OFFSET_OUT_OF_RANGE);
    // The batch holding offset 5 is returned whole (batches are never split), as Kafka does;
    // the response's log start offset tells the client where the log starts.
    assert_eq!(fetch(&mut c, "dr", 5).await, (NONE, 5, Some(0)));

    // -1 means the high watermark.
    assert_eq!(delete_records(&mut c, 2, "dr", 0, -1).await, (NONE, 20));
    assert_eq!(earliest(&mut c, "dr").await, 20);
    assert_eq!(fetch(&mut c, "dr", 19).await.0, OFFSET_OUT_OF_RANGE);
    assert_eq!(fetch(&mut c, "dr", 20).await, (NONE, 20, None));
    assert_eq!(produce(&mut c, "dr", 0, one_batch(3)).await, 20);
    assert_eq!(fetch(&mut c, "dr", 20).await, (NONE, 20, Some(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_for_leader_epoch_answers_for_the_single_epoch_0() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    create_topic(&mut c, "ep", 2).await;
    assert_eq!(produce(&mut c, "ep", 0, one_batch(7)).await, 0);
    for version in 2..=4 {
        // The current epoch ends at the log end offset.
        assert_eq!(epoch_end(&mut c, version, "ep", 0, 0, 0).await, (NONE, 0, 7), "v{version}");
        assert_eq!(epoch_end(&mut c, version, "ep", 0, -1, 0).await, (NONE, 0, 7));
        assert_eq!(epoch_end(&mut c, version, "ep", 1, -1, 0).await, (NONE, 0, 0));
        // A newer or undefined epoch is unknown: UNDEFINED epoch and offset, no error.
        assert_eq!(epoch_end(&mut c, version, "ep", 0, -1, 3).await, (NONE, -1, -1));
        assert_eq!(epoch_end(&mut c, version, "ep", 0, -1, -1).await, (NONE, -1, -1));
        // The client's current epoch is checked against ours (0).
        assert_eq!(epoch_end(&mut c, version, "ep", 0, 1, 0).await.0, UNKNOWN_LEADER_EPOCH);
        assert_eq!(epoch_end(&mut c, version, "ep", 0, -2, 0).await.0, FENCED_LEADER_EPOCH);
        assert_eq!(
            epoch_end(&mut c, version, "ep", 5, -1, 0).await,
            (UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
        );
        assert_eq!(
            epoch_end(&mut c, version, "none", 0, -1, 0).await,
            (UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_partitions_below_the_new_start_move_forward() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "sdr", 1).await;
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(32)
            .with_resource_name(s("sg"))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(s("share.auto.offset.reset"))
                    .with_config_operation(0)
                    .with_value(Some(s("earliest"))),
            ]),
    ]);
    let resp: IncrementalAlterConfigsResponse = admin.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    assert_eq!(resp.responses[0].error_code, NONE);
    produce(&mut admin, "sdr", 0, one_batch(10)).await;

    let mut a = Consumer::connect(broker.addr, "sg", "member-a", id, &[0], 2).await;
    let mut got = acquired(&a.open().await, 0);
    for _ in 0..5 {
        if !got.is_empty() {
            break;
        }
        got.extend(acquired(&a.fetch(500, 100).await, 0));
    }
    assert_eq!(got, delivered(0, 9, 1));
    assert_eq!(a.acknowledge(0, vec![ack(0, 9, &[ACCEPT])]).await, NONE);

    // Records 10..19 arrive and 10..14 are deleted before the group reads them.
    produce(&mut admin, "sdr", 0, one_batch(10)).await;
    assert_eq!(delete_records(&mut admin, 2, "sdr", 0, 15).await, (NONE, 15));
    let mut got = Vec::new();
    for _ in 0..5 {
        got.extend(acquired(&a.fetch(500, 100).await, 0));
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got, delivered(15, 19, 1), "the share-partition skipped the deleted records");
}

/// Produces 20 records to `dr`, deletes below 12, SIGKILLs the broker and checks the start.
async fn delete_then_kill(mode: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = format!("log.flush.mode = \"{mode}\"\n");
    let child = ChildBroker::start(dir.path(), port, &config).await;
    let mut c = RawClient::connect(child.addr).await;
    create_topic(&mut c, "dr", 1).await;
    produce(&mut c, "dr", 0, one_batch(10)).await;
    produce(&mut c, "dr", 0, one_batch(10)).await;
    assert_eq!(delete_records(&mut c, 2, "dr", 0, 12).await, (NONE, 12));
    drop(c);
    child.kill_9();

    let child = ChildBroker::start(dir.path(), port, &config).await;
    let mut c = RawClient::connect(child.addr).await;
    assert_eq!(earliest(&mut c, "dr").await, 12, "{mode}");
    assert_eq!(fetch(&mut c, "dr", 11).await.0, OFFSET_OUT_OF_RANGE);
    assert_eq!(fetch(&mut c, "dr", 12).await, (NONE, 12, Some(10)));
    assert_eq!(delete_records(&mut c, 2, "dr", 0, 3).await, (NONE, 12));
    child.kill_9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_log_start_survives_kill_9() {
    delete_then_kill("fsync").await;
    delete_then_kill("page_cache").await;
}
