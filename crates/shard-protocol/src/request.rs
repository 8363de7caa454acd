//! Decoding a whole request frame: prefix, header and the body of every served API.
//!
//! This is the one decode path of the broker (the fuzz targets in `fuzz/` call it too): the
//! network layer hands it a frame, and the handlers get a typed [`RequestBody`]. Every decoder
//! behind it is bounded by the bytes in the frame (see `vendor/kafka-protocol/SHARD-PATCH.md` and
//! the hand-written codecs' `get_array`), so a malformed frame costs at most a small multiple of
//! its own size before it fails.

use bytes::Bytes;
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, ApiKey, ApiVersionsRequest, CreatePartitionsRequest, CreateTopicsRequest, DeleteGroupsRequest,
    DeleteRecordsRequest, DeleteShareGroupOffsetsRequest, DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest,
    DescribeGroupsRequest, DescribeLogDirsRequest, DescribeShareGroupOffsetsRequest, DescribeTopicPartitionsRequest, FetchRequest,
    FindCoordinatorRequest, IncrementalAlterConfigsRequest, InitProducerIdRequest, ListGroupsRequest, ListOffsetsRequest, MetadataRequest,
    OffsetCommitRequest, OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest, RequestHeader, ShareGroupDescribeRequest,
    ShareGroupHeartbeatRequest,
};
use kafka_protocol::protocol::Decodable;

use crate::header::{HeaderError, RequestPrefix, decode_request_header};
use crate::offsets::{decode_offset_commit_request, decode_offset_fetch_request};
use crate::share_group_offsets::decode_describe_share_group_offsets_request;
use crate::{ShareAcknowledgeRequest, ShareFetchRequest, codec_range, served_range};

/// The decoded body of a request of a served API.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // one variant per API, named after it
pub enum RequestBody {
    ApiVersions(ApiVersionsRequest),
    Metadata(MetadataRequest),
    Produce(ProduceRequest),
    Fetch(FetchRequest),
    ListOffsets(ListOffsetsRequest),
    FindCoordinator(FindCoordinatorRequest),
    InitProducerId(InitProducerIdRequest),
    CreateTopics(CreateTopicsRequest),
    DeleteTopics(DeleteTopicsRequest),
    CreatePartitions(CreatePartitionsRequest),
    DescribeConfigs(DescribeConfigsRequest),
    IncrementalAlterConfigs(IncrementalAlterConfigsRequest),
    DescribeCluster(DescribeClusterRequest),
    DescribeLogDirs(DescribeLogDirsRequest),
    DescribeTopicPartitions(DescribeTopicPartitionsRequest),
    ShareGroupHeartbeat(ShareGroupHeartbeatRequest),
    ShareGroupDescribe(ShareGroupDescribeRequest),
    ShareFetch(ShareFetchRequest),
    ShareAcknowledge(ShareAcknowledgeRequest),
    ListGroups(ListGroupsRequest),
    DescribeGroups(DescribeGroupsRequest),
    DeleteGroups(DeleteGroupsRequest),
    DescribeShareGroupOffsets(DescribeShareGroupOffsetsRequest),
    AlterShareGroupOffsets(AlterShareGroupOffsetsRequest),
    DeleteShareGroupOffsets(DeleteShareGroupOffsetsRequest),
    DeleteRecords(DeleteRecordsRequest),
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    OffsetCommit(OffsetCommitRequest),
    OffsetFetch(OffsetFetchRequest),
}

/// A decoded request of a served API at a served version.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The API.
    pub api_key: ApiKey,
    /// Its version (within the served range).
    pub version: i16,
    /// Echoed in the response.
    pub correlation_id: i32,
    /// The request header (client id and so on).
    pub header: RequestHeader,
    /// The body.
    pub body: RequestBody,
}

/// What a frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A request the broker serves.
    Request(Box<Request>),
    /// An API key this broker does not know or serve, or a version outside the served range:
    /// answered with UNSUPPORTED_VERSION (ApiVersions in its v0 format).
    Unsupported {
        /// The fixed header prefix.
        prefix: RequestPrefix,
        /// The API, when the key is known.
        api_key: Option<ApiKey>,
    },
}

/// The broker's default bound on request frames of every API but Produce
/// (`request.non.produce.max.bytes`). Only Produce carries bulk data (records, kept as slices of
/// the frame); every other request decodes into structs up to ~60 times larger than their wire
/// form (a 2-byte empty topic name becomes a 72-byte struct), so a frame of
/// `socket.request.max.bytes` (100 MB) of them could take gigabytes. Real clients' largest
/// non-produce requests (Fetch or Metadata for thousands of partitions) are well under 1 MB.
pub const DEFAULT_NON_PRODUCE_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Why a frame could not be decoded. The broker closes the connection, as Kafka does.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A request other than Produce is larger than `request.non.produce.max.bytes`.
    #[error("{api:?} request of {size} bytes is above request.non.produce.max.bytes ({max})")]
    TooLarge {
        /// The API.
        api: ApiKey,
        /// The frame's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The header is short or malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The body does not decode as the API's schema.
    #[error("cannot decode {api:?} v{version} request body: {reason}")]
    Body {
        /// The API.
        api: ApiKey,
        /// The version.
        version: i16,
        /// What was wrong.
        reason: String,
    },
}

