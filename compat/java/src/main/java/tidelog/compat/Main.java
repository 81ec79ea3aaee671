package tidelog.compat;

import java.util.Map;

/**
 * The Java programs of the compatibility suite: Apache Kafka's own client (kafka-clients)
 * and Kafka Streams against a broker. compat/test_java_clients.py and
 * compat/test_kafka_streams.py start this class with {@code java -cp}, one scenario per
 * process, and check the JSON it prints on stdout: a one-shot scenario prints one document,
 * a long-running one (a group member, a Streams instance) one event a line until its stdin
 * closes. Errors the client reports are part of that JSON where a test asserts on them;
 * anything else exits non-zero with the stack trace on stderr.
 */
public final class Main {
    private interface Scenario {
        void run(Args args) throws Exception;
    }

    private static final Map<String, Scenario> SCENARIOS = Map.of(
            "produce", Produce::run,
            "consume", Consume::run,
            "seek", Consume::seek,
            "member", Member::run,
            "admin", AdminScenario::run,
            "transactions", Transactions::run,
            "wordcount", WordCount::run);

    private Main() {}

    public static void main(String[] argv) throws Exception {
        Scenario scenario = argv.length == 0 ? null : SCENARIOS.get(argv[0]);
        if (scenario == null) {
            System.err.println("usage: Main " + String.join("|", SCENARIOS.keySet()) + " --bootstrap HOST:PORT ...");
            System.exit(2);
        }
        scenario.run(Args.parse(argv));
        // Kafka Streams and the clients leave non-daemon threads behind only on a bug of
        // ours; exit now rather than hang the test.
        System.exit(0);
    }
}
