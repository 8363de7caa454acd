//! Group configs (ConfigResource GROUP, type 32) over the wire: IncrementalAlterConfigs sets,
//! validates and deletes them, DescribeConfigs reads them back with sources and synonyms.

mod common;

use common::{RawClient, TestBroker};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult};
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

const GROUP: i8 = 32;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;
const SOURCE_GROUP: i8 = 8;

fn st(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn op(name: &str, operation: i8, value: Option<&str>) -> AlterableConfig {
    AlterableConfig::default()
        .with_name(st(name))
        .with_config_operation(operation)
        .with_value(value.map(st))
}

fn group_resource(group: &str, configs: Vec<AlterableConfig>) -> AlterConfigsResource {
    AlterConfigsResource::default()
        .with_resource_type(GROUP)
        .with_resource_name(st(group))
        .with_configs(configs)
}

async fn alter_many(c: &mut RawClient, resources: Vec<AlterConfigsResource>, validate_only: bool) -> Vec<AlterConfigsResourceResponse> {
    let req = IncrementalAlterConfigsRequest::default()
        .with_resources(resources)
        .with_validate_only(validate_only);
    let resp: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    resp.responses
}

async fn alter(c: &mut RawClient, group: &str, configs: Vec<AlterableConfig>, validate_only: bool) -> AlterConfigsResourceResponse {
    let mut r = alter_many(c, vec![group_resource(group, configs)], validate_only).await;
    assert_eq!(r.len(), 1);
    let r = r.remove(0);
    assert_eq!((r.resource_type, r.resource_name.as_str()), (GROUP, group));
    r
}

async fn describe_keys(c: &mut RawClient, version: i16, group: &str, keys: Option<&[&str]>) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(version >= 3)
        .with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(GROUP)
                .with_resource_name(st(group))
                .with_configuration_keys(keys.map(|k| k.iter().map(|n| st(n)).collect())),
        ]);
    let mut resp: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, version, &req).await;
    assert_eq!(resp.results.len(), 1);
    let r = resp.results.remove(0);
    assert_eq!((r.resource_type, r.resource_name.as_str()), (GROUP, group));
    r
}

async fn describe(c: &mut RawClient, group: &str) -> DescribeConfigsResult {
    let r = describe_keys(c, 4, group, None).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    r
}

fn entry<'a>(r: &'a DescribeConfigsResult, name: &str) -> &'a DescribeConfigsResourceResult {
    r.configs
        .iter()
        .find(|e| e.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} not described"))
}

fn value_and_source(r: &DescribeConfigsResult, name: &str) -> (String, i8) {
    let e = entry(r, name);
    (e.value.as_deref().unwrap_or("<null>").to_string(), e.config_source)
}

