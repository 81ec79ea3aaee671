package tidelog.compat;

import java.time.Duration;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;

/**
 * The seeds' Kafka Streams program (KafkaStreamsExample): a word count of input-topic into
 * output-topic and a count per word in 5-minute tumbling windows, with exactly-once v2.
 * Changed from the seed only where it must be: the address and state directory come from
 * the test, {@code TimeWindows.of} (removed in Kafka 4.0) is spelled
 * {@code ofSizeWithNoGrace}, the windowed counts, which the seed computes and drops, go to
 * {@code --windowed-output} as "word@windowStartMs", and the instance runs until stdin
 * closes (the seed's shutdown hook) instead of forever. Prints a JSON event a line: each
 * state change, and "closed".
 */
final class WordCount {
    private WordCount() {}

    static void run(Args args) throws Exception {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("application-id", "word-count-app"));
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.bootstrap());
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass());
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
        // A killed instance's partitions move to its replacement after this long.
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6_000);
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 500);

        StreamsBuilder builder = new StreamsBuilder();

        // Stream processing pipeline
        KStream<String, String> textLines = builder.stream(args.get("input", "input-topic"));

        KTable<String, Long> wordCounts = textLines
                .flatMapValues(value -> Arrays.asList(value.toLowerCase().split("\\W+")))
                .groupBy((key, word) -> word)
                .count();

        wordCounts.toStream().to(args.get("output", "output-topic"), Produced.with(Serdes.String(), Serdes.Long()));

        // Windowed aggregation
        KTable<Windowed<String>, Long> windowedCounts = textLines
                .flatMapValues(value -> Arrays.asList(value.split("\\W+")))
                .groupBy((key, word) -> word)
                .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofMinutes(5)))
                .count();

        windowedCounts.toStream((window, count) -> window.key() + "@" + window.window().start())
                .to(args.get("windowed-output", "windowed-output-topic"), Produced.with(Serdes.String(), Serdes.Long()));

        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        CountDownLatch stopped = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            Json.emit(Json.object("event", "state", "state", now.toString(), "before", before.toString()));
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                stopped.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            Json.emit(Json.object("event", "error", "error", Json.error(e)));
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
                    .SHUTDOWN_CLIENT;
        });
        streams.start();

        Stdin.onClose(stopped::countDown);
        stopped.await();
        streams.close(Duration.ofSeconds(30));
        Json.emit(Json.object("event", "closed", "state", streams.state().toString()));
    }
}
