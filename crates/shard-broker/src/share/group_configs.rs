//! Per-group configs (ConfigResource GROUP): the keys of Kafka 4.3's `GroupConfig` that a user
//! sets with IncrementalAlterConfigs and reads with DescribeConfigs, falling back to the broker's
//! `group.share.*` defaults.
//!
//! Validation follows Kafka's `GroupConfig.validate`: the group's values after the change are
//! merged over the broker defaults and every key is checked together (type, lower bound, the
//! broker's min/max bounds, session timeout above heartbeat interval), so a request either
//! applies completely or not at all. Explicit values are persisted in `__share_group_state`
//! (record type 100, see docs/share-coordinator.md) and survive restarts.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use shard_coordinator::ShareStateStore;
use shard_share::OffsetReset;

use crate::config::BrokerConfig;
use crate::topic_config::ConfigType;

/// The effective share settings of one group (group value, else broker default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareGroupSettings {
    /// `share.auto.offset.reset`.
    pub auto_offset_reset: OffsetReset,
    /// `share.record.lock.duration.ms`.
    pub record_lock_duration_ms: i32,
    /// `share.delivery.count.limit`.
    pub delivery_count_limit: i32,
    /// `share.partition.max.record.locks`.
    pub partition_max_record_locks: i32,
    /// `share.heartbeat.interval.ms`.
    pub heartbeat_interval_ms: i32,
    /// `share.session.timeout.ms`.
    pub session_timeout_ms: i32,
    /// `share.renew.acknowledge.enable`.
    pub renew_acknowledge_enable: bool,
    /// `share.isolation.level` is `read_committed`.
    pub read_committed: bool,
}

/// How a group config value is parsed (Kafka's `ConfigDef` type and validator).
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A 32-bit integer of at least this value (`atLeast`).
    IntAtLeast(i32),
    /// `true` or `false`, any case.
    Bool,
    /// `latest`, `earliest` or `by_duration:<ISO-8601 duration>`.
    OffsetReset,
    /// `read_committed` or `read_uncommitted`, exactly.
    IsolationLevel,
}

/// A broker setting bounding a group value: its Kafka name and its value on this broker.
#[derive(Debug, Clone, Copy)]
struct Limit {
    key: &'static str,
    value: fn(&BrokerConfig) -> i32,
}

/// One group config key (Kafka 4.3 `GroupConfig.CONFIG_DEF`).
#[derive(Debug)]
pub struct GroupConfigDef {
    /// Kafka's group config name.
    pub name: &'static str,
    /// Value type as DescribeConfigs numbers it.
    pub kind: ConfigType,
    /// The broker setting that supplies the default (Kafka's `GroupConfig.brokerSynonym`).
    pub broker_synonym: Option<&'static str>,
    /// Documentation returned by DescribeConfigs.
    pub doc: &'static str,
    /// The default, given the broker settings.
    default: fn(&BrokerConfig) -> String,
    rule: Rule,
    min: Option<Limit>,
    max: Option<Limit>,
}

/// Appended to the documentation of keys Shard accepts for compatibility but does not act on.
macro_rules! not_used {
    ($doc:literal) => {
        concat!(
            $doc,
            " Shard validates and stores this value but does not use it: it serves no consumer (KIP-848) or streams groups."
        )
    };
}

const fn limit(key: &'static str, value: fn(&BrokerConfig) -> i32) -> Option<Limit> {
    Some(Limit { key, value })
}

