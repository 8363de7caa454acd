//! Kafka wire-protocol pieces Shard needs around the `kafka-protocol` codec: reading the fixed
//! request-header prefix (even for unknown API keys), the table of APIs and versions this broker
//! serves, and framing of responses.

pub mod apis;
pub mod header;
pub mod response;

pub use kafka_protocol;

pub use apis::{SERVED_APIS, ServedApi, served_range};
pub use header::{HeaderError, RequestPrefix, decode_request_header};
pub use response::{EncodeError, encode_error_only_response, encode_response};
