package tidelog.compat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The reliable keyed producer of the Java tutorials (acks=all, idempotent, batching with
 * linger), once per codec: {@code --codecs none,gzip,...} sends {@code --count} records with
 * seven keys to topic {@code <--topic-prefix>-<codec>} and prints, per codec, where each
 * record landed. With {@code --timestamp T} record i carries T + i seconds.
 */
final class Produce {
    private Produce() {}

    static void run(Args args) throws Exception {
        int count = args.getInt("count", 90);
        long timestamp = args.getLong("timestamp", -1);
        Map<String, Object> delivered = new LinkedHashMap<>();
        for (String codec : args.get("codecs", "none").split(",")) {
            Properties p = Clients.producer(args.bootstrap());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
            p.put(ProducerConfig.LINGER_MS_CONFIG, 10);
            String topic = args.get("topic-prefix") + "-" + codec;
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
                List<ProducerRecord<String, String>> sent = new ArrayList<>();
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    Long ts = timestamp < 0 ? null : timestamp + i * 1000L;
                    ProducerRecord<String, String> r =
                            new ProducerRecord<>(topic, null, ts, "key-" + (i % 7), String.format("value-%05d", i));
                    sent.add(r);
                    acks.add(producer.send(r));
                }
                List<Object> rows = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    RecordMetadata m = acks.get(i).get();
                    rows.add(Json.object("partition", m.partition(), "offset", m.offset(), "key", sent.get(i).key(),
                            "value", sent.get(i).value(), "timestamp", m.timestamp()));
                }
                delivered.put(codec, rows);
            }
        }
        Json.emit(delivered);
    }
}
