//! Classic consumer groups (JoinGroup, SyncGroup, Heartbeat, LeaveGroup): not built yet.