/// Every group config key of Kafka 4.3, in DescribeConfigs order. Keys without a Shard broker
/// setting (consumer.*, streams.*, the assignment intervals) take Kafka's broker defaults and bounds.
pub const GROUP_CONFIGS: &[GroupConfigDef] = &[
    GroupConfigDef {
        name: "consumer.assignment.interval.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.consumer.assignment.interval.ms"),
        doc: not_used!("The interval between assignment updates for a consumer group."),
        default: |_| "1000".into(),
        rule: Rule::IntAtLeast(0),
        min: limit("group.consumer.min.assignment.interval.ms", |_| 0),
        max: limit("group.consumer.max.assignment.interval.ms", |_| 15000),
    },
    GroupConfigDef {
        name: "consumer.heartbeat.interval.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.consumer.heartbeat.interval.ms"),
        doc: not_used!("The heartbeat interval given to the members of a consumer group."),
        default: |c| c.group_consumer_heartbeat_interval_ms.to_string(),
        rule: Rule::IntAtLeast(1),
        min: limit("group.consumer.min.heartbeat.interval.ms", |c| {
            c.group_consumer_min_heartbeat_interval_ms
        }),
        max: limit("group.consumer.max.heartbeat.interval.ms", |c| {
            c.group_consumer_max_heartbeat_interval_ms
        }),
    },
    GroupConfigDef {
        name: "consumer.session.timeout.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.consumer.session.timeout.ms"),
        doc: not_used!("The timeout to detect client failures when using the consumer group protocol."),
        default: |c| c.group_consumer_session_timeout_ms.to_string(),
        rule: Rule::IntAtLeast(1),
        min: limit("group.consumer.min.session.timeout.ms", |c| c.group_consumer_min_session_timeout_ms),
        max: limit("group.consumer.max.session.timeout.ms", |c| c.group_consumer_max_session_timeout_ms),
    },
    GroupConfigDef {
        name: "share.assignment.interval.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.share.assignment.interval.ms"),
        doc: "The interval between assignment updates for a share group. Shard validates and stores this value but does not \
              use it: it recomputes the assignment on the heartbeat that changes the group.",
        default: |_| "1000".into(),
        rule: Rule::IntAtLeast(0),
        min: limit("group.share.min.assignment.interval.ms", |_| 0),
        max: limit("group.share.max.assignment.interval.ms", |_| 15000),
    },
    GroupConfigDef {
        name: "share.auto.offset.reset",
        kind: ConfigType::String,
        broker_synonym: None,
        doc: "The strategy to initialize the share-partition start offset. earliest: automatically reset the offset to the \
              earliest offset; latest: automatically reset the offset to the latest offset; by_duration:<duration>: \
              automatically reset the offset to a configured duration from the current timestamp. <duration> must be \
              specified in ISO8601 format (PnDTnHnMn.nS). Negative duration is not allowed.",
        default: |_| "latest".into(),
        rule: Rule::OffsetReset,
        min: None,
        max: None,
    },
    GroupConfigDef {
        name: "share.delivery.count.limit",
        kind: ConfigType::Int,
        broker_synonym: Some("group.share.delivery.count.limit"),
        doc: "The maximum number of delivery attempts for a record delivered to a share group.",
        default: |b| b.group_share_delivery_count_limit.to_string(),
        rule: Rule::IntAtLeast(2),
        min: limit("group.share.min.delivery.count.limit", |b| b.group_share_min_delivery_count_limit),
        max: limit("group.share.max.delivery.count.limit", |b| b.group_share_max_delivery_count_limit),
    },
    GroupConfigDef {
        name: "share.heartbeat.interval.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.share.heartbeat.interval.ms"),
        doc: "The heartbeat interval given to the members of a share group.",
        default: |b| b.group_share_heartbeat_interval_ms.to_string(),
        rule: Rule::IntAtLeast(1),
        min: limit("group.share.min.heartbeat.interval.ms", |b| b.group_share_min_heartbeat_interval_ms),
        max: limit("group.share.max.heartbeat.interval.ms", |b| b.group_share_max_heartbeat_interval_ms),
    },
    GroupConfigDef {
        name: "share.isolation.level",
        kind: ConfigType::String,
        broker_synonym: None,
        doc: "Controls how to read records written transactionally. If set to \"read_committed\", the share group will only \
              deliver transactional records which have been committed. If set to \"read_uncommitted\", the share group will \
              return all messages, even transactional messages which have been aborted. Non-transactional records will be \
              returned unconditionally in either mode.",
        default: |_| "read_uncommitted".into(),
        rule: Rule::IsolationLevel,
        min: None,
        max: None,
    },
    GroupConfigDef {
        name: "share.partition.max.record.locks",
        kind: ConfigType::Int,
        broker_synonym: Some("group.share.partition.max.record.locks"),
        doc: "Share-group record lock limit per share-partition.",
        default: |b| b.group_share_partition_max_record_locks.to_string(),
        rule: Rule::IntAtLeast(100),
        min: limit("group.share.min.partition.max.record.locks", |b| {
            b.group_share_min_partition_max_record_locks
        }),
        max: limit("group.share.max.partition.max.record.locks", |b| {
            b.group_share_max_partition_max_record_locks
        }),
    },
    GroupConfigDef {
        name: "share.record.lock.duration.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.share.record.lock.duration.ms"),
        doc: "The record acquisition lock duration in milliseconds for share groups.",
        default: |b| b.group_share_record_lock_duration_ms.to_string(),
        rule: Rule::IntAtLeast(1000),
        min: limit("group.share.min.record.lock.duration.ms", |b| {
            b.group_share_min_record_lock_duration_ms
        }),
        max: limit("group.share.max.record.lock.duration.ms", |b| {
            b.group_share_max_record_lock_duration_ms
        }),
    },
    GroupConfigDef {
        name: "share.renew.acknowledge.enable",
        kind: ConfigType::Boolean,
        broker_synonym: None,
        doc: "Whether the renew acknowledge type is enabled for the share group.",
        default: |_| "true".into(),
        rule: Rule::Bool,
        min: None,
        max: None,
    },
    GroupConfigDef {
        name: "share.session.timeout.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.share.session.timeout.ms"),
        doc: "The timeout to detect client failures when using the share group protocol.",
        default: |b| b.group_share_session_timeout_ms.to_string(),
        rule: Rule::IntAtLeast(1),
        min: limit("group.share.min.session.timeout.ms", |b| b.group_share_min_session_timeout_ms),
        max: limit("group.share.max.session.timeout.ms", |b| b.group_share_max_session_timeout_ms),
    },
    GroupConfigDef {
        name: "streams.assignment.interval.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.streams.assignment.interval.ms"),
        doc: not_used!("The interval between assignment updates for a streams group."),
        default: |_| "1000".into(),
        rule: Rule::IntAtLeast(0),
        min: limit("group.streams.min.assignment.interval.ms", |_| 0),
        max: limit("group.streams.max.assignment.interval.ms", |_| 15000),
    },
    GroupConfigDef {
        name: "streams.heartbeat.interval.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.streams.heartbeat.interval.ms"),
        doc: not_used!("The heartbeat interval given to the members."),
        default: |_| "5000".into(),
        rule: Rule::IntAtLeast(1),
        min: limit("group.streams.min.heartbeat.interval.ms", |_| 5000),
        max: limit("group.streams.max.heartbeat.interval.ms", |_| 15000),
    },
    GroupConfigDef {
        name: "streams.initial.rebalance.delay.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.streams.initial.rebalance.delay.ms"),
        doc: not_used!(
            "The amount of time the group coordinator will wait for more streams clients to join a new group before \
             performing the first rebalance. A longer delay means potentially fewer rebalances."
        ),
        default: |_| "3000".into(),
        rule: Rule::IntAtLeast(0),
        min: None,
        max: None,
    },
    GroupConfigDef {
        name: "streams.num.standby.replicas",
        kind: ConfigType::Int,
        broker_synonym: Some("group.streams.num.standby.replicas"),
        doc: not_used!("The number of standby replicas for each task."),
        default: |_| "0".into(),
        rule: Rule::IntAtLeast(0),
        min: None,
        max: limit("group.streams.max.standby.replicas", |_| 2),
    },
    GroupConfigDef {
        name: "streams.session.timeout.ms",
        kind: ConfigType::Int,
        broker_synonym: Some("group.streams.session.timeout.ms"),
        doc: not_used!("The timeout to detect client failures when using the streams group protocol."),
        default: |_| "45000".into(),
        rule: Rule::IntAtLeast(1),
        min: limit("group.streams.min.session.timeout.ms", |_| 45000),
        max: limit("group.streams.max.session.timeout.ms", |_| 60000),
    },
];

