//! Bad input on the wire: each case checks the broker's answer (an error code or a closed
//! connection) and that a normal client is served afterwards.

mod common;

use bytes::{BufMut, BytesMut};
use common::{RawClient, TestBroker, batch};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

/// A fresh connection still gets ApiVersions and Metadata answered.
async fn assert_still_serving(broker: &TestBroker) {
    let mut c = broker.client().await;
    let v: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(v.error_code, 0);
    let m: MetadataResponse = c.call(ApiKey::Metadata, 12, &MetadataRequest::default()).await;
    assert_eq!(m.brokers.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_frame_closes_connection() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    // A Metadata v12 request whose body stops in the middle of the topics array.
    let (_, frame) = c.frame(ApiKey::Metadata, 12, &MetadataRequest::default().with_topics(Some(vec![])));
    let mut cut = BytesMut::from(&frame[..frame.len() - 3]);
    let len = (cut.len() - 4) as i32;
    cut[0..4].copy_from_slice(&len.to_be_bytes());
    c.write_raw(&cut).await;
    assert!(
        c.is_closed_by_broker().await,
        "broker must drop a connection sending an undecodable request"
    );
    assert_still_serving(&broker).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_shorter_than_header_closes_connection() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    c.write_raw(&[0, 0, 0, 3, 0, 18, 0]).await;
    assert!(c.is_closed_by_broker().await);
    assert_still_serving(&broker).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_larger_than_maximum_closes_connection() {
    let broker = TestBroker::start("socket.request.max.bytes = 4096").await;
    let mut c = broker.client().await;
    let mut frame = BytesMut::new();
    frame.put_i32(1_000_000);
    frame.put_slice(&[0u8; 64]);
    c.write_raw(&frame).await;
    assert!(c.is_closed_by_broker().await);
    // A negative size is a frame larger than any maximum too.
    let mut c = broker.client().await;
    c.write_raw(&(-5i32).to_be_bytes()).await;
    assert!(c.is_closed_by_broker().await);
    assert_still_serving(&broker).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_array_length_closes_connection() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    // ListOffsets v1 (not flexible): replica id, then the topics array with length -7.
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    frame.put_i16(ApiKey::ListOffsets as i16);
    frame.put_i16(1);
    frame.put_i32(99);
    frame.put_i16(-1); // null client id
    frame.put_i32(-1); // replica id
    frame.put_i32(-7); // topics array length
    let len = (frame.len() - 4) as i32;
    frame[0..4].copy_from_slice(&len.to_be_bytes());
    c.write_raw(&frame).await;
    assert!(c.is_closed_by_broker().await);
    assert_still_serving(&broker).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_key_gets_unsupported_version() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(9999);
    frame.put_i16(0);
    frame.put_i32(77);
    frame.put_i16(-1);
    c.write_raw(&frame).await;
    let resp = c.read_frame().await.expect("error response");
    assert_eq!(&resp[..], &[0, 0, 0, 77, 0, 35], "correlation id 77, UNSUPPORTED_VERSION");
    // The same connection keeps working.
    let v: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(v.error_code, 0);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_too_new_gets_v0_fallback() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let (_, frame) = c.frame(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default());
    let mut frame = BytesMut::from(&frame[..]);
    frame[6..8].copy_from_slice(&99i16.to_be_bytes());
    c.write_raw(&frame).await;
    let mut resp = c.read_frame().await.expect("response");
    use kafka_protocol::protocol::Decodable;
    let _header = kafka_protocol::messages::ResponseHeader::decode(&mut resp, 0).expect("header v0");
    let body = ApiVersionsResponse::decode(&mut resp, 0).expect("v0 body");
    assert_eq!(body.error_code, 35);
    assert!(body.api_keys.iter().any(|k| k.api_key == ApiKey::Produce as i16));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_with_wrong_crc_is_refused_and_nothing_appended() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let mut records = BytesMut::from(&batch(5, -1, -1)[..]);
    let last = records.len() - 1;
    records[last] ^= 0xff; // inside the CRC-covered part
    let topic = TopicName(StrBytes::from_static_str("crc-topic"));
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default().with_name(topic.clone()).with_partition_data(vec![
            PartitionProduceData::default().with_index(0).with_records(Some(records.freeze())),
        ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 2, "CORRUPT_MESSAGE");
    let lo = ListOffsetsRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default().with_name(topic).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1),
        ])]);
    let lo: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &lo).await;
    assert_eq!(lo.topics[0].partitions[0].offset, 0, "nothing appended");
    // A good batch on the same connection is accepted.
    let good = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("crc-topic")))
            .with_partition_data(vec![
                PartitionProduceData::default().with_index(0).with_records(Some(batch(5, -1, -1))),
            ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &good).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    assert_eq!(resp.responses[0].partition_responses[0].base_offset, 0);
    assert_still_serving(&broker).await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_connection_does_not_disturb_others() {
    let broker = TestBroker::start("").await;
    let mut good = broker.client().await;
    let mut bad = RawClient::connect(broker.addr).await;
    bad.write_raw(&[0xff; 100]).await;
    assert!(bad.is_closed_by_broker().await);
    let v: ApiVersionsResponse = good.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(v.error_code, 0);
    broker.stop().await;
}
