//! ListGroups (16): the share groups, the only groups this broker has.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

use super::{Ctx, s};

/// Protocol type and group type of a share group (Kafka's `ShareGroup.PROTOCOL_TYPE` and
/// `GroupType.SHARE`).
pub const SHARE: &str = "share";

/// Serves ListGroups.
pub fn handle(ctx: &Ctx, req: ListGroupsRequest) -> ListGroupsResponse {
    // As Kafka's GroupMetadataManager.listGroups: states compare trimmed and lower-cased, types
    // parse case-insensitively (an unknown type matches no group); an empty filter matches all.
    let states: Vec<String> = req.states_filter.iter().map(|f| f.trim().to_lowercase()).collect();
    let type_ok = req.types_filter.is_empty() || req.types_filter.iter().any(|t| t.eq_ignore_ascii_case(SHARE));
    let groups = if type_ok {
        ctx.broker
            .shares
            .list_groups()
            .into_iter()
            .filter(|(_, state)| states.is_empty() || states.iter().any(|f| *f == state.name().to_lowercase()))
            .map(|(id, state)| {
                // Fields a version lacks are skipped by the encoder (GroupState v4+, GroupType v5+).
                ListedGroup::default()
                    .with_group_id(GroupId(s(id)))
                    .with_protocol_type(s(SHARE))
                    .with_group_state(s(state.name()))
                    .with_group_type(s(SHARE))
            })
            .collect()
    } else {
        Vec::new()
    };
    ListGroupsResponse::default().with_groups(groups)
}
