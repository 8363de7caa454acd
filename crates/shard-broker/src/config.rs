//! Broker configuration: `broker.toml` with Kafka's key names as TOML dotted keys.
//!
//! The file is flattened to `a.b.c` names first, so `log.retention.ms = 1` and
//! `[log] retention.ms = 1` mean the same thing; every name must be known. Environment
//! variables (`SHARD_` + the key upper-cased, `.` and `-` as `_`; see [`env`]) override the file.

pub mod env;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shard_log::{FlushMode, LogConfig};

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file is not valid TOML: {0}")]
    Syntax(String),
    /// A key is unknown or has a value of the wrong type.
    #[error("{0}")]
    Invalid(String),
    /// A key has a value out of range.
    #[error("invalid value for `{key}`: {reason}")]
    Value {
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An environment variable's value does not have its key's type.
    #[error("invalid value for `{key}` from environment variable {var}: {reason}")]
    EnvValue {
        /// The key.
        key: String,
        /// The variable that set it.
        var: String,
        /// What is wrong.
        reason: String,
    },
    /// The configuration is refused because of values set by environment variables.
    #[error("{source} (from the environment: {vars})")]
    FromEnv {
        /// The variables involved, comma-separated.
        vars: String,
        /// The error, as for a file.
        source: Box<ConfigError>,
    },
}

/// Durability policy as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlushPolicy {
    /// Acknowledge after fsync (group commit).
    Fsync,
    /// Acknowledge once in the OS page cache.
    PageCache,
}

