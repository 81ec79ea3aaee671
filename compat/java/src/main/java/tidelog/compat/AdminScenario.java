package tidelog.compat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The AdminClient calls an operator's tooling makes, in order, on topic {@code --topic} and
 * group {@code --group}: create (and create again), describe, describe and alter configs,
 * commit and list a group's offsets, list and describe groups, delete records, list
 * offsets, describe the cluster and its features, delete the topic (and again). Prints one
 * document with each step's result and error.
 */
final class AdminScenario {
    private AdminScenario() {}

    static void run(Args args) throws Exception {
        String topic = args.get("topic");
        String group = args.get("group");
        Map<String, Object> out = new LinkedHashMap<>();
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = Admin.create(Clients.common(args.bootstrap()))) {
            NewTopic newTopic = new NewTopic(topic, 3, (short) 1).configs(Map.of("retention.ms", "120000"));
            step(out, "create", () -> admin.createTopics(List.of(newTopic)).numPartitions(topic).get());
            step(out, "create_again", () -> admin.createTopics(List.of(newTopic)).all().get());
            step(out, "describe", () -> {
                TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
                return Json.object("partitions", d.partitions().size(), "internal", d.isInternal(),
                        "leaders", d.partitions().stream().map(p -> p.leader().id()).distinct().count());
            });
            step(out, "configs_before", () -> configs(admin, resource));
            step(out, "alter_configs", () -> admin.incrementalAlterConfigs(Map.of(resource, List.of(
                    new AlterConfigOp(new ConfigEntry("retention.ms", "60000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SET))))
                    .all().get());
            step(out, "configs_after", () -> configs(admin, resource));

            try (KafkaProducer<String, String> producer = new KafkaProducer<>(Clients.producer(args.bootstrap()))) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>(topic, 0, "k" + i, "v" + i)).get();
                }
            }
            TopicPartition p0 = new TopicPartition(topic, 0);
            step(out, "alter_offsets", () -> admin.alterConsumerGroupOffsets(group,
                    Map.of(p0, new OffsetAndMetadata(7, "from-admin"))).all().get());
            step(out, "list_offsets_of_group", () -> {
                Map<TopicPartition, OffsetAndMetadata> offsets =
                        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                Map<String, Object> rows = new TreeMap<>();
                offsets.forEach((tp, o) -> rows.put(tp.toString(), Json.object("offset", o.offset(), "metadata", o.metadata())));
                return rows;
            });
            step(out, "list_groups", () -> {
                Collection<GroupListing> groups = admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get();
                List<Object> rows = new ArrayList<>();
                for (GroupListing g : groups) {
                    rows.add(Json.object("group_id", g.groupId(), "type", String.valueOf(g.type().orElse(null)),
                            "protocol", g.protocol(), "state", String.valueOf(g.groupState().orElse(null))));
                }
                return rows;
            });
            step(out, "describe_group", () -> {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                return Json.object("state", d.groupState().toString(), "members", d.members().size(),
                        "coordinator", d.coordinator().id());
            });
            step(out, "delete_records", () ->
                    admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(p0).get().lowWatermark());
            step(out, "earliest_offset", () -> admin.listOffsets(Map.of(p0, OffsetSpec.earliest())).partitionResult(p0).get().offset());
            step(out, "latest_offset", () -> admin.listOffsets(Map.of(p0, OffsetSpec.latest())).partitionResult(p0).get().offset());
            step(out, "cluster", () -> Json.object("nodes", admin.describeCluster().nodes().get().size(),
                    "controller", admin.describeCluster().controller().get().id(),
                    "cluster_id", admin.describeCluster().clusterId().get()));
            step(out, "features", () -> {
                FeatureMetadata f = admin.describeFeatures().featureMetadata().get();
                Map<String, Object> rows = new TreeMap<>();
                f.supportedFeatures().forEach((name, range) -> rows.put(name,
                        Json.object("min", range.minVersion(), "max", range.maxVersion())));
                Map<String, Object> finalized = new TreeMap<>();
                f.finalizedFeatures().forEach((name, range) -> finalized.put(name, range.maxVersionLevel()));
                return Json.object("supported", rows, "finalized", finalized);
            });
            step(out, "delete", () -> admin.deleteTopics(List.of(topic)).all().get());
            step(out, "listed_after_delete", () -> admin.listTopics().names().get().contains(topic));
            step(out, "delete_again", () -> admin.deleteTopics(Set.of(topic)).all().get());
        }
        Json.emit(out);
    }

    /** Runs one admin call: its result under {@code name}, its error under {@code name_error}. */
    private static void step(Map<String, Object> out, String name, Callable<Object> call) {
        try {
            out.put(name, call.call());
            out.put(name + "_error", null);
        } catch (Exception e) {
            out.put(name + "_error", Json.error(e));
        }
    }

    private static Map<String, Object> configs(Admin admin, ConfigResource resource) throws Exception {
        Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        Map<String, Object> rows = new TreeMap<>();
        for (ConfigEntry e : config.entries()) {
            rows.put(e.name(), Json.object("value", e.value(), "source", e.source().toString()));
        }
        return rows;
    }
}
