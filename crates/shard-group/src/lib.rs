//! Group membership for Shard, as pure state machines: no I/O, no clocks, no locks. The broker
//! passes the time (milliseconds) and a view of the topics in, and turns what comes out into
//! responses and persisted records.
//!
//! - [`share`]: KIP-932 share groups (ShareGroupHeartbeat) and the `simple` assignor.
//! - [`classic`]: classic consumer groups (JoinGroup, SyncGroup, Heartbeat, LeaveGroup).
//! - [`consumer`]: KIP-848 consumer groups (ConsumerGroupHeartbeat) with the `uniform` and
//!   `range` server-side assignors.

pub mod classic;
pub mod consumer;
pub mod share;
