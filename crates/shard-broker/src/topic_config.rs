//! Topic-level configs: which keys Shard accepts, their defaults (from the broker config), how
//! they are validated, and how they resolve to a [`LogConfig`].

use std::collections::BTreeMap;

use shard_log::LogConfig;

use crate::config::BrokerConfig;

/// Kafka's config value types, as numbered in DescribeConfigs v3+.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    List = 7,
}

/// One topic config key Shard understands.
#[derive(Debug)]
pub struct TopicConfigDef {
    /// Kafka's topic config name.
    pub name: &'static str,
    /// Value type.
    pub kind: ConfigType,
    /// The broker setting that supplies the default.
    pub broker_synonym: &'static str,
    /// One-line documentation.
    pub doc: &'static str,
    validate: fn(&str) -> Result<(), String>,
}

fn long_at_least(v: &str, min: i64) -> Result<(), String> {
    match v.trim().parse::<i64>() {
        Ok(n) if n >= min => Ok(()),
        Ok(_) => Err(format!("must be at least {min}")),
        Err(_) => Err("must be an integer".into()),
    }
}

fn int_at_least(v: &str, min: i64) -> Result<(), String> {
    long_at_least(v, min)?;
    match v.trim().parse::<i32>() {
        Ok(_) => Ok(()),
        Err(_) => Err("must fit in a 32-bit integer".into()),
    }
}

fn one_of(v: &str, allowed: &[&str], refused: &[(&str, &str)]) -> Result<(), String> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) {
        return Ok(());
    }
    if let Some((_, why)) = refused.iter().find(|(r, _)| r.eq_ignore_ascii_case(v.trim())) {
        return Err((*why).to_string());
    }
    Err(format!("must be one of {}", allowed.join(", ")))
}

/// Every topic config key, in DescribeConfigs order.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    TopicConfigDef {
        name: "cleanup.policy",
        kind: ConfigType::List,
        broker_synonym: "log.cleanup.policy",
        doc: "Retention policy for old segments. Shard supports \"delete\".",
        validate: |v| {
            one_of(
                v,
                &["delete"],
                &[
                    ("compact", "log compaction is not supported by Shard"),
                    ("compact,delete", "log compaction is not supported by Shard"),
                    ("delete,compact", "log compaction is not supported by Shard"),
                ],
            )
        },
    },
    TopicConfigDef {
        name: "compression.type",
        kind: ConfigType::String,
        broker_synonym: "compression.type",
        doc: "Shard stores batches as the producer compressed them (\"producer\").",
        validate: |v| one_of(v, &["producer"], &[]),
    },
    TopicConfigDef {
        name: "index.interval.bytes",
        kind: ConfigType::Int,
        broker_synonym: "log.index.interval.bytes",
        doc: "Bytes of log between two sparse offset-index entries.",
        validate: |v| int_at_least(v, 0),
    },
    TopicConfigDef {
        name: "max.message.bytes",
        kind: ConfigType::Int,
        broker_synonym: "message.max.bytes",
        doc: "Largest record batch accepted, in bytes.",
        validate: |v| int_at_least(v, 0),
    },
    TopicConfigDef {
        name: "message.timestamp.after.max.ms",
        kind: ConfigType::Long,
        broker_synonym: "log.message.timestamp.after.max.ms",
        doc: "Produce fails with INVALID_TIMESTAMP for a record timestamp further ahead of the broker's clock.",
        validate: |v| long_at_least(v, 0),
    },
    TopicConfigDef {
        name: "message.timestamp.before.max.ms",
        kind: ConfigType::Long,
        broker_synonym: "log.message.timestamp.before.max.ms",
        doc: "Produce fails with INVALID_TIMESTAMP for a record timestamp further behind the broker's clock.",
        validate: |v| long_at_least(v, 0),
    },
    TopicConfigDef {
        name: "message.timestamp.type",
        kind: ConfigType::String,
        broker_synonym: "log.message.timestamp.type",
        doc: "Timestamps are the producer's (CreateTime).",
        validate: |v| one_of(v, &["CreateTime"], &[("LogAppendTime", "LogAppendTime is not supported by Shard")]),
    },
    TopicConfigDef {
        name: "min.insync.replicas",
        kind: ConfigType::Int,
        broker_synonym: "min.insync.replicas",
        doc: "acks=all produce fails with NOT_ENOUGH_REPLICAS when this exceeds the one replica.",
        validate: |v| int_at_least(v, 1),
    },
    TopicConfigDef {
        name: "retention.bytes",
        kind: ConfigType::Long,
        broker_synonym: "log.retention.bytes",
        doc: "Delete oldest segments while a partition is larger than this; -1 = no limit.",
        validate: |v| long_at_least(v, -1),
    },
    TopicConfigDef {
        name: "retention.ms",
        kind: ConfigType::Long,
        broker_synonym: "log.retention.ms",
        doc: "Delete segments whose newest record is older than this; -1 = forever.",
        validate: |v| long_at_least(v, -1),
    },
    TopicConfigDef {
        name: "segment.bytes",
        kind: ConfigType::Int,
        broker_synonym: "log.segment.bytes",
        doc: "Size at which a new segment file is rolled.",
        validate: |v| int_at_least(v, 14),
    },
    TopicConfigDef {
        name: "segment.index.bytes",
        kind: ConfigType::Int,
        broker_synonym: "log.index.size.max.bytes",
        doc: "Pre-allocated size of each index file.",
        validate: |v| int_at_least(v, 4096),
    },
    TopicConfigDef {
        name: "segment.ms",
        kind: ConfigType::Long,
        broker_synonym: "log.roll.ms",
        doc: "Age at which a new segment file is rolled.",
        validate: |v| long_at_least(v, 1),
    },
    TopicConfigDef {
        name: "unclean.leader.election.enable",
        kind: ConfigType::Boolean,
        broker_synonym: "unclean.leader.election.enable",
        doc: "Accepted for compatibility; a single broker has no other replica to elect.",
        validate: |v| one_of(v, &["true", "false"], &[]),
    },
];