/// (session timeout, heartbeat interval) pairs: the session must be longer, as Kafka checks.
const SESSION_HEARTBEAT_PAIRS: [(&str, &str); 3] = [
    ("consumer.session.timeout.ms", "consumer.heartbeat.interval.ms"),
    ("share.session.timeout.ms", "share.heartbeat.interval.ms"),
    ("streams.session.timeout.ms", "streams.heartbeat.interval.ms"),
];

/// Looks up a group config key.
pub fn definition(name: &str) -> Option<&'static GroupConfigDef> {
    GROUP_CONFIGS.iter().find(|d| d.name == name)
}

impl GroupConfigDef {
    /// The default value on a broker with these settings.
    pub fn default_value(&self, broker: &BrokerConfig) -> String {
        (self.default)(broker)
    }

    /// Parses `value`, returning the form Kafka stores and describes (trimmed, canonical).
    fn normalize(&self, value: &str) -> Result<String, GroupConfigError> {
        let invalid = |reason: String| GroupConfigError::InvalidValue {
            name: self.name.to_string(),
            value: value.to_string(),
            reason,
        };
        let trimmed = value.trim();
        match self.rule {
            Rule::IntAtLeast(min) => {
                let n: i32 = trimmed.parse().map_err(|_| invalid("Not a number of type INT".into()))?;
                if n < min {
                    return Err(invalid(format!("Value must be at least {min}")));
                }
                Ok(n.to_string())
            }
            Rule::Bool => {
                if trimmed.eq_ignore_ascii_case("true") {
                    Ok("true".into())
                } else if trimmed.eq_ignore_ascii_case("false") {
                    Ok("false".into())
                } else {
                    Err(invalid("Expected value to be either true or false".into()))
                }
            }
            Rule::OffsetReset => match trimmed.parse::<OffsetReset>() {
                Ok(_) => Ok(trimmed.to_string()),
                Err(_) => Err(invalid(
                    "The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.".into(),
                )),
            },
            Rule::IsolationLevel => match trimmed {
                "read_committed" | "read_uncommitted" => Ok(trimmed.to_string()),
                _ => Err(invalid("String must be one of: read_committed, read_uncommitted".into())),
            },
        }
    }
}

