//! KIP-848 consumer groups (ConsumerGroupHeartbeat): not built yet.
