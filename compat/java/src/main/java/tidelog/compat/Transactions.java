package tidelog.compat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Exactly-once with the Java client, as its KafkaProducer documentation shows it.
 * First consume-transform-produce: {@code --count} records go to {@code --input}; a
 * read_committed group member of {@code --group} upper-cases them into {@code --output},
 * one transaction per poll with the consumed offsets sent to the transaction
 * (sendOffsetsToTransaction with the consumer's group metadata); then one transaction
 * is aborted. Then a zombie on {@code --zombie-topic}: a second producer with the same
 * transactional id fences the first, whose later send, commit and abort must fail.
 * Prints one document: what each consumer saw and each error.
 */
final class Transactions {
    private Transactions() {}

    static void run(Args args) throws Exception {
        String bootstrap = args.bootstrap();
        Map<String, Object> out = new HashMap<>();
        consumeTransformProduce(args, out);
        zombie(bootstrap, args.get("zombie-topic"), args.get("group") + "-zombie", out);
        Json.emit(out);
    }

    private static KafkaProducer<String, String> transactional(String bootstrap, String transactionalId) {
        Properties p = Clients.producer(bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 30_000);
        KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        producer.initTransactions();
        return producer;
    }

    private static void consumeTransformProduce(Args args, Map<String, Object> out) throws Exception {
        String bootstrap = args.bootstrap();
        String input = args.get("input");
        String output = args.get("output");
        String group = args.get("group");
        int count = args.getInt("count", 50);
        try (KafkaProducer<String, String> plain = new KafkaProducer<>(Clients.producer(bootstrap))) {
            for (int i = 0; i < count; i++) {
                plain.send(new ProducerRecord<>(input, "key-" + (i % 5), String.format("word-%03d", i)));
            }
        }
        Properties c = Clients.consumer(bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10); // several transactions, not one
        int transformed = 0;
        int transactions = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c);
                KafkaProducer<String, String> producer = transactional(bootstrap, group + "-ctp")) {
            consumer.subscribe(List.of(input));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (transformed < count) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("transformed " + transformed + " of " + count + " within 60 s");
                }
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    producer.send(new ProducerRecord<>(output, r.key(), r.value().toUpperCase()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    transformed++;
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                producer.commitTransaction();
                transactions++;
            }
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(output, "aborted", "ABORTED")).get();
            producer.abortTransaction();
        }
        out.put("transformed", transformed);
        out.put("transactions", transactions);
        out.put("output_read_committed", readAll(bootstrap, output, "read_committed"));
        out.put("output_read_uncommitted", readAll(bootstrap, output, "read_uncommitted"));
        try (Admin admin = Admin.create(Clients.common(bootstrap))) {
            long committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .values().stream().mapToLong(OffsetAndMetadata::offset).sum();
            out.put("group_committed_total", committed);
        }
    }

    private static void zombie(String bootstrap, String topic, String transactionalId, Map<String, Object> out)
            throws Exception {
        KafkaProducer<String, String> zombie = transactional(bootstrap, transactionalId);
        zombie.beginTransaction();
        zombie.send(new ProducerRecord<>(topic, "from-zombie")).get();
        try (KafkaProducer<String, String> successor = transactional(bootstrap, transactionalId)) {
            successor.beginTransaction();
            successor.send(new ProducerRecord<>(topic, "from-successor"));
            successor.commitTransaction();
            successor.beginTransaction();
            successor.send(new ProducerRecord<>(topic, "successor-aborted")).get(); // sent, then aborted
            successor.abortTransaction();
        }
        out.put("zombie_send_error", error(() -> zombie.send(new ProducerRecord<>(topic, "late-from-zombie")).get()));
        out.put("zombie_commit_error", error(() -> {
            zombie.commitTransaction();
            return null;
        }));
        out.put("zombie_abort_error", error(() -> {
            zombie.abortTransaction();
            return null;
        }));
        zombie.close(Duration.ofSeconds(5));
        out.put("zombie_topic_read_committed", readAll(bootstrap, topic, "read_committed"));
        out.put("zombie_topic_read_uncommitted", readAll(bootstrap, topic, "read_uncommitted"));
    }

    private static String error(Callable<?> call) {
        try {
            call.call();
            return null;
        } catch (Exception e) {
            return Json.error(e);
        }
    }

    private static List<Object> readAll(String bootstrap, String topic, String isolation) {
        Properties p = Clients.consumer(bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> partitions = Consume.partitionsOf(consumer, topic);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            return Consume.readToEnd(consumer, partitions);
        }
    }
}
