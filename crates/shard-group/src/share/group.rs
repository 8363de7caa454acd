//! One share group's membership: member epochs, the group epoch and its target assignment, and
//! session timeouts. Pure: the caller passes the time and a view of the topics.
//!
//! Share groups have no revocation phase: a member moves straight to the target assignment, so
//! its epoch is always the group epoch after a successful heartbeat.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;

use super::assignor::{MemberAssignment, TopicShape, assign};

/// Longest member id Kafka accepts (a UUID string).
pub const MAX_MEMBER_ID_LEN: usize = 36;

/// What a ShareGroupHeartbeat asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// Client-generated member id.
    pub member_id: String,
    /// 0 joins, -1 leaves, otherwise the member's current epoch.
    pub member_epoch: i32,
    /// Rack, when the client sends it.
    pub rack_id: Option<String>,
    /// Subscription, when new or changed.
    pub subscribed_topic_names: Option<Vec<String>>,
    /// For ShareGroupDescribe.
    pub client_id: String,
    /// For ShareGroupDescribe.
    pub client_host: String,
}

/// A successful heartbeat's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatReply {
    /// The member's epoch now (-1 after leaving).
    pub member_epoch: i32,
    /// The member's assignment, when it must be sent (join, full request, or changed).
    pub assignment: Option<MemberAssignment>,
}

/// Why a heartbeat was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatError {
    /// Malformed request (`INVALID_REQUEST`).
    #[error("{0}")]
    InvalidRequest(String),
    /// The member is not in the group (`UNKNOWN_MEMBER_ID`); the client rejoins.
    #[error("member {0} is not in the group")]
    UnknownMember(String),
    /// The epoch is neither the current nor the previous one (`FENCED_MEMBER_EPOCH`).
    #[error("member epoch {received} does not match {current}")]
    FencedEpoch {
        /// Epoch in the request.
        received: i32,
        /// The member's epoch.
        current: i32,
    },
    /// The group is full (`GROUP_MAX_SIZE_REACHED`).
    #[error("the group has reached its maximum size of {0}")]
    GroupFull(usize),
}

impl HeartbeatError {
    /// The Kafka error code.
    pub fn kafka_code(&self) -> i16 {
        match self {
            HeartbeatError::InvalidRequest(_) => ResponseError::InvalidRequest,
            HeartbeatError::UnknownMember(_) => ResponseError::UnknownMemberId,
            HeartbeatError::FencedEpoch { .. } => ResponseError::FencedMemberEpoch,
            HeartbeatError::GroupFull(_) => ResponseError::GroupMaxSizeReached,
        }
        .code()
    }
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Current epoch.
    pub epoch: i32,
    /// The epoch before, accepted once more in case a response was lost.
    pub previous_epoch: i32,
    /// Subscribed topic names.
    pub subscribed: BTreeSet<String>,
    /// Rack id.
    pub rack_id: Option<String>,
    /// Client id of its connection.
    pub client_id: String,
    /// Client host of its connection.
    pub client_host: String,
    /// Last heartbeat (ms).
    pub last_heartbeat_ms: i64,
    /// The assignment last sent to it.
    sent_assignment: Option<MemberAssignment>,
}

/// Group state as Kafka names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Members, all on the target assignment.
    Stable,
}

impl GroupState {
    /// The name in ShareGroupDescribe / ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::Stable => "Stable",
        }
    }
}

/// A share group.
#[derive(Debug, Clone, Default)]
pub struct ShareGroup {
    epoch: i32,
    members: BTreeMap<String, Member>,
    target: BTreeMap<String, MemberAssignment>,
    topics_seen: BTreeMap<String, TopicShape>,
}

impl ShareGroup {
    /// An empty group.
    pub fn new() -> ShareGroup {
        ShareGroup::default()
    }

