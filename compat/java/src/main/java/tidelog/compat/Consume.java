package tidelog.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;

/**
 * Reading without a group: {@code consume} assigns every partition of each of
 * {@code --topics a,b} and reads them from the start to their end offsets (the high
 * watermark, or the last stable offset with {@code --isolation read_committed}), printing
 * the records per topic. {@code seek} moves one consumer about a topic: everything, then
 * {@code seek} to {@code --offset}, then to the first record at or after
 * {@code --after-milli} (offsetsForTimes), then back to the beginning.
 */
final class Consume {
    private Consume() {}

    static void run(Args args) {
        Properties p = Clients.consumer(args.bootstrap());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, args.get("isolation", "read_uncommitted"));
        Map<String, Object> byTopic = new LinkedHashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            for (String topic : args.get("topics").split(",")) {
                List<TopicPartition> partitions = partitionsOf(consumer, topic);
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                byTopic.put(topic, readToEnd(consumer, partitions));
            }
        }
        Json.emit(byTopic);
    }

    static void seek(Args args) {
        String topic = args.get("topic");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Clients.consumer(args.bootstrap()))) {
            List<TopicPartition> partitions = partitionsOf(consumer, topic);
            TopicPartition first = partitions.get(0);
            consumer.assign(List.of(first));
            List<Object> everything = readToEnd(consumer, List.of(first));
            consumer.seek(first, args.getLong("offset", 0));
            List<Object> fromOffset = readToEnd(consumer, List.of(first));
            OffsetAndTimestamp found = consumer.offsetsForTimes(Map.of(first, args.getLong("after-milli", 0))).get(first);
            consumer.seek(first, found.offset());
            List<Object> fromTime = readToEnd(consumer, List.of(first));
            consumer.seekToBeginning(List.of(first));
            List<Object> replay = readToEnd(consumer, List.of(first));
            Json.emit(Json.object("everything", everything, "from_offset", fromOffset, "from_time", fromTime,
                    "found_offset", found.offset(), "found_timestamp", found.timestamp(), "replay", replay));
        }
    }

    static List<TopicPartition> partitionsOf(KafkaConsumer<?, ?> consumer, String topic) {
        return consumer.partitionsFor(topic).stream()
                .map(info -> new TopicPartition(topic, info.partition()))
                .sorted((a, b) -> Integer.compare(a.partition(), b.partition()))
                .collect(Collectors.toList());
    }

    /** Polls until every partition's position reaches the end offset the consumer sees now. */
    static List<Object> readToEnd(KafkaConsumer<String, String> consumer, List<TopicPartition> partitions) {
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        List<Object> records = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not at the end offsets " + end + " within 30 s");
            }
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                records.add(Json.record(r));
            }
        }
        return records;
    }
}
