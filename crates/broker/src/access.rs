//! Who is asking and whether they may: the [`RequestContext`] every broker entry point
//! takes, and the [`Authorizer`] the broker consults there.
//!
//! Front-ends build the context from their connection (listener, peer address, client id
//! and, once authentication exists, the principal) and never decide access themselves:
//! the broker asks its authorizer and answers `NotAuthorized`, which each front-end maps
//! to its protocol's error. The default authorizer allows everything, as Kafka does
//! without `authorizer.class.name`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use crate::error::{BrokerError, Result};

/// An authenticated identity in Kafka's form, `User:alice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub kind: Arc<str>,
    pub name: Arc<str>,
}

impl Principal {
    /// A client that has not authenticated (every client, until SASL/TLS exist).
    pub fn anonymous() -> Self {
        Principal { kind: "User".into(), name: "ANONYMOUS".into() }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub principal: Principal,
    /// The listener the request arrived on (`kafka`, `kinesis`, `admin`, or a Kafka
    /// listener name once listeners are named).
    pub listener: Arc<str>,
    /// The client's own name for itself (Kafka's `client.id`), if it gave one.
    pub client_id: Option<Arc<str>>,
    pub host: IpAddr,
    /// The broker's own work (coordinators writing internal topics, background passes):
    /// never refused.
    internal: bool,
}

impl RequestContext {
    pub fn new(principal: Principal, listener: impl Into<Arc<str>>, client_id: Option<&str>, host: IpAddr) -> Self {
        RequestContext {
            principal,
            listener: listener.into(),
            client_id: client_id.map(Into::into),
            host,
            internal: false,
        }
    }

