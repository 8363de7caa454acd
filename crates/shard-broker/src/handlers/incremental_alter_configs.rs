//! IncrementalAlterConfigs (44): SET / DELETE topic and group configs. Broker settings are static
//! (read from broker.toml at start) and are refused as Kafka refuses non-dynamic broker configs.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, TopicName};

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC};
use super::{Ctx, s, topic_error_code};
use crate::share::group_configs::{GroupConfigError, GroupConfigOp, GroupConfigs};
use crate::topic_config;

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// Answers IncrementalAlterConfigs.
pub fn handle(ctx: &Ctx, req: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    let b = &ctx.broker;
    // Kafka refuses every copy of a resource named twice; done for groups (topics keep their path).
    let mut seen = BTreeSet::new();
    let repeated_groups: BTreeSet<String> = req
        .resources
        .iter()
        .filter(|r| r.resource_type == RESOURCE_GROUP)
        .map(|r| r.resource_name.to_string())
        .filter(|name| !seen.insert(name.clone()))
        .collect();
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
                RESOURCE_GROUP => {
                    if repeated_groups.contains(r.resource_name.as_str()) {
                        return fail(ResponseError::InvalidRequest, "Each resource must appear at most once.".into());
                    }
                    match alter_group(&b.group_configs, &r, req.validate_only) {
                        Ok(end) => match b.shares.block_durable(end) {
                            Ok(()) => resp,
                            Err(e) => {
                                tracing::error!(group = %r.resource_name, error = %e, "group configs not durable");
                                fail(ResponseError::UnknownServerError, format!("cannot persist group configs: {e}"))
                            }
                        },
                        Err((code, msg)) => fail(code, msg),
                    }
                }
                other => fail(ResponseError::InvalidRequest, format!("Resource type {other} is not supported")),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// Alters the configs of one group, checking the request as Kafka's broker does before the
/// controller (duplicate keys, null values) and then as the controller does (name, values).
fn alter_group(store: &GroupConfigs, r: &AlterConfigsResource, validate_only: bool) -> Result<Option<i64>, (ResponseError, String)> {
    let mut names = BTreeSet::new();
    if !r.configs.iter().all(|c| names.insert(c.name.as_str())) {
        return Err((ResponseError::InvalidRequest, "Error due to duplicate config keys".into()));
    }
    let nulls: Vec<&str> = r
        .configs
        .iter()
        .filter(|c| c.config_operation != OP_DELETE && c.value.is_none())
        .map(|c| c.name.as_str())
        .collect();
    if !nulls.is_empty() {
        return Err((
            ResponseError::InvalidRequest,
            format!("Null value not supported for : {}", nulls.join(", ")),
        ));
    }
    if r.resource_name.is_empty() {
        return Err((ResponseError::InvalidRequest, "Default group resources are not allowed.".into()));
    }
    let mut ops = Vec::with_capacity(r.configs.len());
    for c in &r.configs {
        let op = match (c.config_operation, &c.value) {
            (OP_SET, Some(v)) => GroupConfigOp::Set(v.to_string()),
            (OP_DELETE, _) => GroupConfigOp::Delete,
            (OP_APPEND, _) => GroupConfigOp::Append,
            (OP_SUBTRACT, _) => GroupConfigOp::Subtract,
            (op, _) => return Err((ResponseError::InvalidRequest, format!("Unknown config operation {op}"))),
        };
        ops.push((c.name.to_string(), op));
    }
    store.alter(&r.resource_name, &ops, validate_only).map_err(|e| {
        let code = match e {
            GroupConfigError::Storage(_) => ResponseError::UnknownServerError,
            _ => ResponseError::InvalidConfig,
        };
        (code, e.to_string())
    })
}
