//! Broker settings Kafka reports that tidelog has no knob for: listed by DescribeConfigs
//! (read-only) so that tools reading them find them, with the value the running broker has
//! where one exists (listeners, the data directory, roles) and Kafka's default otherwise.
//! They are not accepted in the config file: setting them would change nothing.

use super::{Kind, Spec};

/// Every reported-only setting, in the order DescribeConfigs lists them after the real ones.
pub const REPORTED_SPECS: &[Spec] = &[
    Spec::new("broker.id", Kind::Int { min: -1, max: i32::MAX as i64 }, "-1", "the node id (node.id)"),
    Spec::unset("process.roles", Kind::TextList, "one tidelog node is both broker and controller"),
    Spec::new("listeners", Kind::Text, "PLAINTEXT://:9092", "the address the Kafka listener is bound to"),
    Spec::unset("advertised.listeners", Kind::Text, "the address clients are told to use"),
    Spec::new(
        "listener.security.protocol.map",
        Kind::Text,
        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "tidelog serves PLAINTEXT",
    ),
    Spec::unset("inter.broker.listener.name", Kind::Text, "one node: no inter-broker traffic"),
    Spec::unset("controller.listener.names", Kind::Text, "metadata is a local event log, no controller listener"),
    Spec::new("controller.quorum.voters", Kind::TextList, "", "metadata is a local event log, no quorum"),
    Spec::new("controller.quorum.bootstrap.servers", Kind::TextList, "", "metadata is a local event log, no quorum"),
    Spec::new("security.inter.broker.protocol", Kind::Text, "PLAINTEXT", "one node: no inter-broker traffic"),
    Spec::new("sasl.enabled.mechanisms", Kind::TextList, "GSSAPI", "tidelog serves PLAINTEXT"),
    Spec::unset("log.dirs", Kind::TextList, "the data directory"),
    Spec::new("log.dir", Kind::Text, "/tmp/kafka-logs", "the data directory (log.dirs)"),
    Spec::new("num.network.threads", Kind::Int { min: 1, max: i32::MAX as i64 }, "3", "tokio runs the network"),
    Spec::new("num.io.threads", Kind::Int { min: 1, max: i32::MAX as i64 }, "8", "tokio runs the request handlers"),
    Spec::new("num.recovery.threads.per.data.dir", Kind::Int { min: 1, max: i32::MAX as i64 }, "2", "not used"),
    Spec::new(
        "socket.send.buffer.bytes",
        Kind::Int { min: -1, max: i32::MAX as i64 },
        "102400",
        "the OS default is used",
    ),
    Spec::new(
        "socket.receive.buffer.bytes",
        Kind::Int { min: -1, max: i32::MAX as i64 },
        "102400",
        "the OS default is used",
    ),
    Spec::new(
        "offsets.topic.replication.factor",
        Kind::Int { min: 1, max: i16::MAX as i64 },
        "3",
        "one node: 1 in effect",
    ),
    Spec::new(
        "transaction.state.log.replication.factor",
        Kind::Int { min: 1, max: i16::MAX as i64 },
        "3",
        "one node: 1 in effect",
    ),
    Spec::new(
        "transaction.state.log.min.isr",
        Kind::Int { min: 1, max: i32::MAX as i64 },
        "2",
        "one node: 1 in effect",
    ),
    Spec::new("delete.topic.enable", Kind::Bool, "true", "topics can always be deleted"),
    Spec::new("auto.leader.rebalance.enable", Kind::Bool, "true", "one node leads every partition"),
    Spec::new("log.cleaner.enable", Kind::Bool, "true", "compaction runs for compacted topics"),
    Spec::new(
        "log.cleaner.threads",
        Kind::Int { min: 0, max: i32::MAX as i64 },
        "1",
        "compaction runs on the blocking pool",
    ),
    Spec::new("remote.log.storage.system.enable", Kind::Bool, "false", "no tiered storage"),
    Spec::new(
        "group.coordinator.rebalance.protocols",
        Kind::TextList,
        "classic,consumer,streams",
        "tidelog serves classic and consumer",
    ),
];
