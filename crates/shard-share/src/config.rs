//! The per-group settings a share-partition obeys. The group layer resolves them from group
//! configs and broker defaults; validation of bounds happens there.

/// Settings for one share-partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareConfig {
    /// How long an acquisition lock lasts (`share.record.lock.duration.ms`, default 30 s).
    pub lock_duration_ms: i64,
    /// Deliveries allowed before a record is archived (`share.delivery.count.limit`, default 5).
    pub delivery_count_limit: u16,
    /// In-flight cap: no new records are acquired once the window spans this many offsets
    /// (`share.partition.max.record.locks`, default 2000).
    pub max_in_flight: u32,
    /// Whether RENEW acknowledgements are allowed (`share.renew.acknowledge.enable`, default true).
    pub renew_enabled: bool,
}

impl Default for ShareConfig {
    fn default() -> Self {
        ShareConfig {
            lock_duration_ms: 30_000,
            delivery_count_limit: 5,
            max_in_flight: 2000,
            renew_enabled: true,
        }
    }
}

impl ShareConfig {
    /// From this delivery count on, redeliveries are throttled: records go out in shrinking chunks
    /// so one poison record does not archive a whole batch (Kafka 4.2+).
    pub fn throttle_threshold(&self) -> u16 {
        let limit = self.delivery_count_limit.max(1);
        limit.div_ceil(2).max(2)
    }
}
