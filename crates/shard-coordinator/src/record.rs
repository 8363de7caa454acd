//! The `__share_group_state` record format (documented in `docs/share-coordinator.md`).
//!
//! Key bytes are an int16 record type followed by the key struct (version 0, not flexible);
//! value bytes are an int16 value version followed by the value struct (version 0, flexible:
//! compact arrays and strings, a tagged-field section at the end of every struct). A null value
//! is a tombstone. Types 0 and 1 are byte-for-byte Kafka's `ShareSnapshot` and `ShareUpdate`
//! records (4.2 schemas); type 100 is Shard's own group-config record.

use std::collections::BTreeMap;

use shard_share::{DurableState, ShareSnapshot, SnapshotError, StateDelta, StateRange};
use uuid::Uuid;

/// Record type of a share-partition snapshot (Kafka's `ShareSnapshotKey` apiKey).
pub const SHARE_SNAPSHOT: i16 = 0;
/// Record type of a share-partition update (Kafka's `ShareUpdateKey` apiKey).
pub const SHARE_UPDATE: i16 = 1;
/// Record type of a group's explicit configs (Shard only).
pub const GROUP_CONFIG: i16 = 100;
/// The only value version written and read.
pub const VALUE_VERSION: i16 = 0;
/// Tag of `DeliveryCompleteCount` in snapshot and update values.
const DELIVERY_COMPLETE_COUNT_TAG: u32 = 0;

/// A share-partition: one share group reading one topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharePartitionKey {
    /// The share group.
    pub group_id: String,
    /// The topic's id.
    pub topic_id: Uuid,
    /// The partition index.
    pub partition: i32,
}

impl SharePartitionKey {
    /// A key for `group_id`, `topic_id`, `partition`.
    pub fn new(group_id: impl Into<String>, topic_id: Uuid, partition: i32) -> SharePartitionKey {
        SharePartitionKey {
            group_id: group_id.into(),
            topic_id,
            partition,
        }
    }
}

/// A record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// `ShareSnapshotKey` (type 0). A tombstone on this key deletes the share-partition's state.
    ShareSnapshot(SharePartitionKey),
    /// `ShareUpdateKey` (type 1).
    ShareUpdate(SharePartitionKey),
    /// Group configs of one group (type 100). A tombstone deletes them.
    GroupConfig(String),
}

impl RecordKey {
    /// The record type id.
    pub fn record_type(&self) -> i16 {
        match self {
            RecordKey::ShareSnapshot(_) => SHARE_SNAPSHOT,
            RecordKey::ShareUpdate(_) => SHARE_UPDATE,
            RecordKey::GroupConfig(_) => GROUP_CONFIG,
        }
    }
}

/// `ShareSnapshotValue` v0: the whole state of a share-partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSnapshotValue {
    /// Incremented by every snapshot of the share-partition.
    pub snapshot_epoch: i32,
    /// Incremented when the state is re-initialized (an admin reset).
    pub state_epoch: i32,
    /// Leader epoch of the share-partition (always 0 on a single broker).
    pub leader_epoch: i32,
    /// Share-partition start offset.
    pub start_offset: i64,
    /// Offsets at or above the start offset whose delivery is complete; -1 = not known.
    pub delivery_complete_count: i32,
    /// When the share-partition's state was created.
    pub create_timestamp: i64,
    /// When this snapshot was written.
    pub write_timestamp: i64,
    /// The state batches, sorted and non-overlapping.
    pub state_batches: Vec<StateRange>,
}

impl ShareSnapshotValue {
    /// The share-partition state this snapshot holds.
    pub fn to_snapshot(&self) -> ShareSnapshot {
        ShareSnapshot {
            start_offset: self.start_offset,
            ranges: self.state_batches.clone(),
        }
    }
}

