//! Share sessions: one per (group, member), bound to the connection that opened it. A session
//! remembers which share-partitions the member fetches from, so later ShareFetch requests only
//! send changes; closing it (epoch -1 or the connection dropping) releases the member's records.

use std::collections::{BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

/// A share-partition in a session: topic id and partition.
pub type SessionPartition = (Uuid, i32);

/// Session key: group id and member id.
pub type SessionKey = (String, String);

/// One share session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSession {
    /// The epoch the next request must carry.
    pub epoch: i32,
    /// Partitions fetched from.
    pub partitions: BTreeSet<SessionPartition>,
    /// Connection that owns the session.
    pub connection_id: u64,
}

/// Why a session operation was refused (top-level ShareFetch/ShareAcknowledge errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No session for this member (`SHARE_SESSION_NOT_FOUND`, 122).
    #[error("share session not found")]
    NotFound,
    /// Wrong epoch (`INVALID_SHARE_SESSION_EPOCH`, 123).
    #[error("share session epoch {received} does not match {expected}")]
    InvalidEpoch {
        /// Epoch in the request.
        received: i32,
        /// Epoch expected.
        expected: i32,
    },
    /// Too many sessions on this broker (`SHARE_SESSION_LIMIT_REACHED`, 133).
    #[error("the broker holds the maximum number of share sessions")]
    LimitReached,
}

impl SessionError {
    /// The Kafka error code.
    pub fn kafka_code(self) -> i16 {
        match self {
            SessionError::NotFound => ResponseError::ShareSessionNotFound,
            SessionError::InvalidEpoch { .. } => ResponseError::InvalidShareSessionEpoch,
            SessionError::LimitReached => ResponseError::ShareSessionLimitReached,
        }
        .code()
    }
}

/// The next session epoch: wraps from `i32::MAX` to 1, as Kafka does.
pub fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX { 1 } else { epoch + 1 }
}

/// All share sessions of the broker.
#[derive(Debug, Default)]
pub struct SessionCache {
    sessions: HashMap<SessionKey, ShareSession>,
    max_sessions: usize,
}

impl SessionCache {
    /// A cache holding at most `max_sessions` (`group.share.max.share.sessions`).
    pub fn new(max_sessions: usize) -> SessionCache {
        SessionCache {
            sessions: HashMap::new(),
            max_sessions,
        }
    }

    /// Opens a session (epoch 0 request), replacing any existing one for the key. Returns the
    /// replaced session, whose records stay acquired (Kafka keeps them until their locks expire).
    pub fn open(
        &mut self,
        key: SessionKey,
        partitions: BTreeSet<SessionPartition>,
        connection_id: u64,
    ) -> Result<Option<ShareSession>, SessionError> {
        if !self.sessions.contains_key(&key) && self.sessions.len() >= self.max_sessions {
            return Err(SessionError::LimitReached);
        }
        Ok(self.sessions.insert(
            key,
            ShareSession {
                epoch: 1,
                partitions,
                connection_id,
            },
        ))
    }

    /// Checks a follow-up request's epoch and moves the session to the next one, applying
    /// partition additions and removals. Returns the session after the update.
    pub fn advance(
        &mut self,
        key: &SessionKey,
        epoch: i32,
        add: impl IntoIterator<Item = SessionPartition>,
        forget: impl IntoIterator<Item = SessionPartition>,
    ) -> Result<&ShareSession, SessionError> {
        let session = self.sessions.get_mut(key).ok_or(SessionError::NotFound)?;
        if session.epoch != epoch {
            return Err(SessionError::InvalidEpoch {
                received: epoch,
                expected: session.epoch,
            });
        }
        session.partitions.extend(add);
        for p in forget {
            session.partitions.remove(&p);
        }
        session.epoch = next_epoch(session.epoch);
        Ok(session)
    }

    /// The session for `key`, if any.
    pub fn get(&self, key: &SessionKey) -> Option<&ShareSession> {
        self.sessions.get(key)
    }

    /// Closes a session (epoch -1 request); the caller releases its records.
    pub fn close(&mut self, key: &SessionKey) -> Result<ShareSession, SessionError> {
        self.sessions.remove(key).ok_or(SessionError::NotFound)
    }

    /// Closes every session a dropped connection owned.
    pub fn close_connection(&mut self, connection_id: u64) -> Vec<(SessionKey, ShareSession)> {
        let keys: Vec<SessionKey> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.connection_id == connection_id)
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter().filter_map(|k| self.sessions.remove(&k).map(|s| (k, s))).collect()
    }

    /// Closes every session of a member that left or was fenced.
    pub fn close_member(&mut self, group: &str, member: &str) -> Option<ShareSession> {
        self.sessions.remove(&(group.to_string(), member.to_string()))
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(m: &str) -> SessionKey {
        ("g".to_string(), m.to_string())
    }

    fn tp(p: i32) -> SessionPartition {
        (Uuid::from_u128(1), p)
    }

    #[test]
    fn epochs_advance_from_one_and_wrap_to_one() {
        let mut c = SessionCache::new(10);
        c.open(key("a"), BTreeSet::from([tp(0)]), 7).unwrap();
        assert_eq!(c.advance(&key("a"), 1, [], []).unwrap().epoch, 2);
        assert_eq!(next_epoch(i32::MAX), 1);
    }

    #[test]
    fn a_wrong_epoch_or_missing_session_is_refused() {
        let mut c = SessionCache::new(10);
        assert_eq!(c.advance(&key("a"), 1, [], []).unwrap_err().kafka_code(), 122);
        c.open(key("a"), BTreeSet::new(), 7).unwrap();
        assert_eq!(c.advance(&key("a"), 5, [], []).unwrap_err().kafka_code(), 123);
        assert_eq!(c.close(&key("b")).unwrap_err().kafka_code(), 122);
    }

    #[test]
    fn partitions_are_added_and_forgotten() {
        let mut c = SessionCache::new(10);
        c.open(key("a"), BTreeSet::from([tp(0)]), 7).unwrap();
        let s = c.advance(&key("a"), 1, [tp(1), tp(2)], [tp(0)]).unwrap();
        assert_eq!(s.partitions, BTreeSet::from([tp(1), tp(2)]));
    }

    #[test]
    fn the_session_limit_refuses_new_members_but_not_reopening() {
        let mut c = SessionCache::new(1);
        c.open(key("a"), BTreeSet::new(), 7).unwrap();
        assert_eq!(c.open(key("b"), BTreeSet::new(), 7).unwrap_err().kafka_code(), 133);
        assert!(
            c.open(key("a"), BTreeSet::new(), 8).unwrap().is_some(),
            "epoch 0 replaces the old session"
        );
    }

    #[test]
    fn a_dropped_connection_closes_only_its_sessions() {
        let mut c = SessionCache::new(10);
        c.open(key("a"), BTreeSet::new(), 7).unwrap();
        c.open(key("b"), BTreeSet::new(), 8).unwrap();
        let closed = c.close_connection(7);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].0, key("a"));
        assert!(c.get(&key("b")).is_some());
    }
}
