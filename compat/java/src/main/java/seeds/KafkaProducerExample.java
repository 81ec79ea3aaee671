// The seeds' KafkaProducerExample, unchanged but for this package line and the address,
// which comes from -Dbootstrap.servers (compat/test_java_clients.py starts it).
package seeds;

import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.StringSerializer;
import java.util.Properties;

public class KafkaProducerExample {
    
    public static void main(String[] args) {
        // Configure producer
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, 
                  System.getProperty("bootstrap.servers", "localhost:9092"));
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, 
                  StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, 
                  StringSerializer.class.getName());
        
        // Reliability settings
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.RETRIES_CONFIG, 3);
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        
        // Performance settings
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "snappy");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 10);
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, 16384);
        
        KafkaProducer<String, String> producer = 
            new KafkaProducer<>(props);
        
        try {
            // Synchronous send
            ProducerRecord<String, String> record = 
                new ProducerRecord<>("orders", "order-123", 
                                     "{\"amount\": 100.00}");
            RecordMetadata metadata = producer.send(record).get();
            System.out.printf("Sent to partition %d, offset %d%n", 
                            metadata.partition(), metadata.offset());
            
            // Asynchronous send with callback
            producer.send(record, new Callback() {
                @Override
                public void onCompletion(RecordMetadata metadata, 
                                        Exception exception) {
                    if (exception != null) {
                        System.err.println("Error: " + exception);
                    } else {
                        System.out.println("Success: " + metadata.offset());
                    }
                }
            });
            
        } catch (Exception e) {
            e.printStackTrace();
        } finally {
            producer.close();
        }
    }
}