    /// Group epoch (bumped on every membership, subscription or topic change).
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    /// Empty or Stable.
    pub fn state(&self) -> GroupState {
        if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        }
    }

    /// Members by id.
    pub fn members(&self) -> &BTreeMap<String, Member> {
        &self.members
    }

    /// A member's target assignment.
    pub fn assignment(&self, member_id: &str) -> Option<&MemberAssignment> {
        self.target.get(member_id)
    }

    /// Handles one heartbeat at `now`. `topic` resolves a topic name to its shape (None: no such
    /// topic yet; it is assigned once it exists).
    pub fn heartbeat(
        &mut self,
        hb: Heartbeat,
        now_ms: i64,
        max_size: usize,
        topic: &dyn Fn(&str) -> Option<TopicShape>,
    ) -> Result<HeartbeatReply, HeartbeatError> {
        validate(&hb)?;
        if hb.member_epoch == -1 {
            if self.members.remove(&hb.member_id).is_none() {
                return Err(HeartbeatError::UnknownMember(hb.member_id));
            }
            self.bump(topic);
            return Ok(HeartbeatReply {
                member_epoch: -1,
                assignment: None,
            });
        }
        let full = hb.member_epoch == 0 || hb.subscribed_topic_names.is_some();
        let mut changed = false;
        if hb.member_epoch == 0 {
            if !self.members.contains_key(&hb.member_id) && self.members.len() >= max_size {
                return Err(HeartbeatError::GroupFull(max_size));
            }
            let subscribed: BTreeSet<String> = hb.subscribed_topic_names.iter().flatten().cloned().collect();
            let member = Member {
                epoch: 0,
                previous_epoch: 0,
                subscribed,
                rack_id: hb.rack_id.clone(),
                client_id: hb.client_id.clone(),
                client_host: hb.client_host.clone(),
                last_heartbeat_ms: now_ms,
                sent_assignment: None,
            };
            let old = self.members.insert(hb.member_id.clone(), member);
            changed = old.is_none_or(|o| o.subscribed != self.members[&hb.member_id].subscribed);
        } else {
            let member = self
                .members
                .get_mut(&hb.member_id)
                .ok_or_else(|| HeartbeatError::UnknownMember(hb.member_id.clone()))?;
            if hb.member_epoch != member.epoch && hb.member_epoch != member.previous_epoch {
                return Err(HeartbeatError::FencedEpoch {
                    received: hb.member_epoch,
                    current: member.epoch,
                });
            }
            if let Some(names) = &hb.subscribed_topic_names {
                let subscribed: BTreeSet<String> = names.iter().cloned().collect();
                if subscribed != member.subscribed {
                    member.subscribed = subscribed;
                    changed = true;
                }
            }
            if hb.rack_id.is_some() {
                member.rack_id = hb.rack_id.clone();
            }
            member.last_heartbeat_ms = now_ms;
        }
        if changed || self.topics_changed(topic) {
            self.bump(topic);
        }
        let epoch = self.epoch;
        let target = self.target.get(&hb.member_id).cloned().unwrap_or_default();
        let member = self
            .members
            .get_mut(&hb.member_id)
            .ok_or_else(|| HeartbeatError::UnknownMember(hb.member_id.clone()))?;
        if member.epoch != epoch {
            member.previous_epoch = member.epoch;
            member.epoch = epoch;
        }
        let send = full || member.sent_assignment.as_ref() != Some(&target);
        if send {
            member.sent_assignment = Some(target.clone());
        }
        Ok(HeartbeatReply {
            member_epoch: epoch,
            assignment: send.then_some(target),
        })
    }

    /// Removes members whose last heartbeat is older than `session_timeout_ms`; returns their ids
    /// so the caller can close their share sessions and release their records.
    pub fn expire_members(&mut self, now_ms: i64, session_timeout_ms: i64, topic: &dyn Fn(&str) -> Option<TopicShape>) -> Vec<String> {
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| now_ms - m.last_heartbeat_ms > session_timeout_ms)
            .map(|(id, _)| id.clone())
            .collect();
        if !gone.is_empty() {
            for id in &gone {
                self.members.remove(id);
            }
            self.bump(topic);
        }
        gone
    }

    fn subscribed_union(&self) -> BTreeSet<String> {
        self.members.values().flat_map(|m| m.subscribed.iter().cloned()).collect()
    }

    fn topic_view(&self, topic: &dyn Fn(&str) -> Option<TopicShape>) -> BTreeMap<String, TopicShape> {
        self.subscribed_union()
            .into_iter()
            .filter_map(|name| topic(&name).map(|shape| (name, shape)))
            .collect()
    }

    fn topics_changed(&self, topic: &dyn Fn(&str) -> Option<TopicShape>) -> bool {
        self.topic_view(topic) != self.topics_seen
    }

    /// A new group epoch with a freshly computed target assignment.
    fn bump(&mut self, topic: &dyn Fn(&str) -> Option<TopicShape>) {
        self.topics_seen = self.topic_view(topic);
        let subscriptions: BTreeMap<String, BTreeSet<String>> =
            self.members.iter().map(|(id, m)| (id.clone(), m.subscribed.clone())).collect();
        self.target = assign(&subscriptions, &self.topics_seen);
        self.epoch = self.epoch.wrapping_add(1).max(1);
    }
}