    /// An anonymous client on this machine: what tests and local tools act as.
    pub fn local() -> Self {
        RequestContext::new(Principal::anonymous(), "local", None, IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// The broker acting on its own behalf.
    pub fn internal() -> Self {
        RequestContext {
            principal: Principal { kind: "User".into(), name: "tidelog-broker".into() },
            listener: "internal".into(),
            client_id: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            internal: true,
        }
    }

    pub fn is_internal(&self) -> bool {
        self.internal
    }
}

/// Kafka's ACL operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

/// What an operation acts on, by Kafka's resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource<'a> {
    Cluster,
    Topic(&'a str),
    Group(&'a str),
    TransactionalId(&'a str),
}

impl Resource<'_> {
    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::Cluster => ResourceKind::Cluster,
            Resource::Topic(_) => ResourceKind::Topic,
            Resource::Group(_) => ResourceKind::Group,
            Resource::TransactionalId(_) => ResourceKind::TransactionalId,
        }
    }

    fn name(&self) -> &str {
        match self {
            Resource::Cluster => "kafka-cluster",
            Resource::Topic(n) | Resource::Group(n) | Resource::TransactionalId(n) => n,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Cluster,
    Topic,
    Group,
    TransactionalId,
}

impl ResourceKind {
    /// The operations an ACL can grant on this kind of resource (Kafka's
    /// `AclEntry.supportedOperations`): what "authorized operations" (KIP-430) ranges over.
    pub fn supported_operations(self) -> &'static [Operation] {
        use Operation::*;
        match self {
            ResourceKind::Topic => &[Read, Write, Create, Delete, Alter, Describe, DescribeConfigs, AlterConfigs],
            ResourceKind::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
            ResourceKind::Cluster => {
                &[Create, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, Alter, Describe]
            }
            ResourceKind::TransactionalId => &[Describe, Write],
        }
    }
}

/// Decides whether a caller may perform an operation on a resource.
pub trait Authorizer: Send + Sync + fmt::Debug {
    fn authorize(&self, ctx: &RequestContext, operation: Operation, resource: &Resource<'_>) -> bool;
}

/// Allows every request: the broker's authorizer until ACLs are configured.
#[derive(Debug, Default)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _ctx: &RequestContext, _operation: Operation, _resource: &Resource<'_>) -> bool {
        true
    }
}

impl crate::Broker {
    /// The operations on `resource` the caller may perform, each asked of the authorizer
    /// (KIP-430's authorized operations): all that apply while every request is allowed,
    /// and exactly the granted ones once ACLs refuse some.
    pub fn authorized_operations(&self, ctx: &RequestContext, resource: Resource<'_>) -> Vec<Operation> {
        resource
            .kind()
            .supported_operations()
            .iter()
            .copied()
            .filter(|&operation| self.authorize(ctx, operation, resource).is_ok())
            .collect()
    }
}

/// Asks `authorizer`, turning a refusal into the domain error front-ends map.
pub(crate) fn check(
    authorizer: &dyn Authorizer,
    ctx: &RequestContext,
    operation: Operation,
    resource: Resource<'_>,
) -> Result<()> {
    if ctx.is_internal() || authorizer.authorize(ctx, operation, &resource) {
        return Ok(());
    }
    Err(BrokerError::NotAuthorized {
        principal: ctx.principal.to_string(),
        operation,
        kind: resource.kind(),
        resource: resource.name().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allows reads only: enough to see that refusals reach the caller as errors.
    #[derive(Debug)]
    struct ReadOnly;

    impl Authorizer for ReadOnly {
        fn authorize(&self, _ctx: &RequestContext, operation: Operation, _resource: &Resource<'_>) -> bool {
            operation == Operation::Read
        }
    }

    #[test]
    fn refusals_name_the_principal_operation_and_resource() {
        let ctx = RequestContext::new(Principal::anonymous(), "kafka", Some("app"), IpAddr::V4(Ipv4Addr::LOCALHOST));
        check(&ReadOnly, &ctx, Operation::Read, Resource::Topic("orders")).unwrap();
        let err = check(&ReadOnly, &ctx, Operation::Write, Resource::Topic("orders")).unwrap_err();
        assert_eq!(err.to_string(), "User:ANONYMOUS may not Write topic 'orders'");
        assert!(matches!(err, BrokerError::NotAuthorized { kind: ResourceKind::Topic, .. }));
        check(&ReadOnly, &RequestContext::internal(), Operation::Write, Resource::Cluster).unwrap();
        check(&AllowAll, &ctx, Operation::Alter, Resource::Cluster).unwrap();
    }

    #[test]
    fn authorized_operations_are_the_supported_ones_the_authorizer_grants() {
        let broker = crate::Broker::in_memory(crate::BrokerConfig::default());
        let ctx = RequestContext::local();
        assert_eq!(
            broker.authorized_operations(&ctx, Resource::Topic("t")),
            ResourceKind::Topic.supported_operations(),
            "allow-all grants every topic operation"
        );
        assert_eq!(broker.authorized_operations(&ctx, Resource::Cluster).len(), 7);
        broker.set_authorizer(std::sync::Arc::new(ReadOnly));
        assert_eq!(broker.authorized_operations(&ctx, Resource::Topic("t")), vec![Operation::Read]);
        assert!(broker.authorized_operations(&ctx, Resource::Cluster).is_empty(), "Read does not apply to a cluster");
        assert_eq!(
            broker.authorized_operations(&RequestContext::internal(), Resource::Cluster).len(),
            7,
            "the broker's own work is never refused"
        );
    }

    #[test]
    fn the_broker_refuses_what_its_authorizer_refuses_and_stores_nothing() {
        let broker = crate::Broker::in_memory(crate::BrokerConfig::default());
        let topic = crate::NewTopic { name: "t".into(), partitions: Some(1), ..Default::default() };
        broker.create_topic(&RequestContext::local(), topic, false).unwrap();
        broker.set_authorizer(std::sync::Arc::new(ReadOnly));
        let batch = crate::test_support::encode_batch(1, b"v", 1, kafka_protocol::records::Compression::None);
        let refused = broker.append(&RequestContext::local(), "t", 0, &batch).unwrap_err();
        assert!(matches!(refused, BrokerError::NotAuthorized { kind: ResourceKind::Topic, .. }), "{refused}");
        assert_eq!(broker.partition("t", 0).unwrap().offsets().log_end_offset, 0);
        assert!(broker.delete_topic(&RequestContext::local(), "t").is_err());
        // The broker's own writes (coordinators) are never refused.
        broker.append(&RequestContext::internal(), "t", 0, &batch).unwrap();
    }
}
