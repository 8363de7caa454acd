//! CreateTopics (19).

use std::collections::BTreeMap;

use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::describe_configs::topic_entries;
use super::{Ctx, s, topic_error_code};
use crate::topics::TopicError;

/// Answers CreateTopics.
pub fn handle(ctx: &Ctx, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let b = &ctx.broker;
    let node = b.node_id();
    // Kafka's bound on one request's partitions, before anything else: every topic fails with it.
    let counts = req.topics.iter().map(|t| {
        if t.assignments.is_empty() {
            t.num_partitions
        } else {
            i32::try_from(t.assignments.len()).unwrap_or(i32::MAX)
        }
    });
    if let Err(e) = crate::topics::check_request_partitions(counts, b.config.num_partitions) {
        let results = req
            .topics
            .into_iter()
            .map(|t| {
                fail(
                    CreatableTopicResult::default()
                        .with_name(t.name)
                        .with_num_partitions(-1)
                        .with_replication_factor(-1),
                    &e,
                )
            })
            .collect();
        return CreateTopicsResponse::default().with_topics(results);
    }
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let result = CreatableTopicResult::default().with_name(t.name.clone()).with_num_partitions(-1).with_replication_factor(-1);
            let configs: BTreeMap<String, String> = t.configs.iter().filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string()))).collect();
            let mut partitions = t.num_partitions;
            let mut replication = t.replication_factor;
            if !t.assignments.is_empty() {
                if partitions != -1 || replication != -1 {
                    return fail(result, &TopicError::InvalidPartitions("Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into()));
                }
                if let Some(bad) = t.assignments.iter().find(|a| a.broker_ids.iter().any(|id| id.0 != node) || a.broker_ids.len() != 1) {
                    return fail(result, &TopicError::InvalidReplicationFactor(format!("Partition {} assignment {:?} names brokers other than the single broker {node}", bad.partition_index, bad.broker_ids.iter().map(|b| b.0).collect::<Vec<_>>())));
                }
                partitions = t.assignments.len() as i32;
                replication = 1;
            }
            let outcome = if req.validate_only {
                b.topics.check_create(&t.name, partitions, replication, &configs).map(|p| (p, None))
            } else {
                tokio::task::block_in_place(|| b.topics.create(&t.name, partitions, replication, configs.clone())).map(|topic| (topic.partition_count(), Some(topic.id)))
            };
            match outcome {
                Ok((partitions, id)) => {
                    let described = topic_entries(&b.config, &configs, false, false)
                        .into_iter()
                        .map(|e| {
                            CreatableTopicConfigs::default()
                                .with_name(e.name)
                                .with_value(e.value)
                                .with_read_only(false)
                                .with_config_source(e.config_source)
                                .with_is_sensitive(false)
                        })
                        .collect();
                    result
                        .with_topic_id(id.unwrap_or_default())
                        .with_num_partitions(partitions)
                        .with_replication_factor(1)
                        .with_configs(Some(described))
                }
                Err(e) => fail(result, &e),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}

fn fail(result: CreatableTopicResult, e: &TopicError) -> CreatableTopicResult {
    result
        .with_error_code(topic_error_code(e))
        .with_error_message(Some(s(e.to_string())))
}
