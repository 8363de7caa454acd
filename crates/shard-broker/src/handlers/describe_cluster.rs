//! DescribeCluster (60): one broker, which is also the controller.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::{Ctx, s};

/// Endpoint type "brokers" (v1+); 2 would be controllers, which clients cannot reach here.
const ENDPOINT_BROKERS: i8 = 1;

/// Answers DescribeCluster.
pub fn handle(ctx: &Ctx, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let b = &ctx.broker;
    let resp = DescribeClusterResponse::default()
        .with_cluster_id(s(b.cluster_id.clone()))
        .with_controller_id(BrokerId(b.node_id()))
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_authorized_operations(i32::MIN);
    if ctx.version >= 1 && req.endpoint_type != ENDPOINT_BROKERS {
        return resp
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(s("Only broker endpoints are served")));
    }
    resp.with_brokers(vec![
        DescribeClusterBroker::default()
            .with_broker_id(BrokerId(b.node_id()))
            .with_host(s(b.advertised_host.clone()))
            .with_port(b.advertised_port),
    ])
}
