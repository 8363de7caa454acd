//! A full disk never kills the broker: the real binary on a 16 MiB tmpfs is filled with produce
//! until KAFKA_STORAGE_ERROR, keeps answering, takes produce again once space is freed, and
//! every acknowledged record is readable, also after SIGKILL and restart.
//!
//! Needs root to mount the tmpfs (CI runs as root); elsewhere it says so and returns.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use common::child::{ChildBroker, free_port};
use common::share::{create_topic, name};
use common::{RawClient, value_batch};
use kafka_protocol::messages::*;
use kafka_protocol::records::RecordBatchDecoder;

const NONE: i16 = 0;
const KAFKA_STORAGE_ERROR: i16 = 56;
/// Bytes of each record's value: a few hundred batches fill the tmpfs.
const VALUE_LEN: usize = 32 * 1024;
/// Small segments and index files, so the fill crosses several rolls (each one preallocates
/// index blocks) on the way to a full disk.
const CONFIG: &str = "log.segment.bytes = 131072\nlog.index.size.max.bytes = 65536\nlog.index.interval.bytes = 4096\n";

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Result<Tmpfs, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Tmpfs(path.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// One batch of one record whose value starts with `n` (8 digits) and is `VALUE_LEN` long.
fn record_batch(n: u32) -> Bytes {
    let mut value = format!("{n:08}").into_bytes();
    value.resize(VALUE_LEN, b'x');
    value_batch(Bytes::from(value))
}

async fn produce(c: &mut RawClient, n: u32) -> (i16, i64) {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        produce_request::TopicProduceData::default()
            .with_name(name("full"))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(record_batch(n))),
            ]),
    ]);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 11, &req).await;
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Every record from offset 0 to the high watermark: (offset, the number in its value).
async fn read_all(c: &mut RawClient) -> Vec<(i64, u32)> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![fetch_request::FetchTopic::default().with_topic(name("full")).with_partitions(
                vec![
                fetch_request::FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(next)
                    .with_partition_max_bytes(1 << 20),
            ],
            )]);
        let resp: FetchResponse = c.call(ApiKey::Fetch, 12, &req).await;
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, NONE, "fetch at {next}");
        let mut records = p.records.clone().unwrap_or_default();
        let sets = RecordBatchDecoder::decode_all(&mut records).expect("decode fetched batches");
        let before = next;
        for r in sets.iter().flat_map(|s| s.records.iter()) {
            if r.offset < next {
                continue;
            }
            let value = r.value.as_ref().expect("value");
            assert_eq!(value.len(), VALUE_LEN, "offset {}", r.offset);
            let n = std::str::from_utf8(&value[..8]).expect("digits").parse().expect("number");
            out.push((r.offset, n));
            next = r.offset + 1;
        }
        if next == before || next >= p.high_watermark {
            return out;
        }
    }
}

/// The broker still answers ApiVersions and Metadata.
async fn assert_answers(c: &mut RawClient) {
    let v: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(v.error_code, NONE);
    let m: MetadataResponse = c
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(name("full"))),
            ])),
        )
        .await;
    assert_eq!(m.topics[0].error_code, NONE);
    assert_eq!(m.topics[0].partitions.len(), 1);
}

fn assert_all_acked_readable(acked: &[(i64, u32)], read: &[(i64, u32)]) {
    let read: std::collections::HashMap<i64, u32> = read.iter().copied().collect();
    for (offset, n) in acked {
        assert_eq!(read.get(offset), Some(n), "acknowledged record {n} at offset {offset} is lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_storage_error_and_produce_resumes_when_space_returns() {
    if !is_root() {
        eprintln!("SKIPPED disk_full: not root, cannot mount a tmpfs (CI runs this as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let _tmpfs = match Tmpfs::mount(&data, "16m") {
        Ok(m) => m,
        Err(e) => {
            eprintln!("SKIPPED disk_full: cannot mount a tmpfs: {e}");
            return;
        }
    };
    // Space to give back later.
    let filler = data.join("filler");
    std::fs::write(&filler, vec![7u8; 4 << 20]).expect("filler");

    let port = free_port();
    let broker = ChildBroker::start(dir.path(), port, CONFIG).await;
    let mut c = RawClient::connect(broker.addr).await;
    create_topic(&mut c, "full", 1).await;

    let mut acked = Vec::new();
    let mut n = 0u32;
    let mut refused = 0;
    while refused == 0 {
        assert!(n < 2000, "16 MiB never filled after {n} batches of {VALUE_LEN} bytes");
        match produce(&mut c, n).await {
            (NONE, offset) => acked.push((offset, n)),
            (KAFKA_STORAGE_ERROR, _) => refused += 1,
            (code, _) => panic!("batch {n}: error {code}"),
        }
        n += 1;
    }
    let filled = acked.len();
    assert!(filled > 100, "only {filled} batches before the disk was full");
    // Full: still refused, still answering, nothing crashed.
    assert_eq!(produce(&mut c, n).await.0, KAFKA_STORAGE_ERROR);
    n += 1;
    assert_answers(&mut c).await;
    assert_all_acked_readable(&acked, &read_all(&mut c).await);

    // Space returns: produce resumes where the log left off.
    std::fs::remove_file(&filler).expect("free space");
    for _ in 0..20 {
        let (code, offset) = produce(&mut c, n).await;
        assert_eq!(code, NONE, "batch {n} after space returned");
        assert_eq!(offset, acked.last().map_or(0, |a| a.0 + 1), "no offset lost or reused");
        acked.push((offset, n));
        n += 1;
    }
    let read = read_all(&mut c).await;
    assert_all_acked_readable(&acked, &read);
    assert_eq!(read.len(), acked.len(), "only acknowledged records are in the log");
    eprintln!("disk_full: {filled} batches of {VALUE_LEN} B before KAFKA_STORAGE_ERROR, 20 after freeing 4 MiB");

    // SIGKILL and restart: everything acknowledged is still there, and produce works.
    drop(c);
    broker.kill_9();
    let broker = ChildBroker::start(dir.path(), port, CONFIG).await;
    let mut c = RawClient::connect(broker.addr).await;
    let read = read_all(&mut c).await;
    assert_all_acked_readable(&acked, &read);
    let (code, offset) = produce(&mut c, n).await;
    assert_eq!((code, offset), (NONE, acked.last().expect("acked").0 + 1));
    drop(c);
    drop(broker); // killed before the tmpfs is unmounted
}
