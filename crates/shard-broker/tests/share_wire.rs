//! Share groups (KIP-932) on the wire: raw ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch and
//! ShareAcknowledge exchanges with an in-process broker, pinning the protocol rules: member epochs
//! and assignments, share-session epochs and limits, acquisition and acknowledgement, long polls,
//! lock expiry and delivery limits, connection drops, session timeouts and bad input.
//!
//! Share-partitions start at the log end (`share.auto.offset.reset` defaults to latest), so every
//! test opens its share sessions (which creates the share-partitions) before producing.
//!
//! Time is only asserted where it is what is under test (long polls, lock and session expiry),
//! with generous bounds; every network wait is bounded by `common::TIMEOUT`.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::share::*;
use common::{RawClient, TestBroker};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::*;
use shard_protocol::{AcknowledgementBatch, ForgottenTopic, ShareAcknowledgeRequest, ShareFetchPartition, ShareFetchTopic};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// ShareGroupHeartbeat

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_join_assigns_topic_partitions_with_the_configured_interval() {
    let broker = TestBroker::start("group.share.heartbeat.interval.ms = 7000").await;
    let mut c = broker.client().await;
    let id = create_topic(&mut c, "hb-three", 3).await;

    let resp = heartbeat(&mut c, "hb", "member-a", 0, Some(&["hb-three"])).await;
    assert_eq!(resp.error_code, NONE, "{:?}", resp.error_message);
    assert_eq!(resp.member_id.as_deref(), Some("member-a"));
    assert!(resp.member_epoch >= 1, "joined at epoch {}", resp.member_epoch);
    assert_eq!(
        resp.heartbeat_interval_ms, 7000,
        "heartbeat interval from group.share.heartbeat.interval.ms"
    );
    assert_eq!(assignment(&resp), Some(vec![(id, vec![0, 1, 2])]));

    // A plain heartbeat at the current epoch: same epoch, and no assignment (unchanged).
    let again = heartbeat(&mut c, "hb", "member-a", resp.member_epoch, None).await;
    assert_eq!(again.error_code, NONE);
    assert_eq!(again.member_epoch, resp.member_epoch);
    assert_eq!(again.heartbeat_interval_ms, 7000);
    assert_eq!(assignment(&again), None, "an unchanged assignment is not resent");

    // A full request (subscription sent again) always carries the assignment.
    let full = heartbeat(&mut c, "hb", "member-a", resp.member_epoch, Some(&["hb-three"])).await;
    assert_eq!(full.error_code, NONE);
    assert_eq!(full.member_epoch, resp.member_epoch, "same subscription: no new epoch");
    assert_eq!(assignment(&full), Some(vec![(id, vec![0, 1, 2])]));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_second_member_shares_the_single_partition() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let id = create_topic(&mut c, "solo", 1).await;

    let a = heartbeat(&mut c, "pair", "member-a", 0, Some(&["solo"])).await;
    assert_eq!(a.error_code, NONE);
    assert_eq!(assignment(&a), Some(vec![(id, vec![0])]));
    let b = heartbeat(&mut c, "pair", "member-b", 0, Some(&["solo"])).await;
    assert_eq!(b.error_code, NONE);
    assert!(b.member_epoch > a.member_epoch, "a new member bumps the group epoch");
    assert_eq!(
        assignment(&b),
        Some(vec![(id, vec![0])]),
        "more members than partitions: the partition is shared"
    );

    let a2 = heartbeat(&mut c, "pair", "member-a", a.member_epoch, None).await;
    assert_eq!(a2.error_code, NONE);
    assert_eq!(a2.member_epoch, b.member_epoch, "member a moves to the new group epoch");
    if let Some(asg) = assignment(&a2) {
        assert_eq!(asg, vec![(id, vec![0])]);
    }

    let d = describe(&mut c, &["pair"]).await;
    let g = &d.groups[0];
    assert_eq!(g.error_code, NONE);
    assert_eq!(g.members.len(), 2);
    for m in &g.members {
        let tps = &m.assignment.topic_partitions;
        assert_eq!(tps.len(), 1, "{}: {tps:?}", m.member_id.as_str());
        assert_eq!(tps[0].topic_id, id);
        assert_eq!(tps[0].partitions, vec![0]);
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_refusals_unknown_member_fenced_epoch_invalid_join_and_leave() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    create_topic(&mut c, "refuse", 1).await;

    let ea = join(&mut c, "refusals", "member-a", &["refuse"]).await;
    let eb = join(&mut c, "refusals", "member-b", &["refuse"]).await;
    let ec = join(&mut c, "refusals", "member-c", &["refuse"]).await;
    assert!(ea < eb && eb < ec);

    // b catches up to the group epoch; its previous epoch is then tolerated once more (a lost
    // response), anything else is fenced.
    let b = heartbeat(&mut c, "refusals", "member-b", eb, None).await;
    assert_eq!((b.error_code, b.member_epoch), (NONE, ec));
    let lost = heartbeat(&mut c, "refusals", "member-b", eb, None).await;
    assert_eq!(lost.error_code, NONE, "the previous epoch is accepted: {:?}", lost.error_message);
    assert_eq!(lost.member_epoch, ec);
    let stale = heartbeat(&mut c, "refusals", "member-b", ea, None).await;
    assert_eq!(stale.error_code, FENCED_MEMBER_EPOCH, "an epoch older than the previous one");
    let ahead = heartbeat(&mut c, "refusals", "member-b", ec + 5, None).await;
    assert_eq!(ahead.error_code, FENCED_MEMBER_EPOCH, "an epoch the member never had");

    let ghost = heartbeat(&mut c, "refusals", "ghost", ec, None).await;
    assert_eq!(ghost.error_code, UNKNOWN_MEMBER_ID);

    let no_subs = heartbeat(&mut c, "refusals", "member-d", 0, None).await;
    assert_eq!(no_subs.error_code, INVALID_REQUEST, "joining without SubscribedTopicNames");
    let empty_subs = heartbeat(&mut c, "refusals", "member-d", 0, Some(&[])).await;
    assert_eq!(empty_subs.error_code, INVALID_REQUEST, "joining with an empty subscription");
    let below = heartbeat(&mut c, "refusals", "member-a", -2, None).await;
    assert_eq!(below.error_code, INVALID_REQUEST, "epoch below -1");
    let no_member = heartbeat(&mut c, "refusals", "", 0, Some(&["refuse"])).await;
    assert_eq!(no_member.error_code, INVALID_REQUEST, "empty member id");
    let no_group = heartbeat(&mut c, "", "member-d", 0, Some(&["refuse"])).await;
    assert_eq!(no_group.error_code, INVALID_REQUEST, "empty group id");

    let leave = heartbeat(&mut c, "refusals", "member-a", -1, None).await;
    assert_eq!(leave.error_code, NONE);
    assert_eq!(leave.member_epoch, -1, "leaving echoes epoch -1");
    assert_eq!(leave.member_id.as_deref(), Some("member-a"));
    let after = heartbeat(&mut c, "refusals", "member-a", ea, None).await;
    assert_eq!(after.error_code, UNKNOWN_MEMBER_ID, "a member that left is unknown");

    let d = describe(&mut c, &["refusals"]).await;
    let members: BTreeSet<&str> = d.groups[0].members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(members, BTreeSet::from(["member-b", "member-c"]));
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_assigns_new_partitions_without_restart() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let id = create_topic(&mut c, "grow", 1).await;
    let joined = heartbeat(&mut c, "growers", "member-a", 0, Some(&["grow"])).await;
    assert_eq!(assignment(&joined), Some(vec![(id, vec![0])]));

    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![CreatePartitionsTopic::default().with_name(name("grow")).with_count(3)]);
    let resp: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &req).await;
    assert_eq!(resp.results[0].error_code, NONE);

    let next = heartbeat(&mut c, "growers", "member-a", joined.member_epoch, None).await;
    assert_eq!(next.error_code, NONE);
    assert!(next.member_epoch > joined.member_epoch, "new partitions bump the group epoch");
    assert_eq!(assignment(&next), Some(vec![(id, vec![0, 1, 2])]), "the changed assignment is sent");
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// ShareGroupDescribe

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_lists_members_epochs_and_assignments_with_topic_names() {
    let broker = TestBroker::start("").await;
    let mut c = broker.client().await;
    let two = create_topic(&mut c, "d-two", 2).await;
    let one = create_topic(&mut c, "d-one", 1).await;
    let ea = join(&mut c, "described", "member-a", &["d-two", "d-one"]).await;
    let eb = join(&mut c, "described", "member-b", &["d-two"]).await;
    let a = heartbeat(&mut c, "described", "member-a", ea, None).await;
    assert_eq!(a.member_epoch, eb);

    let d = describe(&mut c, &["described", "no-such-group"]).await;
    assert_eq!(d.groups.len(), 2);
    let g = &d.groups[0];
    assert_eq!(g.error_code, NONE);
    assert_eq!(g.group_id.as_str(), "described");
    assert_eq!(g.group_state.as_str(), "Stable");
    assert_eq!(g.group_epoch, eb);
    assert_eq!(g.assignor_name.as_str(), "simple");
    assert_eq!(g.members.len(), 2);
    let mut d_two_owners: Vec<i32> = Vec::new();
    for m in &g.members {
        assert_eq!(m.member_epoch, eb, "{} is at the group epoch", m.member_id.as_str());
        assert_eq!(m.client_id.as_str(), "shard-test");
        assert_eq!(m.client_host.as_str(), "/127.0.0.1");
        let subs: BTreeSet<&str> = m.subscribed_topic_names.iter().map(|t| t.0.as_str()).collect();
        let tps = &m.assignment.topic_partitions;
        assert!(!tps.is_empty(), "{} has partitions", m.member_id.as_str());
        for tp in tps {
            let expected = if tp.topic_id == two {
                "d-two"
            } else if tp.topic_id == one {
                "d-one"
            } else {
                panic!("unexpected topic id {}", tp.topic_id)
            };
            assert_eq!(tp.topic_name.0.as_str(), expected, "topic name matches the id");
            assert!(subs.contains(expected), "assigned only subscribed topics");
            if tp.topic_id == two {
                d_two_owners.extend(&tp.partitions);
            }
        }
        match m.member_id.as_str() {
            "member-a" => {
                assert_eq!(subs, BTreeSet::from(["d-one", "d-two"]));
                assert!(tps.iter().any(|tp| tp.topic_id == one && tp.partitions == vec![0]));
            }
            "member-b" => assert_eq!(subs, BTreeSet::from(["d-two"])),
            other => panic!("unexpected member {other}"),
        }
    }
    d_two_owners.sort_unstable();
    assert_eq!(d_two_owners, vec![0, 1], "each d-two partition goes to exactly one member");

    let unknown = &d.groups[1];
    assert_eq!(unknown.group_id.as_str(), "no-such-group");
    assert_eq!(unknown.error_code, GROUP_ID_NOT_FOUND);
    assert!(unknown.members.is_empty());

    for (m, e) in [("member-a", eb), ("member-b", eb)] {
        assert_eq!(heartbeat(&mut c, "described", m, e, None).await.error_code, NONE);
        let left = heartbeat(&mut c, "described", m, -1, None).await;
        assert_eq!(left.member_epoch, -1);
    }
    let d = describe(&mut c, &["described"]).await;
    assert_eq!(d.groups[0].error_code, NONE);
    assert_eq!(d.groups[0].group_state.as_str(), "Empty");
    assert!(d.groups[0].members.is_empty());
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Share sessions

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_session_epochs_open_advance_and_refuse() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "sess", 1).await;

    for version in [1, 2] {
        let group = format!("sessions-v{version}");
        let mut a = Consumer::connect(broker.addr, &group, "member-a", id, &[0], version).await;
        let opened = a.open().await;
        let p = part(&opened, 0).expect("the opening answer lists every requested partition");
        assert_eq!((p.error_code, p.records_len()), (NONE, 0));
        assert!(p.acquired_records.is_empty());
        assert_eq!(a.epoch, 1);
        a.fetch(0, 10).await;
        a.fetch(0, 10).await;
        assert_eq!(a.epoch, 3);

        // A wrong epoch is refused and leaves the session where it was.
        let mut wrong = a.request(0, 10);
        wrong.share_session_epoch = 7;
        assert_eq!(a.send(&wrong).await.error_code, INVALID_SHARE_SESSION_EPOCH);
        wrong.share_session_epoch = 2;
        assert_eq!(a.send(&wrong).await.error_code, INVALID_SHARE_SESSION_EPOCH, "an old epoch");
        a.fetch(0, 10).await;
        assert_eq!(a.epoch, 4);

        // ShareAcknowledge cannot open a session; at the right epoch it moves the epoch on.
        let open_ack = a.acknowledge_at(0, 0, vec![ack(0, 0, &[ACCEPT])], false).await;
        assert_eq!(
            open_ack.error_code, INVALID_SHARE_SESSION_EPOCH,
            "ShareAcknowledge v{version} with epoch 0"
        );
        let wrong_ack = a.acknowledge_at(9, 0, vec![ack(0, 0, &[ACCEPT])], false).await;
        assert_eq!(wrong_ack.error_code, INVALID_SHARE_SESSION_EPOCH);
        let empty = ShareAcknowledgeRequest {
            group_id: Some(s(&group)),
            member_id: Some(s("member-a")),
            share_session_epoch: 4,
            ..Default::default()
        };
        assert_eq!(share_ack(&mut a.client, version, &empty).await.error_code, NONE);
        a.epoch = 5;
        a.fetch(0, 10).await;

        // No session for this member.
        let mut ghost = Consumer::connect(broker.addr, &group, "ghost", id, &[0], version).await;
        ghost.epoch = 5;
        let resp = ghost.send(&ghost.request(0, 10)).await;
        assert_eq!(resp.error_code, SHARE_SESSION_NOT_FOUND);
        let mut close = ghost.request(0, 10);
        close.share_session_epoch = -1;
        assert_eq!(
            ghost.send(&close).await.error_code,
            SHARE_SESSION_NOT_FOUND,
            "closing a missing session"
        );
        let ghost_ack = ghost.acknowledge_at(1, 0, vec![ack(0, 0, &[ACCEPT])], false).await;
        assert_eq!(ghost_ack.error_code, SHARE_SESSION_NOT_FOUND);

        // An opening request carrying acknowledgements is refused and opens nothing.
        let mut fresh = Consumer::connect(broker.addr, &group, "fresh", id, &[0], version).await;
        let mut req = fresh.request(0, 10);
        req.topics = fresh.fetch_acks(0, vec![ack(0, 0, &[ACCEPT])]);
        assert_eq!(fresh.send(&req).await.error_code, INVALID_REQUEST);
        fresh.epoch = 1;
        assert_eq!(
            fresh.send(&fresh.request(0, 10)).await.error_code,
            SHARE_SESSION_NOT_FOUND,
            "the refused opening created no session"
        );
    }
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_session_limit_refuses_a_second_member_after_max_wait() {
    let broker = TestBroker::start("group.share.max.share.sessions = 1").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "limited", 1).await;
    let mut a = Consumer::opened(broker.addr, "limits", "member-a", id, &[0], 2).await;

    let mut b = Consumer::connect(broker.addr, "limits", "member-b", id, &[0], 2).await;
    let started = Instant::now();
    let refused = b.send(&b.request(600, 10)).await;
    let waited = started.elapsed();
    assert_eq!(refused.error_code, SHARE_SESSION_LIMIT_REACHED);
    assert!(
        waited >= Duration::from_millis(550),
        "refused only after MaxWaitMs, not at once: {} ms",
        millis(waited)
    );
    assert!(waited < Duration::from_secs(5), "{} ms", millis(waited));

    // The holder may reopen its own session; once it closes, b gets one.
    a.epoch = 0;
    a.open().await;
    a.close().await;
    b.epoch = 0;
    b.open().await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_session_releases_records_for_redelivery() {
    // A high delivery limit keeps throttled redelivery (one record at a time near the limit) out
    // of the way.
    let broker = TestBroker::start("group.share.delivery.count.limit = 10").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "closing", 1).await;
    let mut a = Consumer::opened(broker.addr, "closers", "member-a", id, &[0], 1).await;
    let mut b = Consumer::opened(broker.addr, "closers", "member-b", id, &[0], 2).await;
    produce(&mut admin, "closing", 0, one_batch(5)).await;
    assert_eq!(acquired(&a.fetch(0, 100).await, 0), delivered(0, 4, 1));

    // Reopening (epoch 0 again) replaces the session but a keeps its records.
    a.epoch = 0;
    assert_eq!(acquired_total(&a.open().await), 0);
    assert!(acquired(&b.fetch(0, 100).await, 0).is_empty(), "a still holds everything");

    // Epoch -1 closes the session and releases what a holds.
    let closed = a.close().await;
    assert_eq!(acquired_total(&closed), 0, "closing does not fetch");
    let mut stale = a.request(0, 10);
    stale.share_session_epoch = 2;
    assert_eq!(a.send(&stale).await.error_code, SHARE_SESSION_NOT_FOUND, "the session is gone");
    let redelivered = b.fetch(0, 100).await;
    assert_eq!(
        acquired(&redelivered, 0),
        delivered(0, 4, 2),
        "released by the close, delivered again"
    );

    // A closing ShareFetch applies its piggybacked acks first, then releases the rest.
    let mut last = b.request(0, 100);
    last.share_session_epoch = -1;
    last.topics = b.fetch_acks(0, vec![ack(0, 0, &[ACCEPT])]);
    let closed = b.send(&last).await;
    assert_eq!(closed.error_code, NONE);
    assert_eq!(fetch_ack_code(&closed, 0), NONE);
    assert_eq!(acquired_total(&closed), 0);
    let third = a.open().await;
    assert_eq!(acquired(&third, 0), delivered(1, 4, 3), "offset 0 was accepted, 1..4 released");

    // So does a closing ShareAcknowledge.
    let closing_ack = a.acknowledge_at(-1, 0, vec![ack(1, 1, &[ACCEPT])], false).await;
    assert_eq!(closing_ack.error_code, NONE);
    assert_eq!(ack_code(&closing_ack, 0), NONE);
    assert_eq!(a.epoch, 0);
    let fourth = b.open().await;
    assert_eq!(acquired(&fourth, 0), delivered(2, 4, 4), "offset 1 was accepted, 2..4 released");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_session_adds_and_forgets_partitions() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "reshaped", 2).await;
    // b holds a share-partition for partition 1 from the start (it begins at the log end).
    let mut b = Consumer::opened(broker.addr, "reshapers", "member-b", id, &[1], 2).await;
    let mut a = Consumer::opened(broker.addr, "reshapers", "member-a", id, &[0], 2).await;
    produce(&mut admin, "reshaped", 0, one_batch(2)).await;
    produce(&mut admin, "reshaped", 1, one_batch(3)).await;

    let first = a.fetch(0, 100).await;
    assert_eq!(acquired(&first, 0), delivered(0, 1, 1));
    assert!(part(&first, 1).is_none(), "partition 1 is not in a's session");

    // A later request listing partition 1 adds it to the session.
    let mut add = a.request(0, 100);
    add.topics = vec![ShareFetchTopic {
        topic_id: id,
        partitions: vec![ShareFetchPartition {
            partition_index: 1,
            acknowledgement_batches: Vec::new(),
        }],
    }];
    let added = a.send(&add).await;
    assert_eq!(added.error_code, NONE);
    assert_eq!(acquired(&added, 1), delivered(0, 2, 1));
    assert!(acquired(&b.fetch(0, 100).await, 1).is_empty(), "a took them");

    // Forgotten partitions are no longer fetched from; the rest of the session still is.
    let mut forget = a.request(0, 100);
    forget.forgotten_topics_data = vec![ForgottenTopic {
        topic_id: id,
        partitions: vec![1],
    }];
    assert_eq!(a.send(&forget).await.error_code, NONE);
    produce(&mut admin, "reshaped", 1, one_batch(2)).await;
    produce(&mut admin, "reshaped", 0, one_batch(1)).await;
    let after = a.fetch(500, 100).await;
    assert_eq!(acquired(&after, 0), delivered(2, 2, 1));
    assert!(acquired(&after, 1).is_empty(), "partition 1 was forgotten");
    assert_eq!(
        acquired(&b.fetch(0, 100).await, 1),
        delivered(3, 4, 1),
        "b gets the new records of partition 1"
    );
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Fetching

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_returns_whole_stored_batches_covering_the_acquired_ranges() {
    let broker = TestBroker::start("group.share.record.lock.duration.ms = 20000").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "batches", 1).await;
    let mut v1 = Consumer::opened(broker.addr, "batches-v1", "member-a", id, &[0], 1).await;
    let mut v2 = Consumer::opened(broker.addr, "batches-v2", "member-a", id, &[0], 2).await;
    let produced = [one_batch(3), one_batch(4), one_batch(5)];
    let mut bases = Vec::new();
    for b in &produced {
        bases.push(produce(&mut admin, "batches", 0, b.clone()).await);
    }
    assert_eq!(bases, vec![0, 3, 7]);

    for consumer in [&mut v1, &mut v2] {
        let resp = consumer.fetch(0, 100).await;
        assert_eq!(resp.acquisition_lock_timeout_ms, 20000, "the configured lock duration");
        let p = part(&resp, 0).expect("partition with records is listed");
        assert_eq!((p.error_code, p.acknowledge_error_code), (NONE, NONE));
        assert_eq!(acquired(&resp, 0), delivered(0, 11, 1));
        let stored = split_batches(p);
        assert_eq!(stored.len(), 3, "three stored batches");
        for ((got, sent), base) in stored.iter().zip(&produced).zip(&bases) {
            assert_eq!(base_offset(got), *base);
            assert_eq!(got.len(), sent.len());
            assert_eq!(&got[8..], &sent[8..], "stored batch is byte-identical apart from the base offset");
        }
        assert_eq!(record_offsets(p), (0..=11).collect::<Vec<_>>(), "records cover the acquired ranges");
    }

    // Nothing more to acquire: a follow-up answer does not list the partition.
    let empty = v1.fetch(0, 100).await;
    assert!(part(&empty, 0).is_none(), "partitions with nothing to say are left out");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_limit_never_exceeds_max_records_batch_mode_finishes_the_batch() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "limits", 1).await;
    let mut batch_v1 = Consumer::opened(broker.addr, "batch-v1", "member-a", id, &[0], 1).await;
    let mut batch_v2 = Consumer::opened(broker.addr, "batch-v2", "member-a", id, &[0], 2).await;
    let mut limit = Consumer::opened(broker.addr, "record-limit", "member-a", id, &[0], 2).await;
    produce(&mut admin, "limits", 0, one_batch(10)).await;

    for c in [&mut batch_v1, &mut batch_v2] {
        let resp = c.fetch(0, 3).await;
        assert_eq!(acquired(&resp, 0), delivered(0, 9, 1), "batch mode finishes the log batch");
    }

    let limited = |c: &Consumer, max_records: i32| {
        let mut req = c.request(0, max_records);
        req.share_acquire_mode = 1;
        req
    };
    let first = limit.send(&limited(&limit, 3)).await;
    assert_eq!(first.error_code, NONE);
    assert_eq!(acquired(&first, 0), delivered(0, 2, 1), "record_limit: exactly MaxRecords");
    let p = part(&first, 0).expect("listed");
    let stored = split_batches(p);
    assert_eq!(stored.len(), 1);
    assert_eq!(base_offset(&stored[0]), 0, "the whole batch is sent, the client filters");
    let second = limit.send(&limited(&limit, 3)).await;
    assert_eq!(acquired(&second, 0), delivered(3, 5, 1));
    let rest = limit.send(&limited(&limit, 100)).await;
    assert_eq!(acquired(&rest, 0), delivered(6, 9, 1));

    produce(&mut admin, "limits", 0, one_batch(10)).await;
    let next = limit.send(&limited(&limit, 4)).await;
    assert_eq!(acquired(&next, 0), delivered(10, 13, 1));

    // MaxRecords is request-wide: over two partitions record_limit still stops at it.
    let id2 = create_topic(&mut admin, "limits-two", 2).await;
    let mut wide = Consumer::opened(broker.addr, "record-limit-wide", "member-a", id2, &[0, 1], 2).await;
    let mut wide_batch = Consumer::opened(broker.addr, "batch-wide", "member-a", id2, &[0, 1], 2).await;
    produce(&mut admin, "limits-two", 0, one_batch(5)).await;
    produce(&mut admin, "limits-two", 1, one_batch(5)).await;
    let resp = wide.send(&limited(&wide, 7)).await;
    assert_eq!(acquired_total(&resp), 7, "record_limit over two partitions");
    let resp = wide_batch.fetch(0, 7).await;
    assert_eq!(acquired_total(&resp), 10, "batch mode: whole batches from both partitions");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_keeps_the_lock_and_the_delivery_count() {
    let broker = TestBroker::start("group.share.min.record.lock.duration.ms = 1000\ngroup.share.record.lock.duration.ms = 3000").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "renewed", 2).await;
    let mut a = Consumer::opened(broker.addr, "renewers", "member-a", id, &[0, 1], 2).await;
    let mut b = Consumer::opened(broker.addr, "renewers", "member-b", id, &[0, 1], 2).await;
    produce(&mut admin, "renewed", 0, one_batch(5)).await;
    produce(&mut admin, "renewed", 1, one_batch(5)).await;

    let t0 = Instant::now();
    let got = a.fetch(0, 100).await;
    assert_eq!(got.acquisition_lock_timeout_ms, 3000);
    assert_eq!(acquired(&got, 0), delivered(0, 4, 1));
    assert_eq!(acquired(&got, 1), delivered(0, 4, 1));

    // A renew request must not ask for records.
    let mut bad = a.request(0, 10);
    bad.is_renew_ack = true;
    bad.topics = a.fetch_acks(0, vec![ack(0, 4, &[RENEW])]);
    bad.max_wait_ms = 0;
    bad.min_bytes = 0;
    bad.max_bytes = 0;
    let refused = a.send(&bad).await;
    assert_eq!(refused.error_code, INVALID_REQUEST, "renew with non-zero MaxRecords");

    // Halfway through the lock, renew partition 0 only (ShareFetch v2, IsRenewAck, all limits 0).
    tokio::time::sleep_until((t0 + Duration::from_millis(1500)).into()).await;
    let mut renew = a.request(0, 0);
    renew.is_renew_ack = true;
    renew.min_bytes = 0;
    renew.max_bytes = 0;
    renew.batch_size = 0;
    renew.topics = a.fetch_acks(0, vec![ack(0, 4, &[RENEW])]);
    let renewed = a.send(&renew).await;
    assert_eq!(renewed.error_code, NONE, "{:?}", renewed.error_message);
    assert_eq!(fetch_ack_code(&renewed, 0), NONE);
    assert_eq!(acquired_total(&renewed), 0, "a renew request acquires nothing");

    // Past the original lock, before the renewed one: partition 1 went back, partition 0 did not.
    tokio::time::sleep_until((t0 + Duration::from_millis(3750)).into()).await;
    let probe = b.fetch(0, 100).await;
    assert!(acquired(&probe, 0).is_empty(), "the renewed lock still holds partition 0");
    assert_eq!(acquired(&probe, 1), delivered(0, 4, 2), "the lock of partition 1 expired");
    let late = a.acknowledge(1, vec![ack(0, 4, &[ACCEPT])]).await;
    assert_eq!(late, INVALID_RECORD_STATE, "a late ack for records that expired and went to b");

    // Renew again through ShareAcknowledge v2, then settle: accept 0, release 1..4.
    let again = a.acknowledge_at(a.epoch, 0, vec![ack(0, 4, &[RENEW])], true).await;
    assert_eq!((again.error_code, ack_code(&again, 0)), (NONE, NONE));
    assert_eq!(
        again.acquisition_lock_timeout_ms, 3000,
        "ShareAcknowledge v2 reports the lock duration"
    );
    let settled = a
        .acknowledge(0, vec![ack(0, 4, &[ACCEPT, RELEASE, RELEASE, RELEASE, RELEASE])])
        .await;
    assert_eq!(settled, NONE, "a still holds partition 0");
    let redelivered = b.fetch(2000, 100).await;
    assert_eq!(
        acquired(&redelivered, 0),
        delivered(1, 4, 2),
        "renewing did not count as a delivery"
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_acknowledgements_get_invalid_request() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "malformed", 1).await;
    let mut a1 = Consumer::opened(broker.addr, "malformed", "member-v1", id, &[0], 1).await;
    let mut a2 = Consumer::opened(broker.addr, "malformed", "member-v2", id, &[0], 2).await;
    produce(&mut admin, "malformed", 0, one_batch(5)).await;
    produce(&mut admin, "malformed", 0, one_batch(5)).await;
    assert_eq!(acquired(&a1.fetch(0, 5).await, 0), delivered(0, 4, 1));
    assert_eq!(acquired(&a2.fetch(0, 5).await, 0), delivered(5, 9, 1));

    let bad: Vec<(&str, Vec<AcknowledgementBatch>)> = vec![
        ("inverted", vec![ack(4, 2, &[ACCEPT])]),
        ("wrong type count", vec![ack(0, 1, &[ACCEPT, ACCEPT, ACCEPT])]),
        ("no types", vec![ack(0, 1, &[])]),
        ("overlapping batches", vec![ack(0, 3, &[ACCEPT]), ack(2, 4, &[ACCEPT])]),
        ("unknown type", vec![ack(0, 0, &[7])]),
    ];
    for (what, batches) in &bad {
        let r = a1.fetch_acking(0, batches.clone()).await;
        assert_eq!(fetch_ack_code(&r, 0), INVALID_REQUEST, "ShareFetch v1 ack: {what}");
        let shifted: Vec<AcknowledgementBatch> = batches
            .iter()
            .map(|b| ack(b.first_offset + 5, b.last_offset + 5, &b.acknowledge_types))
            .collect();
        assert_eq!(a2.acknowledge(0, shifted).await, INVALID_REQUEST, "ShareAcknowledge v2: {what}");
    }

    // RENEW (4) does not exist in v1, and in v2 needs IsRenewAck.
    let r = a1.fetch_acking(0, vec![ack(0, 4, &[RENEW])]).await;
    assert_eq!(fetch_ack_code(&r, 0), INVALID_REQUEST, "type 4 in ShareFetch v1");
    assert_eq!(
        a1.acknowledge(0, vec![ack(0, 4, &[RENEW])]).await,
        INVALID_REQUEST,
        "type 4 in ShareAcknowledge v1"
    );
    let r = a2.fetch_acking(0, vec![ack(5, 9, &[RENEW])]).await;
    assert_eq!(fetch_ack_code(&r, 0), INVALID_REQUEST, "type 4 without IsRenewAck");
    assert_eq!(a2.acknowledge(0, vec![ack(5, 9, &[RENEW])]).await, INVALID_REQUEST);

    // Offsets the share-partition never handed out.
    assert_eq!(
        a2.acknowledge(0, vec![ack(50, 50, &[ACCEPT])]).await,
        INVALID_REQUEST,
        "beyond the in-flight records"
    );

    // None of that changed anything: both still hold their records.
    assert_eq!(a1.acknowledge(0, vec![ack(0, 4, &[ACCEPT])]).await, NONE);
    let r = a2.fetch_acking(0, vec![ack(5, 9, &[ACCEPT])]).await;
    assert_eq!(fetch_ack_code(&r, 0), NONE);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledging_records_held_by_another_member_is_invalid_record_state() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "held", 1).await;
    let mut a = Consumer::opened(broker.addr, "holders", "member-a", id, &[0], 2).await;
    let mut b = Consumer::opened(broker.addr, "holders", "member-b", id, &[0], 1).await;
    produce(&mut admin, "held", 0, one_batch(5)).await;
    assert_eq!(acquired(&a.fetch(0, 100).await, 0), delivered(0, 4, 1));

    assert_eq!(b.acknowledge(0, vec![ack(0, 4, &[ACCEPT])]).await, INVALID_RECORD_STATE);
    let r = b.fetch_acking(0, vec![ack(2, 2, &[RELEASE])]).await;
    assert_eq!(fetch_ack_code(&r, 0), INVALID_RECORD_STATE, "piggybacked ack of a's record");
    assert_eq!(acquired_total(&r), 0, "b's failed release freed nothing");

    assert_eq!(a.acknowledge(0, vec![ack(0, 4, &[ACCEPT])]).await, NONE, "a still holds them all");
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Long polls

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_is_woken_by_a_produce() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "wake-produce", 1).await;
    let mut a = Consumer::opened(broker.addr, "wakers", "member-a", id, &[0], 2).await;
    let addr = broker.addr;
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut p = RawClient::connect(addr).await;
        produce(&mut p, "wake-produce", 0, one_batch(3)).await
    });
    let started = Instant::now();
    let resp = a.fetch(5000, 100).await;
    let waited = started.elapsed();
    assert_eq!(acquired(&resp, 0), delivered(0, 2, 1));
    assert!(waited < Duration::from_millis(2500), "woken by the produce: {} ms", millis(waited));
    assert!(
        waited >= Duration::from_millis(250),
        "it did wait for the produce: {} ms",
        millis(waited)
    );
    assert_eq!(producer.await.expect("producer"), 0);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_is_woken_by_another_members_release() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "wake-release", 1).await;
    let mut a = Consumer::opened(broker.addr, "releasers", "member-a", id, &[0], 1).await;
    let mut b = Consumer::opened(broker.addr, "releasers", "member-b", id, &[0], 2).await;
    produce(&mut admin, "wake-release", 0, one_batch(5)).await;
    assert_eq!(acquired(&b.fetch(0, 100).await, 0), delivered(0, 4, 1));

    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.acknowledge(0, vec![ack(0, 4, &[RELEASE])]).await
    });
    let started = Instant::now();
    let resp = a.fetch(5000, 100).await;
    let waited = started.elapsed();
    assert_eq!(acquired(&resp, 0), delivered(0, 4, 2));
    assert!(waited < Duration::from_millis(2500), "woken by the release: {} ms", millis(waited));
    assert!(waited >= Duration::from_millis(250), "{} ms", millis(waited));
    assert_eq!(releaser.await.expect("releaser"), NONE);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_without_activity_returns_empty_after_max_wait() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "idle", 1).await;
    let mut a = Consumer::opened(broker.addr, "idlers", "member-a", id, &[0], 2).await;
    let started = Instant::now();
    let resp = a.fetch(1000, 100).await;
    let waited = started.elapsed();
    assert_eq!(acquired_total(&resp), 0);
    assert!(
        waited >= Duration::from_millis(950),
        "answered before MaxWaitMs: {} ms",
        millis(waited)
    );
    assert!(waited < Duration::from_millis(3000), "{} ms", millis(waited));
    broker.stop().await;
}

