//! The broker's share-group state: group membership, share sessions, and the share-partitions
//! groups consume. Locks are never nested: groups, sessions, the member table and each
//! share-partition are locked one at a time.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use dashmap::DashMap;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use shard_share::MemberId;
use uuid::Uuid;

use super::assignor::TopicShape;
use super::group::{GroupState, Heartbeat, HeartbeatError, HeartbeatReply, ShareGroup};
use super::group_configs::{GroupConfigs, ShareGroupSettings};
use super::sessions::{SessionCache, SessionError, SessionKey, SessionPartition};
use super::slot::PartitionSlot;
use crate::config::BrokerConfig;
use crate::topics::TopicRegistry;

/// (group id, topic id, partition).
pub type SlotKey = (String, Uuid, i32);

/// Kafka member id strings mapped to the state machine's compact ids.
#[derive(Debug, Default)]
struct MemberTable {
    ids: HashMap<(String, String), MemberId>,
    next: u32,
}

impl MemberTable {
    fn get_or_insert(&mut self, group: &str, member: &str) -> MemberId {
        let key = (group.to_string(), member.to_string());
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        self.next = self.next.wrapping_add(1);
        let id = MemberId(self.next);
        self.ids.insert(key, id);
        id
    }
}

/// Share groups, share sessions and share-partitions.
#[derive(Debug)]
pub struct ShareManager {
    config: Arc<BrokerConfig>,
    groups: Mutex<HashMap<String, ShareGroup>>,
    sessions: Mutex<SessionCache>,
    members: Mutex<MemberTable>,
    slots: DashMap<SlotKey, Arc<PartitionSlot>>,
}

/// Why a share-partition cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// No topic has this id.
    UnknownTopicId,
    /// The topic has no such partition.
    UnknownPartition,
}

impl SlotError {
    /// The Kafka error code.
    pub fn kafka_code(self) -> i16 {
        match self {
            SlotError::UnknownTopicId => ResponseError::UnknownTopicId,
            SlotError::UnknownPartition => ResponseError::UnknownTopicOrPartition,
        }
        .code()
    }
}

impl ShareManager {
    /// No groups yet.
    pub fn new(config: Arc<BrokerConfig>) -> ShareManager {
        let max_sessions = usize::try_from(config.group_share_max_share_sessions).unwrap_or(1);
        ShareManager {
            config,
            groups: Mutex::new(HashMap::new()),
            sessions: Mutex::new(SessionCache::new(max_sessions)),
            members: Mutex::new(MemberTable::default()),
            slots: DashMap::new(),
        }
    }

    /// Serves one ShareGroupHeartbeat of `group`.
    pub fn heartbeat(&self, group: &str, hb: Heartbeat, topics: &TopicRegistry, now_ms: i64) -> Result<HeartbeatReply, HeartbeatError> {
        let shape = |name: &str| {
            topics.get(name).map(|t| TopicShape {
                id: t.id,
                partitions: t.partition_count(),
            })
        };
        let max_size = usize::try_from(self.config.group_share_max_size).unwrap_or(0);
        let leaving = hb.member_epoch == -1;
        let member_id = hb.member_id.clone();
        let mut groups = self.groups.lock();
        let reply = match groups.get_mut(group) {
            Some(g) => g.heartbeat(hb, now_ms, max_size, &shape),
            // Membership is not persisted: after a restart a member's heartbeat finds no group, and
            // UNKNOWN_MEMBER_ID makes it rejoin (GROUP_ID_NOT_FOUND would be fatal to it).
            None if hb.member_epoch != 0 => Err(HeartbeatError::UnknownMember(hb.member_id)),
            None => {
                let mut g = ShareGroup::new();
                let reply = g.heartbeat(hb, now_ms, max_size, &shape);
                if reply.is_ok() {
                    groups.insert(group.to_string(), g);
                }
                reply
            }
        };
        drop(groups);
        if leaving && reply.is_ok() {
            self.forget_member(group, &member_id);
        }
        reply
    }

    /// A copy of `group` for describing it.
    pub fn group(&self, group: &str) -> Option<ShareGroup> {
        self.groups.lock().get(group).cloned()
    }