/// Why a group config change was refused. Kafka answers all of these with INVALID_CONFIG; the
/// texts follow Kafka's (with the bound's value added where Kafka only names the setting).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupConfigError {
    /// The change could not be persisted (UNKNOWN_SERVER_ERROR).
    #[error("cannot persist group configs: {0}")]
    Storage(String),
    /// The key is not a group config.
    #[error("Unknown group config name: {0}")]
    UnknownName(String),
    /// The value does not parse or is below the key's fixed lower bound.
    #[error("Invalid value {value} for configuration {name}: {reason}")]
    InvalidValue {
        /// The key.
        name: String,
        /// The value as sent.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The value is below the broker's `group.*.min.*` bound.
    #[error("{name} must be greater than or equal to {bound_key} ({bound})")]
    BelowBrokerMin {
        /// The key.
        name: &'static str,
        /// The broker setting.
        bound_key: &'static str,
        /// Its value.
        bound: i32,
    },
    /// The value is above the broker's `group.*.max.*` bound.
    #[error("{name} must be less than or equal to {bound_key} ({bound})")]
    AboveBrokerMax {
        /// The key.
        name: &'static str,
        /// The broker setting.
        bound_key: &'static str,
        /// Its value.
        bound: i32,
    },
    /// The session timeout is not longer than the heartbeat interval.
    #[error("{session_key} ({session}) must be greater than {heartbeat_key} ({heartbeat})")]
    SessionNotAboveHeartbeat {
        /// The session timeout key.
        session_key: &'static str,
        /// Its effective value.
        session: i32,
        /// The heartbeat interval key.
        heartbeat_key: &'static str,
        /// Its effective value.
        heartbeat: i32,
    },
    /// APPEND or SUBTRACT on a key that is not a list (no group config is).
    #[error("Can't {op} to key {name} because its type is not LIST.")]
    NotAList {
        /// `APPEND` or `SUBTRACT`.
        op: &'static str,
        /// The key.
        name: String,
    },
}

/// One change of an IncrementalAlterConfigs request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupConfigOp {
    /// SET (0) the key to this value.
    Set(String),
    /// DELETE (1) the key: back to the default.
    Delete,
    /// APPEND (2): refused, no group config is a list.
    Append,
    /// SUBTRACT (3): refused, no group config is a list.
    Subtract,
}

/// Where a described value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    /// Set on the group (Kafka's GROUP_CONFIG).
    Group,
    /// The broker setting, present in broker.toml (STATIC_BROKER_CONFIG).
    StaticBroker,
    /// Built-in default (DEFAULT_CONFIG).
    Default,
}

/// One synonym of a described group config, most specific first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    /// The group key or its broker setting.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// Where it is set.
    pub source: ValueSource,
}

/// A group config as DescribeConfigs reports it.
#[derive(Debug, Clone)]
pub struct DescribedGroupConfig {
    /// The key's definition.
    pub def: &'static GroupConfigDef,
    /// The effective value.
    pub value: String,
    /// Where the effective value comes from (the first synonym's source, as in Kafka).
    pub source: ValueSource,
    /// The group value (if set), the broker setting (if in broker.toml), the built-in default.
    pub synonyms: Vec<Synonym>,
}

/// Group configs set on this broker, by group id.
#[derive(Debug)]
pub struct GroupConfigs {
    broker: Arc<BrokerConfig>,
    groups: RwLock<BTreeMap<String, BTreeMap<String, String>>>,
    /// Where explicit configs are persisted (none: in memory only).
    store: Option<Arc<ShareStateStore>>,
}

impl GroupConfigs {
    /// An empty registry whose defaults come from `broker`, kept in memory only.
    pub fn new(broker: Arc<BrokerConfig>) -> GroupConfigs {
        GroupConfigs {
            broker,
            groups: RwLock::new(BTreeMap::new()),
            store: None,
        }
    }

    /// A registry persisted to `store`, holding the configs recovered from it.
    pub fn with_store(
        broker: Arc<BrokerConfig>,
        store: Arc<ShareStateStore>,
        recovered: BTreeMap<String, BTreeMap<String, String>>,
    ) -> GroupConfigs {
        let configs = GroupConfigs {
            broker,
            groups: RwLock::new(BTreeMap::new()),
            store: Some(store),
        };
        configs.load(recovered);
        configs
    }