fn validate(hb: &Heartbeat) -> Result<(), HeartbeatError> {
    let invalid = |m: &str| Err(HeartbeatError::InvalidRequest(m.to_string()));
    if hb.member_id.is_empty() || hb.member_id.len() > MAX_MEMBER_ID_LEN {
        return invalid("MemberId must be a non-empty string of at most 36 characters");
    }
    if hb.member_epoch < -1 {
        return invalid("MemberEpoch must be -1, 0 or a current epoch");
    }
    if hb.rack_id.as_deref() == Some("") {
        return invalid("RackId cannot be empty");
    }
    if hb.member_epoch == 0 && hb.subscribed_topic_names.as_ref().is_none_or(|t| t.is_empty()) {
        return invalid("SubscribedTopicNames must be set and non-empty when joining");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn topics(name: &str) -> Option<TopicShape> {
        match name {
            "t" => Some(TopicShape {
                id: Uuid::from_u128(1),
                partitions: 1,
            }),
            "u" => Some(TopicShape {
                id: Uuid::from_u128(2),
                partitions: 4,
            }),
            _ => None,
        }
    }

    fn join(member: &str, subs: &[&str]) -> Heartbeat {
        Heartbeat {
            member_id: member.into(),
            member_epoch: 0,
            rack_id: None,
            subscribed_topic_names: Some(subs.iter().map(|s| s.to_string()).collect()),
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
        }
    }

    fn beat(member: &str, epoch: i32) -> Heartbeat {
        Heartbeat {
            member_epoch: epoch,
            subscribed_topic_names: None,
            ..join(member, &[])
        }
    }

    #[test]
    fn joining_assigns_the_subscribed_partitions_at_the_new_group_epoch() {
        let mut g = ShareGroup::new();
        let r = g.heartbeat(join("a", &["t"]), 0, 200, &topics).unwrap();
        assert_eq!(r.member_epoch, 1);
        assert_eq!(r.assignment, Some(BTreeMap::from([(Uuid::from_u128(1), vec![0])])));
        assert_eq!(g.state(), GroupState::Stable);
    }

    #[test]
    fn a_second_member_bumps_the_epoch_and_both_share_the_partition() {
        let mut g = ShareGroup::new();
        g.heartbeat(join("a", &["t"]), 0, 200, &topics).unwrap();
        let b = g.heartbeat(join("b", &["t"]), 0, 200, &topics).unwrap();
        assert_eq!(b.member_epoch, 2);
        let a = g.heartbeat(beat("a", 1), 10, 200, &topics).unwrap();
        assert_eq!(a.member_epoch, 2);
        assert_eq!(a.assignment, None, "unchanged assignment is not resent");
    }

    #[test]
    fn the_previous_epoch_is_accepted_once_a_stale_one_is_fenced() {
        let mut g = ShareGroup::new();
        g.heartbeat(join("a", &["u"]), 0, 200, &topics).unwrap();
        g.heartbeat(join("b", &["u"]), 0, 200, &topics).unwrap();
        g.heartbeat(beat("a", 1), 0, 200, &topics).unwrap(); // a moves to 2
        assert!(g.heartbeat(beat("a", 1), 0, 200, &topics).is_ok(), "lost response: previous epoch");
        let err = g.heartbeat(beat("a", 7), 0, 200, &topics).unwrap_err();
        assert_eq!(err.kafka_code(), 110);
    }

    #[test]
    fn unknown_members_and_malformed_requests_are_refused() {
        let mut g = ShareGroup::new();
        assert_eq!(g.heartbeat(beat("x", 3), 0, 200, &topics).unwrap_err().kafka_code(), 25);
        assert_eq!(g.heartbeat(join("", &["t"]), 0, 200, &topics).unwrap_err().kafka_code(), 42);
        assert_eq!(g.heartbeat(join("a", &[]), 0, 200, &topics).unwrap_err().kafka_code(), 42);
        assert_eq!(g.heartbeat(beat("a", -2), 0, 200, &topics).unwrap_err().kafka_code(), 42);
        let long = "x".repeat(37);
        assert_eq!(g.heartbeat(join(&long, &["t"]), 0, 200, &topics).unwrap_err().kafka_code(), 42);
    }

    #[test]
    fn a_full_group_refuses_new_members() {
        let mut g = ShareGroup::new();
        g.heartbeat(join("a", &["t"]), 0, 1, &topics).unwrap();
        assert_eq!(g.heartbeat(join("b", &["t"]), 0, 1, &topics).unwrap_err().kafka_code(), 81);
        assert!(g.heartbeat(join("a", &["t"]), 0, 1, &topics).is_ok(), "a member may rejoin");
    }

    #[test]
    fn leaving_removes_the_member_and_rebalances_the_rest() {
        let mut g = ShareGroup::new();
        g.heartbeat(join("a", &["u"]), 0, 200, &topics).unwrap();
        g.heartbeat(join("b", &["u"]), 0, 200, &topics).unwrap();
        let r = g.heartbeat(beat("a", -1), 0, 200, &topics).unwrap();
        assert_eq!(r.member_epoch, -1);
        let b = g.heartbeat(beat("b", 2), 0, 200, &topics).unwrap();
        assert_eq!(b.assignment.unwrap()[&Uuid::from_u128(2)], vec![0, 1, 2, 3]);
    }

    #[test]
    fn members_that_stop_heartbeating_are_expired() {
        let mut g = ShareGroup::new();
        g.heartbeat(join("a", &["t"]), 0, 200, &topics).unwrap();
        g.heartbeat(join("b", &["t"]), 40_000, 200, &topics).unwrap();
        assert_eq!(g.expire_members(50_000, 45_000, &topics), vec!["a".to_string()]);
        assert_eq!(g.members().len(), 1);
        assert_eq!(
            g.heartbeat(beat("a", 2), 50_000, 200, &topics).unwrap_err().kafka_code(),
            25,
            "fenced: must rejoin"
        );
    }

    #[test]
    fn a_topic_created_after_subscribing_is_assigned_on_the_next_heartbeat() {
        let mut g = ShareGroup::new();
        let r = g.heartbeat(join("a", &["later"]), 0, 200, &topics).unwrap();
        assert_eq!(r.assignment, Some(BTreeMap::new()));
        let exists = |n: &str| {
            if n == "later" {
                Some(TopicShape {
                    id: Uuid::from_u128(9),
                    partitions: 2,
                })
            } else {
                None
            }
        };
        let r = g.heartbeat(beat("a", 1), 0, 200, &exists).unwrap();
        assert_eq!(r.member_epoch, 2);
        assert_eq!(r.assignment, Some(BTreeMap::from([(Uuid::from_u128(9), vec![0, 1])])));
    }
}
