//! The topic registry: names, stable topic ids, partition counts and config overrides, persisted
//! as one small JSON file per topic under `<log.dir>/topics/`, and the open partition logs
//! (`<log.dir>/<topic>-<partition>/`, Kafka's layout).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use shard_log::{LogConfig, LogDirHealth, LogError, PartitionLog};
use uuid::Uuid;

use crate::config::BrokerConfig;
use crate::durable_file;
use crate::fd_limit::FdBudget;
use crate::log_throttle::LogThrottle;
use crate::topic_config;

/// Largest topic name Kafka allows.
const MAX_NAME_LEN: usize = 249;

/// Most partitions one CreateTopics request may create, all topics together: Kafka's
/// `ReplicationControlManager.MAX_PARTITIONS_PER_BATCH`, checked before anything else (also for
/// `validate_only`) and refused with POLICY_VIOLATION.
pub const MAX_PARTITIONS_PER_REQUEST: i64 = 10_000;

/// Partitions the broker hosts besides the registry's topics: `__share_group_state-0`.
const INTERNAL_PARTITIONS: i64 = 1;

/// Checks a CreateTopics request's partitions as Kafka's `validateTotalNumberOfPartitions`:
/// `counts` has, per topic, the number of assignments if any were given, else `NumPartitions`
/// (-1 standing for `default_partitions`, other non-positive values counting nothing).
pub fn check_request_partitions(counts: impl IntoIterator<Item = i32>, default_partitions: i32) -> Result<(), TopicError> {
    let mut total: i64 = 0;
    for n in counts {
        total += match n {
            -1 => i64::from(default_partitions),
            n if n > 0 => i64::from(n),
            _ => 0,
        };
        if total > MAX_PARTITIONS_PER_REQUEST {
            return Err(TopicError::PolicyViolation(
                "Excessively large number of partitions per request.".into(),
            ));
        }
    }
    Ok(())
}

/// Why a topic operation failed; each maps to one Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// TOPIC_ALREADY_EXISTS
    #[error("Topic '{0}' already exists.")]
    AlreadyExists(String),
    /// INVALID_TOPIC_EXCEPTION
    #[error("{0}")]
    InvalidName(String),
    /// UNKNOWN_TOPIC_OR_PARTITION
    #[error("This server does not host this topic-partition.")]
    Unknown,
    /// INVALID_PARTITIONS
    #[error("{0}")]
    InvalidPartitions(String),
    /// INVALID_REPLICATION_FACTOR
    #[error("{0}")]
    InvalidReplicationFactor(String),
    /// INVALID_CONFIG
    #[error("{0}")]
    InvalidConfig(String),
    /// INVALID_REQUEST: the internal topic namespace is reserved.
    #[error("{0}")]
    Reserved(String),
    /// POLICY_VIOLATION: a partition limit refuses the new partitions (`max.partitions.per.topic`,
    /// `max.broker.partitions`, the open-file limit, or Kafka's 10,000 per CreateTopics request).
    #[error("{0}")]
    PolicyViolation(String),
    /// KAFKA_STORAGE_ERROR
    #[error("storage error: {0}")]
    Storage(#[from] LogError),
    /// KAFKA_STORAGE_ERROR
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
}

/// What is persisted per topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TopicMeta {
    name: String,
    id: Uuid,
    partitions: i32,
    configs: BTreeMap<String, String>,
}

/// A topic and its open partition logs.
#[derive(Debug)]
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Stable, non-zero topic id.
    pub id: Uuid,
    configs: RwLock<BTreeMap<String, String>>,
    log_config: RwLock<LogConfig>,
    partitions: RwLock<Vec<Arc<PartitionLog>>>,
}