    /// Installs configs recovered at start-up. Values the broker's current bounds refuse are
    /// kept (they were valid when set) and reported.
    pub fn load(&self, recovered: BTreeMap<String, BTreeMap<String, String>>) {
        let mut groups = self.groups.write();
        for (group, values) in recovered {
            if let Err(e) = self.validate(&values) {
                tracing::warn!(%group, error = %e, "persisted group configs are no longer valid under this broker's settings");
            }
            if !values.is_empty() {
                groups.insert(group, values);
            }
        }
    }

    /// The values set explicitly on `group` (validated when they were set).
    pub fn explicit(&self, group: &str) -> BTreeMap<String, String> {
        self.groups.read().get(group).cloned().unwrap_or_default()
    }

    /// The effective share settings of `group`.
    pub fn share_settings(&self, group: &str) -> ShareGroupSettings {
        let b = &self.broker;
        let groups = self.groups.read();
        let set = groups.get(group);
        let get = |key: &str| set.and_then(|m| m.get(key));
        let int = |key: &str, default: i32| get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
        ShareGroupSettings {
            auto_offset_reset: get("share.auto.offset.reset")
                .and_then(|v| v.parse().ok())
                .unwrap_or(OffsetReset::Latest),
            record_lock_duration_ms: int("share.record.lock.duration.ms", b.group_share_record_lock_duration_ms),
            delivery_count_limit: int("share.delivery.count.limit", b.group_share_delivery_count_limit),
            partition_max_record_locks: int("share.partition.max.record.locks", b.group_share_partition_max_record_locks),
            heartbeat_interval_ms: int("share.heartbeat.interval.ms", b.group_share_heartbeat_interval_ms),
            session_timeout_ms: int("share.session.timeout.ms", b.group_share_session_timeout_ms),
            renew_acknowledge_enable: get("share.renew.acknowledge.enable").is_none_or(|v| v.eq_ignore_ascii_case("true")),
            read_committed: get("share.isolation.level").is_some_and(|v| v == "read_committed"),
        }
    }

    /// Replaces the explicit values of `group` (already validated); an empty map removes it.
    pub fn replace(&self, group: &str, values: BTreeMap<String, String>) {
        let mut groups = self.groups.write();
        if values.is_empty() {
            groups.remove(group);
        } else {
            groups.insert(group.to_string(), values);
        }
    }

