// The seeds' KafkaConsumerExample, unchanged but for this package line, the address,
// which comes from -Dbootstrap.servers (compat/test_java_clients.py starts it), and the
// import of TopicPartition, which the seed leaves out (it does not compile without it).
package seeds;

import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import java.time.Duration;
import java.util.*;

public class KafkaConsumerExample {
    
    public static void main(String[] args) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, 
                  System.getProperty("bootstrap.servers", "localhost:9092"));
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "order-processor");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, 
                  StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, 
                  StringDeserializer.class.getName());
        
        // Consumer settings
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        
        KafkaConsumer<String, String> consumer = 
            new KafkaConsumer<>(props);
        
        try {
            consumer.subscribe(Arrays.asList("orders"));
            
            while (true) {
                ConsumerRecords<String, String> records = 
                    consumer.poll(Duration.ofMillis(100));
                
                for (ConsumerRecord<String, String> record : records) {
                    try {
                        processOrder(record.key(), record.value());
                        
                        // Manual commit after successful processing
                        consumer.commitSync(Collections.singletonMap(
                            new TopicPartition(record.topic(), 
                                             record.partition()),
                            new OffsetAndMetadata(record.offset() + 1)
                        ));
                        
                    } catch (Exception e) {
                        System.err.println("Error processing: " + e);
                        // Send to dead letter queue
                        sendToDeadLetterQueue(record);
                    }
                }
            }
            
        } finally {
            consumer.close();
        }
    }
    
    private static void processOrder(String key, String value) {
        System.out.println("Processing order: " + key);
        // Business logic here
    }
    
    private static void sendToDeadLetterQueue(
            ConsumerRecord<String, String> record) {
        // DLQ logic here
    }
}
