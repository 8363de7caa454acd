//! FindCoordinator (10): this broker coordinates every group, transaction and share-state key.
//! As Kafka does, it refuses an unknown key type, the SHARE key type below v6, and a SHARE key
//! that is not `group:topicId:partition`, with INVALID_REQUEST.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

use super::{Ctx, s};

/// Key type of consumer and share groups.
const KEY_TYPE_GROUP: i8 = 0;
/// Key type of transactional ids.
const KEY_TYPE_TRANSACTION: i8 = 1;
/// Key type of share-partition state keys (`group:topicId:partition`), from v6.
const KEY_TYPE_SHARE: i8 = 2;

/// Answers FindCoordinator.
pub fn handle(ctx: &Ctx, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let b = &ctx.broker;
    let node = BrokerId(b.node_id());
    let host = s(b.advertised_host.clone());
    if ctx.version < 4 {
        return match check_key(ctx.version, req.key_type, &req.key) {
            Ok(()) => FindCoordinatorResponse::default()
                .with_node_id(node)
                .with_host(host)
                .with_port(b.advertised_port),
            Err(message) => FindCoordinatorResponse::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(s(message)))
                .with_node_id(BrokerId(-1))
                .with_port(-1),
        };
    }
    let coordinators = req
        .coordinator_keys
        .into_iter()
        .map(|key| match check_key(ctx.version, req.key_type, &key) {
            Ok(()) => Coordinator::default()
                .with_key(key)
                .with_node_id(node)
                .with_host(host.clone())
                .with_port(b.advertised_port),
            Err(message) => Coordinator::default()
                .with_key(key)
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(s(message)))
                .with_node_id(BrokerId(-1))
                .with_port(-1),
        })
        .collect();
    FindCoordinatorResponse::default().with_coordinators(coordinators)
}

/// Why a key cannot be answered, in Kafka's words.
fn check_key(version: i16, key_type: i8, key: &str) -> Result<(), String> {
    match key_type {
        KEY_TYPE_GROUP | KEY_TYPE_TRANSACTION => Ok(()),
        KEY_TYPE_SHARE if version < 6 => Err("The SHARE key type needs FindCoordinator v6 or later.".into()),
        KEY_TYPE_SHARE => check_share_key(key),
        other => Err(format!("Unknown coordinator type received: {other}")),
    }
}

/// Checks a share-state key as Kafka's `SharePartitionKey.getInstance` parses it: the group id
/// (which may itself hold `:`), a topic id in Kafka's base64 form and a partition number.
fn check_share_key(key: &str) -> Result<(), String> {
    let mut parts = key.rsplitn(3, ':');
    let (Some(partition), Some(topic_id), Some(group)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("Invalid key format: expected - groupId:topicId:partition, found - {key}"));
    };
    if group.trim().is_empty() {
        return Err("GroupId must not be empty".into());
    }
    if !is_kafka_uuid(topic_id) {
        return Err(format!("Invalid topic ID: {topic_id}"));
    }
    if partition.parse::<i32>().is_err() {
        return Err(format!("Invalid partition: {partition}"));
    }
    Ok(())
}

/// Whether `text` is a 16-byte id in URL-safe base64, as Kafka's `Uuid.fromString` accepts it:
/// 22 characters, optionally padded with `==`.
fn is_kafka_uuid(text: &str) -> bool {
    let body = text.strip_suffix("==").unwrap_or(text);
    body.len() == 22 && body.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC_ID: &str = "AAAAAAAAAAAAAAAAAAAAAQ";

    #[test]
    fn group_and_transaction_keys_are_always_served() {
        for version in 0..=6 {
            assert_eq!(check_key(version, KEY_TYPE_GROUP, "g"), Ok(()));
            assert_eq!(check_key(version, KEY_TYPE_TRANSACTION, "t"), Ok(()));
        }
    }

    #[test]
    fn share_keys_need_v6_and_kafkas_key_format() {
        let good = format!("my:group:{TOPIC_ID}:3");
        assert_eq!(check_key(6, KEY_TYPE_SHARE, &good), Ok(()));
        assert_eq!(check_key(6, KEY_TYPE_SHARE, &format!("g:{TOPIC_ID}==:0")), Ok(()));
        assert!(check_key(5, KEY_TYPE_SHARE, &good).is_err());
        for bad in [
            "",
            "g",
            &format!("g:{TOPIC_ID}"),
            &format!(" :{TOPIC_ID}:0"),
            "g:not-a-topic-id:0",
            &format!("g:{TOPIC_ID}:x"),
            &format!("g:{TOPIC_ID}:99999999999"),
        ] {
            assert!(check_key(6, KEY_TYPE_SHARE, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn unknown_key_types_are_refused() {
        assert_eq!(check_key(4, 3, "g"), Err("Unknown coordinator type received: 3".to_string()));
        assert!(check_key(0, -1, "g").is_err());
    }
}
