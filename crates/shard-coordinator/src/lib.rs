//! Shard's share coordinator storage: KIP-932 share-group state persisted in the internal
//! `__share_group_state` topic, in Kafka's record format.
//!
//! One [`ShareStateStore`] owns the single partition `<log.dir>/__share_group_state-0`, an
//! ordinary [`shard_log::PartitionLog`] of v2 record batches. Per share-partition
//! ([`SharePartitionKey`]: group, topic id, partition) it appends `ShareSnapshot` records (the
//! whole state) and `ShareUpdate` records (a [`shard_share::StateDelta`]); group configs are
//! Shard's own record type 100. Tombstones delete. The format is in [`record`] and
//! `docs/share-coordinator.md`.
//!
//! # Using it from the broker
//!
//! ```text
//! start-up:   let (store, recovered) = ShareStateStore::open(log_dir, log_config, options)?;
//!             recovered.partitions[key]   -> SharePartition::restore(...)
//!             recovered.group_configs     -> group config registry
//!             (a key absent from `partitions` has no state: apply share.auto.offset.reset,
//!              then store.write_snapshot(key, &ShareSnapshot::new(start), now) and await it)
//! ack path:   delta = partition.acknowledge(...)        // under the share-partition's lock
//!             end = store.write_delta(&key, &delta, now)?  // still under that lock: per-key order
//!             ... release the lock ...
//!             spawn_blocking(move || store.durable(end)).await?  // group commit
//!             answer the request
//! expiry, member loss, archive, admin reset: write_delta the same way (answer nothing, but
//!             keep the per-key order by writing under the share-partition's lock)
//! DeleteGroups: store.delete_group(group, now); DeleteTopics: store.delete_topic(id, now);
//! DeleteShareGroupOffsets: store.delete(&key, now); IncrementalAlterConfigs (GROUP):
//!             store.write_group_config(group, &explicit_configs, now); then durable(end)
//! timer (5 min each): store.snapshot_cold(now, cold_ms)?; store.prune()?
//! page-cache mode: call store.flush() every log.flush.interval.ms
//! shutdown:   store.close()
//! ```
//!
//! Writes for one key must reach the store in the order the state machine produced them:
//! updates are applied in log order on recovery. Writes for different keys may interleave
//! freely. Every write method appends to the OS and returns the end offset to await with
//! [`ShareStateStore::durable`] (blocking; it shares fsyncs between concurrent callers). A
//! failed fsync poisons the store: every later write fails ([`StoreError::is_poisoned`]), and
//! the broker must restart to recover from what is really on disk. The in-memory state of the
//! store may then be ahead of the disk; never answer a client whose write was not made durable.
//!
//! The store keeps every key's current state in memory (latest snapshot plus later updates), so
//! it can write a full snapshot after `updates_per_snapshot` updates without reading the log.
//! [`ShareStateStore::prune`] deletes whole segments below the oldest record recovery still
//! needs; [`ShareStateStore::snapshot_cold`] rewrites stale keys so pruning can advance.
#![warn(missing_docs)]

pub mod record;
mod store;

pub use record::{FormatError, SharePartitionKey, StateRecord};
pub use store::{PruneOutcome, Recovered, STATE_PARTITION_DIR, STATE_TOPIC, ShareStateStore, StoreError, StoreOptions};