/// The broker's settings. Field docs are in `config/broker.toml`.
///
/// The serde names are the keys; serializing the defaults gives every key with its type (see
/// [`env`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct BrokerConfig {
    #[serde(rename = "listeners")]
    pub listeners: String,
    #[serde(rename = "advertised.listeners")]
    pub advertised_listeners: String,
    #[serde(rename = "socket.request.max.bytes")]
    pub socket_request_max_bytes: u32,
    #[serde(rename = "request.non.produce.max.bytes")]
    pub request_non_produce_max_bytes: u32,
    #[serde(rename = "queued.max.request.bytes")]
    pub queued_max_request_bytes: u64,
    #[serde(rename = "socket.request.read.timeout.ms")]
    pub socket_request_read_timeout_ms: u64,
    #[serde(rename = "connections.max.idle.ms")]
    pub connections_max_idle_ms: u64,
    #[serde(rename = "max.connections")]
    pub max_connections: u32,
    #[serde(rename = "max.connections.per.ip")]
    pub max_connections_per_ip: u32,
    #[serde(rename = "node.id")]
    pub node_id: i32,
    #[serde(rename = "log.dir")]
    pub log_dir: PathBuf,
    #[serde(rename = "log.flush.mode")]
    pub log_flush_mode: FlushPolicy,
    #[serde(rename = "log.flush.interval.ms")]
    pub log_flush_interval_ms: u64,
    #[serde(rename = "log.segment.bytes")]
    pub log_segment_bytes: u64,
    #[serde(rename = "log.roll.ms")]
    pub log_roll_ms: i64,
    #[serde(rename = "log.retention.ms")]
    pub log_retention_ms: i64,
    #[serde(rename = "log.retention.bytes")]
    pub log_retention_bytes: i64,
    #[serde(rename = "log.retention.check.interval.ms")]
    pub log_retention_check_interval_ms: u64,
    #[serde(rename = "log.index.interval.bytes")]
    pub log_index_interval_bytes: u32,
    #[serde(rename = "log.index.size.max.bytes")]
    pub log_index_size_max_bytes: u32,
    #[serde(rename = "message.max.bytes")]
    pub message_max_bytes: u32,
    #[serde(rename = "fetch.max.bytes")]
    pub fetch_max_bytes: u32,
    /// How far in the past a produced record's timestamp may be (Kafka's name and default).
    #[serde(rename = "log.message.timestamp.before.max.ms")]
    pub log_message_timestamp_before_max_ms: i64,
    /// How far in the future a produced record's timestamp may be (Kafka's name and default).
    #[serde(rename = "log.message.timestamp.after.max.ms")]
    pub log_message_timestamp_after_max_ms: i64,
    /// Most bytes one compressed batch may decompress to (a Shard limit; Kafka has none).
    #[serde(rename = "message.max.uncompressed.bytes")]
    pub message_max_uncompressed_bytes: u64,
    #[serde(rename = "auto.create.topics.enable")]
    pub auto_create_topics_enable: bool,
    #[serde(rename = "num.partitions")]
    pub num_partitions: i32,
    #[serde(rename = "max.partitions.per.topic")]
    pub max_partitions_per_topic: i32,
    #[serde(rename = "max.broker.partitions")]
    pub max_broker_partitions: i32,
    #[serde(rename = "group.share.delivery.count.limit")]
    pub group_share_delivery_count_limit: i32,
    #[serde(rename = "group.share.min.delivery.count.limit")]
    pub group_share_min_delivery_count_limit: i32,
    #[serde(rename = "group.share.max.delivery.count.limit")]
    pub group_share_max_delivery_count_limit: i32,
    #[serde(rename = "group.share.record.lock.duration.ms")]
    pub group_share_record_lock_duration_ms: i32,
    #[serde(rename = "group.share.min.record.lock.duration.ms")]
    pub group_share_min_record_lock_duration_ms: i32,
    #[serde(rename = "group.share.max.record.lock.duration.ms")]
    pub group_share_max_record_lock_duration_ms: i32,
    #[serde(rename = "group.share.partition.max.record.locks")]
    pub group_share_partition_max_record_locks: i32,
    #[serde(rename = "group.share.min.partition.max.record.locks")]
    pub group_share_min_partition_max_record_locks: i32,
    #[serde(rename = "group.share.max.partition.max.record.locks")]
    pub group_share_max_partition_max_record_locks: i32,
    #[serde(rename = "group.share.max.share.sessions")]
    pub group_share_max_share_sessions: i32,
    #[serde(rename = "group.share.session.timeout.ms")]
    pub group_share_session_timeout_ms: i32,
    #[serde(rename = "group.share.min.session.timeout.ms")]
    pub group_share_min_session_timeout_ms: i32,
    #[serde(rename = "group.share.max.session.timeout.ms")]
    pub group_share_max_session_timeout_ms: i32,
    #[serde(rename = "group.share.heartbeat.interval.ms")]
    pub group_share_heartbeat_interval_ms: i32,
    #[serde(rename = "group.share.min.heartbeat.interval.ms")]
    pub group_share_min_heartbeat_interval_ms: i32,
    #[serde(rename = "group.share.max.heartbeat.interval.ms")]
    pub group_share_max_heartbeat_interval_ms: i32,
    #[serde(rename = "group.share.max.size")]
    pub group_share_max_size: i32,
    #[serde(rename = "share.coordinator.snapshot.update.records.per.snapshot")]
    pub share_coordinator_snapshot_update_records_per_snapshot: i32,
    #[serde(rename = "share.coordinator.state.topic.prune.interval.ms")]
    pub share_coordinator_state_topic_prune_interval_ms: i32,
    #[serde(rename = "group.min.session.timeout.ms")]
    pub group_min_session_timeout_ms: i32,
    #[serde(rename = "group.max.session.timeout.ms")]
    pub group_max_session_timeout_ms: i32,
    #[serde(rename = "group.initial.rebalance.delay.ms")]
    pub group_initial_rebalance_delay_ms: i32,
    #[serde(rename = "group.max.size")]
    pub group_max_size: i32,
    #[serde(rename = "group.consumer.session.timeout.ms")]
    pub group_consumer_session_timeout_ms: i32,
    #[serde(rename = "group.consumer.min.session.timeout.ms")]
    pub group_consumer_min_session_timeout_ms: i32,
    #[serde(rename = "group.consumer.max.session.timeout.ms")]
    pub group_consumer_max_session_timeout_ms: i32,
    #[serde(rename = "group.consumer.heartbeat.interval.ms")]
    pub group_consumer_heartbeat_interval_ms: i32,
    #[serde(rename = "group.consumer.min.heartbeat.interval.ms")]
    pub group_consumer_min_heartbeat_interval_ms: i32,
    #[serde(rename = "group.consumer.max.heartbeat.interval.ms")]
    pub group_consumer_max_heartbeat_interval_ms: i32,
    #[serde(rename = "group.consumer.max.size")]
    pub group_consumer_max_size: i32,
    #[serde(rename = "offsets.retention.minutes")]
    pub offsets_retention_minutes: i32,
    #[serde(rename = "offsets.retention.check.interval.ms")]
    pub offsets_retention_check_interval_ms: i32,
    #[serde(rename = "offset.metadata.max.bytes")]
    pub offset_metadata_max_bytes: i32,
    #[serde(rename = "group.consumer.assignors")]
    pub group_consumer_assignors: String,
    #[serde(rename = "group.consumer.migration.policy")]
    pub group_consumer_migration_policy: String,
    #[serde(rename = "share.coordinator.cold.partition.snapshot.interval.ms")]
    pub share_coordinator_cold_partition_snapshot_interval_ms: i32,
    /// Keys present in the file or set by environment variables (to tell static settings from
    /// defaults in DescribeConfigs).
    #[serde(skip)]
    pub explicit_keys: Vec<String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let log = LogConfig::default();
        Self {
            listeners: "127.0.0.1:9092".into(),
            advertised_listeners: String::new(),
            socket_request_max_bytes: 100 * 1024 * 1024,
            request_non_produce_max_bytes: shard_protocol::DEFAULT_NON_PRODUCE_MAX_BYTES as u32,
            queued_max_request_bytes: 512 * 1024 * 1024,
            socket_request_read_timeout_ms: 60_000,
            connections_max_idle_ms: 600_000,
            max_connections: i32::MAX as u32,
            max_connections_per_ip: i32::MAX as u32,
            node_id: 1,
            log_dir: PathBuf::from("./data"),
            log_flush_mode: FlushPolicy::Fsync,
            log_flush_interval_ms: 1000,
            log_segment_bytes: log.segment_bytes,
            log_roll_ms: log.segment_ms,
            log_retention_ms: log.retention_ms,
            log_retention_bytes: log.retention_bytes,
            log_retention_check_interval_ms: 300_000,
            log_index_interval_bytes: log.index_interval_bytes,
            log_index_size_max_bytes: log.index_max_bytes,
            message_max_bytes: log.max_message_bytes,
            fetch_max_bytes: 55 * 1024 * 1024,
            message_max_uncompressed_bytes: log.max_uncompressed_batch_bytes,
            log_message_timestamp_before_max_ms: log.message_timestamp_before_max_ms,
            log_message_timestamp_after_max_ms: log.message_timestamp_after_max_ms,
            auto_create_topics_enable: true,
            num_partitions: 1,
            max_partitions_per_topic: 10_000,
            max_broker_partitions: 10_000,
            group_share_delivery_count_limit: 5,
            group_share_min_delivery_count_limit: 2,
            group_share_max_delivery_count_limit: 10,
            group_share_record_lock_duration_ms: 30000,
            group_share_min_record_lock_duration_ms: 15000,
            group_share_max_record_lock_duration_ms: 60000,
            group_share_partition_max_record_locks: 2000,
            group_share_min_partition_max_record_locks: 100,
            group_share_max_partition_max_record_locks: 4000,
            group_share_max_share_sessions: 2000,
            group_share_session_timeout_ms: 45000,
            group_share_min_session_timeout_ms: 45000,
            group_share_max_session_timeout_ms: 60000,
            group_share_heartbeat_interval_ms: 5000,
            group_share_min_heartbeat_interval_ms: 5000,
            group_share_max_heartbeat_interval_ms: 15000,
            group_share_max_size: 200,
            share_coordinator_snapshot_update_records_per_snapshot: 500,
            share_coordinator_state_topic_prune_interval_ms: 300_000,
            share_coordinator_cold_partition_snapshot_interval_ms: 300_000,
            group_min_session_timeout_ms: 6000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3000,
            group_max_size: i32::MAX,
            group_consumer_session_timeout_ms: 45000,
            group_consumer_min_session_timeout_ms: 45000,
            group_consumer_max_session_timeout_ms: 60000,
            group_consumer_heartbeat_interval_ms: 5000,
            group_consumer_min_heartbeat_interval_ms: 5000,
            group_consumer_max_heartbeat_interval_ms: 15000,
            group_consumer_max_size: i32::MAX,
            offsets_retention_minutes: 10080,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            group_consumer_assignors: "uniform,range".into(),
            group_consumer_migration_policy: "bidirectional".into(),
            explicit_keys: Vec::new(),
        }
    }
}

