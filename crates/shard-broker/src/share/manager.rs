//! The broker's share-group state: group membership, share sessions, and the share-partitions
//! groups consume. Locks are never nested: groups, sessions, the member table and each
//! share-partition are locked one at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use shard_coordinator::{SharePartitionKey, ShareStateStore, StoreError};
use shard_share::{MemberId, ResetError, SharePartition, ShareSnapshot, ShareStats};
use uuid::Uuid;

use super::group_configs::{GroupConfigs, ShareGroupSettings};
use super::sessions::{SessionCache, SessionError, SessionKey, SessionPartition};
use super::slot::{PartitionSlot, Persist, reset_start_offset, share_config};
use crate::config::BrokerConfig;
use crate::topics::TopicRegistry;
use shard_group::share::assignor::TopicShape;
use shard_group::share::group::{GroupState, Heartbeat, HeartbeatError, HeartbeatReply, ShareGroup};

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
    /// Where share-partition state is persisted (none: in memory only, for unit tests).
    store: Option<Arc<ShareStateStore>>,
}

/// Why a share-partition cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// No topic has this id.
    UnknownTopicId,
    /// The topic has no such partition.
    UnknownPartition,
    /// The new share-partition's initial state could not be written (logged where it failed).
    Storage,
}

impl SlotError {
    /// The Kafka error code.
    pub fn kafka_code(self) -> i16 {
        match self {
            SlotError::UnknownTopicId => ResponseError::UnknownTopicId,
            SlotError::UnknownPartition => ResponseError::UnknownTopicOrPartition,
            // What Kafka's SharePartition answers when its persister write fails.
            SlotError::Storage => ResponseError::UnknownServerError,
        }
        .code()
    }
}

/// Why a share-partition's start offset could not be set (AlterShareGroupOffsets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResetStartError {
    /// No topic has this id, or it has no such partition.
    #[error("This server does not host this topic-partition.")]
    UnknownPartition,
    /// A negative partition index or a start offset below -1.
    #[error("{0}")]
    Invalid(String),
    /// Some member (or a fetch outside the group) still holds records of the partition.
    #[error("{0}")]
    Refused(#[from] ResetError),
    /// The new state could not be persisted.
    #[error("cannot persist share-partition state: {0}")]
    Storage(String),
}

impl ResetStartError {
    /// The Kafka error code.
    pub fn kafka_code(&self) -> i16 {
        match self {
            ResetStartError::UnknownPartition => ResponseError::UnknownTopicOrPartition,
            ResetStartError::Invalid(_) | ResetStartError::Refused(ResetError::NegativeOffset(_)) => ResponseError::InvalidRequest,
            ResetStartError::Refused(ResetError::RecordsAcquired(_)) => ResponseError::NonEmptyGroup,
            ResetStartError::Storage(_) => ResponseError::UnknownServerError,
        }
        .code()
    }
}

/// Kafka's message for the errors group operations answer (`Errors.message()`; the crate's
/// `ResponseError` only displays the variant name).
pub fn kafka_message(e: ResponseError) -> String {
    match e {
        ResponseError::GroupIdNotFound => "The group id does not exist.",
        ResponseError::NonEmptyGroup => "The group is not empty.",
        ResponseError::InvalidGroupId => "The configured groupId is invalid.",
        ResponseError::UnknownTopicOrPartition => "This server does not host this topic-partition.",
        ResponseError::InvalidRequest => "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.",
        other => return other.to_string(),
    }
    .to_string()
}

/// Start offset Kafka uses for "no state": the next fetch initializes the share-partition from
/// `share.auto.offset.reset`.
pub const UNINITIALIZED_START_OFFSET: i64 = -1;

fn store_key(key: &SlotKey) -> SharePartitionKey {
    SharePartitionKey::new(key.0.clone(), key.1, key.2)
}

impl ShareManager {
    /// No groups yet; share state is kept in memory only.
    pub fn new(config: Arc<BrokerConfig>) -> ShareManager {
        Self::build(config, None)
    }