    /// Checks a complete set of group values (what the group would hold) against the definitions
    /// and this broker's bounds; returns them in stored form (trimmed, canonical).
    pub fn validate(&self, values: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, GroupConfigError> {
        if let Some(unknown) = values.keys().find(|k| definition(k).is_none()) {
            return Err(GroupConfigError::UnknownName(unknown.clone()));
        }
        let mut normalized = BTreeMap::new();
        for def in GROUP_CONFIGS {
            if let Some(v) = values.get(def.name) {
                normalized.insert(def.name.to_string(), def.normalize(v)?);
            }
        }
        // Like Kafka, bounds apply to the merged values: group value, else broker default.
        let effective = |def: &GroupConfigDef| -> i32 {
            normalized
                .get(def.name)
                .cloned()
                .unwrap_or_else(|| def.default_value(&self.broker))
                .parse()
                .unwrap_or(0)
        };
        for def in GROUP_CONFIGS.iter().filter(|d| matches!(d.rule, Rule::IntAtLeast(_))) {
            let v = effective(def);
            if let Some(min) = def.min {
                let bound = (min.value)(&self.broker);
                if v < bound {
                    return Err(GroupConfigError::BelowBrokerMin {
                        name: def.name,
                        bound_key: min.key,
                        bound,
                    });
                }
            }
            if let Some(max) = def.max {
                let bound = (max.value)(&self.broker);
                if v > bound {
                    return Err(GroupConfigError::AboveBrokerMax {
                        name: def.name,
                        bound_key: max.key,
                        bound,
                    });
                }
            }
        }
        for (session_key, heartbeat_key) in SESSION_HEARTBEAT_PAIRS {
            let (Some(s), Some(h)) = (definition(session_key), definition(heartbeat_key)) else {
                continue;
            };
            let (session, heartbeat) = (effective(s), effective(h));
            if session <= heartbeat {
                return Err(GroupConfigError::SessionNotAboveHeartbeat {
                    session_key,
                    session,
                    heartbeat_key,
                    heartbeat,
                });
            }
        }
        Ok(normalized)
    }

    /// Applies `ops` to `group` as one change: all are validated together with the group's other
    /// values and nothing changes if any is refused, or if `validate_only`. The group need not
    /// exist. The new explicit values are written to the store (under the registry's lock, so
    /// concurrent changes reach it in order); returns the end offset to make durable.
    pub fn alter(&self, group: &str, ops: &[(String, GroupConfigOp)], validate_only: bool) -> Result<Option<i64>, GroupConfigError> {
        // One write lock from read to write so concurrent alters of a group do not lose updates.
        let mut groups = self.groups.write();
        let mut values = groups.get(group).cloned().unwrap_or_default();
        for (name, op) in ops {
            match op {
                GroupConfigOp::Set(v) => {
                    values.insert(name.clone(), v.clone());
                }
                GroupConfigOp::Delete => {
                    values.remove(name);
                }
                GroupConfigOp::Append | GroupConfigOp::Subtract => {
                    return Err(GroupConfigError::NotAList {
                        op: if *op == GroupConfigOp::Append { "APPEND" } else { "SUBTRACT" },
                        name: name.clone(),
                    });
                }
            }
        }
        let values = self.validate(&values)?;
        if validate_only {
            return Ok(None);
        }
        let mut end = None;
        if let Some(store) = &self.store {
            end = Some(store.write_group_config(group, &values, crate::clock::now_ms()).map_err(|e| {
                tracing::error!(%group, error = %e, "cannot persist group configs");
                GroupConfigError::Storage(e.to_string())
            })?);
        }
        if values.is_empty() {
            groups.remove(group);
        } else {
            groups.insert(group.to_string(), values);
        }
        Ok(end)
    }

    /// Every group config of `group` with its effective value, source and synonyms.
    pub fn describe(&self, group: &str) -> Vec<DescribedGroupConfig> {
        let set = self.explicit(group);
        let builtin = BrokerConfig::default();
        GROUP_CONFIGS
            .iter()
            .map(|def| {
                let mut synonyms = Vec::new();
                if let Some(v) = set.get(def.name) {
                    synonyms.push(Synonym {
                        name: def.name,
                        value: v.clone(),
                        source: ValueSource::Group,
                    });
                }
                match def.broker_synonym {
                    Some(broker_key) => {
                        if self.broker.explicit_keys.iter().any(|k| k == broker_key) {
                            synonyms.push(Synonym {
                                name: broker_key,
                                value: def.default_value(&self.broker),
                                source: ValueSource::StaticBroker,
                            });
                        }
                        synonyms.push(Synonym {
                            name: broker_key,
                            value: def.default_value(&builtin),
                            source: ValueSource::Default,
                        });
                    }
                    // Kafka lists the group key's own default when no broker setting backs it.
                    None => synonyms.push(Synonym {
                        name: def.name,
                        value: def.default_value(&builtin),
                        source: ValueSource::Default,
                    }),
                }
                let (value, source) = synonyms
                    .first()
                    .map(|s| (s.value.clone(), s.source))
                    .unwrap_or_else(|| (def.default_value(&self.broker), ValueSource::Default));
                DescribedGroupConfig {
                    def,
                    value,
                    source,
                    synonyms,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(toml: &str) -> GroupConfigs {
        GroupConfigs::new(Arc::new(BrokerConfig::parse(toml).expect("broker config")))
    }

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, GroupConfigOp)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), GroupConfigOp::Set(v.to_string())))
            .collect()
    }

    fn err(s: &GroupConfigs, pairs: &[(&str, &str)]) -> String {
        s.alter("g", &set(pairs), false).expect_err("refused").to_string()
    }

    #[test]
    fn defaults_come_from_the_broker() {
        let s = store("group.share.record.lock.duration.ms = 20000\ngroup.share.delivery.count.limit = 3");
        let got = s.share_settings("g");
        assert_eq!(got.record_lock_duration_ms, 20000);
        assert_eq!(got.delivery_count_limit, 3);
        assert_eq!(got.auto_offset_reset, OffsetReset::Latest);
        assert!(got.renew_acknowledge_enable);
        assert!(!got.read_committed);
        assert_eq!(got.session_timeout_ms, 45000);
    }

    #[test]
    fn valid_values_change_the_effective_settings() {
        let s = store("");
        s.alter(
            "g",
            &set(&[
                ("share.auto.offset.reset", " EARLIEST "),
                ("share.record.lock.duration.ms", "45000"),
                ("share.delivery.count.limit", "7"),
                ("share.partition.max.record.locks", "3000"),
                ("share.heartbeat.interval.ms", "6000"),
                ("share.session.timeout.ms", "50000"),
                ("share.renew.acknowledge.enable", "FALSE"),
                ("share.isolation.level", "read_committed"),
            ]),
            false,
        )
        .expect("valid");
        let got = s.share_settings("g");
        assert_eq!(
            got,
            ShareGroupSettings {
                auto_offset_reset: OffsetReset::Earliest,
                record_lock_duration_ms: 45000,
                delivery_count_limit: 7,
                partition_max_record_locks: 3000,
                heartbeat_interval_ms: 6000,
                session_timeout_ms: 50000,
                renew_acknowledge_enable: false,
                read_committed: true,
            }
        );
        // Stored in canonical form, as Kafka describes it.
        let explicit = s.explicit("g");
        assert_eq!(explicit["share.auto.offset.reset"], "EARLIEST");
        assert_eq!(explicit["share.renew.acknowledge.enable"], "false");
        // Other groups keep the defaults.
        assert_eq!(s.share_settings("other").record_lock_duration_ms, 30000);
    }

