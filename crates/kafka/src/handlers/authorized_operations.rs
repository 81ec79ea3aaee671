//! KIP-430's authorized operations: the broker's answer for one resource as the 32-bit
//! field of ACL operation codes that Metadata, DescribeCluster and DescribeTopicPartitions
//! carry. The broker decides; this only encodes.

use tidelog_broker::access::{Operation, Resource};

use crate::scope::Scope;

/// The field's value when the request did not ask (the schema default).
pub(crate) const NOT_REQUESTED: i32 = i32::MIN;

/// Kafka's `AclOperation` code: the bit an operation sets.
fn acl_code(operation: Operation) -> u32 {
    match operation {
        Operation::Read => 3,
        Operation::Write => 4,
        Operation::Create => 5,
        Operation::Delete => 6,
        Operation::Alter => 7,
        Operation::Describe => 8,
        Operation::ClusterAction => 9,
        Operation::DescribeConfigs => 10,
        Operation::AlterConfigs => 11,
        Operation::IdempotentWrite => 12,
    }
}

/// Kafka's `Utils.to32BitField`.
fn bit_field(operations: &[Operation]) -> i32 {
    operations.iter().fold(0u32, |bits, &op| bits | 1 << acl_code(op)) as i32
}

pub(crate) fn topic(ctx: &Scope, name: &str) -> i32 {
    bit_field(&ctx.broker.authorized_operations(&ctx.caller, Resource::Topic(name)))
}

pub(crate) fn group(ctx: &Scope, group_id: &str) -> i32 {
    bit_field(&ctx.broker.authorized_operations(&ctx.caller, Resource::Group(group_id)))
}

/// The cluster's operations, or none at all to a caller that may not describe it (as
/// Kafka answers: it does not reveal what a stranger could do).
pub(crate) fn cluster(ctx: &Scope) -> i32 {
    let operations = ctx.broker.authorized_operations(&ctx.caller, Resource::Cluster);
    if !operations.contains(&Operation::Describe) {
        return 0;
    }
    bit_field(&operations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidelog_broker::access::ResourceKind;

    #[test]
    fn every_supported_operation_sets_kafkas_bit() {
        // Kafka 4.x answers these to an admin client when no authorizer is configured.
        assert_eq!(bit_field(ResourceKind::Topic.supported_operations()), 3576);
        assert_eq!(bit_field(ResourceKind::Cluster.supported_operations()), 8096);
        assert_eq!(bit_field(&[]), 0);
    }
}
