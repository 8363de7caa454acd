//! IncrementalAlterConfigs (44): SET / DELETE topic configs. Broker settings are static (read
//! from broker.toml at start) and are refused as Kafka refuses non-dynamic broker configs.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, TopicName};

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{Ctx, s, topic_error_code};
use crate::topic_config;

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// Answers IncrementalAlterConfigs.
pub fn handle(ctx: &Ctx, req: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    let b = &ctx.broker;
    let responses = req
        .resources
        .into_iter()
        .map(|r| {
            let resp = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let fail = |code: ResponseError, msg: String| resp.clone().with_error_code(code.code()).with_error_message(Some(s(msg)));
            match r.resource_type {
                RESOURCE_TOPIC => {
                    let Some(topic) = b.topics.get(&TopicName(r.resource_name.clone())) else {
                        return fail(
                            ResponseError::UnknownTopicOrPartition,
                            format!("Topic {} does not exist", r.resource_name),
                        );
                    };
                    let mut configs = topic.configs();
                    for c in &r.configs {
                        let name = c.name.to_string();
                        if topic_config::definition(&name).is_none() {
                            return fail(ResponseError::InvalidConfig, format!("Unknown topic config name: {name}"));
                        }
                        match (c.config_operation, &c.value) {
                            (OP_SET, Some(v)) => {
                                configs.insert(name, v.to_string());
                            }
                            (OP_SET, None) => return fail(ResponseError::InvalidRequest, format!("Null value not supported for : {name}")),
                            (OP_DELETE, _) => {
                                configs.remove(&name);
                            }
                            (OP_APPEND | OP_SUBTRACT, _) => {
                                return fail(
                                    ResponseError::InvalidConfig,
                                    format!("Config value append/subtract is not supported for config key: {name}"),
                                );
                            }
                            (op, _) => return fail(ResponseError::InvalidRequest, format!("Unknown config operation {op}")),
                        }
                    }
                    if let Err(msg) = topic_config::validate_all(&configs) {
                        return fail(ResponseError::InvalidConfig, msg);
                    }
                    if req.validate_only {
                        return resp;
                    }
                    match tokio::task::block_in_place(|| b.topics.set_configs(&topic.name, configs)) {
                        Ok(()) => resp,
                        Err(e) => resp
                            .with_error_code(topic_error_code(&e))
                            .with_error_message(Some(s(e.to_string()))),
                    }
                }
                RESOURCE_BROKER => {
                    let known: Vec<&str> = b.config.entries().iter().map(|(k, _)| *k).collect();
                    let names: Vec<String> = r.configs.iter().map(|c| c.name.to_string()).collect();
                    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
                        return fail(ResponseError::InvalidConfig, format!("Unknown broker config name: {unknown}"));
                    }
                    fail(
                        ResponseError::InvalidRequest,
                        format!(
                            "Cannot update these configs dynamically: {}; set them in broker.toml",
                            names.join(", ")
                        ),
                    )
                }
                other => fail(ResponseError::InvalidRequest, format!("Resource type {other} is not supported")),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
