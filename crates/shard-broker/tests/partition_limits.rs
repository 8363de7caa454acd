//! Partition limits against the real `shard-broker` binary (issue 12): Kafka's 10,000 partitions
//! per CreateTopics request (also `validate_only`), `max.partitions.per.topic` and
//! `max.broker.partitions` through CreateTopics, CreatePartitions and auto-creation, and the
//! open-file limit: under a lowered `RLIMIT_NOFILE` partitions are refused with
//! POLICY_VIOLATION before "Too many open files", while ApiVersions keeps being answered and new
//! connections are still served.

mod common;

use std::os::unix::process::CommandExt;

use common::RawClient;
use common::child::{ChildBroker, free_port};
use common::probe::Probe;
use common::share::name;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const POLICY_VIOLATION: i16 = 44;

/// The real broker in a child process, with its data directory.
struct Broker {
    child: ChildBroker,
    _dir: tempfile::TempDir,
}

impl Broker {
    async fn start(extra: &str) -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = ChildBroker::start(dir.path(), free_port(), extra).await;
        Broker { child, _dir: dir }
    }

    /// Starts the broker with soft and hard `RLIMIT_NOFILE` set to `limit` (so its start-up
    /// raise cannot go past it).
    async fn start_with_nofile(extra: &str, limit: u64) -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = ChildBroker::start_with(dir.path(), free_port(), extra, |cmd| {
            // SAFETY: the closure runs in the forked child before exec and only makes the
            // setrlimit system call, which is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = rustix::process::Rlimit {
                        current: Some(limit),
                        maximum: Some(limit),
                    };
                    rustix::process::setrlimit(rustix::process::Resource::Nofile, lim).map_err(std::io::Error::from)
                });
            }
        })
        .await;
        Broker { child, _dir: dir }
    }

    async fn client(&self) -> RawClient {
        RawClient::connect(self.child.addr).await
    }
}

fn topic(n: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(n))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

/// CreateTopics v7; returns (error code, message) per topic.
async fn create(c: &mut RawClient, topics: Vec<CreatableTopic>, validate_only: bool) -> Vec<(i16, String)> {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_validate_only(validate_only)
        .with_topics(topics);
    let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req).await;
    resp.topics
        .iter()
        .map(|t| (t.error_code, t.error_message.as_ref().map(|m| m.to_string()).unwrap_or_default()))
        .collect()
}

/// CreatePartitions v3 of one topic to `count`; returns (error code, message).
async fn grow(c: &mut RawClient, topic: &str, count: i32, validate_only: bool) -> (i16, String) {
    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(30_000)
        .with_validate_only(validate_only)
        .with_topics(vec![CreatePartitionsTopic::default().with_name(name(topic)).with_count(count)]);
    let resp: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &req).await;
    let r = &resp.results[0];
    (r.error_code, r.error_message.as_ref().map(|m| m.to_string()).unwrap_or_default())
}

/// Metadata v12 for `topic` with auto-creation allowed; returns its error code and partitions.
async fn metadata(c: &mut RawClient, topic: &str) -> (i16, usize) {
    let req = MetadataRequest::default()
        .with_allow_auto_topic_creation(true)
        .with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(name(topic))),
        ]));
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 12, &req).await;
    (resp.topics[0].error_code, resp.topics[0].partitions.len())
}

