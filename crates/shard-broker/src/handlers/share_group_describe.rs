//! ShareGroupDescribe (77): members, epochs and assignments of share groups.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_describe_response::{Assignment, DescribedGroup, Member, TopicPartitions};
use kafka_protocol::messages::{ShareGroupDescribeRequest, ShareGroupDescribeResponse, TopicName};

use super::{Ctx, s};
use crate::topics::TopicRegistry;
use shard_group::share::assignor::MemberAssignment;

/// Serves ShareGroupDescribe.
pub fn handle(ctx: &Ctx, req: ShareGroupDescribeRequest) -> ShareGroupDescribeResponse {
    let b = &ctx.broker;
    let groups = req
        .group_ids
        .into_iter()
        .map(|id| {
            let out = DescribedGroup::default()
                .with_group_id(id.clone())
                .with_authorized_operations(i32::MIN);
            let Some(group) = b.shares.group(&id) else {
                return out
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(s(format!("Group {} not found.", id.as_str()))))
                    .with_group_state(s("Dead"));
            };
            let members = group
                .members()
                .iter()
                .map(|(member_id, m)| {
                    let assignment = group
                        .assignment(member_id)
                        .map(|a| describe_assignment(&b.topics, a))
                        .unwrap_or_default();
                    Member::default()
                        .with_member_id(s(member_id.clone()))
                        .with_rack_id(m.rack_id.clone().map(s))
                        .with_member_epoch(m.epoch)
                        .with_client_id(s(m.client_id.clone()))
                        .with_client_host(s(m.client_host.clone()))
                        .with_subscribed_topic_names(m.subscribed.iter().map(|t| TopicName(s(t.clone()))).collect())
                        .with_assignment(assignment)
                })
                .collect();
            out.with_group_state(s(group.state().name()))
                .with_group_epoch(group.epoch())
                .with_assignment_epoch(group.epoch())
                .with_assignor_name(s("simple"))
                .with_members(members)
        })
        .collect();
    ShareGroupDescribeResponse::default().with_groups(groups)
}

fn describe_assignment(topics: &TopicRegistry, a: &MemberAssignment) -> Assignment {
    Assignment::default().with_topic_partitions(
        a.iter()
            .map(|(id, partitions)| {
                let name = topics.get_by_id(id).map(|t| t.name.clone()).unwrap_or_default();
                TopicPartitions::default()
                    .with_topic_id(*id)
                    .with_topic_name(TopicName(s(name)))
                    .with_partitions(partitions.clone())
            })
            .collect(),
    )
}