/// Looks up a topic config key.
pub fn definition(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Checks one key and value; the error text is what Kafka clients show.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    let def = definition(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
    (def.validate)(value).map_err(|why| format!("Invalid value {value} for configuration {name}: {why}"))
}

/// Checks a whole set of overrides.
pub fn validate_all(configs: &BTreeMap<String, String>) -> Result<(), String> {
    configs.iter().try_for_each(|(k, v)| validate(k, v))
}

/// The default value of a topic config, from the broker settings.
pub fn default_value(def: &TopicConfigDef, broker: &BrokerConfig) -> String {
    match def.name {
        "cleanup.policy" => "delete".into(),
        "compression.type" => "producer".into(),
        "index.interval.bytes" => broker.log_index_interval_bytes.to_string(),
        "max.message.bytes" => broker.message_max_bytes.to_string(),
        "message.timestamp.after.max.ms" => broker.log_message_timestamp_after_max_ms.to_string(),
        "message.timestamp.before.max.ms" => broker.log_message_timestamp_before_max_ms.to_string(),
        "message.timestamp.type" => "CreateTime".into(),
        "min.insync.replicas" => "1".into(),
        "retention.bytes" => broker.log_retention_bytes.to_string(),
        "retention.ms" => broker.log_retention_ms.to_string(),
        "segment.bytes" => broker.log_segment_bytes.to_string(),
        "segment.index.bytes" => broker.log_index_size_max_bytes.to_string(),
        "segment.ms" => broker.log_roll_ms.to_string(),
        "unclean.leader.election.enable" => "false".into(),
        _ => String::new(),
    }
}

/// Resolves the effective log settings of a topic from broker defaults and its overrides.
/// Overrides were validated when set, so a parse failure keeps the default.
pub fn log_config(broker: &BrokerConfig, overrides: &BTreeMap<String, String>) -> LogConfig {
    let mut c = broker.log_defaults();
    let get = |k: &str| overrides.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(v) = get("segment.bytes") {
        c.segment_bytes = v as u64;
    }
    if let Some(v) = get("segment.ms") {
        c.segment_ms = v;
    }
    if let Some(v) = get("retention.ms") {
        c.retention_ms = v;
    }
    if let Some(v) = get("retention.bytes") {
        c.retention_bytes = v;
    }
    if let Some(v) = get("max.message.bytes") {
        c.max_message_bytes = v as u32;
    }
    if let Some(v) = get("index.interval.bytes") {
        c.index_interval_bytes = v.max(1) as u32;
    }
    if let Some(v) = get("segment.index.bytes") {
        c.index_max_bytes = v as u32;
    }
    if let Some(v) = get("message.timestamp.before.max.ms") {
        c.message_timestamp_before_max_ms = v;
    }
    if let Some(v) = get("message.timestamp.after.max.ms") {
        c.message_timestamp_after_max_ms = v;
    }
    c
}

/// `min.insync.replicas` of a topic.
pub fn min_insync_replicas(overrides: &BTreeMap<String, String>) -> i64 {
    overrides
        .get("min.insync.replicas")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_and_bad_values_are_refused() {
        assert!(validate("retention.ms", "1000").is_ok());
        assert!(validate("retention.ms", "-2").unwrap_err().contains("retention.ms"));
        assert!(validate("retention.ms", "soon").is_err());
        assert!(validate("segment.bytes", "99999999999").is_err());
        assert!(validate("no.such.config", "1").unwrap_err().contains("Unknown topic config name"));
        assert!(validate("cleanup.policy", "compact").unwrap_err().contains("compaction"));
    }

    #[test]
    fn overrides_resolve_over_broker_defaults() {
        let broker = BrokerConfig::default();
        let mut o = BTreeMap::new();
        o.insert("retention.ms".to_string(), "1234".to_string());
        let c = log_config(&broker, &o);
        assert_eq!(c.retention_ms, 1234);
        assert_eq!(c.segment_bytes, broker.log_segment_bytes);
    }
}
