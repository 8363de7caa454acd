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

/// APIs whose codec is hand-written in this crate (the `kafka-protocol` crate stops short of
/// the versions served), so their range may exceed the crate's.
pub const HAND_WRITTEN: &[ApiKey] = &[ApiKey::ShareFetch, ApiKey::ShareAcknowledge, ApiKey::DescribeShareGroupOffsets];

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
    fn unknown_api_is_not_served() {
        assert!(served_range(ApiKey::JoinGroup).is_none());
        assert_eq!(served_range(ApiKey::Produce), Some(VersionRange { min: 3, max: 13 }));
    }
}
