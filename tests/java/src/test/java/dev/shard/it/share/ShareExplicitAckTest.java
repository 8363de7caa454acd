package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.deliveryCount;
import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Explicit acknowledgement: ACCEPT, RELEASE and REJECT per record, redelivery with a higher
 * {@code deliveryCount()}, and the delivery count limit (broker default
 * {@code group.share.delivery.count.limit} = 5).
 */
@Tag("share")
@Tag("share-v1")
class ShareExplicitAckTest extends ShareBrokerTestBase {

    /** offset -> delivery counts in the order seen. */
    private static void note(Map<Long, List<Short>> seen, ConsumerRecord<String, String> r) {
        seen.computeIfAbsent(r.offset(), k -> new ArrayList<>()).add(deliveryCount(r));
        assertEquals(ShareSupport.value(r.offset()), r.value(), "value at offset " + r.offset());
    }

    /**
     * Produces a sentinel record at offset {@code n}, then polls until it arrives, noting (in {@code seen}) and
     * accepting every delivery. Once the sentinel is delivered, an earlier record that did not come back was
     * really not redelivered: the consumer was still being served.
     */
    private void produceAndAwaitSentinel(KafkaShareConsumer<String, String> c, String topic, int n,
                                         Map<Long, List<Short>> seen) throws Exception {
        produce(topic, n, n + 1);
        long ts = System.nanoTime();
        boolean sentinel = false;
        while (!sentinel && ms(ts) < 20_000) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                note(seen, r);
                c.acknowledge(r, AcknowledgeType.ACCEPT);
                sentinel |= r.offset() == n;
            }
        }
        assertTrue(sentinel, "sentinel offset " + n + " not delivered within 20 s");
        c.commitSync(Duration.ofSeconds(20));
    }

    /**
     * 30 records: offset % 3 == 0 ACCEPT, 1 RELEASE, 2 REJECT on the first delivery. The released ten come
     * back (to the only consumer) with deliveryCount 2 and are then accepted; accepted and rejected records
     * are never delivered again, which a later sentinel record proves (it arrives, they do not).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void acceptReleaseRejectPerRecord() throws Exception {
        String topic = "explicit-arr";
        String group = "explicit-arr-g";
        int n = 30;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of());
        produce(topic, 0, n);

        Map<Long, List<Short>> seen = new TreeMap<>();
        try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, "explicit-arr-c", "explicit", topic)) {
            long t0 = System.nanoTime();
            int acks = 0;
            // Done when every offset was seen once and the released ones twice (3 x 10 + 10 deliveries).
            while (seen.values().stream().mapToInt(List::size).sum() < n + n / 3) {
                if (ms(t0) > 40_000) {
                    fail("not all deliveries within 40 s: " + seen);
                }
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : recs) {
                    note(seen, r);
                    AcknowledgeType t;
                    if (deliveryCount(r) > 1) {
                        t = AcknowledgeType.ACCEPT;
                    } else {
                        t = switch ((int) (r.offset() % 3)) {
                            case 0 -> AcknowledgeType.ACCEPT;
                            case 1 -> AcknowledgeType.RELEASE;
                            default -> AcknowledgeType.REJECT;
                        };
                    }
                    c.acknowledge(r, t);
                    acks++;
                }
                if (!recs.isEmpty()) {
                    // Acks go with the next poll anyway; commitSync makes the outcome visible and checkable.
                    Map<TopicIdPartition, Optional<KafkaException>> res = c.commitSync(Duration.ofSeconds(20));
                    res.forEach((tp, e) -> assertTrue(e.isEmpty(), "commitSync error for " + tp + ": " + e));
                }
            }
            log("all %d deliveries (%d acks) in %d ms", n + n / 3, acks, ms(t0));

            produceAndAwaitSentinel(c, topic, n, seen);
        }

        for (long o = 0; o < n; o++) {
            List<Short> counts = seen.get(o);
            List<Short> expected = o % 3 == 1 ? List.of((short) 1, (short) 2) : List.of((short) 1);
            assertEquals(expected, counts, "delivery counts of offset " + o + " (all: " + seen + ")");
        }
        assertEquals(List.of((short) 1), seen.get((long) n), "sentinel");
        assertEquals(n + 1, seen.size());
    }

    /**
     * Records released on every delivery come back with deliveryCount 1, 2, 3, 4, 5 and are then archived
     * (limit 5): no sixth delivery, while a sentinel produced afterwards is delivered.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void releasedFiveTimesIsNotDeliveredAgain() throws Exception {
        String topic = "explicit-limit";
        String group = "explicit-limit-g";
        int n = 10;
        int limit = 5;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of());
        produce(topic, 0, n);

        Map<Long, List<Short>> seen = new TreeMap<>();
        try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, "explicit-limit-c", "explicit", topic)) {
            long t0 = System.nanoTime();
            int polls = 0;
            List<Integer> pollSizes = new ArrayList<>();
            while (seen.values().stream().mapToInt(List::size).sum() < n * limit) {
                if (ms(t0) > 40_000) {
                    fail("not all " + n * limit + " deliveries within 40 s: " + seen);
                }
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                polls++;
                if (!recs.isEmpty()) {
                    pollSizes.add(recs.count());
                }
                for (ConsumerRecord<String, String> r : recs) {
                    note(seen, r);
                    c.acknowledge(r, AcknowledgeType.RELEASE);
                }
            }
            log("%d deliveries in %d ms, %d polls, non-empty poll sizes %s", n * limit, ms(t0), polls, pollSizes);

            // The fifth release archives them. Poll a while: nothing may come back.
            long tq = System.nanoTime();
            while (ms(tq) < 2000) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : recs) {
                    note(seen, r);
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
            }
            produceAndAwaitSentinel(c, topic, n, seen);
        }
        for (long o = 0; o < n; o++) {
            assertEquals(List.of((short) 1, (short) 2, (short) 3, (short) 4, (short) 5), seen.get(o),
                    "delivery counts of offset " + o + " (all: " + seen + ")");
        }
        assertEquals(List.of((short) 1), seen.get((long) n), "sentinel");
        assertEquals(n + 1, seen.size());
    }
}
