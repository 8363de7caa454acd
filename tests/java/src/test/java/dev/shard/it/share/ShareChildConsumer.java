package dev.shard.it.share;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A share consumer in its own JVM, for {@link ShareReleaseTest}: joins {@code group}, polls in
 * explicit mode until it gets records, prints {@code ACQUIRED <offset>,<offset>,...} on stdout and then
 * holds them (no acknowledgement, no further poll) until the test kills the process.
 *
 * <p>Args: bootstrap topic group. Prints {@code SUBSCRIBED} once the consumer is created.
 */
public final class ShareChildConsumer {

    private ShareChildConsumer() {
    }

    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, args[2]);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "share-child-consumer");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put("share.acknowledgement.mode", "explicit");
        KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(p);
        c.subscribe(List.of(args[1]));
        System.out.println("SUBSCRIBED");
        System.out.flush();
        while (true) {
            ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
            if (!recs.isEmpty()) {
                List<String> offsets = new ArrayList<>();
                for (ConsumerRecord<String, String> r : recs) {
                    offsets.add(Long.toString(r.offset()));
                }
                System.out.println("ACQUIRED " + String.join(",", offsets));
                System.out.flush();
                break;
            }
        }
        // Hold the records: the consumer stays open (its background thread keeps heartbeating) until killed.
        Thread.sleep(Long.MAX_VALUE);
    }
}