/// `ShareUpdateValue` v0: the state batches one write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareUpdateValue {
    /// Epoch of the snapshot this update follows.
    pub snapshot_epoch: i32,
    /// Leader epoch of the share-partition (always 0 on a single broker).
    pub leader_epoch: i32,
    /// The new start offset, or -1 when it did not move.
    pub start_offset: i64,
    /// Offsets at or above the start offset whose delivery is complete; -1 = not known.
    pub delivery_complete_count: i32,
    /// The state batches written, applied in order (later ones win where they overlap).
    pub state_batches: Vec<StateRange>,
}

impl ShareUpdateValue {
    /// The delta this update applies (never a reset: resets are written as snapshots).
    pub fn to_delta(&self) -> StateDelta {
        StateDelta {
            reset: false,
            start_offset: (self.start_offset >= 0).then_some(self.start_offset),
            ranges: self.state_batches.clone(),
        }
    }
}

/// A group's explicitly set configs (name → value), as IncrementalAlterConfigs left them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupConfigValue {
    /// Config name → value.
    pub configs: BTreeMap<String, String>,
}

/// A record value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordValue {
    /// For a [`RecordKey::ShareSnapshot`] key.
    ShareSnapshot(ShareSnapshotValue),
    /// For a [`RecordKey::ShareUpdate`] key.
    ShareUpdate(ShareUpdateValue),
    /// For a [`RecordKey::GroupConfig`] key.
    GroupConfig(GroupConfigValue),
}

/// One `__share_group_state` record: a key and a value, or a tombstone (`value: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// The key.
    pub key: RecordKey,
    /// The value; `None` is a tombstone.
    pub value: Option<RecordValue>,
}

/// Why stored bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes end inside a field.
    #[error("{what} truncated: field at byte {at} needs {needed} bytes")]
    Truncated {
        /// Key or value.
        what: &'static str,
        /// Position of the field.
        at: usize,
        /// Bytes the field needs.
        needed: usize,
    },
    /// Bytes are left after the struct.
    #[error("{what} has {count} bytes after its last field")]
    TrailingBytes {
        /// Key or value.
        what: &'static str,
        /// How many.
        count: usize,
    },
    /// The key is null.
    #[error("record has a null key")]
    NullKey,
    /// The record type is not one this format defines.
    #[error("unknown record type {0}")]
    UnknownRecordType(i16),
    /// The value version is not 0.
    #[error("unsupported value version {version} for record type {record_type}")]
    UnsupportedVersion {
        /// Record type of the key.
        record_type: i16,
        /// Version found.
        version: i16,
    },
    /// A string is null, has a negative length or is not UTF-8.
    #[error("invalid string at byte {0}")]
    InvalidString(usize),
    /// An array is null or has a negative length.
    #[error("invalid array length at byte {0}")]
    InvalidArray(usize),
    /// An unsigned varint runs past 5 bytes.
    #[error("invalid varint at byte {0}")]
    InvalidVarint(usize),
    /// A delivery state is not 0, 2 or 4.
    #[error("invalid delivery state {0}")]
    InvalidDeliveryState(i8),
    /// A delivery count is negative.
    #[error("negative delivery count {0}")]
    NegativeDeliveryCount(i16),
    /// A state batch has its last offset before its first, or a negative first offset.
    #[error("invalid state batch {first}..={last}")]
    InvalidStateBatch {
        /// First offset.
        first: i64,
        /// Last offset.
        last: i64,
    },
    /// An update's start offset is below -1.
    #[error("invalid start offset {0}")]
    InvalidStartOffset(i64),
    /// A snapshot's batches are out of order or its start offset is negative.
    #[error("invalid snapshot: {0}")]
    InvalidSnapshot(#[from] SnapshotError),
    /// A tagged field that this format defines has the wrong size.
    #[error("tagged field {tag} has size {size}")]
    InvalidTaggedField {
        /// The tag.
        tag: u32,
        /// Its size.
        size: usize,
    },
    /// A group-config record names one config twice.
    #[error("config {0} appears twice")]
    DuplicateConfig(String),
}

