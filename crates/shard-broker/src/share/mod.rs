//! Share groups (KIP-932): membership and assignment, share sessions, and the share-partitions
//! the groups consume.

pub mod assignor;
pub mod group;
pub mod group_configs;
pub mod sessions;