/// Kafka 4.2's DelayedShareFetch completes early only once `MinBytes` are available
/// (`isMinBytesSatisfied`); otherwise it waits for MaxWaitMs and then answers with whatever it
/// can acquire. Shard does the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_waits_for_min_bytes_until_max_wait() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "min-bytes", 1).await;
    let mut a = Consumer::opened(broker.addr, "min-bytes", "member-a", id, &[0], 2).await;
    produce(&mut admin, "min-bytes", 0, one_batch(3)).await;
    let mut req = a.request(1000, 100);
    req.min_bytes = 1 << 20;
    let started = Instant::now();
    let resp = a.send(&req).await;
    let waited = started.elapsed();
    assert_eq!(resp.error_code, NONE);
    assert_eq!(
        acquired(&resp, 0),
        delivered(0, 2, 1),
        "after MaxWaitMs whatever is there is acquired"
    );
    assert!(
        waited >= Duration::from_millis(950),
        "a few hundred bytes do not satisfy MinBytes = 1 MiB: answered after {} ms",
        millis(waited)
    );
    assert!(waited < Duration::from_millis(3000), "{} ms", millis(waited));
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Lock expiry and the delivery limit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_locks_redeliver_then_the_delivery_limit_archives() {
    let config = format!("{ONE_SECOND_LOCKS}group.share.delivery.count.limit = 2");
    let broker = TestBroker::start(&config).await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "expiring", 1).await;
    let mut a = Consumer::opened(broker.addr, "expirers", "member-a", id, &[0], 2).await;
    let mut b = Consumer::opened(broker.addr, "expirers", "member-b", id, &[0], 2).await;
    let mut c = Consumer::opened(broker.addr, "expirers", "member-c", id, &[0], 1).await;
    produce(&mut admin, "expiring", 0, one_batch(5)).await;

    let first = a.fetch(0, 100).await;
    let acquired_at = Instant::now();
    assert_eq!(first.acquisition_lock_timeout_ms, 1000);
    assert_eq!(acquired(&first, 0), delivered(0, 4, 1));

    // b waits; the lock expiry wakes it with the records on their second delivery.
    let second = b.fetch(5000, 100).await;
    let after = acquired_at.elapsed();
    assert_eq!(acquired(&second, 0), delivered(0, 4, 2));
    assert!(
        after >= Duration::from_millis(900),
        "not before the lock ran out: {} ms",
        millis(after)
    );
    assert!(
        after < Duration::from_millis(4000),
        "soon after the lock ran out: {} ms",
        millis(after)
    );
    assert_eq!(
        a.acknowledge(0, vec![ack(0, 4, &[ACCEPT])]).await,
        INVALID_RECORD_STATE,
        "a's lock expired"
    );

    // b's lock expires too: at the delivery limit the records are archived, never delivered again.
    let third = c.fetch(2500, 100).await;
    assert_eq!(acquired_total(&third), 0, "archived at the delivery limit: {third:?}");
    produce(&mut admin, "expiring", 0, one_batch(1)).await;
    let fresh = c.fetch(3000, 100).await;
    assert_eq!(acquired(&fresh, 0), delivered(5, 5, 1), "only the new record");
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Connection drop and session timeout

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_releases_its_records_at_once() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "dropped", 1).await;
    let mut a = Consumer::opened(broker.addr, "droppers", "member-a", id, &[0], 2).await;
    let mut b = Consumer::opened(broker.addr, "droppers", "member-b", id, &[0], 2).await;
    produce(&mut admin, "dropped", 0, one_batch(5)).await;
    let got = a.fetch(0, 100).await;
    assert_eq!(got.acquisition_lock_timeout_ms, 30000);
    assert_eq!(acquired(&got, 0), delivered(0, 4, 1));

    let started = Instant::now();
    drop(a);
    let resp = b.fetch(5000, 100).await;
    let waited = started.elapsed();
    assert_eq!(acquired(&resp, 0), delivered(0, 4, 2));
    assert!(
        waited < Duration::from_millis(2000),
        "released with the connection, not by the 30 s lock: {} ms",
        millis(waited)
    );
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_heartbeating_is_fenced_and_its_records_freed() {
    let config = "group.share.min.session.timeout.ms = 1000\ngroup.share.session.timeout.ms = 1000\n\
                  group.share.min.heartbeat.interval.ms = 100\ngroup.share.heartbeat.interval.ms = 200";
    let broker = TestBroker::start(config).await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "silent", 1).await;

    let mut a = Consumer::connect(broker.addr, "timeouts", "member-a", id, &[0], 2).await;
    let joined = heartbeat(&mut a.client, "timeouts", "member-a", 0, Some(&["silent"])).await;
    let last_heartbeat = Instant::now();
    assert_eq!(joined.error_code, NONE);
    assert_eq!(joined.heartbeat_interval_ms, 200);

    // b heartbeats on its own connection every 200 ms for the whole test.
    let mut b_hb = broker.client().await;
    let mut b_epoch = join(&mut b_hb, "timeouts", "member-b", &["silent"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    let beater = tokio::spawn(async move {
        let mut codes = Vec::new();
        while !stop_flag.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let r = heartbeat(&mut b_hb, "timeouts", "member-b", b_epoch, None).await;
            codes.push(r.error_code);
            if r.error_code == NONE {
                b_epoch = r.member_epoch;
            }
        }
        codes
    });

    a.open().await;
    let mut b = Consumer::opened(broker.addr, "timeouts", "member-b", id, &[0], 2).await;
    produce(&mut admin, "silent", 0, one_batch(5)).await;
    assert_eq!(acquired(&a.fetch(0, 100).await, 0), delivered(0, 4, 1));

    // a stays connected but silent; b's long poll is answered when a is fenced.
    let resp = b.fetch(5000, 100).await;
    let since = last_heartbeat.elapsed();
    assert_eq!(acquired(&resp, 0), delivered(0, 4, 2), "a's records are freed when it is fenced");
    assert!(
        since >= Duration::from_millis(900),
        "not before the session timeout: {} ms",
        millis(since)
    );
    assert!(
        since < Duration::from_millis(4000),
        "soon after the session timeout: {} ms",
        millis(since)
    );

    let fenced = heartbeat(&mut a.client, "timeouts", "member-a", joined.member_epoch, None).await;
    assert_eq!(fenced.error_code, UNKNOWN_MEMBER_ID, "a was removed from the group");
    let d = describe(&mut admin, &["timeouts"]).await;
    let members: Vec<&str> = d.groups[0].members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(members, vec!["member-b"]);

    stop.store(true, Ordering::Relaxed);
    let codes = tokio::time::timeout(common::TIMEOUT, beater)
        .await
        .expect("heartbeats stop")
        .expect("heartbeat task");
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|&c| c == NONE), "b's heartbeats all succeeded: {codes:?}");
    broker.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Bad input

