//! Request dispatch: one module per Kafka API.

mod alter_share_group_offsets;
mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_share_group_offsets;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
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
mod offset_for_leader_epoch;
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
use kafka_protocol::protocol::{Encodable, StrBytes};
use shard_protocol::{Decoded, Request, RequestBody, RequestPrefix, decode_request, encode_error_only_response, encode_response};

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

/// Decodes and serves one request frame (without its size prefix).
pub async fn dispatch(broker: &Arc<Broker>, conn: &Arc<ConnInfo>, frame: Bytes) -> Reply {
    let req = match decode_request(frame, broker.config.request_non_produce_max_bytes as usize) {
        Ok(Decoded::Request(req)) => req,
        Ok(Decoded::Unsupported { prefix, api_key }) => return unsupported(prefix, api_key),
        // Kafka closes the connection on a request it cannot parse.
        Err(e) => return Reply::Close(e.to_string()),
    };
    let Request {
        api_key,
        version,
        correlation_id,
        header,
        body,
    } = *req;
    let ctx = Ctx {
        broker: broker.clone(),
        key: api_key,
        version,
        correlation_id,
        conn: conn.clone(),
        client_id: header.client_id.map(|c| c.to_string()).unwrap_or_default(),
    };
    use RequestBody as R;
    match body {
        R::ApiVersions(r) => ctx.reply(&api_versions::handle(&ctx, r)),
        R::Metadata(r) => ctx.reply(&metadata::handle(&ctx, r)),
        R::Produce(r) => produce::handle(&ctx, r),
        R::Fetch(r) => fetch::handle(&ctx, r),
        R::ListOffsets(r) => ctx.reply(&list_offsets::handle(&ctx, r)),
        R::FindCoordinator(r) => ctx.reply(&find_coordinator::handle(&ctx, r)),
        R::InitProducerId(r) => ctx.reply(&init_producer_id::handle(&ctx, r)),
        R::CreateTopics(r) => ctx.reply(&create_topics::handle(&ctx, r)),
        R::DeleteTopics(r) => ctx.reply(&delete_topics::handle(&ctx, r)),
        R::CreatePartitions(r) => ctx.reply(&create_partitions::handle(&ctx, r)),
        R::DescribeConfigs(r) => ctx.reply(&describe_configs::handle(&ctx, r)),
        R::IncrementalAlterConfigs(r) => ctx.reply(&incremental_alter_configs::handle(&ctx, r)),
        R::DescribeCluster(r) => ctx.reply(&describe_cluster::handle(&ctx, r)),
        R::DescribeLogDirs(r) => ctx.reply(&describe_log_dirs::handle(&ctx, r)),
        R::DescribeTopicPartitions(r) => ctx.reply(&describe_topic_partitions::handle(&ctx, r)),
        R::ShareGroupHeartbeat(r) => ctx.reply(&share_group_heartbeat::handle(&ctx, r)),
        R::ShareGroupDescribe(r) => ctx.reply(&share_group_describe::handle(&ctx, r)),
        R::ShareFetch(r) => share_common::handle(&ctx, r),
        R::ShareAcknowledge(r) => share_common::handle(&ctx, r),
        R::ListGroups(r) => ctx.reply(&list_groups::handle(&ctx, r)),
        R::DescribeGroups(r) => ctx.reply(&describe_groups::handle(&ctx, r)),
        R::DeleteGroups(r) => ctx.reply(&delete_groups::handle(&ctx, r)),
        R::DescribeShareGroupOffsets(r) => describe_share_group_offsets::handle(&ctx, r),
        R::AlterShareGroupOffsets(r) => ctx.reply(&alter_share_group_offsets::handle(&ctx, r)),
        R::DeleteShareGroupOffsets(r) => ctx.reply(&delete_share_group_offsets::handle(&ctx, r)),
        R::DeleteRecords(r) => delete_records::handle(&ctx, r),
        R::OffsetForLeaderEpoch(r) => ctx.reply(&offset_for_leader_epoch::handle(&ctx, r)),
        // Not in the served table yet, so decode_request never yields them.
        R::OffsetCommit(_) | R::OffsetFetch(_) => Reply::Close(format!("{api_key:?} is not served")),
    }
}

/// UNSUPPORTED_VERSION for a key or version this broker does not serve; ApiVersions answers in
/// its v0 format so the client can renegotiate.
fn unsupported(prefix: RequestPrefix, api_key: Option<ApiKey>) -> Reply {
    tracing::debug!(api_key = prefix.api_key, version = prefix.api_version, "api or version not served");
    if api_key == Some(ApiKey::ApiVersions) {
        return api_versions::unsupported_version(prefix.correlation_id);
    }
    Reply::Now(encode_error_only_response(
        prefix.correlation_id,
        ResponseError::UnsupportedVersion.code(),
    ))
}
