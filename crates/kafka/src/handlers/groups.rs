//! Group membership APIs: JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! DescribeGroups, ListGroups, DeleteGroups. Each maps onto one coordinator call.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;
use tidelog_broker::group::JoinParams;
use tidelog_broker::BrokerError;

use super::{authorized_operations, str_bytes};
use crate::dispatch::Client;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

use authorized_operations::NOT_REQUESTED as OPERATIONS_NOT_REQUESTED;

fn code(result: &Result<(), BrokerError>) -> i16 {
    result.as_ref().err().map_or(NONE, error_code)
}

pub(crate) async fn join(
    ctx: &Arc<Scope>,
    client: &Client,
    request: JoinGroupRequest,
    version: i16,
) -> JoinGroupResponse {
    let params = JoinParams {
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: client.client_id.clone(),
        client_host: client.host.clone(),
        session_timeout: Duration::from_millis(request.session_timeout_ms.max(0) as u64),
        rebalance_timeout: Duration::from_millis(
            if version >= 1 { request.rebalance_timeout_ms } else { request.session_timeout_ms }.max(0) as u64,
        ),
        protocol_type: request.protocol_type.to_string(),
        protocols: request.protocols.into_iter().map(|p| (p.name.to_string(), p.metadata)).collect(),
        require_known_member_id: version >= 4,
    };
    let response = JoinGroupResponse::default()
        .with_generation_id(-1)
        .with_protocol_name(Some(str_bytes("")))
        .with_member_id(request.member_id.clone());
    match ctx.broker.join_group(&ctx.caller, &request.group_id.0, params).await {
        Ok(joined) => {
            let members = joined
                .members
                .into_iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(str_bytes(m.member_id))
                        .with_group_instance_id(m.group_instance_id.map(str_bytes))
                        .with_metadata(m.metadata)
                })
                .collect();
            let mut r = response
                .with_error_code(NONE)
                .with_generation_id(joined.generation_id)
                .with_protocol_name(joined.protocol_name.map(str_bytes))
                .with_leader(str_bytes(joined.leader))
                .with_member_id(str_bytes(joined.member_id))
                .with_members(members);
            if version >= 7 {
                r.protocol_type = joined.protocol_type.map(str_bytes);
            }
            r
        }
        Err(BrokerError::MemberIdRequired(id)) => {
            response.with_error_code(ResponseError::MemberIdRequired.code()).with_member_id(str_bytes(id))
        }
        Err(e) => response.with_error_code(error_code(&e)),
    }
}

pub(crate) async fn sync(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: SyncGroupRequest,
    version: i16,
) -> SyncGroupResponse {
    let assignments = request.assignments.into_iter().map(|a| (a.member_id.to_string(), a.assignment)).collect();
    let instance = request.group_instance_id.as_ref().map(|s| s.to_string());
    match ctx
        .broker
        .sync_group(
            &ctx.caller,
            &request.group_id.0,
            request.generation_id,
            &request.member_id,
            instance.as_deref(),
            assignments,
        )
        .await
    {
        Ok(synced) => {
            let mut r = SyncGroupResponse::default().with_error_code(NONE).with_assignment(synced.assignment);
            if version >= 5 {
                r.protocol_type = synced.protocol_type.map(str_bytes);
                r.protocol_name = synced.protocol_name.map(str_bytes);
            }
            r
        }
        Err(e) => SyncGroupResponse::default().with_error_code(error_code(&e)),
    }
}

pub(crate) fn heartbeat(ctx: &Arc<Scope>, request: HeartbeatRequest, _version: i16) -> HeartbeatResponse {
    let instance = request.group_instance_id.as_ref().map(|s| s.to_string());
    let result = ctx.broker.heartbeat(
        &ctx.caller,
        &request.group_id.0,
        request.generation_id,
        &request.member_id,
        instance.as_deref(),
    );
    HeartbeatResponse::default().with_error_code(code(&result))
}

pub(crate) fn leave(ctx: &Arc<Scope>, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    if version < 3 {
        let left = ctx.broker.leave_group(&ctx.caller, &request.group_id.0, &[(request.member_id.to_string(), None)]);
        let outcome = left.and_then(|mut results| results.pop().unwrap_or(Ok(())));
        return LeaveGroupResponse::default().with_error_code(code(&outcome));
    }
    let members: Vec<(String, Option<String>)> = request
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), m.group_instance_id.as_ref().map(|s| s.to_string())))
        .collect();
    let results = match ctx.broker.leave_group(&ctx.caller, &request.group_id.0, &members) {
        Ok(results) => results,
        Err(refused) => return LeaveGroupResponse::default().with_error_code(error_code(&refused)),
    };
    let responses = request
        .members
        .into_iter()
        .zip(&results)
        .map(|(m, r)| {
            MemberResponse::default()
                .with_member_id(m.member_id)
                .with_group_instance_id(m.group_instance_id)
                .with_error_code(code(r))
        })
        .collect();
    LeaveGroupResponse::default().with_error_code(NONE).with_members(responses)
}