// ---------------------------------------------------------------------------------------------
// Encoding

fn put_i16(out: &mut Vec<u8>, v: i16) {
    out.extend_from_slice(&v.to_be_bytes());
}
fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}
fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}
fn put_uvarint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
/// Non-flexible string: int16 length, UTF-8 bytes. Strings longer than `i16::MAX` bytes are
/// refused earlier (group ids are bounded by the protocol's string type).
fn put_string(out: &mut Vec<u8>, s: &str) {
    put_i16(out, s.len() as i16);
    out.extend_from_slice(s.as_bytes());
}
/// Compact (flexible) string: unsigned varint length + 1, UTF-8 bytes.
fn put_compact_string(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u32 + 1);
    out.extend_from_slice(s.as_bytes());
}
fn put_compact_len(out: &mut Vec<u8>, len: usize) {
    put_uvarint(out, len as u32 + 1);
}

fn put_state_batches(out: &mut Vec<u8>, batches: &[StateRange]) {
    put_compact_len(out, batches.len());
    for b in batches {
        put_i64(out, b.first_offset);
        put_i64(out, b.last_offset);
        out.push(b.state.code() as u8);
        put_i16(out, b.delivery_count as i16);
        put_uvarint(out, 0); // no tagged fields
    }
}

/// The tagged-field section of a snapshot or update value.
fn put_delivery_complete_count(out: &mut Vec<u8>, count: i32) {
    if count == -1 {
        put_uvarint(out, 0);
    } else {
        put_uvarint(out, 1);
        put_uvarint(out, DELIVERY_COMPLETE_COUNT_TAG);
        put_uvarint(out, 4);
        put_i32(out, count);
    }
}

fn put_partition_key(out: &mut Vec<u8>, key: &SharePartitionKey) {
    put_string(out, &key.group_id);
    out.extend_from_slice(key.topic_id.as_bytes());
    put_i32(out, key.partition);
}

impl RecordKey {
    /// The key bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        put_i16(&mut out, self.record_type());
        match self {
            RecordKey::ShareSnapshot(k) | RecordKey::ShareUpdate(k) => put_partition_key(&mut out, k),
            RecordKey::GroupConfig(group) => put_string(&mut out, group),
        }
        out
    }
}