impl Topic {
    /// The effective log settings (broker defaults plus this topic's overrides).
    pub fn log_config(&self) -> LogConfig {
        self.log_config.read().clone()
    }
    /// `min.insync.replicas` of this topic.
    pub fn min_insync_replicas(&self) -> i64 {
        topic_config::min_insync_replicas(&self.configs.read())
    }
    /// The partition log, if `index` exists.
    pub fn partition(&self, index: i32) -> Option<Arc<PartitionLog>> {
        usize::try_from(index).ok().and_then(|i| self.partitions.read().get(i).cloned())
    }
    /// All partition logs, in order.
    pub fn partitions(&self) -> Vec<Arc<PartitionLog>> {
        self.partitions.read().clone()
    }
    /// Number of partitions.
    pub fn partition_count(&self) -> i32 {
        self.partitions.read().len() as i32
    }
    /// The config overrides set on this topic.
    pub fn configs(&self) -> BTreeMap<String, String> {
        self.configs.read().clone()
    }
    fn meta(&self) -> TopicMeta {
        TopicMeta {
            name: self.name.clone(),
            id: self.id,
            partitions: self.partition_count(),
            configs: self.configs(),
        }
    }
}

/// All topics of the broker.
#[derive(Debug)]
pub struct TopicRegistry {
    data_dir: PathBuf,
    meta_dir: PathBuf,
    broker: Arc<BrokerConfig>,
    by_name: RwLock<BTreeMap<String, Arc<Topic>>>,
    by_id: RwLock<HashMap<Uuid, Arc<Topic>>>,
    /// Serializes create/delete/alter so metadata files and logs change together.
    admin: Mutex<()>,
    /// The open-file budget new partitions must fit in (`None`: unlimited or unknown).
    fds: Option<FdBudget>,
    /// When a refusal was last logged and how many were not logged since (auto-creation can be
    /// asked for by any client, so refusals are logged at most once a second).
    refusal_log: LogThrottle,
    /// `log.dir`'s health, shared by every partition log in it (and the share-state log).
    log_dir_health: Arc<LogDirHealth>,
}

/// Whether `name` is one of Shard's internal topics (today only `__share_group_state`, whose
/// log the share coordinator owns): listed in Metadata flagged internal, never created, produced
/// to or deleted by clients.
pub fn is_internal(name: &str) -> bool {
    name == shard_coordinator::STATE_TOPIC
}

