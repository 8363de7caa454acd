//! DescribeGroups (15), the classic-group describe. This broker has no classic groups, so every
//! group is answered as Kafka answers a group that is not a classic group (or does not exist):
//! state `Dead`, plus `GROUP_ID_NOT_FOUND` from v6 on (GroupMetadataManager.describeGroups).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::{Ctx, s};

/// Serves DescribeGroups.
pub fn handle(ctx: &Ctx, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = req
        .groups
        .into_iter()
        .map(|id| {
            let out = DescribedGroup::default().with_group_state(s("Dead"));
            if ctx.version < 6 {
                return out.with_group_id(id);
            }
            // Kafka's message comes from the lookup: a share group is "not a classic group".
            let message = if ctx.broker.shares.group(&id).is_some() {
                format!("Group {} is not a classic group.", id.as_str())
            } else {
                format!("Group {} not found.", id.as_str())
            };
            out.with_group_id(id)
                .with_error_code(ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(s(message)))
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