impl RecordValue {
    /// The value bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        put_i16(&mut out, VALUE_VERSION);
        match self {
            RecordValue::ShareSnapshot(v) => {
                put_i32(&mut out, v.snapshot_epoch);
                put_i32(&mut out, v.state_epoch);
                put_i32(&mut out, v.leader_epoch);
                put_i64(&mut out, v.start_offset);
                put_i64(&mut out, v.create_timestamp);
                put_i64(&mut out, v.write_timestamp);
                put_state_batches(&mut out, &v.state_batches);
                put_delivery_complete_count(&mut out, v.delivery_complete_count);
            }
            RecordValue::ShareUpdate(v) => {
                put_i32(&mut out, v.snapshot_epoch);
                put_i32(&mut out, v.leader_epoch);
                put_i64(&mut out, v.start_offset);
                put_state_batches(&mut out, &v.state_batches);
                put_delivery_complete_count(&mut out, v.delivery_complete_count);
            }
            RecordValue::GroupConfig(v) => {
                put_compact_len(&mut out, v.configs.len());
                for (name, value) in &v.configs {
                    put_compact_string(&mut out, name);
                    put_compact_string(&mut out, value);
                    put_uvarint(&mut out, 0);
                }
                put_uvarint(&mut out, 0);
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding: every read is bounds-checked; stored bytes never cause a panic.

struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Reader { what, buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(FormatError::Truncated {
                what: self.what,
                at: self.pos,
                needed: n,
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn i8(&mut self) -> Result<i8, FormatError> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    fn i16(&mut self) -> Result<i16, FormatError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    fn i32(&mut self) -> Result<i32, FormatError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, FormatError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn uvarint(&mut self) -> Result<u32, FormatError> {
        let start = self.pos;
        let mut v: u32 = 0;
        for i in 0..5 {
            let b = self.array::<1>()?[0];
            let bits = u32::from(b & 0x7f);
            if i == 4 && bits > 0x0f {
                return Err(FormatError::InvalidVarint(start));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(FormatError::InvalidVarint(start))
    }

    fn utf8(&mut self, at: usize, len: usize) -> Result<String, FormatError> {
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| FormatError::InvalidString(at))
    }

    fn string(&mut self) -> Result<String, FormatError> {
        let at = self.pos;
        let len = usize::try_from(self.i16()?).map_err(|_| FormatError::InvalidString(at))?;
        self.utf8(at, len)
    }

    fn compact_string(&mut self) -> Result<String, FormatError> {
        let at = self.pos;
        let len = self.uvarint()?.checked_sub(1).ok_or(FormatError::InvalidString(at))?;
        self.utf8(at, len as usize)
    }

    fn compact_len(&mut self) -> Result<usize, FormatError> {
        let at = self.pos;
        let len = self.uvarint()?.checked_sub(1).ok_or(FormatError::InvalidArray(at))? as usize;
        // Every element takes at least one byte: refuse lengths the bytes cannot hold before
        // allocating for them.
        if len > self.buf.len() - self.pos {
            return Err(FormatError::InvalidArray(at));
        }
        Ok(len)
    }

    fn uuid(&mut self) -> Result<Uuid, FormatError> {
        Ok(Uuid::from_bytes(self.array()?))
    }

    /// Reads a tagged-field section, handing each field to `known` (which returns whether it
    /// consumed it); unknown tags are skipped, as Kafka does.
    fn tagged_fields(&mut self, mut known: impl FnMut(u32, &[u8]) -> Result<bool, FormatError>) -> Result<(), FormatError> {
        let count = self.uvarint()?;
        for _ in 0..count {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let data = self.take(size)?;
            known(tag, data)?;
        }
        Ok(())
    }

    fn no_tagged_fields(&mut self) -> Result<(), FormatError> {
        self.tagged_fields(|_, _| Ok(false))
    }

    fn finish(&self) -> Result<(), FormatError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            n => Err(FormatError::TrailingBytes { what: self.what, count: n }),
        }
    }
}

fn read_partition_key(r: &mut Reader<'_>) -> Result<SharePartitionKey, FormatError> {
    Ok(SharePartitionKey {
        group_id: r.string()?,
        topic_id: r.uuid()?,
        partition: r.i32()?,
    })
}

fn read_state_batches(r: &mut Reader<'_>) -> Result<Vec<StateRange>, FormatError> {
    let n = r.compact_len()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let first = r.i64()?;
        let last = r.i64()?;
        let code = r.i8()?;
        let count = r.i16()?;
        r.no_tagged_fields()?;
        if first < 0 || last < first {
            return Err(FormatError::InvalidStateBatch { first, last });
        }
        let state = DurableState::from_code(code).ok_or(FormatError::InvalidDeliveryState(code))?;
        let delivery_count = u16::try_from(count).map_err(|_| FormatError::NegativeDeliveryCount(count))?;
        out.push(StateRange {
            first_offset: first,
            last_offset: last,
            state,
            delivery_count,
        });
    }
    Ok(out)
}

fn read_delivery_complete_count(r: &mut Reader<'_>) -> Result<i32, FormatError> {
    let mut count = -1;
    r.tagged_fields(|tag, data| {
        if tag != DELIVERY_COMPLETE_COUNT_TAG {
            return Ok(false);
        }
        let bytes: [u8; 4] = data
            .try_into()
            .map_err(|_| FormatError::InvalidTaggedField { tag, size: data.len() })?;
        count = i32::from_be_bytes(bytes);
        Ok(true)
    })?;
    Ok(count)
}

impl RecordKey {
    /// Decodes key bytes.
    pub fn decode(bytes: &[u8]) -> Result<RecordKey, FormatError> {
        let mut r = Reader::new("key", bytes);
        let key = match r.i16()? {
            SHARE_SNAPSHOT => RecordKey::ShareSnapshot(read_partition_key(&mut r)?),
            SHARE_UPDATE => RecordKey::ShareUpdate(read_partition_key(&mut r)?),
            GROUP_CONFIG => RecordKey::GroupConfig(r.string()?),
            other => return Err(FormatError::UnknownRecordType(other)),
        };
        r.finish()?;
        Ok(key)
    }
}

impl RecordValue {
    /// Decodes the value bytes of a record whose key has type `record_type`.
    pub fn decode(record_type: i16, bytes: &[u8]) -> Result<RecordValue, FormatError> {
        let mut r = Reader::new("value", bytes);
        let version = r.i16()?;
        if !matches!(record_type, SHARE_SNAPSHOT | SHARE_UPDATE | GROUP_CONFIG) {
            return Err(FormatError::UnknownRecordType(record_type));
        }
        if version != VALUE_VERSION {
            return Err(FormatError::UnsupportedVersion { record_type, version });
        }
        let value = match record_type {
            SHARE_SNAPSHOT => {
                let snapshot_epoch = r.i32()?;
                let state_epoch = r.i32()?;
                let leader_epoch = r.i32()?;
                let start_offset = r.i64()?;
                let create_timestamp = r.i64()?;
                let write_timestamp = r.i64()?;
                let state_batches = read_state_batches(&mut r)?;
                let delivery_complete_count = read_delivery_complete_count(&mut r)?;
                let v = ShareSnapshotValue {
                    snapshot_epoch,
                    state_epoch,
                    leader_epoch,
                    start_offset,
                    delivery_complete_count,
                    create_timestamp,
                    write_timestamp,
                    state_batches,
                };
                v.to_snapshot().validate()?;
                RecordValue::ShareSnapshot(v)
            }
            SHARE_UPDATE => {
                let snapshot_epoch = r.i32()?;
                let leader_epoch = r.i32()?;
                let start_offset = r.i64()?;
                if start_offset < -1 {
                    return Err(FormatError::InvalidStartOffset(start_offset));
                }
                let state_batches = read_state_batches(&mut r)?;
                let delivery_complete_count = read_delivery_complete_count(&mut r)?;
                RecordValue::ShareUpdate(ShareUpdateValue {
                    snapshot_epoch,
                    leader_epoch,
                    start_offset,
                    delivery_complete_count,
                    state_batches,
                })
            }
            _ => {
                let n = r.compact_len()?;
                let mut configs = BTreeMap::new();
                for _ in 0..n {
                    let name = r.compact_string()?;
                    let value = r.compact_string()?;
                    r.no_tagged_fields()?;
                    if configs.contains_key(&name) {
                        return Err(FormatError::DuplicateConfig(name));
                    }
                    configs.insert(name, value);
                }
                r.no_tagged_fields()?;
                RecordValue::GroupConfig(GroupConfigValue { configs })
            }
        };
        r.finish()?;
        Ok(value)
    }
}

impl StateRecord {
    /// Decodes a record from its key and value bytes (`None` = tombstone).
    pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<StateRecord, FormatError> {
        let key = RecordKey::decode(key.ok_or(FormatError::NullKey)?)?;
        let value = match value {
            Some(v) => Some(RecordValue::decode(key.record_type(), v)?),
            None => None,
        };
        Ok(StateRecord { key, value })
    }

    /// Key bytes and value bytes (`None` for a tombstone).
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        (self.key.encode(), self.value.as_ref().map(RecordValue::encode))
    }
}
