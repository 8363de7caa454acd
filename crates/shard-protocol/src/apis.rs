//! The APIs this broker serves and the versions it advertises in ApiVersions.
//!
//! Each range is what the handlers really implement, never wider than what the `kafka-protocol`
//! crate can decode (checked in tests).

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::VersionRange;

/// One served API and its version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedApi {
    /// The API.
    pub key: ApiKey,
    /// Lowest version served.
    pub min: i16,
    /// Highest version served.
    pub max: i16,
}

const fn api(key: ApiKey, min: i16, max: i16) -> ServedApi {
    ServedApi { key, min, max }
}

/// Every API the broker answers, with the versions it serves (Kafka 4.1 ranges; 4.2 where a
/// codec is hand-written here).
pub const SERVED_APIS: &[ServedApi] = &[
    api(ApiKey::Produce, 3, 13),
    api(ApiKey::Fetch, 4, 18),
    api(ApiKey::ListOffsets, 1, 10),
    api(ApiKey::Metadata, 0, 13),
    api(ApiKey::FindCoordinator, 0, 6),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::InitProducerId, 0, 5),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::DescribeCluster, 0, 2),
    api(ApiKey::DescribeLogDirs, 1, 4),
    api(ApiKey::DescribeTopicPartitions, 0, 0),
    api(ApiKey::ShareGroupHeartbeat, 1, 1),
    api(ApiKey::ShareGroupDescribe, 1, 1),
    api(ApiKey::ShareFetch, crate::share::SHARE_MIN_VERSION, crate::share::SHARE_MAX_VERSION),
    api(
        ApiKey::ShareAcknowledge,
        crate::share::SHARE_MIN_VERSION,
        crate::share::SHARE_MAX_VERSION,
    ),
    api(ApiKey::DescribeGroups, 0, 6),
    api(ApiKey::ListGroups, 0, 5),
    api(ApiKey::DeleteGroups, 0, 2),
    api(
        ApiKey::DescribeShareGroupOffsets,
        crate::share_group_offsets::DESCRIBE_SHARE_GROUP_OFFSETS_MIN_VERSION,
        crate::share_group_offsets::DESCRIBE_SHARE_GROUP_OFFSETS_MAX_VERSION,
    ),
    api(ApiKey::AlterShareGroupOffsets, 0, 0),
    api(ApiKey::DeleteShareGroupOffsets, 0, 0),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::OffsetForLeaderEpoch, 2, 4),
];

// Not served, on purpose: TxnOffsetCommit. Kafka 4.4 answers it for a producer that is not in
// a transaction with the transaction coordinator's verification error, but no client can be in
// one here: InitProducerId with a transactional id is refused (TRANSACTIONAL_ID_AUTHORIZATION_
// FAILED, fatal in every client, with a clear message) before any TxnOffsetCommit could be
// sent. Advertising TxnOffsetCommit without AddPartitionsToTxn, AddOffsetsToTxn and EndTxn
// would tell clients that probe ApiVersions for transaction support (librdkafka) something
// half true; unadvertised, a stray request gets UNSUPPORTED_VERSION, which is the truth.

/// APIs whose codec is hand-written in this crate (the `kafka-protocol` crate stops short of
/// the versions served), so their range may exceed the crate's.
pub const HAND_WRITTEN: &[ApiKey] = &[
    ApiKey::ShareFetch,
    ApiKey::ShareAcknowledge,
    ApiKey::DescribeShareGroupOffsets,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
];

/// APIs whose request codec is ready (Kafka 4.4's ranges) but that are not served yet: the
/// broker answers them UNSUPPORTED_VERSION, and [`crate::decode_any_codec_request`] (tests,
/// fuzz targets) decodes them. An API moves from here to [`SERVED_APIS`] with its handler.
pub const CODEC_ONLY_APIS: &[ServedApi] = &[
    api(
        ApiKey::OffsetCommit,
        crate::offsets::OFFSET_COMMIT_MIN_VERSION,
        crate::offsets::OFFSET_COMMIT_MAX_VERSION,
    ),
    api(
        ApiKey::OffsetFetch,
        crate::offsets::OFFSET_FETCH_MIN_VERSION,
        crate::offsets::OFFSET_FETCH_MAX_VERSION,
    ),
];

/// Every API with a request codec: the served ones first (in [`SERVED_APIS`] order, so fuzz
/// seeds that pick an API by index keep their meaning), then [`CODEC_ONLY_APIS`] not yet
/// served.
pub fn codec_apis() -> impl Iterator<Item = &'static ServedApi> {
    SERVED_APIS
        .iter()
        .chain(CODEC_ONLY_APIS.iter().filter(|c| served_range(c.key).is_none()))
}

/// The version range `key` can be decoded at, served or not.
pub fn codec_range(key: ApiKey) -> Option<VersionRange> {
    codec_apis().find(|a| a.key == key).map(|a| VersionRange { min: a.min, max: a.max })
}

/// The served version range of `key`, if the broker serves it at all.
pub fn served_range(key: ApiKey) -> Option<VersionRange> {
    SERVED_APIS
        .iter()
        .find(|a| a.key == key)
        .map(|a| VersionRange { min: a.min, max: a.max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_ranges_are_within_codec_ranges() {
        for a in SERVED_APIS.iter().filter(|a| !HAND_WRITTEN.contains(&a.key)) {
            let codec = a.key.valid_versions();
            assert!(a.min <= a.max, "{:?}", a.key);
            assert!(
                codec.min <= a.min && a.max <= codec.max,
                "{:?} {}..{} vs codec {}",
                a.key,
                a.min,
                a.max,
                codec
            );
        }
    }

    #[test]
    fn hand_written_ranges_are_the_hand_written_codecs_ranges() {
        let r = served_range(ApiKey::DescribeShareGroupOffsets).expect("served");
        // Requests are decoded by the crate at v0 whatever the version: the layouts are equal.
        assert_eq!(ApiKey::DescribeShareGroupOffsets.valid_versions().min, r.min);
        assert_eq!((r.min, r.max), (0, 1));
        let r = served_range(ApiKey::ShareFetch).expect("served");
        assert_eq!((r.min, r.max), (crate::share::SHARE_MIN_VERSION, crate::share::SHARE_MAX_VERSION));
    }

    #[test]
    fn offset_codecs_cover_kafka_4_4_and_are_not_served_yet() {
        assert_eq!(codec_range(ApiKey::OffsetCommit), Some(VersionRange { min: 2, max: 10 }));
        assert_eq!(codec_range(ApiKey::OffsetFetch), Some(VersionRange { min: 1, max: 10 }));
        assert_eq!(codec_range(ApiKey::Produce), served_range(ApiKey::Produce));
        assert!(served_range(ApiKey::TxnOffsetCommit).is_none() && codec_range(ApiKey::TxnOffsetCommit).is_none());
        let keys: Vec<ApiKey> = codec_apis().map(|a| a.key).collect();
        assert_eq!(
            &keys[..SERVED_APIS.len()],
            SERVED_APIS.iter().map(|a| a.key).collect::<Vec<_>>().as_slice()
        );
        for k in &keys {
            assert_eq!(keys.iter().filter(|x| *x == k).count(), 1, "{k:?} listed once");
        }
    }

    #[test]
    fn unknown_api_is_not_served() {
        assert!(served_range(ApiKey::JoinGroup).is_none());
        assert_eq!(served_range(ApiKey::Produce), Some(VersionRange { min: 3, max: 13 }));
    }
}
