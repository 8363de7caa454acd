//! FindCoordinator (10): this broker coordinates every group and transaction key.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

use super::{Ctx, s};

/// Answers FindCoordinator.
pub fn handle(ctx: &Ctx, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let b = &ctx.broker;
    let node = BrokerId(b.node_id());
    let host = s(b.advertised_host.clone());
    if ctx.version < 4 {
        return FindCoordinatorResponse::default()
            .with_node_id(node)
            .with_host(host)
            .with_port(b.advertised_port);
    }
    let coordinators = req
        .coordinator_keys
        .into_iter()
        .map(|key| {
            Coordinator::default()
                .with_key(key)
                .with_node_id(node)
                .with_host(host.clone())
                .with_port(b.advertised_port)
        })
        .collect();
    FindCoordinatorResponse::default().with_coordinators(coordinators)
}
