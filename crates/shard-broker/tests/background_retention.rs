//! The broker's periodic retention pass deletes old segments on its own.

mod common;

use std::time::Duration;

use common::{RawClient, TestBroker, batch};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn config(name: &'static str, value: &'static str) -> CreatableTopicConfig {
    CreatableTopicConfig::default()
        .with_name(StrBytes::from_static_str(name))
        .with_value(Some(StrBytes::from_static_str(value)))
}

async fn earliest(c: &mut RawClient) -> i64 {
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("expiring")))
            .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-2)]),
    ]);
    let resp: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &req).await;
    resp.topics[0].partitions[0].offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_loop_deletes_expired_segments() {
    let broker = TestBroker::start("log.retention.check.interval.ms = 50").await;
    let mut c = broker.client().await;
    // Tiny segments (one batch each) and a one-hour retention; the test batches are from 2023.
    let create = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![
        CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("expiring")))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![config("segment.bytes", "100"), config("retention.ms", "3600000")]),
    ]);
    let created: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &create).await;
    assert_eq!(created.topics[0].error_code, 0);
    for _ in 0..4 {
        let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("expiring")))
                .with_partition_data(vec![
                    PartitionProduceData::default().with_index(0).with_records(Some(batch(2, -1, -1))),
                ]),
        ]);
        let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req).await;
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    }
    // Bounded wait for the background pass; the active segment always stays.
    let mut start = 0;
    for _ in 0..200 {
        start = earliest(&mut c).await;
        if start > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(start > 0 && start < 8, "log start offset moved past expired segments: {start}");
    broker.stop().await;
}