/// Decodes one request frame (without its 4-byte size prefix); a request of any API but Produce
/// larger than `non_produce_max_bytes` is refused before its body is decoded.
pub fn decode_request(frame: Bytes, non_produce_max_bytes: usize) -> Result<Decoded, RequestError> {
    decode_with(frame, non_produce_max_bytes, served_range)
}

/// Like [`decode_request`], but for every API and version this crate has a codec for, served
/// or not ([`crate::codec_apis`]): the fuzz targets and codec tests reach codecs written ahead
/// of their handlers through it. The broker never calls it.
pub fn decode_any_codec_request(frame: Bytes, non_produce_max_bytes: usize) -> Result<Decoded, RequestError> {
    decode_with(frame, non_produce_max_bytes, codec_range)
}

fn decode_with(
    frame: Bytes,
    non_produce_max_bytes: usize,
    range_of: fn(ApiKey) -> Option<kafka_protocol::protocol::VersionRange>,
) -> Result<Decoded, RequestError> {
    let prefix = RequestPrefix::peek(&frame)?;
    let unsupported = |api_key| Ok(Decoded::Unsupported { prefix, api_key });
    let Ok(api_key) = ApiKey::try_from(prefix.api_key) else {
        return unsupported(None);
    };
    let Some(range) = range_of(api_key) else {
        return unsupported(Some(api_key));
    };
    let version = prefix.api_version;
    if version < range.min || version > range.max {
        return unsupported(Some(api_key));
    }
    if api_key != ApiKey::Produce && frame.len() > non_produce_max_bytes {
        return Err(RequestError::TooLarge {
            api: api_key,
            size: frame.len(),
            max: non_produce_max_bytes,
        });
    }
    let mut body = frame;
    let header = decode_request_header(&mut body, api_key, version)?;
    let body = decode_body(api_key, version, &mut body).map_err(|reason| RequestError::Body {
        api: api_key,
        version,
        reason,
    })?;
    Ok(Decoded::Request(Box::new(Request {
        api_key,
        version,
        correlation_id: prefix.correlation_id,
        header,
        body,
    })))
}

fn decode<T: Decodable>(b: &mut Bytes, version: i16) -> Result<T, String> {
    T::decode(b, version).map_err(|e| e.to_string())
}

