//! DescribeConfigs (32) for TOPIC, BROKER and GROUP resources.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse, TopicName};

use super::{Ctx, s};
use crate::config::BrokerConfig;
use crate::share::group_configs::{DescribedGroupConfig, ValueSource};
use crate::topic_config::{self, ConfigType, TOPIC_CONFIGS};

/// ConfigResource types.
pub const RESOURCE_TOPIC: i8 = 2;
/// ConfigResource type of a broker.
pub const RESOURCE_BROKER: i8 = 4;
/// ConfigResource type of a group (KIP-848 / KIP-932 group configs).
pub const RESOURCE_GROUP: i8 = 32;

/// Where a config value comes from (Kafka's ConfigSource ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic.
    DynamicTopic = 1,
    /// Set in broker.toml.
    StaticBroker = 4,
    /// Built-in default.
    Default = 5,
    /// Set on the group.
    GroupConfig = 8,
}

impl From<ValueSource> for ConfigSource {
    fn from(source: ValueSource) -> Self {
        match source {
            ValueSource::Group => ConfigSource::GroupConfig,
            ValueSource::StaticBroker => ConfigSource::StaticBroker,
            ValueSource::Default => ConfigSource::Default,
        }
    }
}

/// Answers DescribeConfigs.
pub fn handle(ctx: &Ctx, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let b = &ctx.broker;
    let synonyms = req.include_synonyms && ctx.version >= 1;
    let docs = req.include_documentation && ctx.version >= 3;
    let results = req
        .resources
        .into_iter()
        .map(|r| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entries = match r.resource_type {
                RESOURCE_TOPIC => match b.topics.get(&TopicName(r.resource_name.clone())) {
                    Some(topic) => topic_entries(&b.config, &topic.configs(), synonyms, docs),
                    None => {
                        return result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(s(format!("Topic '{}' does not exist.", r.resource_name))));
                    }
                },
                RESOURCE_BROKER => {
                    let name = r.resource_name.to_string();
                    if !name.is_empty() && name != b.node_id().to_string() {
                        return result
                            .with_error_code(ResponseError::InvalidRequest.code())
                            .with_error_message(Some(s(format!("Broker {name} is not this broker ({})", b.node_id()))));
                    }
                    broker_entries(&b.config, synonyms, name.is_empty())
                }
                RESOURCE_GROUP => {
                    // Kafka: empty name is INVALID_REQUEST; the group itself need not exist.
                    if r.resource_name.is_empty() {
                        return result
                            .with_error_code(ResponseError::InvalidRequest.code())
                            .with_error_message(Some(s("Group name must not be empty")));
                    }
                    b.group_configs
                        .describe(&r.resource_name)
                        .into_iter()
                        .map(|c| group_entry(c, synonyms, docs))
                        .collect()
                }
                other => {
                    return result
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(s(format!("Resource type {other} is not supported"))));
                }
            };
            let wanted = r
                .configuration_keys
                .map(|keys| keys.into_iter().map(|k| k.to_string()).collect::<Vec<_>>());
            let entries = entries
                .into_iter()
                .filter(|e| wanted.as_ref().is_none_or(|w| w.iter().any(|k| *k == *e.name)))
                .collect();
            result.with_configs(entries)
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// Every topic config with its effective value and source.
pub fn topic_entries(
    broker: &BrokerConfig,
    overrides: &BTreeMap<String, String>,
    synonyms: bool,
    docs: bool,
) -> Vec<DescribeConfigsResourceResult> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let default = topic_config::default_value(def, broker);
            let broker_source = if broker.explicit_keys.iter().any(|k| k == def.broker_synonym) {
                ConfigSource::StaticBroker
            } else {
                ConfigSource::Default
            };
            let (value, source) = match overrides.get(def.name) {
                Some(v) => (v.clone(), ConfigSource::DynamicTopic),
                None => (default.clone(), broker_source),
            };
            let mut syns = Vec::new();
            if synonyms {
                if let Some(v) = overrides.get(def.name) {
                    syns.push(synonym(def.name, v, ConfigSource::DynamicTopic));
                }
                syns.push(synonym(def.broker_synonym, &default, broker_source));
            }
            DescribeConfigsResourceResult::default()
                .with_name(s(def.name))
                .with_value(Some(s(value)))
                .with_read_only(false)
                .with_config_source(source as i8)
                .with_is_sensitive(false)
                .with_synonyms(syns)
                .with_config_type(def.kind as i8)
                .with_documentation(docs.then(|| s(def.doc)))
        })
        .collect()
}

fn broker_entries(broker: &BrokerConfig, synonyms: bool, cluster_default: bool) -> Vec<DescribeConfigsResourceResult> {
    // The cluster-default resource ("") lists only dynamic defaults, of which Shard has none.
    if cluster_default {
        return Vec::new();
    }
    broker
        .entries()
        .into_iter()
        .map(|(name, value)| {
            let source = if broker.explicit_keys.iter().any(|k| k == name) {
                ConfigSource::StaticBroker
            } else {
                ConfigSource::Default
            };
            let kind = if value == "true" || value == "false" {
                ConfigType::Boolean
            } else if value.parse::<i32>().is_ok() {
                ConfigType::Int
            } else if value.parse::<i64>().is_ok() {
                ConfigType::Long
            } else {
                ConfigType::String
            };
            DescribeConfigsResourceResult::default()
                .with_name(s(name))
                .with_value(Some(s(value.clone())))
                .with_read_only(true)
                .with_config_source(source as i8)
                .with_is_sensitive(false)
                .with_synonyms(if synonyms { vec![synonym(name, &value, source)] } else { vec![] })
                .with_config_type(kind as i8)
        })
        .collect()
}

/// One group config as Kafka's `ConfigHelper.createGroupConfigEntry` reports it.
fn group_entry(c: DescribedGroupConfig, synonyms: bool, docs: bool) -> DescribeConfigsResourceResult {
    let syns = if synonyms {
        c.synonyms
            .iter()
            .map(|syn| synonym(syn.name, &syn.value, syn.source.into()))
            .collect()
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult::default()
        .with_name(s(c.def.name))
        .with_value(Some(s(c.value)))
        .with_read_only(false)
        .with_config_source(ConfigSource::from(c.source) as i8)
        .with_is_sensitive(false)
        .with_synonyms(syns)
        .with_config_type(c.def.kind as i8)
        .with_documentation(docs.then(|| s(c.def.doc)))
}

fn synonym(name: &str, value: &str, source: ConfigSource) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(s(name))
        .with_value(Some(s(value)))
        .with_source(source as i8)
}