impl BrokerConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Reads and validates the effective configuration: the defaults, overridden by the file
    /// at `path` if given, overridden by the `SHARD_*` variables among `env` (see [`env`]).
    /// Logs which keys came from the environment (names only) and warns about `SHARD_*`
    /// variables that name no key.
    pub fn load_with_env(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?,
            None => String::new(),
        };
        let (config, settings) = Self::parse_with_env(&text, env)?;
        if !settings.unknown.is_empty() {
            tracing::warn!(
                "environment variables {} ignored: no such setting (see config/broker.toml)",
                settings.unknown.join(", ")
            );
        }
        if !settings.applied.is_empty() {
            let keys: Vec<String> = settings.applied.iter().map(|(var, key)| format!("{key} ({var})")).collect();
            tracing::info!("settings from the environment: {}", keys.join(", "));
        }
        Ok(config)
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::from_flat(Self::flat(text)?)
    }

    /// Parses config text overridden by the `SHARD_*` variables among `env`, and validates the
    /// result; also returns what the environment contributed. Does not log.
    pub fn parse_with_env(text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<(Self, env::EnvSettings), ConfigError> {
        let mut flat = Self::flat(text)?;
        let settings = env::overlay(&mut flat, env)?;
        let config = Self::from_flat(flat).map_err(|e| blame_env(e, &settings))?;
        Ok((config, settings))
    }

    fn flat(text: &str) -> Result<BTreeMap<String, toml::Value>, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax(e.to_string()))?;
        let mut flat = BTreeMap::new();
        flatten("", toml::Value::Table(table), &mut flat);
        Ok(flat)
    }

    /// Builds a config from `dotted.key -> value` pairs (the file, flattened).
    pub fn from_flat(flat: BTreeMap<String, toml::Value>) -> Result<Self, ConfigError> {
        let explicit_keys: Vec<String> = flat.keys().cloned().collect();
        let mut table = toml::Table::new();
        for (k, v) in flat {
            table.insert(k, v);
        }
        let mut config = BrokerConfig::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.explicit_keys = explicit_keys;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        parse_listener(&self.listeners).map_err(|reason| ConfigError::Value { key: "listeners", reason })?;
        if !self.advertised_listeners.is_empty() {
            parse_host_port(&self.advertised_listeners).map_err(|reason| ConfigError::Value {
                key: "advertised.listeners",
                reason,
            })?;
        }
        let check = |ok: bool, key: &'static str, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::Value {
                    key,
                    reason: reason.into(),
                })
            }
        };
        check(
            self.socket_request_max_bytes >= 1024,
            "socket.request.max.bytes",
            "must be at least 1024",
        )?;
        check(
            self.request_non_produce_max_bytes >= 1024,
            "request.non.produce.max.bytes",
            "must be at least 1024",
        )?;
        check(
            self.queued_max_request_bytes >= u64::from(self.socket_request_max_bytes),
            "queued.max.request.bytes",
            "must be at least socket.request.max.bytes (a frame of that size must fit)",
        )?;
        check(
            self.socket_request_read_timeout_ms >= 1,
            "socket.request.read.timeout.ms",
            "must be >= 1",
        )?;
        check(self.connections_max_idle_ms >= 1, "connections.max.idle.ms", "must be >= 1")?;
        check(self.max_connections >= 1, "max.connections", "must be >= 1")?;
        check(self.max_connections_per_ip >= 1, "max.connections.per.ip", "must be >= 1")?;
        check(self.node_id >= 0, "node.id", "must be >= 0")?;
        check(self.log_flush_interval_ms >= 1, "log.flush.interval.ms", "must be >= 1")?;
        check(self.log_segment_bytes >= 14, "log.segment.bytes", "must be >= 14")?;
        check(
            self.log_segment_bytes <= i32::MAX as u64,
            "log.segment.bytes",
            "must be <= 2147483647",
        )?;
        check(self.log_roll_ms >= 1, "log.roll.ms", "must be >= 1")?;
        check(self.log_retention_ms >= -1, "log.retention.ms", "must be >= -1")?;
        check(self.log_retention_bytes >= -1, "log.retention.bytes", "must be >= -1")?;
        check(
            self.log_retention_check_interval_ms >= 1,
            "log.retention.check.interval.ms",
            "must be >= 1",
        )?;
        check(self.log_index_interval_bytes >= 1, "log.index.interval.bytes", "must be >= 1")?;
        check(self.log_index_size_max_bytes >= 4096, "log.index.size.max.bytes", "must be >= 4096")?;
        check(self.message_max_bytes >= 64, "message.max.bytes", "must be >= 64")?;
        check(
            (1024..=i32::MAX as u32).contains(&self.fetch_max_bytes),
            "fetch.max.bytes",
            "must be in [1024, 2147483647]",
        )?;
        check(
            self.log_message_timestamp_before_max_ms >= 0,
            "log.message.timestamp.before.max.ms",
            "must be >= 0",
        )?;
        check(
            self.log_message_timestamp_after_max_ms >= 0,
            "log.message.timestamp.after.max.ms",
            "must be >= 0",
        )?;
        check(
            self.message_max_uncompressed_bytes >= 1024,
            "message.max.uncompressed.bytes",
            "must be >= 1024",
        )?;
        check(self.num_partitions >= 1, "num.partitions", "must be >= 1")?;
        check(self.max_partitions_per_topic >= 1, "max.partitions.per.topic", "must be >= 1")?;
        check(self.max_broker_partitions >= 1, "max.broker.partitions", "must be >= 1")?;
        let in_range =
            |value: i32, key: &'static str, lo: i32, hi: i32| check(lo <= value && value <= hi, key, &format!("must be in [{lo}, {hi}]"));
        in_range(self.group_share_delivery_count_limit, "group.share.delivery.count.limit", 2, 10)?;
        in_range(
            self.group_share_min_delivery_count_limit,
            "group.share.min.delivery.count.limit",
            2,
            5,
        )?;
        in_range(
            self.group_share_max_delivery_count_limit,
            "group.share.max.delivery.count.limit",
            5,
            25,
        )?;
        in_range(
            self.group_share_record_lock_duration_ms,
            "group.share.record.lock.duration.ms",
            1000,
            3600000,
        )?;
        in_range(
            self.group_share_min_record_lock_duration_ms,
            "group.share.min.record.lock.duration.ms",
            1000,
            30000,
        )?;
        in_range(
            self.group_share_max_record_lock_duration_ms,
            "group.share.max.record.lock.duration.ms",
            30000,
            3600000,
        )?;
        in_range(
            self.group_share_partition_max_record_locks,
            "group.share.partition.max.record.locks",
            100,
            10000,
        )?;
        in_range(
            self.group_share_min_partition_max_record_locks,
            "group.share.min.partition.max.record.locks",
            100,
            2000,
        )?;
        in_range(
            self.group_share_max_partition_max_record_locks,
            "group.share.max.partition.max.record.locks",
            2000,
            10000,
        )?;
        in_range(self.group_share_max_share_sessions, "group.share.max.share.sessions", 1, 2147483647)?;
        in_range(self.group_share_session_timeout_ms, "group.share.session.timeout.ms", 1, 2147483647)?;
        in_range(
            self.group_share_min_session_timeout_ms,
            "group.share.min.session.timeout.ms",
            1,
            2147483647,
        )?;
        in_range(
            self.group_share_max_session_timeout_ms,
            "group.share.max.session.timeout.ms",
            1,
            2147483647,
        )?;
        in_range(
            self.group_share_heartbeat_interval_ms,
            "group.share.heartbeat.interval.ms",
            1,
            2147483647,
        )?;
        in_range(
            self.group_share_min_heartbeat_interval_ms,
            "group.share.min.heartbeat.interval.ms",
            1,
            2147483647,
        )?;
        in_range(
            self.group_share_max_heartbeat_interval_ms,
            "group.share.max.heartbeat.interval.ms",
            1,
            2147483647,
        )?;
        in_range(self.group_share_max_size, "group.share.max.size", 1, 1000)?;
        in_range(
            self.share_coordinator_snapshot_update_records_per_snapshot,
            "share.coordinator.snapshot.update.records.per.snapshot",
            0,
            500,
        )?;
        in_range(
            self.share_coordinator_state_topic_prune_interval_ms,
            "share.coordinator.state.topic.prune.interval.ms",
            1,
            2147483647,
        )?;
        in_range(
            self.share_coordinator_cold_partition_snapshot_interval_ms,
            "share.coordinator.cold.partition.snapshot.interval.ms",
            1,
            2147483647,
        )?;
        let ordered = |min: i32, value: i32, max: i32, min_key: &'static str, key: &'static str, max_key: &'static str| {
            check(
                min <= value && value <= max,
                key,
                &format!("must lie between {min_key} ({min}) and {max_key} ({max})"),
            )
        };
        ordered(
            self.group_share_min_delivery_count_limit,
            self.group_share_delivery_count_limit,
            self.group_share_max_delivery_count_limit,
            "group.share.min.delivery.count.limit",
            "group.share.delivery.count.limit",
            "group.share.max.delivery.count.limit",
        )?;
        ordered(
            self.group_share_min_record_lock_duration_ms,
            self.group_share_record_lock_duration_ms,
            self.group_share_max_record_lock_duration_ms,
            "group.share.min.record.lock.duration.ms",
            "group.share.record.lock.duration.ms",
            "group.share.max.record.lock.duration.ms",
        )?;
        ordered(
            self.group_share_min_partition_max_record_locks,
            self.group_share_partition_max_record_locks,
            self.group_share_max_partition_max_record_locks,
            "group.share.min.partition.max.record.locks",
            "group.share.partition.max.record.locks",
            "group.share.max.partition.max.record.locks",
        )?;
        ordered(
            self.group_share_min_session_timeout_ms,
            self.group_share_session_timeout_ms,
            self.group_share_max_session_timeout_ms,
            "group.share.min.session.timeout.ms",
            "group.share.session.timeout.ms",
            "group.share.max.session.timeout.ms",
        )?;
        ordered(
            self.group_share_min_heartbeat_interval_ms,
            self.group_share_heartbeat_interval_ms,
            self.group_share_max_heartbeat_interval_ms,
            "group.share.min.heartbeat.interval.ms",
            "group.share.heartbeat.interval.ms",
            "group.share.max.heartbeat.interval.ms",
        )?;
        check(
            self.group_share_heartbeat_interval_ms < self.group_share_session_timeout_ms,
            "group.share.heartbeat.interval.ms",
            "must be less than group.share.session.timeout.ms",
        )?;
        for (value, key) in [
            (self.group_min_session_timeout_ms, "group.min.session.timeout.ms"),
            (self.group_max_session_timeout_ms, "group.max.session.timeout.ms"),
            (self.group_max_size, "group.max.size"),
            (self.group_consumer_session_timeout_ms, "group.consumer.session.timeout.ms"),
            (self.group_consumer_min_session_timeout_ms, "group.consumer.min.session.timeout.ms"),
            (self.group_consumer_max_session_timeout_ms, "group.consumer.max.session.timeout.ms"),
            (self.group_consumer_heartbeat_interval_ms, "group.consumer.heartbeat.interval.ms"),
            (
                self.group_consumer_min_heartbeat_interval_ms,
                "group.consumer.min.heartbeat.interval.ms",
            ),
            (
                self.group_consumer_max_heartbeat_interval_ms,
                "group.consumer.max.heartbeat.interval.ms",
            ),
            (self.group_consumer_max_size, "group.consumer.max.size"),
            (self.offsets_retention_minutes, "offsets.retention.minutes"),
            (self.offsets_retention_check_interval_ms, "offsets.retention.check.interval.ms"),
        ] {
            in_range(value, key, 1, i32::MAX)?;
        }
        in_range(
            self.group_initial_rebalance_delay_ms,
            "group.initial.rebalance.delay.ms",
            0,
            i32::MAX,
        )?;
        in_range(self.offset_metadata_max_bytes, "offset.metadata.max.bytes", 0, i32::MAX)?;
        check(
            self.group_min_session_timeout_ms <= self.group_max_session_timeout_ms,
            "group.min.session.timeout.ms",
            "must not exceed group.max.session.timeout.ms",
        )?;
        ordered(
            self.group_consumer_min_session_timeout_ms,
            self.group_consumer_session_timeout_ms,
            self.group_consumer_max_session_timeout_ms,
            "group.consumer.min.session.timeout.ms",
            "group.consumer.session.timeout.ms",
            "group.consumer.max.session.timeout.ms",
        )?;
        ordered(
            self.group_consumer_min_heartbeat_interval_ms,
            self.group_consumer_heartbeat_interval_ms,
            self.group_consumer_max_heartbeat_interval_ms,
            "group.consumer.min.heartbeat.interval.ms",
            "group.consumer.heartbeat.interval.ms",
            "group.consumer.max.heartbeat.interval.ms",
        )?;
        check(
            self.group_consumer_heartbeat_interval_ms < self.group_consumer_session_timeout_ms,
            "group.consumer.heartbeat.interval.ms",
            "must be less than group.consumer.session.timeout.ms",
        )?;
        self.consumer_assignors().map_err(|reason| ConfigError::Value {
            key: "group.consumer.assignors",
            reason,
        })?;
        check(
            ["disabled", "downgrade", "upgrade", "bidirectional"]
                .contains(&self.group_consumer_migration_policy.to_ascii_lowercase().as_str()),
            "group.consumer.migration.policy",
            "must be one of disabled, downgrade, upgrade, bidirectional",
        )?;
        Ok(())
    }

    /// The server-side assignors of `group.consumer.assignors`, by name, the default first.
    /// Kafka also accepts its assignor class names; they map to the same two.
    pub fn consumer_assignors(&self) -> Result<Vec<&'static str>, String> {
        let mut out = Vec::new();
        for name in self.group_consumer_assignors.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let known = match name {
                "uniform" | "org.apache.kafka.coordinator.group.assignor.UniformAssignor" => "uniform",
                "range" | "org.apache.kafka.coordinator.group.assignor.RangeAssignor" => "range",
                other => return Err(format!("unknown assignor `{other}` (Shard has uniform and range)")),
            };
            if !out.contains(&known) {
                out.push(known);
            }
        }
        if out.is_empty() {
            return Err("must name at least one assignor".into());
        }
        Ok(out)
    }

    /// The address to bind.
    pub fn listen_addr(&self) -> SocketAddr {
        // Validated in `validate`.
        parse_listener(&self.listeners).unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9092)))
    }

    /// Host and port clients are told to use, given the address actually bound.
    pub fn advertised(&self, bound: SocketAddr) -> (String, i32) {
        if self.advertised_listeners.is_empty() {
            return (bound.ip().to_string(), i32::from(bound.port()));
        }
        parse_host_port(&self.advertised_listeners).unwrap_or((bound.ip().to_string(), i32::from(bound.port())))
    }

    /// Broker-level log settings (topic configs override them).
    pub fn log_defaults(&self) -> LogConfig {
        LogConfig {
            segment_bytes: self.log_segment_bytes,
            segment_ms: self.log_roll_ms,
            retention_ms: self.log_retention_ms,
            retention_bytes: self.log_retention_bytes,
            max_message_bytes: self.message_max_bytes,
            max_uncompressed_batch_bytes: self.message_max_uncompressed_bytes,
            message_timestamp_before_max_ms: self.log_message_timestamp_before_max_ms,
            message_timestamp_after_max_ms: self.log_message_timestamp_after_max_ms,
            index_interval_bytes: self.log_index_interval_bytes,
            index_max_bytes: self.log_index_size_max_bytes,
            flush: match self.log_flush_mode {
                FlushPolicy::Fsync => FlushMode::Fsync,
                FlushPolicy::PageCache => FlushMode::PageCache {
                    interval_ms: self.log_flush_interval_ms,
                },
            },
        }
    }

    /// Every setting as (Kafka name, value as text), for DescribeConfigs on the BROKER resource.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        vec![
            ("listeners", self.listeners.clone()),
            ("advertised.listeners", self.advertised_listeners.clone()),
            ("socket.request.max.bytes", self.socket_request_max_bytes.to_string()),
            ("request.non.produce.max.bytes", self.request_non_produce_max_bytes.to_string()),
            ("queued.max.request.bytes", self.queued_max_request_bytes.to_string()),
            ("socket.request.read.timeout.ms", self.socket_request_read_timeout_ms.to_string()),
            ("connections.max.idle.ms", self.connections_max_idle_ms.to_string()),
            ("max.connections", self.max_connections.to_string()),
            ("max.connections.per.ip", self.max_connections_per_ip.to_string()),
            ("node.id", self.node_id.to_string()),
            ("log.dir", self.log_dir.display().to_string()),
            (
                "log.flush.mode",
                match self.log_flush_mode {
                    FlushPolicy::Fsync => "fsync",
                    FlushPolicy::PageCache => "page_cache",
                }
                .into(),
            ),
            ("log.flush.interval.ms", self.log_flush_interval_ms.to_string()),
            ("log.segment.bytes", self.log_segment_bytes.to_string()),
            ("log.roll.ms", self.log_roll_ms.to_string()),
            ("log.retention.ms", self.log_retention_ms.to_string()),
            ("log.retention.bytes", self.log_retention_bytes.to_string()),
            ("log.retention.check.interval.ms", self.log_retention_check_interval_ms.to_string()),
            ("log.index.interval.bytes", self.log_index_interval_bytes.to_string()),
            ("log.index.size.max.bytes", self.log_index_size_max_bytes.to_string()),
            ("message.max.bytes", self.message_max_bytes.to_string()),
            ("fetch.max.bytes", self.fetch_max_bytes.to_string()),
            ("message.max.uncompressed.bytes", self.message_max_uncompressed_bytes.to_string()),
            (
                "log.message.timestamp.before.max.ms",
                self.log_message_timestamp_before_max_ms.to_string(),
            ),
            (
                "log.message.timestamp.after.max.ms",
                self.log_message_timestamp_after_max_ms.to_string(),
            ),
            ("auto.create.topics.enable", self.auto_create_topics_enable.to_string()),
            ("num.partitions", self.num_partitions.to_string()),
            ("max.partitions.per.topic", self.max_partitions_per_topic.to_string()),
            ("max.broker.partitions", self.max_broker_partitions.to_string()),
            ("group.min.session.timeout.ms", self.group_min_session_timeout_ms.to_string()),
            ("group.max.session.timeout.ms", self.group_max_session_timeout_ms.to_string()),
            (
                "group.initial.rebalance.delay.ms",
                self.group_initial_rebalance_delay_ms.to_string(),
            ),
            ("group.max.size", self.group_max_size.to_string()),
            (
                "group.consumer.session.timeout.ms",
                self.group_consumer_session_timeout_ms.to_string(),
            ),
            (
                "group.consumer.min.session.timeout.ms",
                self.group_consumer_min_session_timeout_ms.to_string(),
            ),
            (
                "group.consumer.max.session.timeout.ms",
                self.group_consumer_max_session_timeout_ms.to_string(),
            ),
            (
                "group.consumer.heartbeat.interval.ms",
                self.group_consumer_heartbeat_interval_ms.to_string(),
            ),
            (
                "group.consumer.min.heartbeat.interval.ms",
                self.group_consumer_min_heartbeat_interval_ms.to_string(),
            ),
            (
                "group.consumer.max.heartbeat.interval.ms",
                self.group_consumer_max_heartbeat_interval_ms.to_string(),
            ),
            ("group.consumer.max.size", self.group_consumer_max_size.to_string()),
            ("offsets.retention.minutes", self.offsets_retention_minutes.to_string()),
            (
                "offsets.retention.check.interval.ms",
                self.offsets_retention_check_interval_ms.to_string(),
            ),
            ("offset.metadata.max.bytes", self.offset_metadata_max_bytes.to_string()),
            ("group.consumer.assignors", self.group_consumer_assignors.clone()),
            ("group.consumer.migration.policy", self.group_consumer_migration_policy.clone()),
            (
                "group.share.delivery.count.limit",
                self.group_share_delivery_count_limit.to_string(),
            ),
            (
                "group.share.min.delivery.count.limit",
                self.group_share_min_delivery_count_limit.to_string(),
            ),
            (
                "group.share.max.delivery.count.limit",
                self.group_share_max_delivery_count_limit.to_string(),
            ),
            (
                "group.share.record.lock.duration.ms",
                self.group_share_record_lock_duration_ms.to_string(),
            ),
            (
                "group.share.min.record.lock.duration.ms",
                self.group_share_min_record_lock_duration_ms.to_string(),
            ),
            (
                "group.share.max.record.lock.duration.ms",
                self.group_share_max_record_lock_duration_ms.to_string(),
            ),
            (
                "group.share.partition.max.record.locks",
                self.group_share_partition_max_record_locks.to_string(),
            ),
            (
                "group.share.min.partition.max.record.locks",
                self.group_share_min_partition_max_record_locks.to_string(),
            ),
            (
                "group.share.max.partition.max.record.locks",
                self.group_share_max_partition_max_record_locks.to_string(),
            ),
            ("group.share.max.share.sessions", self.group_share_max_share_sessions.to_string()),
            ("group.share.session.timeout.ms", self.group_share_session_timeout_ms.to_string()),
            (
                "group.share.min.session.timeout.ms",
                self.group_share_min_session_timeout_ms.to_string(),
            ),
            (
                "group.share.max.session.timeout.ms",
                self.group_share_max_session_timeout_ms.to_string(),
            ),
            (
                "group.share.heartbeat.interval.ms",
                self.group_share_heartbeat_interval_ms.to_string(),
            ),
            (
                "group.share.min.heartbeat.interval.ms",
                self.group_share_min_heartbeat_interval_ms.to_string(),
            ),
            (
                "group.share.max.heartbeat.interval.ms",
                self.group_share_max_heartbeat_interval_ms.to_string(),
            ),
            ("group.share.max.size", self.group_share_max_size.to_string()),
            (
                "share.coordinator.snapshot.update.records.per.snapshot",
                self.share_coordinator_snapshot_update_records_per_snapshot.to_string(),
            ),
            (
                "share.coordinator.state.topic.prune.interval.ms",
                self.share_coordinator_state_topic_prune_interval_ms.to_string(),
            ),
            (
                "share.coordinator.cold.partition.snapshot.interval.ms",
                self.share_coordinator_cold_partition_snapshot_interval_ms.to_string(),
            ),
        ]
    }
}

