//! The Shard broker: network frontend, request handlers and broker state.

pub mod admission;
pub mod broker;
pub mod clock;
pub mod config;
pub mod connection;
pub mod durable_file;
pub mod fd_limit;
pub mod frame;
pub mod handlers;
pub mod health;
pub mod log_throttle;
pub mod producer_ids;
pub mod server;
pub mod share;
pub mod topic_config;
pub mod topics;
