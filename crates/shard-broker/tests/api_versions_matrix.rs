//! Every served API at its lowest and highest version, through a real broker: requests encode
//! and decode, responses come back decodable with the expected content.

mod common;

use common::share::INVALID_REQUEST;
use common::{RawClient, TestBroker, batch};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use shard_protocol::{
    AcknowledgementBatch, ShareAcknowledgePartition, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareAcknowledgeTopic,
    ShareFetchPartition, ShareFetchRequest, ShareFetchResponse, ShareFetchTopic, served_range,
};
use uuid::Uuid;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn versions(key: ApiKey) -> [i16; 2] {
    let r = served_range(key).expect("served");
    [r.min, r.max]
}

async fn create_topic(c: &mut RawClient, topic: &str, version: i16) -> CreateTopicsResponse {
    let req = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![
        CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(2)
            .with_replication_factor(1)
            .with_configs(vec![
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"))
                    .with_value(Some(StrBytes::from_static_str("3600000"))),
            ]),
    ]);
    c.call(ApiKey::CreateTopics, version, &req).await
}

async fn topic_id(c: &mut RawClient, topic: &str) -> Uuid {
    let req = MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(name(topic)))]));
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 12, &req).await;
    assert_eq!(resp.topics[0].error_code, 0);
    resp.topics[0].topic_id
}

/// ShareFetch through the hand-written codec (the crate stops at v1).
async fn share_fetch(c: &mut RawClient, version: i16, req: &ShareFetchRequest) -> ShareFetchResponse {
    let body = req.encode(version).expect("encode ShareFetch");
    let mut resp = c.call_body(ApiKey::ShareFetch, version, &body).await;
    let decoded = ShareFetchResponse::decode(&mut resp, version).expect("decode ShareFetch response");
    assert!(resp.is_empty(), "ShareFetch v{version}: trailing bytes in response");
    decoded
}

