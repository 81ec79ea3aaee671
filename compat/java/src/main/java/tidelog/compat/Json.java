package tidelog.compat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Writes the scenarios' output: one JSON document a line on stdout, the test's only input. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static synchronized void emit(Object document) {
        try {
            System.out.println(MAPPER.writeValueAsString(document));
            System.out.flush();
        } catch (JsonProcessingException e) { // only our own maps and lists: a bug here
            throw new IllegalStateException("cannot encode output", e);
        }
    }

    /** An ordered map from alternating keys and values, since Map.of refuses nulls. */
    static Map<String, Object> object(Object... keysAndValues) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            out.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return out;
    }

    /** A record as every program of the suite prints it (see compat/go/main.go). */
    static Map<String, Object> record(ConsumerRecord<String, String> r) {
        return object("partition", r.partition(), "offset", r.offset(), "key", r.key(), "value", r.value(),
                "timestamp", r.timestamp());
    }

    /**
     * An exception as the tests match it: the class and message of each cause, outermost
     * first ("KafkaException: ... <- ProducerFencedException: ..."), futures' wrappers left
     * out; null for none.
     */
    static String error(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.util.concurrent.ExecutionException && cause.getCause() != null) {
                continue;
            }
            if (out.length() > 0) {
                out.append(" <- ");
            }
            out.append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage());
        }
        return e == null ? null : out.toString();
    }
}