/// DescribeGroups describes classic groups. A group that is not one, or none at all, is
/// `Dead` with no error up to v5; v6 (KIP-1043) tells the truth, GROUP_ID_NOT_FOUND with
/// Kafka's message.
pub(crate) fn describe(ctx: &Arc<Scope>, request: DescribeGroupsRequest, version: i16) -> DescribeGroupsResponse {
    let with_operations = version >= 3 && request.include_authorized_operations;
    let groups = request
        .groups
        .into_iter()
        .map(|id| {
            let not_found = |message: String| {
                let group = DescribedGroup::default()
                    .with_group_id(id.clone())
                    .with_group_state(str_bytes("Dead"))
                    .with_authorized_operations(OPERATIONS_NOT_REQUESTED);
                match version >= 6 {
                    true => group
                        .with_error_code(ResponseError::GroupIdNotFound.code())
                        .with_error_message(Some(str_bytes(message))),
                    false => group.with_error_code(NONE),
                }
            };
            if ctx.broker.is_consumer_protocol_group(&id.0) {
                return not_found(format!("Group {} is not a classic group.", id.0));
            }
            let d = match ctx.broker.describe_group(&ctx.caller, &id.0) {
                Ok(d) => d,
                Err(refused) => {
                    return DescribedGroup::default().with_group_id(id).with_error_code(error_code(&refused))
                }
            };
            let Some(state) = d.state else {
                return not_found(format!("Group {} not found.", id.0));
            };
            let members = d
                .members
                .into_iter()
                .map(|m| {
                    let member = DescribedGroupMember::default()
                        .with_member_id(str_bytes(m.member_id))
                        .with_client_id(str_bytes(m.client_id))
                        .with_client_host(str_bytes(m.client_host))
                        .with_member_metadata(m.metadata)
                        .with_member_assignment(m.assignment);
                    if version >= 4 {
                        member.with_group_instance_id(m.group_instance_id.map(str_bytes))
                    } else {
                        member
                    }
                })
                .collect();
            let operations =
                if with_operations { authorized_operations::group(ctx, &id.0) } else { OPERATIONS_NOT_REQUESTED };
            DescribedGroup::default()
                .with_error_code(NONE)
                .with_group_id(id)
                .with_group_state(str_bytes(state.as_str()))
                .with_protocol_type(str_bytes(d.protocol_type))
                .with_protocol_data(str_bytes(d.protocol))
                .with_members(members)
                .with_authorized_operations(operations)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub(crate) fn list(ctx: &Arc<Scope>, request: ListGroupsRequest, version: i16) -> ListGroupsResponse {
    let states: Vec<String> = request.states_filter.iter().map(|s| s.to_lowercase()).collect();
    let types: Vec<String> = request.types_filter.iter().map(|s| s.to_lowercase()).collect();
    let listed = match ctx.broker.list_groups(&ctx.caller) {
        Ok(listed) => listed,
        Err(refused) => return ListGroupsResponse::default().with_error_code(error_code(&refused)),
    };
    let groups = listed
        .into_iter()
        .filter(|g| states.is_empty() || states.contains(&g.state.to_lowercase()))
        .filter(|g| types.is_empty() || types.iter().any(|t| t == g.group_type))
        .map(|g| {
            let mut listed = ListedGroup::default()
                .with_group_id(GroupId(str_bytes(g.group_id)))
                .with_protocol_type(str_bytes(g.protocol_type));
            if version >= 4 {
                listed.group_state = str_bytes(g.state);
            }
            if version >= 5 {
                listed.group_type = str_bytes(g.group_type);
            }
            listed
        })
        .collect();
    ListGroupsResponse::default().with_error_code(NONE).with_groups(groups)
}

pub(crate) async fn delete(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: DeleteGroupsRequest,
    _version: i16,
) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(request.groups_names.len());
    for id in request.groups_names {
        let result = ctx.broker.delete_group(&ctx.caller, &id.0).await;
        results.push(DeletableGroupResult::default().with_group_id(id).with_error_code(code(&result)));
    }
    DeleteGroupsResponse::default().with_results(results)
}