/// A fresh connection still gets ApiVersions answered and can open a share session.
async fn assert_still_serving(broker: &TestBroker, topic: Uuid) {
    let mut c = broker.client().await;
    let v: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(v.error_code, NONE);
    Consumer::opened(broker.addr, "after-bad-input", "member-z", topic, &[0], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_share_fetch_and_acknowledge_bodies_close_the_connection_only() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "bad-input", 1).await;
    let good = Consumer::connect(broker.addr, "bad", "member-a", id, &[0], 2).await;
    let full = good.request(100, 10).encode(2).expect("encode");

    // Truncated ShareFetch bodies, cut in the topics array and at the final tagged fields.
    for cut in [full.len() - 1, full.len() - 12, 20, 3] {
        let mut c = broker.client().await;
        let (_, frame) = c.frame_body(ApiKey::ShareFetch, 2, &full[..cut]);
        c.write_raw(&frame).await;
        assert!(c.is_closed_by_broker().await, "ShareFetch body cut to {cut} bytes");
    }
    // Garbage ShareAcknowledge bodies: an endless varint, and an absurd array length.
    let mut absurd = BytesMut::new();
    absurd.extend_from_slice(&[2, b'g', 2, b'm', 0, 0, 0, 1, 0]); // group, member, epoch 1, IsRenewAck
    absurd.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x07]); // topics: 2^31 - 2 entries
    for (version, body) in [(1i16, vec![0xffu8; 40]), (2, absurd.to_vec())] {
        let mut c = broker.client().await;
        let (_, frame) = c.frame_body(ApiKey::ShareAcknowledge, version, &body);
        c.write_raw(&frame).await;
        assert!(c.is_closed_by_broker().await, "garbage ShareAcknowledge v{version}");
    }
    assert_still_serving(&broker, id).await;

    // Well-formed but invalid requests get an error answer on a connection that stays open.
    let mut c = broker.client().await;
    let mut req = good.request(0, 10);
    req.member_id = None;
    assert_eq!(share_fetch(&mut c, 2, &req).await.error_code, INVALID_REQUEST, "null MemberId");
    req.member_id = Some(s(&"m".repeat(37)));
    assert_eq!(
        share_fetch(&mut c, 1, &req).await.error_code,
        INVALID_REQUEST,
        "MemberId over 36 chars"
    );
    req.member_id = Some(s("member-x"));
    req.group_id = Some(s(""));
    assert_eq!(share_fetch(&mut c, 2, &req).await.error_code, INVALID_REQUEST, "empty GroupId");
    let ack_req = ShareAcknowledgeRequest {
        group_id: Some(s("bad")),
        member_id: None,
        share_session_epoch: 1,
        ..Default::default()
    };
    assert_eq!(
        share_ack(&mut c, 2, &ack_req).await.error_code,
        INVALID_REQUEST,
        "ShareAcknowledge without MemberId"
    );

    // Unknown topic ids and partitions are per-partition errors.
    let mut unknown = Consumer::connect(broker.addr, "bad", "member-u", Uuid::new_v4(), &[0], 2).await;
    let resp = unknown.send(&unknown.request(0, 10)).await;
    assert_eq!(resp.error_code, NONE);
    assert_eq!(part(&resp, 0).expect("listed").error_code, UNKNOWN_TOPIC_ID);
    let mut no_partition = Consumer::connect(broker.addr, "bad", "member-p", id, &[7], 1).await;
    let resp = no_partition.send(&no_partition.request(0, 10)).await;
    assert_eq!(resp.error_code, NONE);
    assert_eq!(part(&resp, 7).expect("listed").error_code, UNKNOWN_TOPIC_OR_PARTITION);

    let v: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
    assert_eq!(v.error_code, NONE, "the connection that sent invalid requests is still served");
    broker.stop().await;
}

/// A stop does not wait out a ShareFetch long poll: it is answered, empty, as shutdown starts
/// (MaxWaitMs 60 s is beyond the client's 10 s read bound and the broker's shutdown grace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_waiting_share_fetch_long_polls() {
    let broker = TestBroker::start("").await;
    let mut admin = broker.client().await;
    let id = create_topic(&mut admin, "stop-poll", 1).await;
    let mut a = Consumer::opened(broker.addr, "stoppers", "member-a", id, &[0], 2).await;
    let waiting = tokio::spawn(async move { a.fetch(60_000, 100).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.stop().await;
    let resp = waiting.await.expect("the long poll was answered, not cut off");
    assert_eq!(acquired_total(&resp), 0);
}
