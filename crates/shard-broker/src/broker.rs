//! The broker's shared state, handed to every connection.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

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
}

impl Broker {
    /// Opens the data directory (recovering every log) for a broker bound to `bound`.
    pub fn open(config: Arc<BrokerConfig>, bound: SocketAddr) -> Result<Self, TopicError> {
        let dir = config.log_dir.clone();
        std::fs::create_dir_all(&dir)?;
        let cluster_id = load_or_create_cluster_id(&dir)?;
        let (advertised_host, advertised_port) = config.advertised(bound);
        let topics = TopicRegistry::open(&dir, config.clone())?;
        let producer_ids = ProducerIdAllocator::open(&dir)?;
        Ok(Self {
            group_configs: GroupConfigs::new(config.clone()),
            shares: ShareManager::new(config.clone()),
            config,
            cluster_id,
            advertised_host,
            advertised_port,
            topics,
            producer_ids,
        })
    }

    /// This broker's node id.
    pub fn node_id(&self) -> i32 {
        self.config.node_id
    }
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
