//! Restarts keep topics, configs, records and idempotent-producer state; fetch long-polls are
//! woken by new data.

mod common;

use common::{RawClient, TestBroker, batch};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

async fn produce(c: &mut RawClient, topic: &str, records: bytes::Bytes) -> (i16, i64) {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(records))]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn fetch_req(topic: &str, offset: i64, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default().with_topic(name(topic)).with_partitions(vec![
            FetchPartition::default().with_partition(0).with_fetch_offset(offset).with_partition_max_bytes(1 << 20),
        ])])
}

fn record_count(resp: &FetchResponse) -> usize {
    let mut records = resp.responses[0].partitions[0].records.clone().unwrap_or_default();
    kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records)
        .expect("decode")
        .iter()
        .map(|s| s.records.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_topics_configs_records_and_producer_state() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let create = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![
        CreatableTopic::default()
            .with_name(name("durable"))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"))
                    .with_value(Some(StrBytes::from_static_str("86400000"))),
            ]),
    ]);
    let created: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &create).await;
    let id = created.topics[0].topic_id;
    let pid: InitProducerIdResponse = c
        .call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    let pid = pid.producer_id.0;
    let first = batch(10, pid, 0);
    assert_eq!(produce(&mut c, "durable", first.clone()).await, (0, 0));
    drop(c);
    let dir = broker.stop().await;

    let broker = TestBroker::start_in(dir, "").await;
    let mut c = broker.client().await;
    let meta: MetadataResponse = c.call(ApiKey::Metadata, 12, &MetadataRequest::default().with_topics(None)).await;
    let topics: Vec<_> = meta.topics.iter().filter(|t| !t.is_internal).collect();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].topic_id, id, "topic id is stable across restarts");
    let cfg: DescribeConfigsResponse = c
        .call(
            ApiKey::DescribeConfigs,
            4,
            &DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("durable"))
                    .with_configuration_keys(None),
            ]),
        )
        .await;
    let retention = cfg.results[0]
        .configs
        .iter()
        .find(|c| &*c.name == "retention.ms")
        .expect("retention.ms");
    assert_eq!(retention.value.as_deref(), Some("86400000"));
    // The producer retries its batch after the restart: answered with the original offset, not appended.
    assert_eq!(produce(&mut c, "durable", first).await, (0, 0));
    assert_eq!(produce(&mut c, "durable", batch(5, pid, 10)).await, (0, 10));
    assert_eq!(
        produce(&mut c, "durable", batch(5, pid, 30)).await.0,
        45,
        "OUT_OF_ORDER_SEQUENCE_NUMBER"
    );
    let fetched: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("durable", 0, 0, 0)).await;
    assert_eq!(fetched.responses[0].partitions[0].high_watermark, 15);
    assert_eq!(record_count(&fetched), 15);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_long_poll_is_woken_by_produce() {
    let broker = TestBroker::start("").await;
    let mut producer = broker.client().await;
    assert_eq!(produce(&mut producer, "wake", batch(1, -1, -1)).await, (0, 0));
    let mut consumer = broker.client().await;
    let addr = broker.addr;
    let produce_later = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut p = RawClient::connect(addr).await;
        produce(&mut p, "wake", batch(3, -1, -1)).await
    });
    // MaxWaitMs is far beyond the client's read timeout: only the produce can end this wait.
    let resp: FetchResponse = consumer.call(ApiKey::Fetch, 12, &fetch_req("wake", 1, 60_000, 1)).await;
    assert_eq!(record_count(&resp), 3);
    assert_eq!(produce_later.await.expect("producer task"), (0, 1));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_below_min_bytes_returns_empty_after_max_wait() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    assert_eq!(produce(&mut c, "idle", batch(2, -1, -1)).await, (0, 0));
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("idle", 2, 200, 1)).await;
    assert_eq!(resp.responses[0].partitions[0].error_code, 0);
    assert_eq!(record_count(&resp), 0);
    let out_of_range: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("idle", 99, 0, 0)).await;
    assert_eq!(out_of_range.responses[0].partitions[0].error_code, 1, "OFFSET_OUT_OF_RANGE");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_gets_no_response_but_appends() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let req = ProduceRequest::default().with_acks(0).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default()
            .with_name(name("fire-and-forget"))
            .with_partition_data(vec![
                PartitionProduceData::default().with_index(0).with_records(Some(batch(4, -1, -1))),
            ]),
    ]);
    let (_, frame) = c.frame(ApiKey::Produce, 9, &req);
    c.write_raw(&frame).await;
    // The next response on the connection answers the next request, not the acks=0 produce.
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("fire-and-forget", 0, 5000, 1)).await;
    assert_eq!(record_count(&resp), 4);
    broker.stop().await;
}

/// A stop does not wait out a long poll: the Fetch waiting 60 s (beyond the client's 10 s read
/// bound, and beyond the broker's 10 s shutdown grace) is answered, empty, as shutdown starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_waiting_fetch_long_polls() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    assert_eq!(produce(&mut c, "stopping", batch(2, -1, -1)).await, (0, 0));
    let waiting = tokio::spawn(async move {
        let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("stopping", 2, 60_000, 1)).await;
        resp
    });
    // Let the fetch reach its wait (if it had not, it would be answered at once anyway).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    broker.stop().await;
    let resp = waiting.await.expect("the long poll was answered, not cut off");
    assert_eq!(resp.responses[0].partitions[0].error_code, 0);
    assert_eq!(record_count(&resp), 0);
}