fn message(r: &AlterConfigsResourceResponse) -> String {
    r.error_message.as_deref().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_values_are_described_back_as_group_configs() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;

    let before = describe(&mut c, "orders").await;
    assert_eq!(before.configs.len(), 17, "every key of Kafka 4.3's GroupConfig");
    assert_eq!(
        value_and_source(&before, "share.auto.offset.reset"),
        ("latest".into(), SOURCE_DEFAULT)
    );
    assert_eq!(
        value_and_source(&before, "share.record.lock.duration.ms"),
        ("30000".into(), SOURCE_DEFAULT)
    );

    // The group does not exist: configs can be set ahead of it.
    let r = alter(
        &mut c,
        "orders",
        vec![
            op("share.auto.offset.reset", SET, Some("earliest")),
            op("share.record.lock.duration.ms", SET, Some("20000")),
            op("share.heartbeat.interval.ms", SET, Some("6000")),
            op("share.isolation.level", SET, Some("read_committed")),
            op("share.renew.acknowledge.enable", SET, Some("FALSE")),
        ],
        false,
    )
    .await;
    assert_eq!(r.error_code, 0, "{}", message(&r));

    let after = describe(&mut c, "orders").await;
    assert_eq!(after.configs.len(), 17);
    assert_eq!(
        value_and_source(&after, "share.auto.offset.reset"),
        ("earliest".into(), SOURCE_GROUP)
    );
    assert_eq!(
        value_and_source(&after, "share.record.lock.duration.ms"),
        ("20000".into(), SOURCE_GROUP)
    );
    assert_eq!(
        value_and_source(&after, "share.heartbeat.interval.ms"),
        ("6000".into(), SOURCE_GROUP)
    );
    assert_eq!(
        value_and_source(&after, "share.isolation.level"),
        ("read_committed".into(), SOURCE_GROUP)
    );
    assert_eq!(
        value_and_source(&after, "share.renew.acknowledge.enable"),
        ("false".into(), SOURCE_GROUP),
        "booleans are described in canonical form"
    );
    assert_eq!(value_and_source(&after, "share.delivery.count.limit"), ("5".into(), SOURCE_DEFAULT));
    assert_eq!(
        value_and_source(&after, "consumer.session.timeout.ms"),
        ("45000".into(), SOURCE_DEFAULT)
    );

    let lock = entry(&after, "share.record.lock.duration.ms");
    assert_eq!(lock.config_type, 3, "INT");
    assert!(!lock.read_only && !lock.is_sensitive);
    assert!(lock.documentation.as_deref().is_some_and(|d| d.contains("lock duration")));
    let syns: Vec<(&str, Option<&str>, i8)> = lock
        .synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
        .collect();
    assert_eq!(
        syns,
        vec![
            ("share.record.lock.duration.ms", Some("20000"), SOURCE_GROUP),
            ("group.share.record.lock.duration.ms", Some("30000"), SOURCE_DEFAULT),
        ]
    );
    assert_eq!(entry(&after, "share.auto.offset.reset").config_type, 2, "STRING");
    assert_eq!(entry(&after, "share.renew.acknowledge.enable").config_type, 1, "BOOLEAN");

    // Another group is untouched.
    let other = describe(&mut c, "payments").await;
    assert_eq!(
        value_and_source(&other, "share.auto.offset.reset"),
        ("latest".into(), SOURCE_DEFAULT)
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_keys_select_entries_and_old_versions_still_work() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let r = alter(&mut c, "g", vec![op("share.delivery.count.limit", SET, Some("7"))], false).await;
    assert_eq!(r.error_code, 0, "{}", message(&r));

    let r = describe_keys(
        &mut c,
        4,
        "g",
        Some(&["share.delivery.count.limit", "share.session.timeout.ms", "no.such.key"]),
    )
    .await;
    let names: Vec<&str> = r.configs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["share.delivery.count.limit", "share.session.timeout.ms"]);
    assert_eq!(value_and_source(&r, "share.delivery.count.limit"), ("7".into(), SOURCE_GROUP));

    // v1 has no documentation or config type, but sources and synonyms.
    let r = describe_keys(&mut c, 1, "g", Some(&["share.delivery.count.limit"])).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(value_and_source(&r, "share.delivery.count.limit"), ("7".into(), SOURCE_GROUP));
    assert_eq!(entry(&r, "share.delivery.count.limit").synonyms.len(), 2);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_values_are_refused_and_nothing_is_applied() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;

    // Below group.share.min.record.lock.duration.ms, with a valid key in the same request.
    let r = alter(
        &mut c,
        "g",
        vec![
            op("share.auto.offset.reset", SET, Some("earliest")),
            op("share.record.lock.duration.ms", SET, Some("5000")),
        ],
        false,
    )
    .await;
    assert_eq!(r.error_code, INVALID_CONFIG);
    assert_eq!(
        message(&r),
        "share.record.lock.duration.ms must be greater than or equal to group.share.min.record.lock.duration.ms (15000)"
    );
    let d = describe(&mut c, "g").await;
    assert_eq!(
        value_and_source(&d, "share.auto.offset.reset"),
        ("latest".into(), SOURCE_DEFAULT),
        "the valid key of a refused request is not applied"
    );

    let cases: &[(&str, &str, &str)] = &[
        ("share.auto.offset.reset", "by_duration:1h", "by_duration:<PnDTnHnMn.nS>"),
        ("share.auto.offset.reset", "sometimes", "'earliest', 'latest'"),
        ("share.isolation.level", "serializable", "read_committed, read_uncommitted"),
        ("share.renew.acknowledge.enable", "maybe", "either true or false"),
        ("share.delivery.count.limit", "five", "Not a number of type INT"),
        ("share.delivery.count.limit", "11", "group.share.max.delivery.count.limit (10)"),
        ("share.partition.max.record.locks", "50", "Value must be at least 100"),
        (
            "share.heartbeat.interval.ms",
            "1000",
            "group.share.min.heartbeat.interval.ms (5000)",
        ),
        ("share.session.timeout.ms", "90000", "group.share.max.session.timeout.ms (60000)"),
    ];
    for (key, value, expected) in cases {
        let r = alter(&mut c, "g", vec![op(key, SET, Some(value))], false).await;
        assert_eq!(r.error_code, INVALID_CONFIG, "{key}={value}");
        assert!(message(&r).contains(expected), "{key}={value}: {}", message(&r));
    }
    let d = describe(&mut c, "g").await;
    assert!(
        d.configs.iter().all(|e| e.config_source == SOURCE_DEFAULT),
        "no refused value was stored"
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keys_list_ops_and_bad_requests_are_refused() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;

    let r = alter(&mut c, "g", vec![op("share.no.such.key", SET, Some("1"))], false).await;
    assert_eq!(
        (r.error_code, message(&r)),
        (INVALID_CONFIG, "Unknown group config name: share.no.such.key".into())
    );

    let r = alter(&mut c, "g", vec![op("share.delivery.count.limit", APPEND, Some("6"))], false).await;
    assert_eq!(r.error_code, INVALID_CONFIG);
    assert!(message(&r).contains("type is not LIST"), "{}", message(&r));

    let r = alter(&mut c, "", vec![op("share.delivery.count.limit", SET, Some("6"))], false).await;
    assert_eq!(r.error_code, INVALID_REQUEST, "empty group name: {}", message(&r));
    let d = describe_keys(&mut c, 4, "", None).await;
    assert_eq!(d.error_code, INVALID_REQUEST);
    assert!(d.configs.is_empty());

    let r = alter(&mut c, "g", vec![op("share.delivery.count.limit", SET, None)], false).await;
    assert_eq!(r.error_code, INVALID_REQUEST, "null value on SET: {}", message(&r));

    let r = alter(
        &mut c,
        "g",
        vec![
            op("share.delivery.count.limit", SET, Some("6")),
            op("share.delivery.count.limit", SET, Some("7")),
        ],
        false,
    )
    .await;
    assert_eq!(r.error_code, INVALID_REQUEST, "duplicate keys: {}", message(&r));

    // The same group twice in one request: both copies refused, other resources served.
    let rs = alter_many(
        &mut c,
        vec![
            group_resource("g", vec![op("share.delivery.count.limit", SET, Some("6"))]),
            group_resource("h", vec![op("share.delivery.count.limit", SET, Some("6"))]),
            group_resource("g", vec![op("share.delivery.count.limit", SET, Some("7"))]),
        ],
        false,
    )
    .await;
    let codes: Vec<i16> = rs.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![INVALID_REQUEST, 0, INVALID_REQUEST]);
    let g = describe(&mut c, "g").await;
    assert_eq!(value_and_source(&g, "share.delivery.count.limit"), ("5".into(), SOURCE_DEFAULT));
    let h = describe(&mut c, "h").await;
    assert_eq!(value_and_source(&h, "share.delivery.count.limit"), ("6".into(), SOURCE_GROUP));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_only_applies_nothing_and_delete_restores_the_default() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;

    let r = alter(&mut c, "g", vec![op("share.delivery.count.limit", SET, Some("3"))], true).await;
    assert_eq!(r.error_code, 0, "{}", message(&r));
    let d = describe(&mut c, "g").await;
    assert_eq!(value_and_source(&d, "share.delivery.count.limit"), ("5".into(), SOURCE_DEFAULT));
    // validate_only still reports errors.
    let r = alter(&mut c, "g", vec![op("share.delivery.count.limit", SET, Some("1"))], true).await;
    assert_eq!(r.error_code, INVALID_CONFIG);

    let r = alter(
        &mut c,
        "g",
        vec![
            op("share.delivery.count.limit", SET, Some("3")),
            op("share.auto.offset.reset", SET, Some("by_duration:PT30M")),
        ],
        false,
    )
    .await;
    assert_eq!(r.error_code, 0, "{}", message(&r));
    let d = describe(&mut c, "g").await;
    assert_eq!(value_and_source(&d, "share.delivery.count.limit"), ("3".into(), SOURCE_GROUP));

    let r = alter(&mut c, "g", vec![op("share.delivery.count.limit", DELETE, None)], false).await;
    assert_eq!(r.error_code, 0, "{}", message(&r));
    let d = describe(&mut c, "g").await;
    assert_eq!(value_and_source(&d, "share.delivery.count.limit"), ("5".into(), SOURCE_DEFAULT));
    assert_eq!(
        value_and_source(&d, "share.auto.offset.reset"),
        ("by_duration:PT30M".into(), SOURCE_GROUP),
        "DELETE of one key keeps the others"
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_settings_supply_defaults_and_bounds() {
    // As the Java share tests start the broker: lowered minimums so groups can use 1 s values.
    let broker = TestBroker::start(
        "group.share.min.record.lock.duration.ms = 1000\n\
         group.share.min.heartbeat.interval.ms = 1000\n\
         group.share.record.lock.duration.ms = 20000",
    )
    .await;
    let mut c = broker.client().await;

    let d = describe(&mut c, "g").await;
    assert_eq!(
        value_and_source(&d, "share.record.lock.duration.ms"),
        ("20000".into(), SOURCE_STATIC_BROKER)
    );
    let syns: Vec<(&str, Option<&str>, i8)> = entry(&d, "share.record.lock.duration.ms")
        .synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
        .collect();
    assert_eq!(
        syns,
        vec![
            ("group.share.record.lock.duration.ms", Some("20000"), SOURCE_STATIC_BROKER),
            ("group.share.record.lock.duration.ms", Some("30000"), SOURCE_DEFAULT),
        ]
    );

    let r = alter(
        &mut c,
        "g",
        vec![
            op("share.record.lock.duration.ms", SET, Some("1000")),
            op("share.heartbeat.interval.ms", SET, Some("1000")),
        ],
        false,
    )
    .await;
    assert_eq!(r.error_code, 0, "{}", message(&r));
    let d = describe(&mut c, "g").await;
    assert_eq!(value_and_source(&d, "share.record.lock.duration.ms"), ("1000".into(), SOURCE_GROUP));
    let r = alter(&mut c, "g", vec![op("share.record.lock.duration.ms", SET, Some("999"))], false).await;
    assert_eq!(r.error_code, INVALID_CONFIG, "Kafka's fixed lower bound of 1000 still applies");
    broker.stop().await;
}