/// Names the environment variables behind a range error: those that set its key or a key its
/// reason mentions (a min/max bound).
fn blame_env(error: ConfigError, settings: &env::EnvSettings) -> ConfigError {
    let ConfigError::Value { key, reason } = &error else {
        return error;
    };
    let mentioned = std::iter::once(*key).chain(reason.split_whitespace().map(|w| w.trim_matches(|c: char| "()`,".contains(c))));
    let mut vars: Vec<&str> = mentioned.filter_map(|k| settings.var_for(k)).collect();
    vars.dedup();
    if vars.is_empty() {
        return error;
    }
    ConfigError::FromEnv {
        vars: vars.join(", "),
        source: Box::new(error),
    }
}

fn flatten(prefix: &str, value: toml::Value, out: &mut BTreeMap<String, toml::Value>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other);
        }
    }
}

fn parse_listener(s: &str) -> Result<SocketAddr, String> {
    let (host, port) = parse_host_port(s)?;
    let ip = if host == "localhost" { "127.0.0.1".to_string() } else { host };
    format!("{ip}:{port}")
        .parse::<SocketAddr>()
        .or_else(|_| format!("[{ip}]:{port}").parse::<SocketAddr>())
        .map_err(|_| format!("`{s}` is not an IP address and port"))
}

