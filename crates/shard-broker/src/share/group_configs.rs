//! Per-group configs (ConfigResource GROUP): the `share.*` keys a user sets with
//! IncrementalAlterConfigs, falling back to the broker's `group.share.*` defaults.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use shard_share::OffsetReset;

use crate::config::BrokerConfig;

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

/// Group configs set on this broker, by group id.
#[derive(Debug)]
pub struct GroupConfigs {
    broker: Arc<BrokerConfig>,
    groups: RwLock<BTreeMap<String, BTreeMap<String, String>>>,
}

impl GroupConfigs {
    /// An empty store whose defaults come from `broker`.
    pub fn new(broker: Arc<BrokerConfig>) -> GroupConfigs {
        GroupConfigs {
            broker,
            groups: RwLock::new(BTreeMap::new()),
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
}
