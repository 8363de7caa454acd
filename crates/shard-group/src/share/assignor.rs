//! The `simple` share-group assignor: balance first. Several members may share a partition, so
//! when members outnumber a topic's partitions every member still gets one; when partitions
//! outnumber members they are spread so members differ by at most one.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

/// A topic as the assignor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicShape {
    /// Topic id (assignments are by id).
    pub id: Uuid,
    /// Number of partitions.
    pub partitions: i32,
}

/// Partitions assigned to one member, by topic id.
pub type MemberAssignment = BTreeMap<Uuid, Vec<i32>>;

/// Assigns the partitions of every subscribed topic. `members` maps member id to subscribed topic
/// names; topics missing from `topics` (not created yet) are skipped.
///
/// Each partition first goes to the least-loaded member subscribed to its topic, so when members
/// are fewer than partitions every partition has one member and loads differ by at most one. Then
/// every member still without a partition (more members than partitions) gets the least-shared
/// partition of its topics: in a share group several members can consume one partition. Members
/// and topics are taken in sorted order, so the result is deterministic.
pub fn assign(members: &BTreeMap<String, BTreeSet<String>>, topics: &BTreeMap<String, TopicShape>) -> BTreeMap<String, MemberAssignment> {
    let mut out: BTreeMap<String, MemberAssignment> = members.keys().map(|m| (m.clone(), MemberAssignment::new())).collect();
    let mut load: BTreeMap<&String, usize> = members.keys().map(|m| (m, 0)).collect();
    let mut sharers: BTreeMap<(Uuid, i32), usize> = BTreeMap::new();
    for (name, shape) in topics {
        let subscribers: Vec<&String> = members.iter().filter(|(_, subs)| subs.contains(name)).map(|(m, _)| m).collect();
        for p in 0..shape.partitions.max(0) {
            let Some(member) = subscribers.iter().min_by_key(|m| load[**m]).copied() else {
                break;
            };
            out.entry(member.clone()).or_default().entry(shape.id).or_default().push(p);
            *load.entry(member).or_default() += 1;
            sharers.insert((shape.id, p), 1);
        }
    }
    for (member, subs) in members {
        if load[member] > 0 {
            continue;
        }
        let candidates = subs
            .iter()
            .filter_map(|name| topics.get(name))
            .flat_map(|shape| (0..shape.partitions.max(0)).map(move |p| (shape.id, p)));
        if let Some(part) = candidates.min_by_key(|part| sharers.get(part).copied().unwrap_or(0)) {
            out.entry(member.clone()).or_default().entry(part.0).or_default().push(part.1);
            *sharers.entry(part).or_default() += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(spec: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        spec.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn topic(n: u128, partitions: i32) -> TopicShape {
        TopicShape {
            id: Uuid::from_u128(n),
            partitions,
        }
    }

    fn count(a: &MemberAssignment) -> usize {
        a.values().map(Vec::len).sum()
    }

    #[test]
    fn every_member_shares_a_single_partition() {
        let m = members(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        let topics = BTreeMap::from([("t".to_string(), topic(1, 1))]);
        let out = assign(&m, &topics);
        for a in out.values() {
            assert_eq!(a.get(&Uuid::from_u128(1)), Some(&vec![0]));
        }
    }

    #[test]
    fn partitions_spread_when_members_are_fewer() {
        let m = members(&[("a", &["t"]), ("b", &["t"])]);
        let topics = BTreeMap::from([("t".to_string(), topic(1, 5))]);
        let out = assign(&m, &topics);
        let counts: Vec<usize> = out.values().map(count).collect();
        assert_eq!(counts.iter().sum::<usize>(), 5, "each partition exactly once");
        assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1);
    }

    #[test]
    fn more_members_than_partitions_cover_every_partition_evenly() {
        let names: Vec<String> = (0..7).map(|i| format!("m{i}")).collect();
        let spec: Vec<(&str, &[&str])> = names.iter().map(|n| (n.as_str(), &["t"][..])).collect();
        let out = assign(&members(&spec), &BTreeMap::from([("t".to_string(), topic(1, 3))]));
        let mut per_partition = [0; 3];
        for a in out.values() {
            assert_eq!(count(a), 1, "every member gets one partition");
            per_partition[a[&Uuid::from_u128(1)][0] as usize] += 1;
        }
        assert!(per_partition.iter().all(|&n| n == 2 || n == 3), "{per_partition:?}");
    }

    #[test]
    fn members_only_get_topics_they_subscribe_to() {
        let m = members(&[("a", &["x"]), ("b", &["y"]), ("c", &["x", "y", "missing"])]);
        let topics = BTreeMap::from([("x".to_string(), topic(1, 2)), ("y".to_string(), topic(2, 2))]);
        let out = assign(&m, &topics);
        assert!(!out["a"].contains_key(&Uuid::from_u128(2)));
        assert!(!out["b"].contains_key(&Uuid::from_u128(1)));
        let x_total: usize = out.values().filter_map(|a| a.get(&Uuid::from_u128(1))).map(Vec::len).sum();
        assert_eq!(x_total, 2);
    }

    #[test]
    fn one_partition_topics_rotate_across_members() {
        let m = members(&[("a", &["t1", "t2", "t3", "t4"]), ("b", &["t1", "t2", "t3", "t4"])]);
        let topics: BTreeMap<String, TopicShape> = (1..=4).map(|i| (format!("t{i}"), topic(i, 1))).collect();
        let out = assign(&m, &topics);
        assert_eq!(count(&out["a"]), 2);
        assert_eq!(count(&out["b"]), 2);
    }
}
