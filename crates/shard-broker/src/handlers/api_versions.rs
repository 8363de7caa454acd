//! ApiVersions (18): the APIs and versions this broker serves.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use shard_protocol::{SERVED_APIS, encode_response};

use super::{Ctx, Reply};

fn api_keys() -> Vec<ApiVersion> {
    SERVED_APIS
        .iter()
        .map(|a| {
            ApiVersion::default()
                .with_api_key(a.key as i16)
                .with_min_version(a.min)
                .with_max_version(a.max)
        })
        .collect()
}

/// Answers ApiVersions.
pub fn handle(_ctx: &Ctx, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(api_keys())
}

/// The v0-format answer to an ApiVersions version the broker does not know, so that newer
/// clients retry with a version both sides speak.
pub fn unsupported_version(correlation_id: i32) -> Reply {
    let body = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys());
    match encode_response(ApiKey::ApiVersions, 0, correlation_id, &body) {
        Ok(bytes) => Reply::Now(bytes),
        Err(e) => Reply::Close(e.to_string()),
    }
}