    /// No groups yet; share state is persisted to `store`.
    pub fn with_store(config: Arc<BrokerConfig>, store: Arc<ShareStateStore>) -> ShareManager {
        Self::build(config, Some(store))
    }

    fn build(config: Arc<BrokerConfig>, store: Option<Arc<ShareStateStore>>) -> ShareManager {
        let max_sessions = usize::try_from(config.group_share_max_share_sessions).unwrap_or(1);
        ShareManager {
            config,
            groups: Mutex::new(HashMap::new()),
            sessions: Mutex::new(SessionCache::new(max_sessions)),
            members: Mutex::new(MemberTable::default()),
            slots: DashMap::new(),
            store,
        }
    }

    /// The share-state store, if state is persisted.
    pub fn store(&self) -> Option<&Arc<ShareStateStore>> {
        self.store.as_ref()
    }

    fn persist(&self, key: &SlotKey) -> Option<Persist> {
        self.store.as_ref().map(|store| Persist {
            store: store.clone(),
            key: store_key(key),
        })
    }

    /// Waits (in a blocking thread) until the store is durable up to `end`; at once without a
    /// store or an offset.
    pub async fn wait_durable(&self, end: Option<i64>) -> Result<(), StoreError> {
        let (Some(store), Some(end)) = (self.store.clone(), end) else {
            return Ok(());
        };
        wait_durable(store, end).await
    }

    /// Like [`Self::wait_durable`], blocking the calling worker thread (for admin requests
    /// served synchronously on a multi-threaded runtime).
    pub fn block_durable(&self, end: Option<i64>) -> Result<(), StoreError> {
        let (Some(store), Some(end)) = (self.store.as_ref(), end) else {
            return Ok(());
        };
        tokio::task::block_in_place(|| store.durable(end))
    }