/// ShareAcknowledge through the hand-written codec.
async fn share_ack(c: &mut RawClient, version: i16, req: &ShareAcknowledgeRequest) -> ShareAcknowledgeResponse {
    let body = req.encode(version).expect("encode ShareAcknowledge");
    let mut resp = c.call_body(ApiKey::ShareAcknowledge, version, &body).await;
    let decoded = ShareAcknowledgeResponse::decode(&mut resp, version).expect("decode ShareAcknowledge response");
    assert!(resp.is_empty(), "ShareAcknowledge v{version}: trailing bytes in response");
    decoded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_at_min_and_max_version() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;

    for v in versions(ApiKey::ApiVersions) {
        let resp: ApiVersionsResponse = c.call(ApiKey::ApiVersions, v, &ApiVersionsRequest::default()).await;
        assert_eq!(resp.error_code, 0);
        assert_eq!(resp.api_keys.len(), shard_protocol::SERVED_APIS.len());
        // The share-group APIs at the versions Kafka 4.2 clients use (ShareFetch and
        // ShareAcknowledge v2: KIP-1206 record limit, KIP-1222 renew).
        for (key, min, max) in [
            (ApiKey::ShareGroupHeartbeat, 1, 1),
            (ApiKey::ShareGroupDescribe, 1, 1),
            (ApiKey::ShareFetch, 1, 2),
            (ApiKey::ShareAcknowledge, 1, 2),
        ] {
            let k = resp
                .api_keys
                .iter()
                .find(|k| k.api_key == key as i16)
                .unwrap_or_else(|| panic!("ApiVersions v{v} lists {key:?}"));
            assert_eq!((k.min_version, k.max_version), (min, max), "{key:?} in ApiVersions v{v}");
        }
    }

    for v in versions(ApiKey::CreateTopics) {
        let topic = format!("matrix-v{v}");
        let resp = create_topic(&mut c, &topic, v).await;
        assert_eq!(resp.topics[0].error_code, 0, "create v{v}: {:?}", resp.topics[0].error_message);
        if v >= 5 {
            assert_eq!(resp.topics[0].num_partitions, 2);
            let configs = resp.topics[0].configs.as_ref().expect("configs");
            assert!(
                configs
                    .iter()
                    .any(|c| &*c.name == "retention.ms" && c.value.as_deref() == Some("3600000"))
            );
        }
        let again = create_topic(&mut c, &topic, v).await;
        assert_eq!(again.topics[0].error_code, 36, "TOPIC_ALREADY_EXISTS");
    }
    let topic = "matrix-v2";
    let id = topic_id(&mut c, topic).await;
    assert!(!id.is_nil());

    for v in versions(ApiKey::Metadata) {
        let topics = if v == 0 { Some(vec![]) } else { None };
        let resp: MetadataResponse = c.call(ApiKey::Metadata, v, &MetadataRequest::default().with_topics(topics)).await;
        assert_eq!(resp.brokers.len(), 1);
        let t = resp
            .topics
            .iter()
            .find(|t| t.name.as_deref().map(|n| &**n) == Some(topic))
            .expect("topic listed");
        assert_eq!(t.partitions.len(), 2);
        assert_eq!(t.partitions[0].leader_id.0, 1);
        if v >= 10 {
            assert_eq!(t.topic_id, id);
        }
    }

    // By topic id (v12+), as Admin.describeTopics(TopicCollection.ofTopicIds(..)) asks.
    for v in [12, 13] {
        let unknown = Uuid::new_v4();
        let req = MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_topic_id(id).with_name(None),
            // Java's Admin sends an empty name with the id.
            MetadataRequestTopic::default().with_topic_id(unknown).with_name(Some(name(""))),
        ]));
        let resp: MetadataResponse = c.call(ApiKey::Metadata, v, &req).await;
        assert_eq!(resp.topics.len(), 2);
        assert_eq!(resp.topics[0].topic_id, id);
        assert_eq!(resp.topics[0].name.as_deref().map(|n| &**n), Some(topic));
        assert_eq!(resp.topics[1].topic_id, unknown);
        assert_eq!(resp.topics[1].error_code, 100, "UNKNOWN_TOPIC_ID");
    }

    let mut expected_end = 0i64;
    for v in versions(ApiKey::Produce) {
        let td = if v >= 13 {
            TopicProduceData::default().with_topic_id(id)
        } else {
            TopicProduceData::default().with_name(name(topic))
        };
        let req = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![td.with_partition_data(vec![
                PartitionProduceData::default().with_index(0).with_records(Some(batch(3, -1, -1))),
            ])]);
        let resp: ProduceResponse = c.call(ApiKey::Produce, v, &req).await;
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, 0, "produce v{v}: {:?}", p.error_message);
        assert_eq!(p.base_offset, expected_end);
        expected_end += 3;
    }

    for v in versions(ApiKey::Fetch) {
        let ft = if v >= 13 {
            FetchTopic::default().with_topic_id(id)
        } else {
            FetchTopic::default().with_topic(name(topic))
        };
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(100)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![ft.with_partitions(
                vec![FetchPartition::default().with_partition(0).with_fetch_offset(1).with_partition_max_bytes(1 << 20)],
            )]);
        let resp: FetchResponse = c.call(ApiKey::Fetch, v, &req).await;
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "fetch v{v}");
        assert_eq!(p.high_watermark, expected_end);
        let records = p.records.clone().expect("records");
        let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records.clone()).expect("decode fetched batches");
        let offsets: Vec<i64> = sets
            .iter()
            .flat_map(|s| s.records.iter().map(|r| r.offset))
            .filter(|o| *o >= 1)
            .collect();
        assert_eq!(offsets, (1..expected_end).collect::<Vec<_>>(), "fetch v{v} offsets");
    }

    for v in versions(ApiKey::ListOffsets) {
        for (ts, want) in [(-2i64, 0i64), (-1, expected_end)] {
            let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
                ListOffsetsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(ts)]),
            ]);
            let resp: ListOffsetsResponse = c.call(ApiKey::ListOffsets, v, &req).await;
            assert_eq!(resp.topics[0].partitions[0].error_code, 0);
            assert_eq!(resp.topics[0].partitions[0].offset, want, "list offsets v{v} ts {ts}");
        }
    }

    for v in versions(ApiKey::FindCoordinator) {
        let req = if v >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![StrBytes::from_static_str("g")])
        } else {
            FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"))
        };
        let resp: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &req).await;
        let (node, port) = if v >= 4 {
            (resp.coordinators[0].node_id.0, resp.coordinators[0].port)
        } else {
            (resp.node_id.0, resp.port)
        };
        assert_eq!(node, 1);
        assert_eq!(port, i32::from(broker.addr.port()));
        if v >= 1 {
            // An unknown key type is refused, as Kafka refuses it.
            let bad: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &req.clone().with_key_type(3)).await;
            let code = if v >= 4 { bad.coordinators[0].error_code } else { bad.error_code };
            assert_eq!(code, INVALID_REQUEST, "v{v}");
        }
        if v >= 6 {
            // Share-state keys (group:topicId:partition) are served from v6; a malformed one is refused.
            let share = |key: &'static str| {
                FindCoordinatorRequest::default()
                    .with_key_type(2)
                    .with_coordinator_keys(vec![StrBytes::from_static_str(key)])
            };
            let ok: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &share("g:AAAAAAAAAAAAAAAAAAAAAQ:0")).await;
            assert_eq!((ok.coordinators[0].error_code, ok.coordinators[0].node_id.0), (0, 1));
            let bad: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, v, &share("g:0")).await;
            assert_eq!(bad.coordinators[0].error_code, INVALID_REQUEST);
        }
    }

    let mut last_pid = -1;
    for v in versions(ApiKey::InitProducerId) {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
            .with_transaction_timeout_ms(60000);
        let resp: InitProducerIdResponse = c.call(ApiKey::InitProducerId, v, &req).await;
        assert_eq!(resp.error_code, 0);
        assert!(resp.producer_id.0 > last_pid);
        last_pid = resp.producer_id.0;
    }

    for v in versions(ApiKey::DescribeConfigs) {
        let req = DescribeConfigsRequest::default().with_include_synonyms(true).with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("matrix-v2"))
                .with_configuration_keys(None),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_static_str("1"))
                .with_configuration_keys(None),
        ]);
        let resp: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, v, &req).await;
        let topic_cfg = &resp.results[0];
        assert_eq!(topic_cfg.error_code, 0);
        let retention = topic_cfg.configs.iter().find(|c| &*c.name == "retention.ms").expect("retention.ms");
        assert_eq!(retention.value.as_deref(), Some("3600000"));
        assert_eq!(retention.config_source, 1, "DYNAMIC_TOPIC_CONFIG");
        let segment = topic_cfg
            .configs
            .iter()
            .find(|c| &*c.name == "segment.bytes")
            .expect("segment.bytes");
        assert_eq!(segment.config_source, 5, "DEFAULT_CONFIG");
        assert_eq!(resp.results[1].error_code, 0);
        assert!(resp.results[1].configs.iter().any(|c| &*c.name == "log.retention.ms"));
    }

    for v in versions(ApiKey::IncrementalAlterConfigs) {
        let set = |value: &'static str| {
            IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("matrix-v2"))
                    .with_configs(vec![
                        AlterableConfig::default()
                            .with_name(StrBytes::from_static_str("retention.bytes"))
                            .with_config_operation(0)
                            .with_value(Some(StrBytes::from_static_str(value))),
                    ]),
            ])
        };
        let ok: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, v, &set("1048576")).await;
        assert_eq!(ok.responses[0].error_code, 0);
        let bad: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, v, &set("lots")).await;
        assert_eq!(bad.responses[0].error_code, 40, "INVALID_CONFIG");
    }

    for v in versions(ApiKey::CreatePartitions) {
        let topic = format!("matrix-v{}", versions(ApiKey::CreateTopics)[1]);
        let count = if v == 0 { 3 } else { 4 };
        let req = CreatePartitionsRequest::default()
            .with_timeout_ms(5000)
            .with_topics(vec![CreatePartitionsTopic::default().with_name(name(&topic)).with_count(count)]);
        let resp: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, v, &req).await;
        assert_eq!(resp.results[0].error_code, 0, "{:?}", resp.results[0].error_message);
    }

    for v in versions(ApiKey::DescribeCluster) {
        let resp: DescribeClusterResponse = c
            .call(ApiKey::DescribeCluster, v, &DescribeClusterRequest::default().with_endpoint_type(1))
            .await;
        assert_eq!(resp.error_code, 0);
        assert_eq!(resp.brokers.len(), 1);
        assert!(!resp.cluster_id.is_empty());
    }

    for v in versions(ApiKey::DescribeTopicPartitions) {
        let req = DescribeTopicPartitionsRequest::default()
            .with_response_partition_limit(2000)
            .with_topics(vec![TopicRequest::default().with_name(name("matrix-v7"))]);
        let resp: DescribeTopicPartitionsResponse = c.call(ApiKey::DescribeTopicPartitions, v, &req).await;
        assert_eq!(resp.topics[0].error_code, 0);
        assert_eq!(resp.topics[0].partitions.len(), 4);
    }

    // Group administration (share groups are the only groups). An alter creates the group.
    for v in versions(ApiKey::AlterShareGroupOffsets) {
        let req = AlterShareGroupOffsetsRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("matrix-group")))
            .with_topics(vec![
                alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(name(topic))
                    .with_partitions(vec![
                        alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                            .with_partition_index(0)
                            .with_start_offset(1),
                    ]),
            ]);
        let resp: AlterShareGroupOffsetsResponse = c.call(ApiKey::AlterShareGroupOffsets, v, &req).await;
        assert_eq!(resp.error_code, 0);
        assert_eq!(resp.responses[0].partitions[0].error_code, 0);
    }
    for v in versions(ApiKey::ListGroups) {
        let resp: ListGroupsResponse = c.call(ApiKey::ListGroups, v, &ListGroupsRequest::default()).await;
        assert_eq!(resp.groups.len(), 1);
        assert_eq!(resp.groups[0].protocol_type.as_str(), "share");
    }
    for v in versions(ApiKey::DescribeGroups) {
        let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_static_str("matrix-group"))]);
        let resp: DescribeGroupsResponse = c.call(ApiKey::DescribeGroups, v, &req).await;
        assert_eq!(resp.groups[0].group_state.as_str(), "Dead");
        assert_eq!(resp.groups[0].error_code, if v >= 6 { 69 } else { 0 }, "GROUP_ID_NOT_FOUND from v6");
    }
    // v1 (Lag) has a hand-written codec, exercised in group_admin.rs; v0 goes through the crate.
    let req = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
        describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_static_str("matrix-group")))
            .with_topics(None),
    ]);
    let resp: DescribeShareGroupOffsetsResponse = c.call(ApiKey::DescribeShareGroupOffsets, 0, &req).await;
    assert_eq!(resp.groups[0].topics[0].partitions[0].start_offset, 1);
    // A single-version API runs twice: the second delete finds no state.
    for (i, v) in versions(ApiKey::DeleteShareGroupOffsets).into_iter().enumerate() {
        let req = DeleteShareGroupOffsetsRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("matrix-group")))
            .with_topics(vec![
                delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(name(topic)),
            ]);
        let resp: DeleteShareGroupOffsetsResponse = c.call(ApiKey::DeleteShareGroupOffsets, v, &req).await;
        assert_eq!(resp.error_code, 0);
        assert_eq!(
            resp.responses[0].error_code,
            if i == 0 { 0 } else { 3 },
            "UNKNOWN_TOPIC_OR_PARTITION once deleted"
        );
    }
    for v in versions(ApiKey::DeleteGroups) {
        let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(StrBytes::from_static_str("matrix-group"))]);
        let resp: DeleteGroupsResponse = c.call(ApiKey::DeleteGroups, v, &req).await;
        let want = if v == versions(ApiKey::DeleteGroups)[0] { 0 } else { 69 };
        assert_eq!(
            resp.results[0].error_code, want,
            "deleted by the first call, GROUP_ID_NOT_FOUND after"
        );
    }

    // Share groups (KIP-932): a member joins and is described; one share consumer per
    // ShareFetch / ShareAcknowledge version opens a session, acquires and acknowledges. After the
    // group administration above, whose ListGroups expects a single group.
    let share_topic = "matrix-share";
    let created = create_topic(&mut c, share_topic, 7).await;
    assert_eq!(created.topics[0].error_code, 0);
    let share_id = created.topics[0].topic_id;
    let mut member_epoch = 0;
    for v in versions(ApiKey::ShareGroupHeartbeat) {
        let req = ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("matrix-share")))
            .with_member_id(StrBytes::from_static_str("matrix-member"))
            .with_member_epoch(member_epoch)
            .with_subscribed_topic_names(Some(vec![name(share_topic)]));
        let resp: ShareGroupHeartbeatResponse = c.call(ApiKey::ShareGroupHeartbeat, v, &req).await;
        assert_eq!(resp.error_code, 0, "heartbeat v{v}: {:?}", resp.error_message);
        assert!(resp.member_epoch >= 1);
        let assignment = resp.assignment.expect("a joining or full heartbeat carries the assignment");
        assert_eq!(assignment.topic_partitions.len(), 1);
        assert_eq!(assignment.topic_partitions[0].topic_id, share_id);
        assert_eq!(assignment.topic_partitions[0].partitions, vec![0, 1]);
        member_epoch = resp.member_epoch;
    }
    for v in versions(ApiKey::ShareGroupDescribe) {
        let req = ShareGroupDescribeRequest::default().with_group_ids(vec![
            GroupId(StrBytes::from_static_str("matrix-share")),
            GroupId(StrBytes::from_static_str("matrix-no-group")),
        ]);
        let resp: ShareGroupDescribeResponse = c.call(ApiKey::ShareGroupDescribe, v, &req).await;
        let g = &resp.groups[0];
        assert_eq!(g.error_code, 0);
        assert_eq!(g.group_state.as_str(), "Stable");
        assert_eq!(g.members.len(), 1);
        assert_eq!(g.members[0].member_epoch, member_epoch);
        assert_eq!(g.members[0].assignment.topic_partitions[0].topic_name, name(share_topic));
        assert_eq!(resp.groups[1].error_code, 69, "GROUP_ID_NOT_FOUND");
    }
    // Share-partitions start at the log end, so sessions open before the produce.
    let share_req = |i: usize, epoch: i32, max_wait_ms: i32| ShareFetchRequest {
        group_id: Some(StrBytes::from_string(format!("matrix-share-{i}"))),
        member_id: Some(StrBytes::from_static_str("matrix-member")),
        share_session_epoch: epoch,
        max_wait_ms,
        min_bytes: 1,
        max_bytes: 1 << 20,
        max_records: 100,
        batch_size: 100,
        topics: vec![ShareFetchTopic {
            topic_id: share_id,
            partitions: vec![ShareFetchPartition {
                partition_index: 0,
                acknowledgement_batches: Vec::new(),
            }],
        }],
        ..Default::default()
    };
    for (i, v) in versions(ApiKey::ShareFetch).into_iter().enumerate() {
        let resp = share_fetch(&mut c, v, &share_req(i, 0, 0)).await;
        assert_eq!(resp.error_code, 0, "ShareFetch v{v}: {:?}", resp.error_message);
        assert_eq!(resp.responses[0].topic_id, share_id);
        assert_eq!(resp.responses[0].partitions[0].error_code, 0);
    }
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default().with_name(name(share_topic)).with_partition_data(vec![
            PartitionProduceData::default().with_index(0).with_records(Some(batch(3, -1, -1))),
        ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    for (i, v) in versions(ApiKey::ShareFetch).into_iter().enumerate() {
        let resp = share_fetch(&mut c, v, &share_req(i, 1, 5000)).await;
        assert_eq!(resp.error_code, 0, "ShareFetch v{v}: {:?}", resp.error_message);
        assert_eq!(
            resp.acquisition_lock_timeout_ms, 30000,
            "default group.share.record.lock.duration.ms"
        );
        let p = &resp.responses[0].partitions[0];
        let acquired: Vec<(i64, i16)> = p
            .acquired_records
            .iter()
            .flat_map(|r| (r.first_offset..=r.last_offset).map(move |o| (o, r.delivery_count)))
            .collect();
        assert_eq!(acquired, vec![(0, 1), (1, 1), (2, 1)], "ShareFetch v{v} acquired");
        let mut records = bytes::Bytes::from(p.records.concat());
        let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records).expect("decode share-fetched batches");
        let offsets: Vec<i64> = sets.iter().flat_map(|s| s.records.iter().map(|r| r.offset)).collect();
        assert_eq!(offsets, vec![0, 1, 2], "ShareFetch v{v} records");
    }
    for (i, v) in versions(ApiKey::ShareAcknowledge).into_iter().enumerate() {
        let req = ShareAcknowledgeRequest {
            group_id: Some(StrBytes::from_string(format!("matrix-share-{i}"))),
            member_id: Some(StrBytes::from_static_str("matrix-member")),
            share_session_epoch: 2,
            is_renew_ack: false,
            topics: vec![ShareAcknowledgeTopic {
                topic_id: share_id,
                partitions: vec![ShareAcknowledgePartition {
                    partition_index: 0,
                    acknowledgement_batches: vec![AcknowledgementBatch {
                        first_offset: 0,
                        last_offset: 2,
                        acknowledge_types: vec![1],
                    }],
                }],
            }],
        };
        let resp = share_ack(&mut c, v, &req).await;
        assert_eq!(resp.error_code, 0, "ShareAcknowledge v{v}: {:?}", resp.error_message);
        assert_eq!(resp.responses[0].partitions[0].error_code, 0, "ShareAcknowledge v{v} accepted");
        if v >= 2 {
            assert_eq!(resp.acquisition_lock_timeout_ms, 30000);
        }
    }

    for v in versions(ApiKey::DeleteTopics) {
        let topic = format!("matrix-v{}", if v == 1 { 2 } else { 7 });
        let req = if v >= 6 {
            DeleteTopicsRequest::default().with_topics(vec![DeleteTopicState::default().with_name(Some(name(&topic)))])
        } else {
            DeleteTopicsRequest::default().with_topic_names(vec![name(&topic)])
        }
        .with_timeout_ms(5000);
        let resp: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, v, &req).await;
        assert_eq!(resp.responses[0].error_code, 0);
        let again: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, v, &req).await;
        assert_eq!(again.responses[0].error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    }
    broker.stop().await;
}