    #[test]
    fn by_duration_is_accepted_and_bad_reset_values_refused() {
        let s = store("");
        s.alter("g", &set(&[("share.auto.offset.reset", "by_duration:PT1H")]), false)
            .expect("by_duration");
        assert_eq!(
            s.share_settings("g").auto_offset_reset,
            OffsetReset::ByDuration { millis: 3_600_000 }
        );
        for bad in ["by_duration:1h", "by_duration:-PT1H", "by_duration:", "sometimes", ""] {
            let e = err(&s, &[("share.auto.offset.reset", bad)]);
            assert!(
                e.contains("share.auto.offset.reset") && e.contains("by_duration:<PnDTnHnMn.nS>"),
                "{bad}: {e}"
            );
        }
        // The refused values did not replace the accepted one.
        assert_eq!(s.explicit("g")["share.auto.offset.reset"], "by_duration:PT1H");
    }

    #[test]
    fn bounds_come_from_the_broker_min_and_max() {
        let s = store("");
        let e = err(&s, &[("share.record.lock.duration.ms", "14999")]);
        assert_eq!(
            e,
            "share.record.lock.duration.ms must be greater than or equal to group.share.min.record.lock.duration.ms (15000)"
        );
        let e = err(&s, &[("share.record.lock.duration.ms", "60001")]);
        assert!(
            e.contains("less than or equal to group.share.max.record.lock.duration.ms (60000)"),
            "{e}"
        );
        let e = err(&s, &[("share.record.lock.duration.ms", "999")]);
        assert_eq!(
            e,
            "Invalid value 999 for configuration share.record.lock.duration.ms: Value must be at least 1000"
        );
        let e = err(&s, &[("share.heartbeat.interval.ms", "4999")]);
        assert!(e.contains("group.share.min.heartbeat.interval.ms"), "{e}");
        let e = err(&s, &[("share.delivery.count.limit", "11")]);
        assert!(e.contains("group.share.max.delivery.count.limit (10)"), "{e}");
        let e = err(&s, &[("share.partition.max.record.locks", "99")]);
        assert!(e.contains("Value must be at least 100"), "{e}");
        let e = err(&s, &[("share.session.timeout.ms", "60001")]);
        assert!(e.contains("group.share.max.session.timeout.ms"), "{e}");
        let e = err(&s, &[("consumer.session.timeout.ms", "1000")]);
        assert!(e.contains("group.consumer.min.session.timeout.ms (45000)"), "{e}");
        let e = err(&s, &[("streams.num.standby.replicas", "3")]);
        assert!(e.contains("group.streams.max.standby.replicas (2)"), "{e}");
        // Lowered broker bounds let lower group values through.
        let s = store("group.share.min.record.lock.duration.ms = 1000\ngroup.share.min.heartbeat.interval.ms = 1000");
        s.alter(
            "g",
            &set(&[("share.record.lock.duration.ms", "1000"), ("share.heartbeat.interval.ms", "1000")]),
            false,
        )
        .expect("within lowered bounds");
        assert_eq!(s.share_settings("g").record_lock_duration_ms, 1000);
    }

    #[test]
    fn heartbeat_must_stay_below_the_session_timeout() {
        let s = store("group.share.max.heartbeat.interval.ms = 50000");
        let e = err(&s, &[("share.heartbeat.interval.ms", "45000")]);
        assert_eq!(
            e,
            "share.session.timeout.ms (45000) must be greater than share.heartbeat.interval.ms (45000)"
        );
        // Raising the session timeout in the same request makes it valid.
        s.alter(
            "g",
            &set(&[("share.heartbeat.interval.ms", "45000"), ("share.session.timeout.ms", "50000")]),
            false,
        )
        .expect("session above heartbeat");
        // Deleting the session timeout alone would break the pair: refused, nothing changes.
        let e = s
            .alter("g", &[("share.session.timeout.ms".to_string(), GroupConfigOp::Delete)], false)
            .expect_err("pair broken");
        assert!(matches!(e, GroupConfigError::SessionNotAboveHeartbeat { .. }), "{e}");
        assert_eq!(s.share_settings("g").session_timeout_ms, 50000);
    }

