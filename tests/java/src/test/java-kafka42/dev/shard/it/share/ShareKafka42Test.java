package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.deliveryCount;
import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Share-consumer features of kafka-clients 4.2+ (ShareFetch / ShareAcknowledge v2): RENEW,
 * {@code share.acquire.mode=record_limit} and {@code acquisitionLockTimeoutMs()}. This source directory
 * is not compiled with -Pshare-v1 (4.1 clients lack these APIs).
 */
@Tag("share")
class ShareKafka42Test extends ShareBrokerTestBase {

    private static ConsumerRecords<String, String> pollUntilRecords(KafkaShareConsumer<String, String> c) {
        long t0 = System.nanoTime();
        while (ms(t0) < 30_000) {
            ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
            if (!recs.isEmpty()) {
                return recs;
            }
        }
        throw new AssertionError("no records within 30 s");
    }

    /**
     * acquisitionLockTimeoutMs() is empty before the first fetch, then the group's
     * share.record.lock.duration.ms (7000). After the group config changes to 9000, a later fetch reports
     * 9000.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void acquisitionLockTimeoutFollowsTheGroupConfig() throws Exception {
        String topic = "lock-timeout";
        String group = "lock-timeout-g";
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", "7000"));
        produce(topic, 0, 1, Map.of());
        try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, "lock-timeout-c", "implicit", topic)) {
            assertEquals(Optional.empty(), c.acquisitionLockTimeoutMs(), "before the first fetch");
            pollUntilRecords(c);
            assertEquals(Optional.of(7000), c.acquisitionLockTimeoutMs(), "after the first fetch");

            ShareSupport.setGroupConfig(admin, group, Map.of("share.record.lock.duration.ms", "9000"));
            produce(topic, 1, 2, Map.of());
            ConsumerRecords<String, String> recs = pollUntilRecords(c);
            log("after the config change: %d record(s), acquisitionLockTimeoutMs %s", recs.count(), c.acquisitionLockTimeoutMs());
            assertEquals(Optional.of(9000), c.acquisitionLockTimeoutMs(), "after a fetch following the config change");
        }
    }

    /**
     * Lock 1 s. A gets 5 records and RENEWs them (commitSync after each round) every 300 ms for 3.5 s, more
     * than three lock periods; each poll in between hands the renewed records back to A. B, in the group
     * and receiving other records meanwhile, never gets them. Then A stops (no ack, no poll, still a member):
     * B gets them about a lock period later, with deliveryCount 2.
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void renewKeepsRecordsAcrossThreeLockPeriods() throws Exception {
        String topic = "renew";
        String group = "renew-g";
        int lockMs = 1000;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", Integer.toString(lockMs)));

        ConcurrentLinkedQueue<ShareWorker.Delivery> sink = new ConcurrentLinkedQueue<>();
        ShareWorker b = null;
        try (KafkaShareConsumer<String, String> a = ShareSupport.consumer(broker, group, "renew-a", "explicit", topic)) {
            a.poll(Duration.ofMillis(100));
            ShareSupport.awaitAssignedMembers(admin, group, topic, 1, Duration.ofSeconds(30));
            produce(topic, 0, 5, Map.of());
            ConsumerRecords<String, String> recs = pollUntilRecords(a);
            long tA = System.nanoTime();
            Set<Long> held = new TreeSet<>();
            recs.forEach(r -> held.add(r.offset()));
            log("A holds %s", held);

            b = ShareWorker.start("B", ShareSupport.consumerProps(broker, group, "renew-b", "explicit"), topic, sink);
            ShareWorker bb = b;
            Map<Long, List<Short>> presented = new TreeMap<>();
            int rounds = 0;
            int next = 5;
            long lastRenew = 0;
            long bLiveAt = -1;
            // Renew until 3.5 lock periods have passed and B has been receiving records for 2 lock periods.
            while (ms(tA) < 3500 || bLiveAt < 0 || ms(bLiveAt) < 2 * lockMs) {
                assertTrue(ms(tA) < 40_000, "B never received a record");
                b.checkHealthy();
                for (ConsumerRecord<String, String> r : recs) {
                    if (held.contains(r.offset())) {
                        presented.computeIfAbsent(r.offset(), k -> new ArrayList<>()).add(deliveryCount(r));
                        a.acknowledge(r, AcknowledgeType.RENEW);
                    } else {
                        a.acknowledge(r, AcknowledgeType.ACCEPT);
                    }
                }
                lastRenew = System.nanoTime();
                Map<TopicIdPartition, Optional<KafkaException>> res = a.commitSync(Duration.ofSeconds(10));
                res.forEach((tp, e) -> assertTrue(e.isEmpty(), "renew commitSync error: " + e));
                rounds++;
                produce(topic, next, next + 1, Map.of()); // something for B to live on
                next++;
                if (bLiveAt < 0 && !sink.isEmpty()) {
                    bLiveAt = System.nanoTime();
                }
                Thread.sleep(300);
                recs = a.poll(Duration.ofMillis(100));
                Set<Long> back = new TreeSet<>();
                recs.forEach(r -> back.add(r.offset()));
                assertTrue(back.containsAll(held), "round " + rounds + ": renewed records not handed back to A: " + back);
            }
            long renewMs = ms(tA);
            log("A renewed %s in %d rounds over %d ms; delivery counts seen by A %s; B got %d other records",
                    held, rounds, renewMs, presented, sink.size());
            for (ShareWorker.Delivery d : sink) {
                assertTrue(!held.contains(d.offset()), "B got renewed offset " + d.offset() + " " + ms(tA) + " ms after A fetched it");
            }
            presented.forEach((o, counts) -> assertTrue(counts.stream().allMatch(c -> c == 1),
                    "renew must not change the delivery count of offset " + o + ": " + counts));

            // Stop renewing; A keeps the last poll's records without acknowledging them.
            long tStop = System.nanoTime();
            boolean all = ShareSupport.waitFor(() -> {
                bb.checkHealthy();
                return sink.stream().filter(d -> held.contains(d.offset())).count() == held.size();
            }, Duration.ofSeconds(20));
            assertTrue(all, "B did not get the records within 20 s after A stopped renewing");
            long firstAtB = sink.stream().filter(d -> held.contains(d.offset())).mapToLong(ShareWorker.Delivery::atNanos).min().orElseThrow();
            log("B got them %d ms after the last renew, %d ms after A stopped",
                    TimeUnit.NANOSECONDS.toMillis(firstAtB - lastRenew), TimeUnit.NANOSECONDS.toMillis(firstAtB - tStop));
            assertTrue(firstAtB - lastRenew >= TimeUnit.MILLISECONDS.toNanos(lockMs - 100),
                    "B got a record " + TimeUnit.NANOSECONDS.toMillis(firstAtB - lastRenew) + " ms after its last renew");
            sink.stream().filter(d -> held.contains(d.offset()))
                    .forEach(d -> assertEquals((short) 2, d.deliveryCount(), "deliveryCount at B of offset " + d.offset()));
            b.stop();
        } finally {
            if (b != null) {
                b.close();
            }
        }
    }

    /**
     * share.acquire.mode=record_limit with max.poll.records=7: 200 records produced as one large batch
     * come in polls of at most 7 records, each exactly once. (For comparison the default batch_optimized
     * mode is logged: Kafka hands out the whole batch.)
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void recordLimitNeverExceedsMaxPollRecords() throws Exception {
        String topic = "record-limit";
        int n = 200;
        int max = 7;
        ShareSupport.createTopic(admin, topic, 1);
        produce(topic, 0, n, Map.of(ProducerConfig.LINGER_MS_CONFIG, 200, ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20));

        for (String mode : List.of("record_limit", "batch_optimized")) {
            String group = "record-limit-" + mode;
            ShareSupport.setupGroup(admin, group, Map.of());
            Properties p = ShareSupport.consumerProps(broker, group, group + "-c", "implicit");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, max);
            p.put("share.acquire.mode", mode);
            List<Integer> sizes = new ArrayList<>();
            int[] seen = new int[n];
            try (KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(p)) {
                c.subscribe(List.of(topic));
                long t0 = System.nanoTime();
                int total = 0;
                while (total < n && ms(t0) < 40_000) {
                    ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                    if (recs.isEmpty()) {
                        continue;
                    }
                    sizes.add(recs.count());
                    for (ConsumerRecord<String, String> r : recs) {
                        seen[(int) r.offset()]++;
                        total++;
                    }
                }
                c.commitSync(Duration.ofSeconds(20));
            }
            log("%s, max.poll.records=%d: poll sizes %s", mode, max, sizes);
            if (mode.equals("record_limit")) {
                for (int i = 0; i < n; i++) {
                    assertEquals(1, seen[i], "offset " + i + " deliveries");
                }
                for (int s : sizes) {
                    assertTrue(s <= max, "record_limit poll returned " + s + " > max.poll.records " + max + ": " + sizes);
                }
            }
        }
    }
}
