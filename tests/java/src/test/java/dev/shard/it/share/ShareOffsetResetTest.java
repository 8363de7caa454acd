package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Where a share group starts on a partition it has never consumed: group config
 * {@code share.auto.offset.reset} = latest (the default), earliest, or by_duration:&lt;ISO-8601 duration&gt;.
 */
@Tag("share")
@Tag("share-v1")
class ShareOffsetResetTest extends ShareBrokerTestBase {

    /** Produces one record per timestamp (offsets 0, 1, ...), in that order. */
    private void produceAt(String topic, long... timestamps) throws Exception {
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker)) {
            for (int i = 0; i < timestamps.length; i++) {
                p.send(new ProducerRecord<>(topic, 0, timestamps[i], null, ShareSupport.value(i))).get(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Consumes (implicit mode) until {@code expected} records arrived, then 1.5 s more; returns the offsets. */
    private List<Long> consume(String topic, String group, int expected) {
        List<Long> got = new ArrayList<>();
        try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, group + "-c", "implicit", topic)) {
            long t0 = System.nanoTime();
            long enough = -1;
            while (ms(t0) < 30_000) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    got.add(r.offset());
                }
                if (got.size() >= expected && enough < 0) {
                    enough = System.nanoTime();
                }
                if (enough >= 0 && ms(enough) > 1500) {
                    break;
                }
            }
            c.commitSync(Duration.ofSeconds(20));
        }
        log("group %s got offsets %s", group, got);
        return got;
    }

    /**
     * Records stamped 2 h, 90 min, 30 min and 1 min ago. earliest gets all four; by_duration:PT1H the two
     * from the last hour; by_duration:PT100M three.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void earliestAndByDuration() throws Exception {
        String topic = "reset-ts";
        ShareSupport.createTopic(admin, topic, 1);
        long now = System.currentTimeMillis();
        produceAt(topic, now - 120 * 60_000L, now - 90 * 60_000L, now - 30 * 60_000L, now - 60_000L);

        ShareSupport.setupGroup(admin, "reset-earliest", Map.of());
        assertEquals(List.of(0L, 1L, 2L, 3L), consume(topic, "reset-earliest", 4));

        ShareSupport.setupGroup(admin, "reset-pt1h", Map.of("share.auto.offset.reset", "by_duration:PT1H"));
        assertEquals(List.of(2L, 3L), consume(topic, "reset-pt1h", 2));

        ShareSupport.setupGroup(admin, "reset-pt100m", Map.of("share.auto.offset.reset", "by_duration:PT100M"));
        assertEquals(List.of(1L, 2L, 3L), consume(topic, "reset-pt100m", 3));
    }

    /**
     * No share.auto.offset.reset config (only the 1 s heartbeat): the group starts at the end of the partition. Records produced before the
     * consumer joined are never delivered; records produced after it did are (a record every 300 ms until
     * one arrives).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void latestIsTheDefault() throws Exception {
        String topic = "reset-latest";
        String group = "reset-latest-g";
        int before = 5;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setGroupConfig(admin, group, Map.of("share.heartbeat.interval.ms", "1000"));
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker)) {
            for (int i = 0; i < before; i++) {
                p.send(new ProducerRecord<>(topic, null, ShareSupport.value(i))).get(30, TimeUnit.SECONDS);
            }
            List<Long> got = new ArrayList<>();
            try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, group + "-c", "implicit", topic)) {
                long t0 = System.nanoTime();
                long lastSend = 0;
                int sent = before;
                while (got.isEmpty() && ms(t0) < 40_000) {
                    if (System.nanoTime() - lastSend > TimeUnit.MILLISECONDS.toNanos(300)) {
                        p.send(new ProducerRecord<>(topic, null, ShareSupport.value(sent++)));
                        p.flush();
                        lastSend = System.nanoTime();
                    }
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                        got.add(r.offset());
                        assertEquals(ShareSupport.value(r.offset()), r.value());
                    }
                }
                log("latest: first records %s after %d ms, %d produced", got, ms(t0), sent);
                c.commitSync(Duration.ofSeconds(20));
            }
            assertTrue(!got.isEmpty(), "no record produced after joining was delivered");
            for (long o : got) {
                assertTrue(o >= before, "offset " + o + " was produced before the group started (latest): " + got);
            }
        }
    }

    /** Values outside latest | earliest | by_duration:&lt;non-negative ISO-8601 duration&gt; are refused. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void invalidValuesAreRejected() {
        for (String bad : List.of("by_duration:1h", "by_duration:-PT1H", "by_duration:", "sometimes")) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> ShareSupport.setGroupConfig(admin, "reset-invalid", Map.of("share.auto.offset.reset", bad)),
                    "value " + bad);
            assertInstanceOf(InvalidConfigurationException.class, e.getCause(), "value " + bad + ": " + e.getCause());
        }
    }
}