    #[test]
    fn types_are_checked() {
        let s = store("");
        let e = err(&s, &[("share.delivery.count.limit", "five")]);
        assert_eq!(
            e,
            "Invalid value five for configuration share.delivery.count.limit: Not a number of type INT"
        );
        let e = err(&s, &[("share.record.lock.duration.ms", "99999999999")]);
        assert!(e.contains("Not a number of type INT"), "{e}");
        let e = err(&s, &[("share.renew.acknowledge.enable", "yes")]);
        assert!(e.contains("Expected value to be either true or false"), "{e}");
        let e = err(&s, &[("share.isolation.level", "READ_COMMITTED")]);
        assert!(e.contains("String must be one of: read_committed, read_uncommitted"), "{e}");
    }

    #[test]
    fn one_bad_key_refuses_the_whole_change() {
        let s = store("");
        let e = err(
            &s,
            &[
                ("share.auto.offset.reset", "earliest"),
                ("share.record.lock.duration.ms", "20000"),
                ("no.such.key", "1"),
            ],
        );
        assert_eq!(e, "Unknown group config name: no.such.key");
        let e = err(&s, &[("share.auto.offset.reset", "earliest"), ("share.delivery.count.limit", "1")]);
        assert!(e.contains("share.delivery.count.limit"), "{e}");
        assert!(s.explicit("g").is_empty(), "nothing applied");
        assert_eq!(s.share_settings("g").auto_offset_reset, OffsetReset::Latest);
    }

    #[test]
    fn validate_only_delete_and_list_ops() {
        let s = store("");
        s.alter("g", &set(&[("share.delivery.count.limit", "4")]), true).expect("valid");
        assert!(s.explicit("g").is_empty(), "validate_only applies nothing");
        s.alter("g", &set(&[("share.delivery.count.limit", "4")]), false).expect("valid");
        assert_eq!(s.share_settings("g").delivery_count_limit, 4);
        let e = s
            .alter("g", &[("share.delivery.count.limit".to_string(), GroupConfigOp::Append)], false)
            .expect_err("append");
        assert_eq!(
            e.to_string(),
            "Can't APPEND to key share.delivery.count.limit because its type is not LIST."
        );
        s.alter("g", &[("share.delivery.count.limit".to_string(), GroupConfigOp::Delete)], false)
            .expect("delete");
        assert_eq!(s.share_settings("g").delivery_count_limit, 5);
        assert!(s.explicit("g").is_empty(), "the last delete removes the group's entry");
        // Deleting a key never set is fine (Kafka too).
        s.alter("g", &[("share.isolation.level".to_string(), GroupConfigOp::Delete)], false)
            .expect("delete unset");
    }

    #[test]
    fn describe_lists_every_key_with_source_and_synonyms() {
        let s = store("group.share.record.lock.duration.ms = 20000");
        s.alter("g", &set(&[("share.delivery.count.limit", "8")]), false).expect("valid");
        let d = s.describe("g");
        assert_eq!(d.len(), GROUP_CONFIGS.len());
        let find = |name: &str| d.iter().find(|c| c.def.name == name).expect(name);

        let dcl = find("share.delivery.count.limit");
        assert_eq!((dcl.value.as_str(), dcl.source), ("8", ValueSource::Group));
        assert_eq!(dcl.synonyms.len(), 2);
        assert_eq!(dcl.synonyms[1].name, "group.share.delivery.count.limit");
        assert_eq!(dcl.synonyms[1].source, ValueSource::Default);

        let lock = find("share.record.lock.duration.ms");
        assert_eq!((lock.value.as_str(), lock.source), ("20000", ValueSource::StaticBroker));
        assert_eq!(lock.synonyms[1].value, "30000", "then Kafka's built-in default");

        let reset = find("share.auto.offset.reset");
        assert_eq!((reset.value.as_str(), reset.source), ("latest", ValueSource::Default));
        assert_eq!(reset.synonyms[0].name, "share.auto.offset.reset");
        assert_eq!(reset.def.kind, ConfigType::String);
        assert_eq!(find("share.renew.acknowledge.enable").def.kind, ConfigType::Boolean);
        assert_eq!(find("consumer.session.timeout.ms").value, "45000");
        assert!(d.iter().all(|c| !c.def.doc.is_empty()));
    }

    #[test]
    fn every_default_passes_validation() {
        // With any valid broker config the defaults (an empty group) must be valid, or no alter could succeed.
        let s = store("");
        let all: BTreeMap<String, String> = GROUP_CONFIGS
            .iter()
            .map(|d| (d.name.to_string(), d.default_value(&BrokerConfig::default())))
            .collect();
        assert_eq!(s.validate(&all).expect("defaults valid"), all);
    }
}
