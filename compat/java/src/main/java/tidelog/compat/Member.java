package tidelog.compat;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The manual-commit group member of the Java client's documentation: auto-commit off, and
 * a ConsumerRebalanceListener that commits what was processed of each revoked partition
 * (commitSync) before the next owner takes it over. {@code --protocol classic|consumer} is
 * {@code group.protocol}. Prints one JSON event a line (assigned, record, revoked, lost,
 * closed) and leaves the group cleanly, committing on the way out, when stdin closes.
 */
final class Member {
    private Member() {}

    static void run(Args args) throws Exception {
        String topic = args.get("topic");
        Properties p = Clients.consumer(args.bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, args.get("group"));
        String protocol = args.get("protocol", "classic");
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) { // the consumer protocol's timings are the broker's
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000);
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
        }
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
        // Next offset to commit per partition: what this member has processed (printed).
        Map<TopicPartition, OffsetAndMetadata> processed = new HashMap<>();
        consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                Json.emit(Json.object("event", "assigned", "partitions", numbers(partitions)));
            }

            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
                for (TopicPartition tp : partitions) {
                    if (processed.containsKey(tp)) {
                        commit.put(tp, processed.get(tp));
                    }
                }
                String error = null;
                try {
                    consumer.commitSync(commit);
                    commit.keySet().forEach(processed::remove);
                } catch (RuntimeException e) {
                    error = Json.error(e);
                }
                Json.emit(Json.object("event", "revoked", "partitions", numbers(partitions), "commit_error", error));
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                partitions.forEach(processed::remove);
                Json.emit(Json.object("event", "lost", "partitions", numbers(partitions)));
            }
        });
        AtomicBoolean leaving = new AtomicBoolean();
        Stdin.onClose(() -> {
            leaving.set(true);
            consumer.wakeup();
        });
        try {
            while (!leaving.get()) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    Json.emit(Json.object("event", "record", "record", Json.record(r)));
                    processed.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
            }
        } catch (WakeupException e) {
            // stdin closed: leave below
        }
        consumer.close(); // revokes (so commits) the assignment, then leaves the group
        Json.emit(Json.object("event", "closed"));
    }

    private static List<Integer> numbers(Collection<TopicPartition> partitions) {
        return partitions.stream().map(TopicPartition::partition).sorted().collect(Collectors.toList());
    }
}
