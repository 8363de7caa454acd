//! Fetch limits against the real `shard-broker` binary (issue 12): the request's `MaxBytes` and
//! each partition's `PartitionMaxBytes` hold across all partitions of a response, only a lone
//! first batch may exceed them (Kafka's `minOneMessage`), the broker's `fetch.max.bytes` caps a
//! huge request (Fetch and ShareFetch), and a read holds no more memory than it returns. A
//! parallel ApiVersions probe keeps being answered throughout.

mod common;

use bytes::Bytes;
use common::child::TempChildBroker;
use common::probe::Probe;
use common::share::{Consumer, create_topic, name, produce};
use common::{RawClient, value_batch};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::*;
use shard_protocol::ShareFetchResponse;

/// Value size of the records produced: each batch is a little over 10 KB.
const VALUE_LEN: usize = 10_000;

/// The real broker in a child process, with its data directory.
type Broker = TempChildBroker;

/// One batch of one record with a `value_len`-byte value.
fn sized_batch(value_len: usize) -> Bytes {
    value_batch(Bytes::from(vec![b'v'; value_len]))
}

/// Sizes of the whole batches in `records`.
fn batch_sizes(records: &[u8]) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut at = 0;
    while at + 12 <= records.len() {
        let len = 12 + i32::from_be_bytes(records[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
        assert!(at + len <= records.len(), "a partial batch in a response");
        sizes.push(len);
        at += len;
    }
    assert_eq!(at, records.len());
    sizes
}

/// A Fetch v12 (topic names) of `partitions` of `topic` from offset 0.
fn fetch_request(topic: &str, partitions: &[i32], max_bytes: i32, partition_max_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_session_epoch(-1)
        .with_topics(vec![
            FetchTopic::default().with_topic(name(topic)).with_partitions(
                partitions
                    .iter()
                    .map(|&p| {
                        FetchPartition::default()
                            .with_partition(p)
                            .with_fetch_offset(0)
                            .with_partition_max_bytes(partition_max_bytes)
                    })
                    .collect(),
            ),
        ])
}

/// The batch sizes each partition of the response carries, in response order.
async fn fetch(c: &mut RawClient, req: &FetchRequest) -> Vec<(i32, Vec<usize>)> {
    let resp: FetchResponse = c.call(ApiKey::Fetch, 12, req).await;
    assert_eq!(resp.error_code, 0);
    resp.responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            assert_eq!(p.error_code, 0, "partition {}", p.partition_index);
            (p.partition_index, batch_sizes(p.records.as_deref().unwrap_or_default()))
        })
        .collect()
}

/// Kafka's rule for a response: at most `limit` record bytes, unless it is one batch alone.
fn assert_within(parts: &[(i32, Vec<usize>)], limit: usize, what: &str) -> usize {
    let total: usize = parts.iter().flat_map(|(_, b)| b).sum();
    let batches: usize = parts.iter().map(|(_, b)| b.len()).sum();
    assert!(
        total <= limit || batches == 1,
        "{what}: {total} bytes in {batches} batches over the limit of {limit}: {parts:?}"
    );
    total
}

