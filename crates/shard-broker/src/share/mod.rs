//! Share groups (KIP-932): membership and assignment, share sessions, and the share-partitions
//! the groups consume. Membership and the assignor are pure and live in `shard_group::share`.

pub mod acks;
pub mod group_configs;
pub mod manager;
pub mod sessions;
pub mod slot;
