//! Request dispatch: one module per Kafka API.

mod alter_share_group_offsets;
mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_share_group_offsets;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_share_group_offsets;
mod describe_topic_partitions;
mod errors;
mod fetch;
mod find_coordinator;
mod incremental_alter_configs;
mod init_producer_id;
mod list_groups;
mod list_offsets;
pub(crate) mod metadata;
mod produce;
mod share_acknowledge;
mod share_common;
mod share_fetch;
mod share_group_describe;
mod share_group_heartbeat;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use shard_protocol::{RequestPrefix, decode_request_header, encode_error_only_response, encode_response, served_range};

use crate::broker::Broker;

pub use errors::{log_error_code, topic_error_code};

/// A reply that is computed after the request was dispatched.
pub type LaterReply = Pin<Box<dyn Future<Output = Option<Bytes>> + Send>>;

/// A reply made of several chunks (record bytes shared, not copied), computed later.
pub type LaterChunks = Pin<Box<dyn Future<Output = Option<Vec<Bytes>>> + Send>>;

/// What the connection does after dispatching a request.
pub enum Reply {
    /// Write this response frame.
    Now(Bytes),
    /// Write the frame this future yields (none: no response), in request order.
    Later(LaterReply),
    /// Write the chunks this future yields back to back as one frame, in request order.
    LaterChunks(LaterChunks),
    /// No response (produce with acks=0).
    Nothing,
    /// The request broke the protocol: close the connection.
    Close(String),
}

/// What a handler knows about the request it serves.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The broker.
    pub broker: Arc<Broker>,
    /// The API.
    pub key: ApiKey,
    /// Its version.
    pub version: i16,
    /// Echoed in the response.
    pub correlation_id: i32,
    /// The connection the request came on.
    pub conn: Arc<ConnInfo>,
    /// The request header's client id.
    pub client_id: String,
}

/// What the broker knows about one client connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Unique per broker process.
    pub id: u64,
    /// The peer's address.
    pub peer: std::net::SocketAddr,
}

impl Ctx {
    /// Encodes a response body for this request.
    pub fn encode<T: Encodable>(&self, body: &T) -> Option<Bytes> {
        match encode_response(self.key, self.version, self.correlation_id, body) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                tracing::error!(api = ?self.key, version = self.version, error = %e, "cannot encode response");
                None
            }
        }
    }

    /// A reply available now.
    pub fn reply<T: Encodable>(&self, body: &T) -> Reply {
        match self.encode(body) {
            Some(bytes) => Reply::Now(bytes),
            None => Reply::Close("response could not be encoded".into()),
        }
    }
}

/// Shorthand for building protocol strings.
pub fn s(text: impl Into<String>) -> StrBytes {
    StrBytes::from_string(text.into())
}

fn decode<T: Decodable>(body: &mut Bytes, version: i16) -> Result<T, Reply> {
    T::decode(body, version).map_err(|e| Reply::Close(format!("cannot decode request body: {e}")))
}

/// Decodes and serves one request frame (without its size prefix).
pub async fn dispatch(broker: &Arc<Broker>, conn: &Arc<ConnInfo>, frame: Bytes) -> Reply {
    match dispatch_inner(broker, conn, frame).await {
        Ok(reply) | Err(reply) => reply,
    }
}

async fn dispatch_inner(broker: &Arc<Broker>, conn: &Arc<ConnInfo>, frame: Bytes) -> Result<Reply, Reply> {
    let prefix = RequestPrefix::peek(&frame).map_err(|e| Reply::Close(e.to_string()))?;
    let unsupported = || {
        Reply::Now(encode_error_only_response(
            prefix.correlation_id,
            ResponseError::UnsupportedVersion.code(),
        ))
    };
    let Ok(key) = ApiKey::try_from(prefix.api_key) else {
        tracing::debug!(api_key = prefix.api_key, "unknown api key");
        return Ok(unsupported());
    };
    let Some(range) = served_range(key) else {
        tracing::debug!(api = ?key, "api not served");
        return Ok(unsupported());
    };
    let version = prefix.api_version;
    if version < range.min || version > range.max {
        if key == ApiKey::ApiVersions {
            return Ok(api_versions::unsupported_version(prefix.correlation_id));
        }
        return Ok(unsupported());
    }
    let mut body = frame;
    let header = decode_request_header(&mut body, key, version).map_err(|e| Reply::Close(e.to_string()))?;
    let ctx = Ctx {
        broker: broker.clone(),
        key,
        version,
        correlation_id: prefix.correlation_id,
        conn: conn.clone(),
        client_id: header.client_id.map(|c| c.to_string()).unwrap_or_default(),
    };
    let b = &mut body;
    Ok(match key {
        ApiKey::ApiVersions => ctx.reply(&api_versions::handle(&ctx, decode(b, version)?)),
        ApiKey::Metadata => ctx.reply(&metadata::handle(&ctx, decode(b, version)?)),
        ApiKey::Produce => produce::handle(&ctx, decode(b, version)?),
        ApiKey::Fetch => fetch::handle(&ctx, decode(b, version)?),
        ApiKey::ListOffsets => ctx.reply(&list_offsets::handle(&ctx, decode(b, version)?)),
        ApiKey::FindCoordinator => ctx.reply(&find_coordinator::handle(&ctx, decode(b, version)?)),
        ApiKey::InitProducerId => ctx.reply(&init_producer_id::handle(&ctx, decode(b, version)?)),
        ApiKey::CreateTopics => ctx.reply(&create_topics::handle(&ctx, decode(b, version)?)),
        ApiKey::DeleteTopics => ctx.reply(&delete_topics::handle(&ctx, decode(b, version)?)),
        ApiKey::CreatePartitions => ctx.reply(&create_partitions::handle(&ctx, decode(b, version)?)),
        ApiKey::DescribeConfigs => ctx.reply(&describe_configs::handle(&ctx, decode(b, version)?)),
        ApiKey::IncrementalAlterConfigs => ctx.reply(&incremental_alter_configs::handle(&ctx, decode(b, version)?)),
        ApiKey::DescribeCluster => ctx.reply(&describe_cluster::handle(&ctx, decode(b, version)?)),
        ApiKey::DescribeTopicPartitions => ctx.reply(&describe_topic_partitions::handle(&ctx, decode(b, version)?)),
        ApiKey::ShareGroupHeartbeat => ctx.reply(&share_group_heartbeat::handle(&ctx, decode(b, version)?)),
        ApiKey::ShareGroupDescribe => ctx.reply(&share_group_describe::handle(&ctx, decode(b, version)?)),
        ApiKey::ShareFetch => share_common::handle::<shard_protocol::ShareFetchRequest>(&ctx, body),
        ApiKey::ShareAcknowledge => share_common::handle::<shard_protocol::ShareAcknowledgeRequest>(&ctx, body),
        ApiKey::ListGroups => ctx.reply(&list_groups::handle(&ctx, decode(b, version)?)),
        ApiKey::DescribeGroups => ctx.reply(&describe_groups::handle(&ctx, decode(b, version)?)),
        ApiKey::DeleteGroups => ctx.reply(&delete_groups::handle(&ctx, decode(b, version)?)),
        ApiKey::DescribeShareGroupOffsets => describe_share_group_offsets::handle(&ctx, body),
        ApiKey::AlterShareGroupOffsets => ctx.reply(&alter_share_group_offsets::handle(&ctx, decode(b, version)?)),
        ApiKey::DeleteShareGroupOffsets => ctx.reply(&delete_share_group_offsets::handle(&ctx, decode(b, version)?)),
        _ => unsupported(),
    })
}