    /// Every share group with its state.
    pub fn list_groups(&self) -> Vec<(String, GroupState)> {
        let mut out: Vec<_> = self.groups.lock().iter().map(|(id, g)| (id.clone(), g.state())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Deletes an empty group and its share-partitions; `GROUP_ID_NOT_FOUND` or
    /// `NON_EMPTY_GROUP` otherwise.
    pub fn delete_group(&self, group: &str) -> Result<(), ResponseError> {
        {
            let mut groups = self.groups.lock();
            match groups.get(group) {
                None => return Err(ResponseError::GroupIdNotFound),
                Some(g) if g.state() != GroupState::Empty => return Err(ResponseError::NonEmptyGroup),
                Some(_) => {
                    groups.remove(group);
                }
            }
        }
        self.slots.retain(|k, _| k.0 != group);
        Ok(())
    }

    /// The compact id of `member` in `group`.
    pub fn member(&self, group: &str, member: &str) -> MemberId {
        self.members.lock().get_or_insert(group, member)
    }

    /// The share-partition, created (at `share.auto.offset.reset`) on first use.
    pub fn slot(
        &self,
        group: &str,
        topic_id: Uuid,
        partition: i32,
        topics: &TopicRegistry,
        settings: &ShareGroupSettings,
        now_ms: i64,
    ) -> Result<Arc<PartitionSlot>, SlotError> {
        let key = (group.to_string(), topic_id, partition);
        if let Some(slot) = self.slots.get(&key) {
            return Ok(slot.clone());
        }
        let topic = topics.get_by_id(&topic_id).ok_or(SlotError::UnknownTopicId)?;
        let log = topic.partition(partition).ok_or(SlotError::UnknownPartition)?;
        let slot = self
            .slots
            .entry(key)
            .or_insert_with(|| Arc::new(PartitionSlot::initialize(log, settings, now_ms)))
            .clone();
        Ok(slot)
    }

    /// The share-partition if it has been used (acknowledgements need no new state).
    pub fn existing_slot(&self, group: &str, topic_id: Uuid, partition: i32) -> Option<Arc<PartitionSlot>> {
        self.slots.get(&(group.to_string(), topic_id, partition)).map(|s| s.clone())
    }

    /// Opens (or reopens) the session of `key` on connection `conn`. Reopening keeps the
    /// member's records acquired, as Kafka does.
    pub fn open_session(&self, key: SessionKey, partitions: BTreeSet<SessionPartition>, conn: u64) -> Result<(), SessionError> {
        self.sessions.lock().open(key, partitions, conn).map(|_| ())
    }

    /// Checks the epoch and updates the session; returns its partitions.
    pub fn advance_session(
        &self,
        key: &SessionKey,
        epoch: i32,
        add: Vec<SessionPartition>,
        forget: Vec<SessionPartition>,
    ) -> Result<Vec<SessionPartition>, SessionError> {
        let mut sessions = self.sessions.lock();
        let session = sessions.advance(key, epoch, add, forget)?;
        Ok(session.partitions.iter().copied().collect())
    }

    /// Checks that the session exists (epoch -1 closes whatever epoch it is at).
    pub fn session_exists(&self, key: &SessionKey) -> bool {
        self.sessions.lock().get(key).is_some()
    }

    /// Closes the session of `key` and releases the member's records.
    pub fn close_session(&self, key: &SessionKey) -> Result<(), SessionError> {
        self.sessions.lock().close(key)?;
        self.release_member(&key.0, &key.1);
        Ok(())
    }

    /// Releases every record `member` of `group` holds.
    pub fn release_member(&self, group: &str, member: &str) {
        let id = self.members.lock().ids.get(&(group.to_string(), member.to_string())).copied();
        let Some(id) = id else { return };
        for slot in self.group_slots(group) {
            slot.release_member(id);
        }
    }

    fn group_slots(&self, group: &str) -> Vec<Arc<PartitionSlot>> {
        self.slots
            .iter()
            .filter(|e| e.key().0 == group)
            .map(|e| e.value().clone())
            .collect()
    }

    /// A connection closed: its share sessions end and their records are released.
    pub fn connection_closed(&self, conn: u64) {
        let closed = self.sessions.lock().close_connection(conn);
        for ((group, member), _) in closed {
            tracing::debug!(%group, %member, "share session closed with its connection");
            self.release_member(&group, &member);
        }
    }

    /// Drops a member that left or was fenced: its session ends and its records are released.
    fn forget_member(&self, group: &str, member: &str) {
        self.sessions.lock().close_member(group, member);
        self.release_member(group, member);
        self.members.lock().ids.remove(&(group.to_string(), member.to_string()));
    }

    /// Periodic work: expires acquisition locks, and fences members whose session timed out.
    pub fn tick(&self, configs: &GroupConfigs, topics: &TopicRegistry, now_ms: i64) {
        for slot in self.slots.iter().map(|e| e.value().clone()).collect::<Vec<_>>() {
            slot.expire(now_ms);
        }
        let shape = |name: &str| {
            topics.get(name).map(|t| TopicShape {
                id: t.id,
                partitions: t.partition_count(),
            })
        };
        let mut fenced = Vec::new();
        {
            let mut groups = self.groups.lock();
            for (id, g) in groups.iter_mut() {
                let timeout = i64::from(configs.share_settings(id).session_timeout_ms);
                for member in g.expire_members(now_ms, timeout, &shape) {
                    fenced.push((id.clone(), member));
                }
            }
        }
        for (group, member) in fenced {
            tracing::info!(%group, %member, "share group member missed its session timeout; fenced");
            self.forget_member(&group, &member);
        }
    }
}