fn parse_host_port(s: &str) -> Result<(String, i32), String> {
    let rest = s.strip_prefix("PLAINTEXT://").unwrap_or(s);
    let (host, port) = rest.rsplit_once(':').ok_or_else(|| format!("`{s}` is not host:port"))?;
    let port: u16 = port.parse().map_err(|_| format!("`{port}` is not a port number"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{s}` has no host"));
    }
    Ok((host.to_string(), i32::from(port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = BrokerConfig::parse("").expect("defaults");
        assert_eq!(c.listen_addr(), "127.0.0.1:9092".parse().expect("addr"));
        assert_eq!(c.log_dir, PathBuf::from("./data"));
        assert_eq!(c.log_flush_mode, FlushPolicy::Fsync);
    }

    #[test]
    fn dotted_keys_and_tables_are_the_same() {
        let a = BrokerConfig::parse("log.retention.ms = 5").expect("a");
        let b = BrokerConfig::parse("[log]\nretention.ms = 5").expect("b");
        assert_eq!(a.log_retention_ms, 5);
        assert_eq!(b.log_retention_ms, 5);
    }

    #[test]
    fn unknown_key_is_refused_by_name() {
        let e = BrokerConfig::parse("log.retention.minutes = 5").expect_err("unknown");
        assert!(e.to_string().contains("log.retention.minutes"), "{e}");
    }

    #[test]
    fn wrong_type_and_range_are_refused() {
        let e = BrokerConfig::parse("num.partitions = \"x\"").expect_err("type");
        assert!(e.to_string().contains("num.partitions") || e.to_string().contains("integer"), "{e}");
        let e = BrokerConfig::parse("num.partitions = 0").expect_err("range");
        assert!(e.to_string().contains("num.partitions"), "{e}");
        let e = BrokerConfig::parse("log.flush.mode = \"sometimes\"").expect_err("enum");
        assert!(e.to_string().contains("sometimes"), "{e}");
        let e = BrokerConfig::parse("listeners = \"nowhere\"").expect_err("listener");
        assert!(e.to_string().contains("listeners"), "{e}");
    }

    #[test]
    fn shipped_config_file_parses_to_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/broker.toml");
        let c = BrokerConfig::load(&path).expect("shipped config");
        let d = BrokerConfig::default();
        assert_eq!(c.entries(), d.entries());
    }

    #[test]
    fn advertised_defaults_to_bound_address() {
        let c = BrokerConfig::parse("advertised.listeners = \"PLAINTEXT://kafka.example:19092\"").expect("adv");
        assert_eq!(c.advertised("127.0.0.1:1".parse().expect("addr")), ("kafka.example".into(), 19092));
    }

    #[test]
    fn share_group_defaults_must_lie_within_their_bounds() {
        let e = BrokerConfig::parse("group.share.record.lock.duration.ms = 1000").expect_err("below the min bound");
        assert!(e.to_string().contains("group.share.min.record.lock.duration.ms"), "{e}");
        let c = BrokerConfig::parse("group.share.record.lock.duration.ms = 1000\ngroup.share.min.record.lock.duration.ms = 1000")
            .expect("bound lowered");
        assert_eq!(c.group_share_record_lock_duration_ms, 1000);
        let e = BrokerConfig::parse("group.share.delivery.count.limit = 11").expect_err("out of Kafka's range");
        assert!(e.to_string().contains("group.share.delivery.count.limit"), "{e}");
        let e = BrokerConfig::parse("group.share.heartbeat.interval.ms = 45000\ngroup.share.max.heartbeat.interval.ms = 45000")
            .expect_err("heartbeat not below the session timeout");
        assert!(e.to_string().contains("less than group.share.session.timeout.ms"), "{e}");
    }

    #[test]
    fn share_coordinator_settings_are_checked() {
        let c = BrokerConfig::parse("share.coordinator.snapshot.update.records.per.snapshot = 0").expect("0 = always snapshot");
        assert_eq!(c.share_coordinator_snapshot_update_records_per_snapshot, 0);
        for bad in [
            "share.coordinator.snapshot.update.records.per.snapshot = 501",
            "share.coordinator.snapshot.update.records.per.snapshot = -1",
            "share.coordinator.state.topic.prune.interval.ms = 0",
            "share.coordinator.cold.partition.snapshot.interval.ms = 0",
        ] {
            let e = BrokerConfig::parse(bad).expect_err(bad);
            let key = bad.split(' ').next().unwrap_or_default();
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn consumer_group_settings_are_checked() {
        let c = BrokerConfig::parse("group.consumer.assignors = \"range, org.apache.kafka.coordinator.group.assignor.UniformAssignor\"")
            .expect("names and class names");
        assert_eq!(c.consumer_assignors(), Ok(vec!["range", "uniform"]));
        assert_eq!(BrokerConfig::default().consumer_assignors(), Ok(vec!["uniform", "range"]));
        for bad in [
            "group.consumer.assignors = \"sticky\"",
            "group.consumer.assignors = \"\"",
            "group.consumer.migration.policy = \"sideways\"",
            "group.consumer.session.timeout.ms = 30000",
            "group.consumer.heartbeat.interval.ms = 20000",
            "group.min.session.timeout.ms = 1900000",
            "group.initial.rebalance.delay.ms = -1",
            "group.max.size = 0",
            "offsets.retention.minutes = 0",
        ] {
            let e = BrokerConfig::parse(bad).expect_err(bad);
            let key = bad.split(' ').next().unwrap_or_default();
            assert!(e.to_string().contains(key), "{bad}: {e}");
        }
    }
}
