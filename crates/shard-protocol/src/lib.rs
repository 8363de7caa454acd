//! Kafka wire-protocol pieces Shard needs around the `kafka-protocol` codec: reading the fixed
//! request-header prefix (even for unknown API keys), the table of APIs and versions this broker
//! serves, and framing of responses; hand-written codecs for the share-group data-plane APIs
//! ShareFetch and ShareAcknowledge v1-v2 (the crate stops at v1) and for the
//! DescribeShareGroupOffsets v1 response (the crate stops at v0); version 10 of OffsetCommit and
//! OffsetFetch (the crate stops at 9) over the crate's own message types.

pub mod apis;
pub mod header;
pub mod offsets;
pub mod request;
pub mod response;
pub mod share;
pub mod share_acknowledge;
pub mod share_fetch;
pub mod share_group_offsets;

pub use kafka_protocol;

pub use apis::{CODEC_ONLY_APIS, SERVED_APIS, ServedApi, codec_apis, codec_range, served_range};
pub use header::{HeaderError, RequestPrefix, decode_request_header};
pub use offsets::{
    OFFSET_COMMIT_MAX_VERSION, OFFSET_COMMIT_MIN_VERSION, OFFSET_FETCH_MAX_VERSION, OFFSET_FETCH_MIN_VERSION, OffsetsCodecError, Versioned,
};
pub use request::{DEFAULT_NON_PRODUCE_MAX_BYTES, Decoded, Request, RequestBody, RequestError, decode_any_codec_request, decode_request};
pub use response::{EncodeError, encode_error_only_response, encode_response};
pub use share::{AcknowledgementBatch, LeaderIdAndEpoch, NodeEndpoint, SHARE_MAX_VERSION, SHARE_MIN_VERSION, ShareCodecError};
pub use share_acknowledge::{
    ShareAcknowledgePartition, ShareAcknowledgePartitionResponse, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareAcknowledgeTopic,
    ShareAcknowledgeTopicResponse,
};
pub use share_fetch::{
    AcquiredRecords, ForgottenTopic, ShareFetchPartition, ShareFetchPartitionResponse, ShareFetchRequest, ShareFetchResponse,
    ShareFetchTopic, ShareFetchTopicResponse,
};
pub use share_group_offsets::{
    DESCRIBE_SHARE_GROUP_OFFSETS_MAX_VERSION, DESCRIBE_SHARE_GROUP_OFFSETS_MIN_VERSION, DescribeShareGroupOffsetsResponse,
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition, DescribeShareGroupOffsetsResponseTopic,
    ShareGroupOffsetsCodecError, decode_describe_share_group_offsets_request, encode_describe_share_group_offsets_request,
};
