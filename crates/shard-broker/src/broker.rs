//! The broker's shared state, handed to every connection.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shard_coordinator::{ShareStateStore, StoreError, StoreOptions};

use crate::config::BrokerConfig;
use crate::durable_file;
use crate::producer_ids::ProducerIdAllocator;
use crate::share::group_configs::GroupConfigs;
use crate::share::manager::ShareManager;
use crate::topics::{TopicError, TopicRegistry};

/// Identity persisted in `<log.dir>/meta.json` at first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClusterMeta {
    cluster_id: String,
}

/// Why the data directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Topics, their logs or the broker metadata.
    #[error("{0}")]
    Topics(#[from] TopicError),
    /// The share-group state log (`__share_group_state-0`).
    #[error("cannot open share-group state: {0}")]
    ShareState(#[from] StoreError),
}

impl From<std::io::Error> for OpenError {
    fn from(e: std::io::Error) -> Self {
        OpenError::Topics(TopicError::Io(e))
    }
}

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct Broker {
    /// Settings from broker.toml.
    pub config: Arc<BrokerConfig>,
    /// Cluster id, stable across restarts.
    pub cluster_id: String,
    /// Host advertised to clients.
    pub advertised_host: String,
    /// Port advertised to clients.
    pub advertised_port: i32,
    /// All topics and their logs.
    pub topics: TopicRegistry,
    /// InitProducerId ids.
    pub producer_ids: ProducerIdAllocator,
    /// Per-group configs (ConfigResource GROUP).
    pub group_configs: GroupConfigs,
    /// Share groups, share sessions and share-partitions.
    pub shares: ShareManager,
    /// Persisted share-group state and group configs (`<log.dir>/__share_group_state-0`).
    pub share_store: Arc<ShareStateStore>,
    /// Topic id Metadata gives `__share_group_state` (derived from the cluster id: stable
    /// across restarts).
    pub share_state_topic_id: uuid::Uuid,
    /// Cancelled when shutdown starts: long-polling Fetch and ShareFetch answer with what they
    /// have instead of holding the shutdown for their whole MaxWaitMs.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl Broker {
    /// Opens the data directory (recovering every log) for a broker bound to `bound`, and
    /// rebuilds share-group state and group configs from `__share_group_state`.
    pub fn open(config: Arc<BrokerConfig>, bound: SocketAddr) -> Result<Self, OpenError> {
        let dir = config.log_dir.clone();
        std::fs::create_dir_all(&dir)?;
        let cluster_id = load_or_create_cluster_id(&dir)?;
        let (advertised_host, advertised_port) = config.advertised(bound);
        let topics = TopicRegistry::open(&dir, config.clone())?;
        let producer_ids = ProducerIdAllocator::open(&dir)?;
        let options = StoreOptions {
            updates_per_snapshot: u32::try_from(config.share_coordinator_snapshot_update_records_per_snapshot).unwrap_or(0),
            ..StoreOptions::default()
        };
        // Never retention: only pruning removes share state, once newer records cover it.
        let log_config = shard_log::LogConfig {
            retention_ms: -1,
            retention_bytes: -1,
            ..config.log_defaults()
        };
        let (store, recovered) = ShareStateStore::open(&dir, log_config, options)?;
        // The share-state log lives in log.dir too: its failures take the directory offline.
        store.log().join_log_dir(topics.log_dir_health().clone());
        let store = Arc::new(store);
        let group_configs = GroupConfigs::with_store(config.clone(), store.clone(), recovered.group_configs);
        let shares = ShareManager::with_store(config.clone(), store.clone());
        shares.restore(recovered.partitions, &group_configs, &topics, crate::clock::now_ms());
        Ok(Self {
            share_state_topic_id: internal_topic_id(&cluster_id, shard_coordinator::STATE_TOPIC),
            group_configs,
            shares,
            share_store: store,
            config,
            cluster_id,
            advertised_host,
            advertised_port,
            topics,
            producer_ids,
            stopping: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// Waits for `event` until `deadline`, or until shutdown starts; true if `event` came first.
    /// Long polls wait through this so a stop never waits out a client's MaxWaitMs.
    pub async fn wait_until<F: std::future::Future>(&self, deadline: tokio::time::Instant, event: F) -> bool {
        tokio::select! {
            r = tokio::time::timeout_at(deadline, event) => r.is_ok(),
            _ = self.stopping.cancelled() => false,
        }
    }

    /// This broker's node id.
    pub fn node_id(&self) -> i32 {
        self.config.node_id
    }
}

/// A topic id for an internal topic, the same for every start of this cluster: four CRC-32C
/// words of the cluster id and the name, shaped as a version-4 UUID.
fn internal_topic_id(cluster_id: &str, name: &str) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    for (i, word) in bytes.chunks_exact_mut(4).enumerate() {
        let seed = crc32c::crc32c(&[u8::try_from(i).unwrap_or(0)]);
        let crc = crc32c::crc32c_append(crc32c::crc32c_append(seed, cluster_id.as_bytes()), name.as_bytes());
        word.copy_from_slice(&crc.to_be_bytes());
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn load_or_create_cluster_id(dir: &Path) -> std::io::Result<String> {
    let path = dir.join("meta.json");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let meta: ClusterMeta = serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
            Ok(meta.cluster_id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Kafka cluster ids are 22 characters; a UUID's hex form cut to that length is as unique as needed.
            let cluster_id: String = uuid::Uuid::new_v4().simple().to_string().chars().take(22).collect();
            let json = serde_json::to_vec(&ClusterMeta {
                cluster_id: cluster_id.clone(),
            })
            .map_err(|e| std::io::Error::other(e.to_string()))?;
            durable_file::write_atomic(&path, &json)?;
            Ok(cluster_id)
        }
        Err(e) => Err(e),
    }
}
