//! DeleteGroups (42): deletes empty share groups with their share-partition state and group
//! configs (Admin.deleteShareGroups, kafka-share-groups.sh --delete).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::Ctx;

/// Serves DeleteGroups.
pub fn handle(ctx: &Ctx, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let b = &ctx.broker;
    let mut seen = std::collections::HashSet::new();
    let results = req
        .groups_names
        .into_iter()
        // Kafka answers each group once however often it is named.
        .filter(|id| seen.insert(id.clone()))
        .map(|id| {
            // The store deletion covers the group's share state and its configs.
            let error_code = match b.shares.delete_group(&id) {
                Ok(end) => {
                    b.group_configs.replace(&id, Default::default());
                    match b.shares.block_durable(end) {
                        Ok(()) => {
                            tracing::info!(group = %id.as_str(), "deleted share group");
                            0
                        }
                        Err(e) => {
                            tracing::error!(group = %id.as_str(), error = %e, "share group deletion not durable");
                            ResponseError::UnknownServerError.code()
                        }
                    }
                }
                Err(e) => e.code(),
            };
            DeletableGroupResult::default().with_group_id(id).with_error_code(error_code)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