/// Checks a topic name the way Kafka does.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    let bad = |why: String| Err(TopicError::InvalidName(why));
    if name.is_empty() {
        return bad("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return bad("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX_NAME_LEN {
        return bad(format!(
            "Topic name is illegal, it can't be longer than {MAX_NAME_LEN} characters, topic name: {name}"
        ));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-') {
        return bad(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

impl TopicRegistry {
    /// Loads every topic under `data_dir` and opens (recovering) its partition logs. Partition
    /// directories of topics with no metadata (a deletion cut short by a crash) are removed;
    /// internal topics' directories (`__share_group_state-0`) are kept.
    pub fn open(data_dir: &Path, broker: Arc<BrokerConfig>) -> Result<Self, TopicError> {
        let meta_dir = data_dir.join("topics");
        fs::create_dir_all(&meta_dir)?;
        let fds = FdBudget::for_process(broker.max_connections);
        let registry = Self {
            data_dir: data_dir.to_path_buf(),
            meta_dir,
            broker,
            by_name: RwLock::new(BTreeMap::new()),
            by_id: RwLock::new(HashMap::new()),
            admin: Mutex::new(()),
            fds,
            refusal_log: LogThrottle::new(),
            log_dir_health: Arc::new(LogDirHealth::new(data_dir)),
        };
        for entry in fs::read_dir(&registry.meta_dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let meta: TopicMeta = serde_json::from_slice(&fs::read(&path)?)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
            let topic = registry.open_topic(&meta)?;
            registry.insert(topic);
        }
        registry.remove_orphan_partition_dirs()?;
        registry.log_capacity();
        Ok(registry)
    }

    /// Logs how many partitions the broker hosts and how many more its limits allow.
    fn log_capacity(&self) {
        let hosted = self.hosted_partitions();
        let room = self.fds.and_then(|b| b.room().map(|r| (b, r)));
        match room {
            Some((budget, room)) => tracing::info!(
                hosted,
                max_broker_partitions = self.broker.max_broker_partitions,
                fd_limit = budget.soft_limit,
                fds_in_use = room.in_use,
                fds_reserved = budget.reserve,
                partitions_fds_allow = room.partitions,
                "partition capacity"
            ),
            None => tracing::info!(
                hosted,
                max_broker_partitions = self.broker.max_broker_partitions,
                "partition capacity (open files not limited or not countable)"
            ),
        }
    }

    /// Partitions this broker hosts: every topic's, plus the internal share-state partition.
    pub fn hosted_partitions(&self) -> i64 {
        INTERNAL_PARTITIONS + self.by_name.read().values().map(|t| i64::from(t.partition_count())).sum::<i64>()
    }

    fn log_refusal(&self, topic: &str, partitions: i32, why: &str) {
        if let Some(unlogged) = self.refusal_log.allow() {
            tracing::warn!(topic, partitions, unlogged, "new partitions refused: {why}");
        }
    }

    /// Checks that `topic` may go from `current` to `total` partitions under
    /// `max.partitions.per.topic`, `max.broker.partitions` and the open-file limit.
    fn check_capacity(&self, topic: &str, current: i32, total: i32) -> Result<(), TopicError> {
        let refuse = |why: String| {
            self.log_refusal(topic, total, &why);
            Err(TopicError::PolicyViolation(why))
        };
        let per_topic = self.broker.max_partitions_per_topic;
        if total > per_topic {
            return refuse(format!(
                "Topic '{topic}' would have {total} partitions, more than max.partitions.per.topic ({per_topic})."
            ));
        }
        let added = i64::from(total) - i64::from(current);
        let hosted = self.hosted_partitions();
        let per_broker = i64::from(self.broker.max_broker_partitions);
        if hosted + added > per_broker {
            return refuse(format!(
                "This broker hosts {hosted} partition(s); {added} more would exceed max.broker.partitions ({per_broker})."
            ));
        }
        if let Some(budget) = self.fds
            && let Some(room) = budget.room()
            && added > i64::try_from(room.partitions).unwrap_or(i64::MAX)
        {
            return refuse(format!(
                "The broker's open-file limit (RLIMIT_NOFILE {}) leaves room for {} more partition(s), not {added}: {} descriptors are open and {} are kept for connections and internal use.",
                budget.soft_limit, room.partitions, room.in_use, budget.reserve
            ));
        }
        Ok(())
    }

    fn remove_orphan_partition_dirs(&self) -> Result<(), TopicError> {
        let known = self.by_name.read();
        for entry in fs::read_dir(&self.data_dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            let Some((topic, part)) = name.rsplit_once('-') else { continue };
            if is_internal(topic) {
                // The share coordinator's log (`__share_group_state-0`), not a topic of the registry.
                continue;
            }
            if part.parse::<u32>().is_err() {
                continue;
            }
            let live = known
                .get(topic)
                .is_some_and(|t| part.parse::<i32>().is_ok_and(|p| p < t.partition_count()));
            if !live {
                tracing::warn!(dir = %entry.path().display(), "removing partition directory of a deleted topic");
                fs::remove_dir_all(entry.path())?;
            }
        }
        Ok(())
    }

    fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.data_dir.join(format!("{topic}-{partition}"))
    }

    /// The health of `log.dir`: offline once an fsync in any of its logs failed.
    pub fn log_dir_health(&self) -> &Arc<LogDirHealth> {
        &self.log_dir_health
    }

    /// Opens a partition log as a member of `log.dir`.
    fn open_log(&self, topic: &str, partition: i32, config: LogConfig) -> Result<Arc<PartitionLog>, LogError> {
        let log = PartitionLog::open(&self.partition_dir(topic, partition), config)?;
        log.join_log_dir(self.log_dir_health.clone());
        Ok(Arc::new(log))
    }

    fn open_topic(&self, meta: &TopicMeta) -> Result<Arc<Topic>, TopicError> {
        let log_config = topic_config::log_config(&self.broker, &meta.configs);
        let partitions = (0..meta.partitions)
            .map(|p| {
                let log = self.open_log(&meta.name, p, log_config.clone());
                if let Err(e) = &log {
                    tracing::error!(topic = %meta.name, partition = p, error = %e, "cannot open partition log");
                }
                log
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Topic {
            name: meta.name.clone(),
            id: meta.id,
            configs: RwLock::new(meta.configs.clone()),
            log_config: RwLock::new(log_config),
            partitions: RwLock::new(partitions),
        }))
    }

    fn insert(&self, topic: Arc<Topic>) {
        self.by_id.write().insert(topic.id, topic.clone());
        self.by_name.write().insert(topic.name.clone(), topic);
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.meta_dir.join(format!("{name}.json"))
    }

    fn persist(&self, meta: &TopicMeta) -> Result<(), TopicError> {
        let json = serde_json::to_vec_pretty(meta).map_err(|e| std::io::Error::other(e.to_string()))?;
        durable_file::write_atomic(&self.meta_path(&meta.name), &json)?;
        Ok(())
    }

    /// The topic called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.by_name.read().get(name).cloned()
    }

    /// The topic with id `id`.
    pub fn get_by_id(&self, id: &Uuid) -> Option<Arc<Topic>> {
        self.by_id.read().get(id).cloned()
    }

    /// Every topic, by name.
    pub fn list(&self) -> Vec<Arc<Topic>> {
        self.by_name.read().values().cloned().collect()
    }

    /// Checks a create request without doing it. Returns the resolved partition count.
    pub fn check_create(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
    ) -> Result<i32, TopicError> {
        validate_name(name)?;
        if is_internal(name) {
            // It always exists (Kafka answers the same for its created internal topics).
            return Err(TopicError::AlreadyExists(name.to_string()));
        }
        if name.starts_with("__") {
            return Err(TopicError::Reserved(format!("Topic name {name} is reserved for internal topics")));
        }
        if self.get(name).is_some() {
            return Err(TopicError::AlreadyExists(name.to_string()));
        }
        let partitions = if partitions == -1 { self.broker.num_partitions } else { partitions };
        if partitions <= 0 {
            return Err(TopicError::InvalidPartitions(
                "Number of partitions was set to an invalid non-positive value.".into(),
            ));
        }
        if replication_factor != -1 && replication_factor != 1 {
            if replication_factor <= 0 {
                return Err(TopicError::InvalidReplicationFactor(
                    "Replication factor must be larger than 0, or -1 to use the default value.".into(),
                ));
            }
            return Err(TopicError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {replication_factor} time(s): The target replication factor of {replication_factor} cannot be reached because only 1 broker(s) are registered."
            )));
        }
        topic_config::validate_all(configs).map_err(TopicError::InvalidConfig)?;
        self.check_capacity(name, 0, partitions)?;
        Ok(partitions)
    }

    /// Creates a topic (partitions = -1 means `num.partitions`).
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, TopicError> {
        let _guard = self.admin.lock();
        let partitions = self.check_create(name, partitions, replication_factor, &configs)?;
        let meta = TopicMeta {
            name: name.to_string(),
            id: new_topic_id(),
            partitions,
            configs,
        };
        // Logs first, then the metadata file: a crash in between leaves orphan directories that
        // the next start removes, never a topic whose logs are missing.
        let topic = self.open_topic(&meta)?;
        self.persist(&meta)?;
        self.insert(topic.clone());
        tracing::info!(topic = name, partitions, id = %meta.id, "created topic");
        Ok(topic)
    }

    /// The topic called `name`, created with the broker defaults if it does not exist and
    /// `auto_create` is set (Kafka's auto.create.topics.enable). Losing a creation race to
    /// another request answers with the winner's topic; `AlreadyExists` is returned only if that
    /// topic is gone again.
    pub fn get_or_create(&self, name: &str, auto_create: bool) -> Result<Arc<Topic>, TopicError> {
        if let Some(topic) = self.get(name) {
            return Ok(topic);
        }
        if !auto_create {
            return Err(TopicError::Unknown);
        }
        match self.create(name, -1, -1, BTreeMap::new()) {
            Err(TopicError::AlreadyExists(n)) => self.get(name).ok_or(TopicError::AlreadyExists(n)),
            other => other,
        }
    }

    /// Deletes a topic and its data.
    pub fn delete(&self, name: &str) -> Result<Arc<Topic>, TopicError> {
        let _guard = self.admin.lock();
        let topic = self.get(name).ok_or(TopicError::Unknown)?;
        // Metadata first: once it is gone the topic is gone, even if removing data is cut short.
        durable_file::remove(&self.meta_path(name))?;
        self.by_name.write().remove(name);
        self.by_id.write().remove(&topic.id);
        for log in topic.partitions() {
            if let Err(e) = log.delete() {
                tracing::warn!(topic = name, error = %e, "could not remove partition data; it is removed at next start");
            }
        }
        tracing::info!(topic = name, "deleted topic");
        Ok(topic)
    }

    /// Checks that `name` can grow to `total` partitions.
    pub fn check_add_partitions(&self, name: &str, total: i32) -> Result<Arc<Topic>, TopicError> {
        let topic = self.get(name).ok_or(TopicError::Unknown)?;
        let current = topic.partition_count();
        if total < current {
            return Err(TopicError::InvalidPartitions(format!(
                "Topic currently has {current} partitions, which is higher than the requested {total}."
            )));
        }
        if total == current {
            return Err(TopicError::InvalidPartitions(format!("Topic already has {current} partitions.")));
        }
        self.check_capacity(name, current, total)?;
        Ok(topic)
    }

    /// Grows a topic to `total` partitions.
    pub fn add_partitions(&self, name: &str, total: i32) -> Result<(), TopicError> {
        let _guard = self.admin.lock();
        let topic = self.check_add_partitions(name, total)?;
        let log_config = topic.log_config();
        let current = topic.partition_count();
        let mut added = Vec::new();
        for p in current..total {
            added.push(self.open_log(name, p, log_config.clone())?);
        }
        topic.partitions.write().extend(added);
        self.persist(&topic.meta())?;
        tracing::info!(topic = name, partitions = total, "added partitions");
        Ok(())
    }

    /// Replaces a topic's config overrides (already validated) and applies them to its logs.
    pub fn set_configs(&self, name: &str, configs: BTreeMap<String, String>) -> Result<(), TopicError> {
        let _guard = self.admin.lock();
        let topic = self.get(name).ok_or(TopicError::Unknown)?;
        topic_config::validate_all(&configs).map_err(TopicError::InvalidConfig)?;
        let log_config = topic_config::log_config(&self.broker, &configs);
        *topic.configs.write() = configs;
        *topic.log_config.write() = log_config.clone();
        self.persist(&topic.meta())?;
        for log in topic.partitions() {
            log.set_config(log_config.clone());
        }
        Ok(())
    }

    /// Closes every log (flushing it), for shutdown.
    pub fn close_all(&self) {
        for topic in self.list() {
            for log in topic.partitions() {
                if let Err(e) = log.close() {
                    tracing::warn!(topic = %topic.name, error = %e, "closing partition log failed");
                }
            }
        }
    }
}

/// A random topic id that is never the all-zero id (Kafka's "no id").
fn new_topic_id() -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if !id.is_nil() {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_partitions_are_counted_as_kafka_counts_them() {
        assert!(check_request_partitions([10_000], 1).is_ok());
        assert!(check_request_partitions([10_001], 1).is_err());
        assert!(check_request_partitions([i32::MAX], 1).is_err());
        // -1 is the default count; zero and other negatives count nothing (refused later).
        assert!(check_request_partitions([-1, 9_999], 1).is_ok());
        assert!(check_request_partitions([-1, 9_999], 2).is_err());
        assert!(check_request_partitions([i32::MIN, 0, -5, 10_000], 1).is_ok());
        // The sum cannot overflow: 2^31-1 topics' worth is refused at the first that crosses.
        assert!(check_request_partitions(std::iter::repeat_n(i32::MAX, 1_000), 1).is_err());
    }
}