/// Creates `topic` with `partitions` partitions of `batches` batches of about 10 KB each.
async fn fill(c: &mut RawClient, topic: &str, partitions: i32, batches: usize) -> usize {
    create_topic(c, topic, partitions).await;
    let batch = sized_batch(VALUE_LEN);
    for p in 0..partitions {
        for _ in 0..batches {
            produce(c, topic, p, batch.clone()).await;
        }
    }
    batch.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_bytes_holds_across_partitions_except_a_lone_first_batch() {
    let broker = Broker::start("").await;
    let probe = Probe::start(broker.addr).await;
    let mut c = RawClient::connect(broker.addr).await;
    let batch = fill(&mut c, "spread", 4, 20).await;
    let all = [0, 1, 2, 3];

    // Room for two and a half batches: two from partition 0, nothing more (not even from the
    // next partitions, which used to get a batch each).
    let parts = fetch(&mut c, &fetch_request("spread", &all, (batch * 5 / 2) as i32, 1 << 20)).await;
    assert_eq!(assert_within(&parts, batch * 5 / 2, "max_bytes 2.5 batches"), 2 * batch);
    assert_eq!(parts[0].1.len(), 2);

    // Less than one batch: the first batch comes alone so the consumer makes progress.
    for max_bytes in [0, 1, (batch / 2) as i32] {
        let parts = fetch(&mut c, &fetch_request("spread", &all, max_bytes, 1 << 20)).await;
        assert_eq!(assert_within(&parts, max_bytes as usize, "max_bytes below a batch"), batch);
        assert_eq!(parts[0].1, vec![batch], "partition 0 gives the lone first batch");
    }

    // Room for six batches over four partitions of twenty: all six from partition 0.
    let parts = fetch(&mut c, &fetch_request("spread", &all, (batch * 6) as i32, 1 << 20)).await;
    assert_eq!(assert_within(&parts, batch * 6, "max_bytes 6 batches"), 6 * batch);

    // The first partition empty (fetched at its end): the lone-batch exception moves to the next.
    let mut req = fetch_request("spread", &all, 1, 1 << 20);
    req.topics[0].partitions[0].fetch_offset = 20;
    let parts = fetch(&mut c, &req).await;
    assert_eq!(assert_within(&parts, 1, "first partition at its end"), batch);
    assert_eq!(parts[1].1, vec![batch]);

    assert!(probe.finish().await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_max_bytes_holds_for_every_partition() {
    let broker = Broker::start("").await;
    let probe = Probe::start(broker.addr).await;
    let mut c = RawClient::connect(broker.addr).await;
    let batch = fill(&mut c, "perpart", 4, 10).await;
    let all = [0, 1, 2, 3];

    // Two and a half batches per partition: two from each.
    let parts = fetch(&mut c, &fetch_request("perpart", &all, 50 << 20, (batch * 5 / 2) as i32)).await;
    for (p, sizes) in &parts {
        assert_eq!(sizes.len(), 2, "partition {p}");
    }
    assert_within(&parts, 8 * batch, "2.5 batches per partition");

    // Half a batch per partition: partition 0's first batch alone, the others nothing.
    let parts = fetch(&mut c, &fetch_request("perpart", &all, 50 << 20, (batch / 2) as i32)).await;
    assert_eq!(assert_within(&parts, batch / 2, "half a batch per partition"), batch);
    assert_eq!(parts[0].1, vec![batch]);

    assert!(probe.finish().await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_fetch_max_bytes_caps_a_huge_request() {
    let limit = 64 * 1024;
    let broker = Broker::start(&format!("fetch.max.bytes = {limit}\nlog.flush.mode = \"page_cache\"")).await;
    let probe = Probe::start(broker.addr).await;
    let mut c = RawClient::connect(broker.addr).await;
    let batch = fill(&mut c, "capped", 3, 10).await;

    let parts = fetch(&mut c, &fetch_request("capped", &[0, 1, 2], i32::MAX, i32::MAX)).await;
    assert_eq!(
        assert_within(&parts, limit, "MaxBytes 2^31-1 under fetch.max.bytes 64 KiB"),
        limit / batch * batch
    );

    // A batch larger than fetch.max.bytes still comes when it is first, alone.
    create_topic(&mut c, "bigbatch", 1).await;
    let big = sized_batch(200_000);
    produce(&mut c, "bigbatch", 0, big.clone()).await;
    produce(&mut c, "bigbatch", 0, big.clone()).await;
    let parts = fetch(&mut c, &fetch_request("bigbatch", &[0], i32::MAX, i32::MAX)).await;
    assert_eq!(parts[0].1, vec![big.len()]);

    // ShareFetch: MaxBytes 2^31-1 is capped the same way, across the session's partitions.
    let topic = create_topic(&mut c, "sharecapped", 3).await;
    let mut consumer = Consumer::opened(broker.addr, "cappers", "member-a", topic, &[0, 1, 2], 1).await;
    let small = sized_batch(VALUE_LEN);
    for p in 0..3 {
        for _ in 0..10 {
            produce(&mut c, "sharecapped", p, small.clone()).await;
        }
    }
    let mut req = consumer.request(1000, 10_000);
    req.max_bytes = i32::MAX;
    let resp = consumer.send(&req).await;
    assert_eq!(resp.error_code, 0);
    let parts = share_parts(&resp);
    assert_eq!(assert_within(&parts, limit, "ShareFetch MaxBytes 2^31-1"), limit / batch * batch);

    assert!(probe.finish().await > 0);
}

/// The batch sizes each partition of a ShareFetch response carries.
fn share_parts(resp: &ShareFetchResponse) -> Vec<(i32, Vec<usize>)> {
    resp.responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            assert_eq!(p.error_code, 0);
            let bytes: Vec<u8> = p.records.iter().flat_map(|r| r.iter().copied()).collect();
            (p.partition_index, batch_sizes(&bytes))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_fetch_max_bytes_holds_across_partitions() {
    let broker = Broker::start("").await;
    let probe = Probe::start(broker.addr).await;
    let mut c = RawClient::connect(broker.addr).await;
    let topic = create_topic(&mut c, "sharespread", 4).await;
    for (version, group) in [(1, "v1-group"), (2, "v2-group")] {
        let mut consumer = Consumer::opened(broker.addr, group, "member-a", topic, &[0, 1, 2, 3], version).await;
        let batch = sized_batch(VALUE_LEN);
        for p in 0..4 {
            for _ in 0..5 {
                produce(&mut c, "sharespread", p, batch.clone()).await;
            }
        }
        for max_bytes in [batch.len() * 5 / 2, 1] {
            let mut req = consumer.request(1000, 10_000);
            req.max_bytes = max_bytes as i32;
            let resp = consumer.send(&req).await;
            assert_eq!(resp.error_code, 0);
            let parts = share_parts(&resp);
            let got = assert_within(&parts, max_bytes, &format!("ShareFetch v{version} MaxBytes {max_bytes}"));
            assert!(got > 0, "something is acquired");
        }
        consumer.close().await;
    }
    assert!(probe.finish().await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_holds_no_more_memory_than_it_returns() {
    // 48 MB in one partition; fetch.max.bytes 1 MiB. A read used to allocate what was left of
    // the segment (up to 2 GiB) whatever the limit, and only then cut it to size.
    let broker = Broker::start("fetch.max.bytes = 1048576\nlog.flush.mode = \"page_cache\"").await;
    let probe = Probe::start(broker.addr).await;
    let mut c = RawClient::connect(broker.addr).await;
    create_topic(&mut c, "deep", 1).await;
    let big = sized_batch(1_000_000);
    for _ in 0..48 {
        produce(&mut c, "deep", 0, big.clone()).await;
    }
    let before = broker.child.peak_rss();
    for _ in 0..4 {
        let parts = fetch(&mut c, &fetch_request("deep", &[0], i32::MAX, i32::MAX)).await;
        assert_eq!(assert_within(&parts, 1 << 20, "MaxBytes 2^31-1 over 48 MB"), big.len());
    }
    let grown = broker.child.peak_rss().saturating_sub(before);
    eprintln!("peak RSS {} MB before the fetches, grew by {} KB", before >> 20, grown >> 10);
    assert!(grown < 16 << 20, "peak RSS grew by {grown} bytes for 1 MB fetches");
    assert!(probe.finish().await > 0);
}
