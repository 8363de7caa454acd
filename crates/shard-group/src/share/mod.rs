//! Share groups (KIP-932): membership, epochs, session timeouts, and the `simple` assignor.

pub mod assignor;
pub mod group;
