package dev.shard.it.share;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import dev.shard.it.ShardBroker;

/**
 * Base class of the share-consumer test classes: one broker per test class, started with the share
 * overrides ({@link ShareSupport#startBroker}) before its first test and stopped after its last, and an
 * {@link Admin} client on it.
 *
 * <p>The broker is named after the concrete class, so its log is {@code target/broker-logs/<ClassName>-N.log}.
 * Subclasses keep their own {@code @Tag}s (they select the Maven profiles); a subclass may add its own
 * {@code @BeforeAll}, which JUnit runs after {@link #startBroker()}.
 *
 * <p>Lives in {@code src/test/java} so the classes in {@code java-kafka42}, {@code java-spring} and
 * {@code java-tools} (same package) can extend it in every profile that compiles them.
 */
// PER_CLASS so the non-static @BeforeAll/@AfterAll can set these fields; @TestInstance is inherited.
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ShareBrokerTestBase {

    protected ShardBroker broker;
    protected Admin admin;

    @BeforeAll
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void startBroker() throws Exception {
        broker = ShareSupport.startBroker(getClass().getSimpleName());
        admin = broker.admin();
    }

    @AfterAll
    void stopBroker() {
        if (admin != null) {
            admin.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    /** Produces records {@code from} (inclusive) to {@code to} (exclusive): no key, value {@link ShareSupport#value}. */
    protected void produce(String topic, int from, int to) throws Exception {
        produce(topic, from, to, Map.of());
    }

    /** As {@link #produce(String, int, int)}, with extra producer configs (e.g. linger and batch size). */
    protected void produce(String topic, int from, int to, Map<String, Object> producerConfig) throws Exception {
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker, producerConfig)) {
            for (int i = from; i < to; i++) {
                p.send(new ProducerRecord<>(topic, null, ShareSupport.value(i)));
            }
            p.flush();
        }
    }
}