    /// Rebuilds share-partitions from the state recovered at start-up. Each group with state
    /// exists again, empty (membership is not persisted). State of a topic or partition that no
    /// longer exists (a deletion cut short by a crash) is deleted.
    pub fn restore(
        &self,
        partitions: BTreeMap<SharePartitionKey, ShareSnapshot>,
        configs: &GroupConfigs,
        topics: &TopicRegistry,
        now_ms: i64,
    ) {
        let mut gone = Vec::new();
        for (key, snapshot) in partitions {
            let log = topics.get_by_id(&key.topic_id).and_then(|t| t.partition(key.partition));
            let Some(log) = log else {
                gone.push(key);
                continue;
            };
            let settings = configs.share_settings(&key.group_id);
            let sp = match SharePartition::restore(share_config(&settings), &snapshot) {
                Ok(sp) => sp,
                Err(e) => {
                    tracing::error!(group = %key.group_id, topic_id = %key.topic_id, partition = key.partition, error = %e,
                        "persisted share-partition state is invalid; it starts again from share.auto.offset.reset");
                    gone.push(key);
                    continue;
                }
            };
            self.groups.lock().entry(key.group_id.clone()).or_default();
            let slot_key = (key.group_id.clone(), key.topic_id, key.partition);
            let persist = self.persist(&slot_key);
            self.slots.insert(slot_key, Arc::new(PartitionSlot::new(log, sp, persist, 0)));
        }
        if let Some(store) = &self.store {
            for key in gone {
                tracing::warn!(group = %key.group_id, topic_id = %key.topic_id, partition = key.partition,
                    "dropping persisted share state of a partition that no longer exists");
                if let Err(e) = store.delete(&key, now_ms) {
                    tracing::error!(error = %e, "cannot delete share state");
                }
            }
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

    /// Deletes an empty group, its share-partitions and its persisted state (group configs
    /// included); `GROUP_ID_NOT_FOUND` or `NON_EMPTY_GROUP` otherwise, `UNKNOWN_SERVER_ERROR` if
    /// the deletion could not be written. Returns the store end offset to make durable.
    pub fn delete_group(&self, group: &str) -> Result<Option<i64>, ResponseError> {
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
        self.remove_slots(|k| k.0 == group);
        let Some(store) = &self.store else { return Ok(None) };
        store.delete_group(group, crate::clock::now_ms()).map(Some).map_err(|e| {
            tracing::error!(%group, error = %e, "cannot persist the deletion of a share group");
            ResponseError::UnknownServerError
        })
    }

    /// Removes the matching slots, retiring each so nothing more is written for it; returns
    /// their keys.
    fn remove_slots(&self, matches: impl Fn(&SlotKey) -> bool) -> Vec<SlotKey> {
        let mut removed = Vec::new();
        self.slots.retain(|k, slot| {
            if matches(k) {
                removed.push((k.clone(), slot.clone()));
                false
            } else {
                true
            }
        });
        // Retired outside the map's locks: a slot's lock is never taken under them.
        removed
            .into_iter()
            .map(|(k, slot)| {
                slot.retire();
                k
            })
            .collect()
    }

    /// Drops every share-partition of `topic_id` in every group and its persisted state
    /// (DeleteTopics). Returns the store end offset to make durable.
    pub fn delete_topic(&self, topic_id: Uuid) -> Result<Option<i64>, StoreError> {
        self.remove_slots(|k| k.1 == topic_id);
        let Some(store) = &self.store else { return Ok(None) };
        store.delete_topic(topic_id, crate::clock::now_ms()).map(Some)
    }

    /// Checks that `group` exists and has no members (`GROUP_ID_NOT_FOUND` / `NON_EMPTY_GROUP`),
    /// as DeleteShareGroupOffsets requires.
    pub fn check_empty_group(&self, group: &str) -> Result<(), ResponseError> {
        match self.groups.lock().get(group) {
            None => Err(ResponseError::GroupIdNotFound),
            Some(g) if g.state() != GroupState::Empty => Err(ResponseError::NonEmptyGroup),
            Some(_) => Ok(()),
        }
    }

    /// Creates `group` without members if it does not exist (AlterShareGroupOffsets on a new
    /// group, as Kafka does); `NON_EMPTY_GROUP` if it has members.
    pub fn get_or_create_empty_group(&self, group: &str) -> Result<(), ResponseError> {
        let mut groups = self.groups.lock();
        match groups.get(group) {
            Some(g) if g.state() != GroupState::Empty => Err(ResponseError::NonEmptyGroup),
            Some(_) => Ok(()),
            None => {
                groups.insert(group.to_string(), ShareGroup::new());
                Ok(())
            }
        }
    }

    /// Every share-partition `group` has state for, with its numbers, ordered by topic id and
    /// partition.
    pub fn group_share_partitions(&self, group: &str) -> Vec<(Uuid, i32, ShareStats)> {
        // Take the slots out of the map first: the map's locks and a slot's lock are never held
        // together.
        let slots: Vec<(Uuid, i32, Arc<PartitionSlot>)> = self
            .slots
            .iter()
            .filter(|e| e.key().0 == group)
            .map(|e| (e.key().1, e.key().2, e.value().clone()))
            .collect();
        let mut out: Vec<_> = slots.into_iter().map(|(t, p, slot)| (t, p, slot.stats())).collect();
        out.sort_by_key(|(t, p, _)| (*t, *p));
        out
    }

    /// Sets where `group` starts delivering `partition` of `topic_id` (AlterShareGroupOffsets):
    /// all record state is dropped. State is created if the group had none for the partition;
    /// [`UNINITIALIZED_START_OFFSET`] drops it instead, so the next fetch starts from
    /// `share.auto.offset.reset`. The caller checks that the group is empty.
    pub fn reset_start(
        &self,
        group: &str,
        topic_id: Uuid,
        partition: i32,
        offset: i64,
        topics: &TopicRegistry,
        settings: &ShareGroupSettings,
    ) -> Result<Option<i64>, ResetStartError> {
        if partition < 0 {
            return Err(ResetStartError::Invalid(format!("partition index {partition} is negative")));
        }
        if offset < UNINITIALIZED_START_OFFSET {
            return Err(ResetStartError::Invalid(format!("start offset {offset} is negative")));
        }
        let topic = topics.get_by_id(&topic_id).ok_or(ResetStartError::UnknownPartition)?;
        let log = topic.partition(partition).ok_or(ResetStartError::UnknownPartition)?;
        let key = (group.to_string(), topic_id, partition);
        let storage = |e: StoreError| {
            tracing::error!(%group, %topic_id, partition, error = %e, "cannot persist a share-partition start offset");
            ResetStartError::Storage(e.to_string())
        };
        let now = crate::clock::now_ms();
        if offset == UNINITIALIZED_START_OFFSET {
            if let Some(slot) = self.existing_slot(group, topic_id, partition) {
                let held = slot.stats().acquired;
                if held > 0 {
                    return Err(ResetError::RecordsAcquired(held).into());
                }
                self.remove_slots(|k| *k == key);
            }
            let Some(store) = &self.store else { return Ok(None) };
            return store.delete(&store_key(&key), now).map(Some).map_err(storage);
        }
        let slot = match self.slots.entry(key.clone()) {
            Entry::Occupied(e) => e.get().clone(),
            Entry::Vacant(e) => {
                // Written while the map entry is held: nothing else can write this key first.
                let mut end = None;
                if let Some(store) = &self.store {
                    end = Some(
                        store
                            .write_snapshot(&store_key(&key), &ShareSnapshot::new(offset), now)
                            .map_err(storage)?,
                    );
                }
                let sp = SharePartition::new(share_config(settings), offset);
                e.insert(Arc::new(PartitionSlot::new(log, sp, self.persist(&key), 0)));
                return Ok(end);
            }
        };
        // The map entry is released before the slot is locked.
        slot.reset_start(offset)?.map_err(storage)
    }

    /// Drops `group`'s state for every partition of `topic_id` (DeleteShareGroupOffsets), in
    /// memory and in the store; returns how many share-partitions had state and the store end
    /// offset to make durable. The caller checks that the group is empty.
    pub fn delete_topic_state(&self, group: &str, topic_id: Uuid) -> Result<(usize, Option<i64>), StoreError> {
        let removed = self.remove_slots(|k| k.0 == group && k.1 == topic_id);
        let Some(store) = &self.store else {
            return Ok((removed.len(), None));
        };
        let now = crate::clock::now_ms();
        let mut end = None;
        for key in &removed {
            end = Some(store.delete(&store_key(key), now)?);
        }
        Ok((removed.len(), end))
    }

    /// The compact id of `member` in `group`.
    pub fn member(&self, group: &str, member: &str) -> MemberId {
        self.members.lock().get_or_insert(group, member)
    }

    /// The share-partition, created on first use at `share.auto.offset.reset`, with its initial
    /// snapshot written (the caller makes it durable before answering: see
    /// [`PartitionSlot::pending_init`]).
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
        match self.slots.entry(key.clone()) {
            Entry::Occupied(e) => Ok(e.get().clone()),
            Entry::Vacant(e) => {
                let start = reset_start_offset(&log, settings, now_ms);
                // Written while the map entry is held: nothing else can write this key first.
                let mut init_end = 0;
                if let Some(store) = &self.store {
                    init_end = store
                        .write_snapshot(&store_key(&key), &ShareSnapshot::new(start), now_ms)
                        .map_err(|e| {
                            tracing::error!(%group, %topic_id, partition, error = %e, "cannot persist a new share-partition");
                            SlotError::Storage
                        })?;
                }
                let sp = SharePartition::new(share_config(settings), start);
                let slot = Arc::new(PartitionSlot::new(log, sp, self.persist(&key), init_end));
                e.insert(slot.clone());
                Ok(slot)
            }
        }
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
        self.forget_id_unless_member(&key.0, &key.1);
        Ok(())
    }

    /// Drops the compact id of a member whose session ended if it is not in its group (a client
    /// that fetched without joining, or whose membership already ended): nothing else would ever
    /// remove it, and clients that come and go would grow the table without bound. Group members
    /// keep theirs until they leave or are fenced.
    fn forget_id_unless_member(&self, group: &str, member: &str) {
        let groups = self.groups.lock();
        if !groups.get(group).is_some_and(|g| g.members().contains_key(member)) {
            self.members.lock().ids.remove(&(group.to_string(), member.to_string()));
        }
    }

    /// How many members have a compact id (for tests of the table's bound).
    pub fn member_ids(&self) -> usize {
        self.members.lock().ids.len()
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
            self.forget_id_unless_member(&group, &member);
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

/// Waits in a blocking thread until `store` is durable up to `end`.
pub async fn wait_durable(store: Arc<ShareStateStore>, end: i64) -> Result<(), StoreError> {
    match tokio::task::spawn_blocking(move || store.durable(end)).await {
        Ok(r) => r,
        Err(join) => Err(StoreError::Log(shard_log::LogError::Io(std::io::Error::other(join.to_string())))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::BytesMut;
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    use shard_share::{AckRange, AckType, AcquireMode, OffsetReset};

    use super::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        topics: TopicRegistry,
        configs: GroupConfigs,
        shares: ShareManager,
        topic: Uuid,
    }

    /// A registry with topic `t` (2 partitions), 10 records in partition 0.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!("log.dir = \"{}\"", dir.path().display());
        let config = Arc::new(BrokerConfig::parse(&text).expect("config"));
        let topics = TopicRegistry::open(dir.path(), config.clone()).expect("registry");
        let topic = topics.create("t", 2, 1, BTreeMap::new()).expect("topic");
        let log = topic.partition(0).expect("partition 0");
        log.append(&batch(10), 0).expect("append");
        log.flush().expect("flush");
        Fixture {
            _dir: dir,
            configs: GroupConfigs::new(config.clone()),
            shares: ShareManager::new(config),
            topic: topic.id,
            topics,
        }
    }

    fn batch(count: i64) -> Vec<u8> {
        let records: Vec<Record> = (0..count)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i,
                sequence: -1,
                timestamp: 1_700_000_000_000 + i,
                key: None,
                value: Some(bytes::Bytes::from_static(b"v")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, records.iter(), &options).expect("encode");
        buf.to_vec()
    }

    fn join(f: &Fixture, group: &str, member: &str) {
        let hb = Heartbeat {
            member_id: member.into(),
            member_epoch: 0,
            rack_id: None,
            subscribed_topic_names: Some(vec!["t".into()]),
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
        };
        f.shares.heartbeat(group, hb, &f.topics, 0).expect("join");
    }

    fn leave(f: &Fixture, group: &str, member: &str) {
        let hb = Heartbeat {
            member_id: member.into(),
            member_epoch: -1,
            rack_id: None,
            subscribed_topic_names: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
        };
        f.shares.heartbeat(group, hb, &f.topics, 0).expect("leave");
    }

    fn earliest(f: &Fixture) -> ShareGroupSettings {
        ShareGroupSettings {
            auto_offset_reset: OffsetReset::Earliest,
            ..f.configs.share_settings("g")
        }
    }

    /// Acquires up to `n` records of partition 0 for `member` and accepts the first `accept`.
    fn consume(f: &Fixture, group: &str, member: &str, n: u32, accept: i64) -> Arc<PartitionSlot> {
        let settings = earliest(f);
        let slot = f.shares.slot(group, f.topic, 0, &f.topics, &settings, 0).expect("slot");
        let id = f.shares.member(group, member);
        let got = slot
            .acquire(id, &settings, n, 1 << 20, true, AcquireMode::RecordLimit, 0)
            .expect("acquire");
        assert_eq!(got.count(), u64::from(n));
        if accept > 0 {
            let ack = AckRange::new(0, accept - 1, AckType::Accept);
            let (outcome, written) = slot.acknowledge(id, &[ack], 0);
            assert_eq!(outcome.first_error(), None);
            assert_eq!(written.expect("in memory"), None, "nothing is written without a store");
        }
        slot
    }

    #[test]
    fn ids_of_sessions_without_membership_do_not_accumulate() {
        let f = fixture();
        join(&f, "g", "m1");
        // 30 deliveries: within 10 records x the delivery limit, so each one acquires a record.
        for i in 0..30u64 {
            let member = format!("drive-by-{i}");
            let key = ("g".to_string(), member.clone());
            f.shares.open_session(key.clone(), BTreeSet::new(), i).expect("session");
            consume(&f, "g", &member, 1, 0);
            if i % 2 == 0 {
                f.shares.connection_closed(i);
            } else {
                f.shares.close_session(&key).expect("close");
            }
        }
        // A group member keeps its id across a session's end (its records and epoch live on).
        let m1 = f.shares.member("g", "m1");
        f.shares
            .open_session(("g".to_string(), "m1".to_string()), BTreeSet::new(), 1000)
            .expect("session");
        f.shares.connection_closed(1000);
        assert_eq!(f.shares.member("g", "m1"), m1);
        assert_eq!(f.shares.member_ids(), 1, "only the group member's id is kept");
        // The drive-by members' records were released on the way out.
        let slot = f.shares.existing_slot("g", f.topic, 0).expect("slot");
        assert_eq!(slot.stats().acquired, 0);
    }

    #[test]
    fn empty_group_checks() {
        let f = fixture();
        assert_eq!(f.shares.check_empty_group("g"), Err(ResponseError::GroupIdNotFound));
        join(&f, "g", "m1");
        assert_eq!(f.shares.check_empty_group("g"), Err(ResponseError::NonEmptyGroup));
        assert_eq!(f.shares.get_or_create_empty_group("g"), Err(ResponseError::NonEmptyGroup));
        leave(&f, "g", "m1");
        assert_eq!(f.shares.check_empty_group("g"), Ok(()));
        assert_eq!(f.shares.get_or_create_empty_group("g"), Ok(()));
    }

    #[test]
    fn altering_offsets_of_an_unknown_group_creates_it_empty() {
        let f = fixture();
        assert_eq!(f.shares.get_or_create_empty_group("new"), Ok(()));
        assert_eq!(f.shares.list_groups(), vec![("new".to_string(), GroupState::Empty)]);
        assert_eq!(f.shares.check_empty_group("new"), Ok(()));
    }

    #[test]
    fn group_share_partitions_reports_start_and_terminal_counts() {
        let f = fixture();
        assert!(f.shares.group_share_partitions("g").is_empty());
        let slot = consume(&f, "g", "m1", 6, 3);
        f.shares.release_member("g", "m1");
        let parts = f.shares.group_share_partitions("g");
        assert_eq!(parts.len(), 1);
        let (topic, partition, stats) = parts[0];
        assert_eq!((topic, partition), (f.topic, 0));
        assert_eq!(stats.start_offset, 3, "accepted 0..=2 moved the start");
        assert_eq!(stats.lag(slot.log().high_watermark()), 7);
        // Another group's state is not listed.
        assert!(f.shares.group_share_partitions("other").is_empty());
    }

    #[test]
    fn reset_start_creates_state_at_the_offset() {
        let f = fixture();
        let settings = earliest(&f);
        f.shares.reset_start("g", f.topic, 1, 4, &f.topics, &settings).expect("reset");
        let slot = f.shares.existing_slot("g", f.topic, 1).expect("state created");
        assert_eq!(slot.stats().start_offset, 4);
    }

    #[test]
    fn reset_start_moves_existing_state_and_forgets_records() {
        let f = fixture();
        consume(&f, "g", "m1", 5, 5);
        let settings = earliest(&f);
        f.shares.reset_start("g", f.topic, 0, 2, &f.topics, &settings).expect("reset back");
        let slot = f.shares.existing_slot("g", f.topic, 0).expect("slot");
        let stats = slot.stats();
        assert_eq!((stats.start_offset, stats.acknowledged), (2, 0));
        // Delivery starts at the new offset.
        let id = f.shares.member("g", "m2");
        let got = slot
            .acquire(id, &settings, 1, 1 << 20, true, AcquireMode::RecordLimit, 0)
            .expect("acquire");
        assert_eq!(got.ranges[0].first_offset, 2);
    }

    #[test]
    fn reset_start_is_refused_while_records_are_acquired() {
        let f = fixture();
        consume(&f, "g", "m1", 4, 0);
        let settings = earliest(&f);
        let e = f.shares.reset_start("g", f.topic, 0, 0, &f.topics, &settings).unwrap_err();
        assert_eq!(e, ResetStartError::Refused(ResetError::RecordsAcquired(4)));
        assert_eq!(e.kafka_code(), ResponseError::NonEmptyGroup.code());
        let e = f
            .shares
            .reset_start("g", f.topic, 0, UNINITIALIZED_START_OFFSET, &f.topics, &settings)
            .unwrap_err();
        assert_eq!(e.kafka_code(), ResponseError::NonEmptyGroup.code());
        f.shares.release_member("g", "m1");
        f.shares
            .reset_start("g", f.topic, 0, 0, &f.topics, &settings)
            .expect("reset after release");
    }

    #[test]
    fn reset_start_to_uninitialized_drops_state() {
        let f = fixture();
        consume(&f, "g", "m1", 2, 2);
        let settings = earliest(&f);
        f.shares
            .reset_start("g", f.topic, 0, UNINITIALIZED_START_OFFSET, &f.topics, &settings)
            .expect("drop");
        assert!(f.shares.existing_slot("g", f.topic, 0).is_none());
        // Nothing to drop is fine too.
        f.shares
            .reset_start("g", f.topic, 1, UNINITIALIZED_START_OFFSET, &f.topics, &settings)
            .expect("no state");
    }

    #[test]
    fn reset_start_checks_its_input() {
        let f = fixture();
        let settings = earliest(&f);
        let code = |r: Result<Option<i64>, ResetStartError>| r.unwrap_err().kafka_code();
        let unknown = ResponseError::UnknownTopicOrPartition.code();
        let invalid = ResponseError::InvalidRequest.code();
        assert_eq!(code(f.shares.reset_start("g", Uuid::new_v4(), 0, 0, &f.topics, &settings)), unknown);
        assert_eq!(code(f.shares.reset_start("g", f.topic, 2, 0, &f.topics, &settings)), unknown);
        assert_eq!(code(f.shares.reset_start("g", f.topic, -1, 0, &f.topics, &settings)), invalid);
        assert_eq!(code(f.shares.reset_start("g", f.topic, 0, -2, &f.topics, &settings)), invalid);
        assert!(f.shares.group_share_partitions("g").is_empty());
    }

    #[test]
    fn delete_topic_state_drops_only_that_groups_topic() {
        let f = fixture();
        let settings = earliest(&f);
        for p in [0, 1] {
            f.shares.reset_start("g", f.topic, p, 0, &f.topics, &settings).expect("g");
        }
        f.shares.reset_start("h", f.topic, 0, 0, &f.topics, &settings).expect("h");
        assert_eq!(f.shares.delete_topic_state("g", f.topic).expect("delete").0, 2);
        assert_eq!(f.shares.delete_topic_state("g", f.topic).expect("delete").0, 0);
        assert!(f.shares.group_share_partitions("g").is_empty());
        assert_eq!(f.shares.group_share_partitions("h").len(), 1);
    }

    #[test]
    fn delete_group_requires_an_empty_group_and_drops_its_state() {
        let f = fixture();
        assert_eq!(f.shares.delete_group("g"), Err(ResponseError::GroupIdNotFound));
        join(&f, "g", "m1");
        consume(&f, "g", "m1", 3, 3);
        assert_eq!(f.shares.delete_group("g"), Err(ResponseError::NonEmptyGroup));
        leave(&f, "g", "m1");
        assert_eq!(f.shares.delete_group("g"), Ok(None));
        assert!(f.shares.group_share_partitions("g").is_empty());
        assert!(f.shares.list_groups().is_empty());
    }
}
