//! Share groups (KIP-932): membership and assignment, share sessions, and the share-partitions
//! the groups consume.

pub mod acks;
pub mod assignor;
pub mod group;
pub mod group_configs;
pub mod manager;
pub mod sessions;
pub mod slot;