/// Produce v11 of one small batch to `topic`-0; returns the partition's error code.
async fn produce(c: &mut RawClient, topic: &str) -> i16 {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default().with_name(name(topic)).with_partition_data(vec![
            PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(common::share::one_batch(2))),
        ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    resp.responses[0].partition_responses[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_partition_counts_are_refused_without_being_attempted() {
    let broker = Broker::start("").await;
    let probe = Probe::start(broker.child.addr).await;
    let mut c = broker.client().await;

    // 2^31-1 partitions, validate_only or not: Kafka's per-request bound, with Kafka's message.
    for validate_only in [true, false] {
        let r = create(&mut c, vec![topic("huge", i32::MAX)], validate_only).await;
        assert_eq!(r[0].0, POLICY_VIOLATION, "validate_only {validate_only}: {r:?}");
        assert_eq!(r[0].1, "Excessively large number of partitions per request.");
    }
    // The bound is on the request: two topics of 6,000 fail together, one of 6,000 alone passes
    // that check (and then meets max.partitions.per.topic's 10,000 and the broker's limits).
    let r = create(&mut c, vec![topic("a", 6000), topic("b", 6000)], true).await;
    assert_eq!(r.iter().map(|t| t.0).collect::<Vec<_>>(), vec![POLICY_VIOLATION; 2]);
    let r = create(&mut c, vec![topic("a", 6000)], true).await;
    assert!(r[0].1 != "Excessively large number of partitions per request.", "{r:?}");

    // Growing a topic to 2^31-1 partitions: refused by max.partitions.per.topic.
    assert_eq!(create(&mut c, vec![topic("small", 2)], false).await[0].0, NONE);
    for validate_only in [true, false] {
        let (code, message) = grow(&mut c, "small", i32::MAX, validate_only).await;
        assert_eq!(code, POLICY_VIOLATION, "{message}");
        assert!(message.contains("max.partitions.per.topic (10000)"), "{message}");
    }
    assert_eq!(metadata(&mut c, "small").await, (NONE, 2), "nothing was added");
    assert!(probe.finish().await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_topic_and_per_broker_caps_hold_on_every_path() {
    let broker = Broker::start("max.partitions.per.topic = 8\nmax.broker.partitions = 20").await;
    let probe = Probe::start(broker.child.addr).await;
    let mut c = broker.client().await;

    // Per topic: 9 is refused (also validate_only), 8 is created.
    for validate_only in [true, false] {
        let r = create(&mut c, vec![topic("first", 9)], validate_only).await;
        assert_eq!(r[0].0, POLICY_VIOLATION, "{r:?}");
        assert!(r[0].1.contains("max.partitions.per.topic (8)"), "{r:?}");
    }
    assert_eq!(create(&mut c, vec![topic("first", 8)], false).await[0].0, NONE);
    let (code, message) = grow(&mut c, "first", 9, false).await;
    assert_eq!(code, POLICY_VIOLATION, "{message}");

    // Per broker (the internal share-state partition counts): 1 + 8 + 8 = 17 hosted, 4 more
    // would be 21 > 20, 3 more fit.
    assert_eq!(create(&mut c, vec![topic("second", 8)], false).await[0].0, NONE);
    for validate_only in [true, false] {
        let r = create(&mut c, vec![topic("third", 4)], validate_only).await;
        assert_eq!(r[0].0, POLICY_VIOLATION, "{r:?}");
        assert!(r[0].1.contains("max.broker.partitions (20)"), "{r:?}");
    }
    let (code, message) = grow(&mut c, "second", 8 + 4, true).await;
    assert_eq!(code, POLICY_VIOLATION, "{message}");
    assert_eq!(create(&mut c, vec![topic("third", 3)], false).await[0].0, NONE);

    // Full: auto-creation by Metadata is refused with the same code, by Produce with
    // UNKNOWN_TOPIC_OR_PARTITION (what Kafka answers a produce to a topic that does not exist).
    assert_eq!(metadata(&mut c, "auto").await, (POLICY_VIOLATION, 0));
    assert_eq!(produce(&mut c, "auto-produce").await, UNKNOWN_TOPIC_OR_PARTITION);
    // Existing topics are served as before.
    assert_eq!(produce(&mut c, "third").await, NONE);
    assert_eq!(metadata(&mut c, "first").await, (NONE, 8));
    assert!(probe.finish().await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_open_file_limit_refuses_partitions_before_running_out() {
    // 256 descriptors: 64 kept for connections (a quarter of the limit) and 64 for internal use,
    // about 15 open at start: room for about 40 partitions of 3 files each.
    let broker = Broker::start_with_nofile("", 256).await;
    let probe = Probe::start(broker.child.addr).await;
    let mut c = broker.client().await;

    let mut created = 0;
    let refusal = loop {
        let n = format!("t{created}");
        let r = create(&mut c, vec![topic(&n, 5)], false).await;
        if r[0].0 != NONE {
            break r[0].clone();
        }
        assert_eq!(produce(&mut c, &n).await, NONE, "a created topic takes records");
        created += 1;
        assert!(created < 100, "never refused");
    };
    assert_eq!(refusal.0, POLICY_VIOLATION, "{refusal:?}");
    assert!(refusal.1.contains("RLIMIT_NOFILE 256"), "{refusal:?}");
    assert!(created >= 5, "only {created} topics of 5 partitions before the refusal");
    // CreatePartitions and auto-creation are refused the same way.
    let (code, message) = grow(&mut c, "t0", 200, false).await;
    assert_eq!(code, POLICY_VIOLATION, "{message}");
    assert!(message.contains("RLIMIT_NOFILE"), "{message}");

    // The descriptors kept back serve new connections: 40 at once, each answered.
    let mut conns = Vec::new();
    for _ in 0..40 {
        let mut conn = broker.client().await;
        let v: ApiVersionsResponse = conn.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
        assert_eq!(v.error_code, NONE);
        conns.push(conn);
    }
    for i in 0..created {
        assert_eq!(produce(&mut c, &format!("t{i}")).await, NONE);
    }
    let describe = DescribeClusterRequest::default();
    let d: DescribeClusterResponse = conns[0].call(ApiKey::DescribeCluster, 0, &describe).await;
    assert_eq!(d.error_code, NONE);
    assert!(probe.finish().await > 0);
    let mut broker = broker;
    assert!(broker.child.is_running());
}