/// Decodes the body of an API with a codec (others are an error).
fn decode_body(api_key: ApiKey, version: i16, b: &mut Bytes) -> Result<RequestBody, String> {
    use RequestBody as R;
    let v = version;
    Ok(match api_key {
        ApiKey::ApiVersions => R::ApiVersions(decode(b, v)?),
        ApiKey::Metadata => R::Metadata(decode(b, v)?),
        ApiKey::Produce => R::Produce(decode(b, v)?),
        ApiKey::Fetch => R::Fetch(decode(b, v)?),
        ApiKey::ListOffsets => R::ListOffsets(decode(b, v)?),
        ApiKey::FindCoordinator => R::FindCoordinator(decode(b, v)?),
        ApiKey::InitProducerId => R::InitProducerId(decode(b, v)?),
        ApiKey::CreateTopics => R::CreateTopics(decode(b, v)?),
        ApiKey::DeleteTopics => R::DeleteTopics(decode(b, v)?),
        ApiKey::CreatePartitions => R::CreatePartitions(decode(b, v)?),
        ApiKey::DescribeConfigs => R::DescribeConfigs(decode(b, v)?),
        ApiKey::IncrementalAlterConfigs => R::IncrementalAlterConfigs(decode(b, v)?),
        ApiKey::DescribeCluster => R::DescribeCluster(decode(b, v)?),
        ApiKey::DescribeLogDirs => R::DescribeLogDirs(decode(b, v)?),
        ApiKey::DescribeTopicPartitions => R::DescribeTopicPartitions(decode(b, v)?),
        ApiKey::ShareGroupHeartbeat => R::ShareGroupHeartbeat(decode(b, v)?),
        ApiKey::ShareGroupDescribe => R::ShareGroupDescribe(decode(b, v)?),
        ApiKey::ShareFetch => R::ShareFetch(ShareFetchRequest::decode(b, v).map_err(|e| e.to_string())?),
        ApiKey::ShareAcknowledge => R::ShareAcknowledge(ShareAcknowledgeRequest::decode(b, v).map_err(|e| e.to_string())?),
        ApiKey::ListGroups => R::ListGroups(decode(b, v)?),
        ApiKey::DescribeGroups => R::DescribeGroups(decode(b, v)?),
        ApiKey::DeleteGroups => R::DeleteGroups(decode(b, v)?),
        ApiKey::DescribeShareGroupOffsets => {
            R::DescribeShareGroupOffsets(decode_describe_share_group_offsets_request(b, v).map_err(|e| e.to_string())?)
        }
        ApiKey::AlterShareGroupOffsets => R::AlterShareGroupOffsets(decode(b, v)?),
        ApiKey::DeleteShareGroupOffsets => R::DeleteShareGroupOffsets(decode(b, v)?),
        ApiKey::DeleteRecords => R::DeleteRecords(decode(b, v)?),
        ApiKey::OffsetForLeaderEpoch => R::OffsetForLeaderEpoch(decode(b, v)?),
        ApiKey::OffsetCommit => R::OffsetCommit(decode_offset_commit_request(b, v).map_err(|e| e.to_string())?),
        ApiKey::OffsetFetch => R::OffsetFetch(decode_offset_fetch_request(b, v).map_err(|e| e.to_string())?),
        other => return Err(format!("{other:?} is not served")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Bytes {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn metadata_with_a_huge_topic_count_fails_without_allocating_it() {
        // Issue 12: Metadata v4, client id "repr", topic array count 2^31-1 and nothing after it.
        let err = decode_request(hex("00030004000000010004726570727fffffff"), DEFAULT_NON_PRODUCE_MAX_BYTES).expect_err("must not decode");
        assert!(
            matches!(
                err,
                RequestError::Body {
                    api: ApiKey::Metadata,
                    version: 4,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn only_produce_may_exceed_the_non_produce_bound() {
        // Metadata v1 with 10 empty topic names: 35 bytes.
        let mut metadata = hex("00030001000000010001630000000a").to_vec();
        metadata.extend_from_slice(&[0; 20]);
        let err = decode_request(metadata.clone().into(), 30).expect_err("over the bound");
        assert!(
            matches!(
                err,
                RequestError::TooLarge {
                    api: ApiKey::Metadata,
                    size: 35,
                    max: 30
                }
            ),
            "{err}"
        );
        assert!(matches!(decode_request(metadata.into(), 35), Ok(Decoded::Request(_))));
        // Produce v3 with no transactional id, acks 1, timeout 1000, no topics: not bounded.
        let produce = hex("0000000300000002000163ffff0001000003e800000000");
        assert!(matches!(decode_request(produce, 4), Ok(Decoded::Request(_))));
    }

    #[test]
    fn unknown_keys_and_versions_are_unsupported_not_errors() {
        let unknown = decode_request(hex("7f000000000000070000"), DEFAULT_NON_PRODUCE_MAX_BYTES).expect("decodes");
        assert!(matches!(unknown, Decoded::Unsupported { api_key: None, .. }));
        let join_group = decode_request(hex("000b000500000007ffff"), DEFAULT_NON_PRODUCE_MAX_BYTES).expect("decodes");
        assert!(matches!(
            join_group,
            Decoded::Unsupported {
                api_key: Some(ApiKey::JoinGroup),
                ..
            }
        ));
        let metadata_v99 = decode_request(hex("000300630000000700"), DEFAULT_NON_PRODUCE_MAX_BYTES).expect("decodes");
        assert!(matches!(
            metadata_v99,
            Decoded::Unsupported {
                api_key: Some(ApiKey::Metadata),
                ..
            }
        ));
    }

    #[test]
    fn unknown_tagged_fields_are_dropped() {
        // ApiVersions v3: key 18, version 3, correlation id 9, client id "c", no header tags;
        // body: client software name "a" and version "b" (compact strings), then 1000 empty
        // unknown tagged fields (tags 1000..1999).
        let mut f = hex("00120003000000090001630002610262").to_vec();
        f.extend_from_slice(&[0xe8, 0x07]); // varint 1000
        for tag in 1000u32..2000 {
            f.extend_from_slice(&[(tag as u8 & 0x7f) | 0x80, (tag >> 7) as u8, 0]);
        }
        let Decoded::Request(req) = decode_request(f.into(), DEFAULT_NON_PRODUCE_MAX_BYTES).expect("decodes") else {
            panic!("ApiVersions v3 is served");
        };
        let RequestBody::ApiVersions(body) = req.body else {
            panic!("ApiVersions")
        };
        assert_eq!(body.client_software_name.as_str(), "a");
        assert_eq!(body.client_software_version.as_str(), "b");
        assert!(body.unknown_tagged_fields.is_empty());
    }
}
