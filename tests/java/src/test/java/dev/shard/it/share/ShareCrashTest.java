package dev.shard.it.share;

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
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Share-group state across broker crashes (issue 5): acknowledgements confirmed by {@code commitSync} and
 * delivery counts must survive {@code kill -9} of the broker process (same port, same data directory on
 * restart). The consumers are {@link AckingShareWorker}s, the crashes a {@link CrashTimeline}, and the
 * checks (with their timing conventions) {@link AckAudit}'s, shared with {@link ShareChaosTest}.
 *
 * <p>Seed: {@code -Dshard.crash.seed=N} (logged on every run).
 */
@Tag("share")
@Tag("share-crash")
class ShareCrashTest extends ShareBrokerTestBase {

    private static final int RECORDS = Integer.getInteger("shard.crash.records", 200_000);
    private static final int PARTITIONS = 4;
    private static final int CONSUMERS = 4;
    private static final int KILLS = 5;
    /** Broker default {@code group.share.delivery.count.limit}. */
    private static final int DEFAULT_LIMIT = 5;
    /**
     * Records/s each consumer handles at most (it sleeps before commitSync): 4 x 2,000 = 8,000 records/s
     * spreads the consumption of 200,000 records over about 25 s of broker uptime, so all five crashes fall
     * inside it (unthrottled, Shard delivers them in about 3 s).
     */
    private static final int RATE_PER_CONSUMER = Integer.getInteger("shard.crash.rate", 2000);

    private final long seed = Long.getLong("shard.crash.seed", System.nanoTime());
    private final CrashTimeline crashes = new CrashTimeline();

    // Runs after the base class started the broker.
    @BeforeAll
    void logSeed() {
        log("ShareCrashTest seed %d (-Dshard.crash.seed=%d to repeat)", seed, seed);
    }

    private void crash(String why) throws Exception {
        crashes.kill(broker, why);
    }

    private void restart(long downMs) throws Exception {
        crashes.restart(broker, downMs);
    }

    // ------------------------------------------------------------------------------------------
    // Test 1: 200,000 records, 4 explicit consumers, 5 broker crashes.

    static AcknowledgeType policy(int id, short count) {
        if (id % 97 == 0) {
            return AcknowledgeType.REJECT;
        }
        if (id % 50 == 1 && count == 1) {
            return AcknowledgeType.RELEASE;
        }
        return AcknowledgeType.ACCEPT;
    }

    static int parseId(String value) {
        return AckingShareWorker.parseId(value);
    }

    /**
     * 200,000 records (id in the value) in 4 partitions; 4 explicit-mode consumers ACCEPT, RELEASE (id % 50
     * == 1 on delivery 1) or REJECT (id % 97 == 0) and commitSync after every poll; the broker is
     * SIGKILLed 5 times at random points of the consumption and restarted. Checks ({@link AckAudit}): every
     * record is delivered, nothing is left over (a fresh member gets only the sentinels), nothing confirmed
     * ACCEPTed/REJECTed is delivered after a crash, delivery counts never go back across a crash and rise
     * past a confirmed RELEASE, never above the limit.
     */
    @Test
    @Timeout(value = 270, unit = TimeUnit.SECONDS)
    void acknowledgementsSurviveFiveCrashes() throws Exception {
        String topic = "crash";
        String group = "crash-g";
        Random rnd = new Random(seed);
        long tStart = System.nanoTime();
        ShareSupport.createTopic(admin, topic, PARTITIONS);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", "15000"));

        int[] partOf = new int[RECORDS];
        long[] offsetOf = new long[RECORDS];
        AtomicInteger produceErrors = new AtomicInteger();
        long tp = System.nanoTime();
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker, Map.of(
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 5))) {
            for (int i = 0; i < RECORDS; i++) {
                final int id = i;
                p.send(new ProducerRecord<>(topic, id % PARTITIONS, null, "id-" + id), (md, e) -> {
                    if (e != null) {
                        produceErrors.incrementAndGet();
                    } else {
                        partOf[id] = md.partition();
                        offsetOf[id] = md.offset();
                    }
                });
            }
            p.flush();
        }
        assertEquals(0, produceErrors.get(), "produce errors");
        log("produced %d records in %d ms", RECORDS, ms(tp));

        DeliveryTally tally = new DeliveryTally(RECORDS);
        List<AckingShareWorker> workers = new ArrayList<>();
        long tc = System.nanoTime();
        for (int i = 0; i < CONSUMERS; i++) {
            workers.add(AckingShareWorker.start(i, ShareSupport.consumerProps(broker, group, "crash-c" + i, "explicit"),
                    topic, ShareCrashTest::policy, RATE_PER_CONSUMER, tally));
        }
        try {
            // Kill points: 5 random fractions of the records delivered at least once, at least 8 % apart.
            double[] at = new double[KILLS];
            do {
                for (int k = 0; k < KILLS; k++) {
                    at[k] = 0.05 + 0.70 * rnd.nextDouble();
                }
                java.util.Arrays.sort(at);
            } while (!spaced(at, 0.08));
            int killsBefore = crashes.kills();
            int atRestart = 0;
            for (int k = 0; k < KILLS; k++) {
                // The consumers must have made progress since the last restart (at least 3 % of the records).
                int threshold = Math.min(RECORDS * 97 / 100, Math.max((int) (at[k] * RECORDS), atRestart + RECORDS * 3 / 100));
                long tw = System.nanoTime();
                while (tally.distinct() < threshold) {
                    if (ms(tw) > 60_000) {
                        fail("no progress to " + threshold + " distinct records delivered within 60 s after restart "
                                + k + " (at " + tally.distinct() + "); " + AckingShareWorker.stats(workers));
                    }
                    AckingShareWorker.checkAlive(workers);
                    Thread.sleep(5);
                }
                Thread.sleep(rnd.nextInt(400));
                crash(String.format("%d of %d records delivered, target %.0f %%", tally.distinct(), RECORDS, at[k] * 100));
                restart(rnd.nextInt(1000));
                atRestart = tally.distinct();
            }
            assertEquals(KILLS, crashes.kills() - killsBefore, "crashes");
            // Drain: every record seen and no delivery anywhere for 4 s.
            long td = System.nanoTime();
            while (tally.distinct() < RECORDS || ms(tally.lastDelivery()) < 4000) {
                if (ms(td) > 120_000) {
                    fail("not drained within 120 s after the last restart: " + tally.distinct() + " of " + RECORDS
                            + " delivered, last delivery " + ms(tally.lastDelivery()) + " ms ago; never delivered: "
                            + tally.firstMissing(RECORDS, 20) + "; " + AckingShareWorker.stats(workers));
                }
                Thread.sleep(50);
            }
            log("consumed: %d distinct records in %d ms (drained %d ms after the last restart); %s",
                    tally.distinct(), ms(tc), ms(td), AckingShareWorker.stats(workers));
        } finally {
            AckingShareWorker.stopAll(workers);
        }
        AckingShareWorker.checkStopped(workers);

        // A fresh member of the group gets none of the old records, then one sentinel per partition.
        AckAudit.FreshMember fresh = AckAudit.freshMember(broker, group, topic, PARTITIONS, RECORDS);
        int[] ids = java.util.stream.IntStream.range(0, RECORDS).toArray();
        AckAudit audit = AckAudit.run(workers, crashes, DEFAULT_LIMIT, ids,
                id -> new AckAudit.Location(partOf[id], offsetOf[id]), fresh);
        log("%s; sentinels %d/%d; total %d ms", audit.summary(), fresh.sentinels(), PARTITIONS, ms(tStart));
        if (!audit.problems.isEmpty()) {
            fail(audit.problems.size() + " problems (seed " + seed + "), first 30:\n  " + audit.firstProblems(30));
        }
        assertEquals(PARTITIONS, fresh.sentinels(), "sentinels delivered to the fresh consumer within 30 s");
        // The run must have exercised what it checks.
        assertTrue(audit.confirmedAccept > RECORDS / 2, "confirmed ACCEPTs: " + audit.confirmedAccept);
        assertTrue(audit.confirmedReject > 0, "confirmed REJECTs: " + audit.confirmedReject);
        assertTrue(audit.releasedDeliveredAgain > 0, "released records redelivered: " + audit.releasedDeliveredAgain);
    }

    private static boolean spaced(double[] sorted, double gap) {
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] - sorted[i - 1] < gap) {
                return false;
            }
        }
        return true;
    }
    // ------------------------------------------------------------------------------------------
    // Test 2: the delivery-count limit across a crash.

    /**
     * Group delivery limit 3 ({@code share.delivery.count.limit}). Group A releases 10 records on every
     * delivery until each was released (confirmed) with deliveryCount 3; group B releases 10 records until
     * each was released with deliveryCount 2. Then SIGKILL and restart. After it, group A must never get
     * the records again and group B gets each record it had released twice exactly once more, with
     * deliveryCount 3 (then never again), while sentinels produced afterwards reach both groups.
     */
    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void deliveryLimitSurvivesACrash() throws Exception {
        String topic = "crash-limit";
        int n = 10;
        int limit = 3;
        ShareSupport.createTopic(admin, topic, 1);
        String ga = "crash-limit-a";
        String gb = "crash-limit-b";
        Map<String, String> cfg = Map.of("share.delivery.count.limit", Integer.toString(limit));
        ShareSupport.setupGroup(admin, ga, cfg);
        ShareSupport.setupGroup(admin, gb, cfg);
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker)) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(topic, 0, null, "id-" + i));
            }
            p.flush();
        }

        Map<Integer, List<Short>> beforeA = new TreeMap<>();
        Map<Integer, List<Short>> beforeB = new TreeMap<>();
        Map<Integer, Short> releasedA = new TreeMap<>(); // id -> highest confirmed released count
        Map<Integer, Short> releasedB = new TreeMap<>();
        KafkaShareConsumer<String, String> cb = null;
        try (KafkaShareConsumer<String, String> ca = ShareSupport.consumer(broker, ga, "limit-a", "explicit", topic)) {
            releaseUntil(ca, n, limit, beforeA, releasedA, "group A");
            cb = ShareSupport.consumer(broker, gb, "limit-b", "explicit", topic);
            releaseUntil(cb, n, 2, beforeB, releasedB, "group B");
            // Kill with B's consumer still open (not closed, not polling): whatever it may have fetched in the
            // background is acquired, not acknowledged, and must come back after the restart.
            crash("limit test: group A released all at " + limit + ", group B all at 2");
            try {
                cb.close(Duration.ofMillis(500));
            } catch (RuntimeException e) {
                log("closing B's consumer while the broker is down: %s", e);
            }
            cb = null;
        } finally {
            if (cb != null) {
                cb.close(Duration.ofSeconds(5));
            }
        }
        if (!broker.isAlive()) {
            restart(200);
        }
        for (int i = 0; i < n; i++) {
            for (Map<Integer, List<Short>> m : List.of(beforeA, beforeB)) {
                List<Short> counts = m.getOrDefault(i, List.of());
                for (int k = 1; k < counts.size(); k++) {
                    assertTrue(counts.get(k) > counts.get(k - 1), "before the crash, id " + i
                            + " delivery counts not increasing: " + counts);
                }
            }
        }
        log("before the crash: A %s, B %s", beforeA, beforeB);

        try (KafkaProducer<String, String> p = ShareSupport.producer(broker)) {
            p.send(new ProducerRecord<>(topic, 0, null, "id-" + n)).get(30, TimeUnit.SECONDS);
        }
        Map<Integer, List<Short>> afterA = drainAfter(ga, topic, n, "limit-a2");
        Map<Integer, List<Short>> afterB = drainAfter(gb, topic, n, "limit-b2");
        log("after the restart: A %s, B %s", afterA, afterB);

        List<String> problems = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<Short> a = afterA.getOrDefault(i, List.of());
            if (!a.isEmpty()) {
                problems.add("group A: id " + i + " was released with deliveryCount " + releasedA.get(i)
                        + " = limit " + limit + " before the crash (deliveries " + beforeA.get(i)
                        + ") and delivered again after it with deliveryCount(s) " + a);
            }
            List<Short> b = afterB.getOrDefault(i, List.of());
            short rb = releasedB.get(i);
            List<Short> expected = rb >= limit ? List.of() : List.of((short) limit);
            if (!b.equals(expected)) {
                problems.add("group B: id " + i + " was released with deliveryCount " + rb + " before the crash"
                        + " (deliveries " + beforeB.get(i) + "); after it expected deliveries " + expected
                        + " (limit " + limit + "), got " + b);
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }

    /**
     * Polls {@code c}, RELEASEing every record and commitSync after every poll, until each of the {@code n}
     * records had a RELEASE with deliveryCount ≥ {@code upTo} confirmed. Records past {@code upTo} (a batch
     * may mix counts) are released too and noted.
     */
    private static void releaseUntil(KafkaShareConsumer<String, String> c, int n, int upTo,
                                     Map<Integer, List<Short>> seen, Map<Integer, Short> released, String what) {
        long t0 = System.nanoTime();
        while (released.size() < n || released.values().stream().anyMatch(v -> v < upTo)) {
            if (ms(t0) > 40_000) {
                fail(what + ": records not released up to deliveryCount " + upTo + " within 40 s: deliveries "
                        + seen + ", confirmed releases " + released);
            }
            ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
            if (recs.isEmpty()) {
                continue;
            }
            Map<Integer, Short> pending = new TreeMap<>();
            for (ConsumerRecord<String, String> r : recs) {
                int id = parseId(r.value());
                short count = ShareSupport.deliveryCount(r);
                seen.computeIfAbsent(id, k -> new ArrayList<>()).add(count);
                c.acknowledge(r, AcknowledgeType.RELEASE);
                pending.put(id, count);
            }
            Map<TopicIdPartition, Optional<KafkaException>> res = c.commitSync(Duration.ofSeconds(10));
            res.forEach((tp, e) -> assertTrue(e.isEmpty(), what + ": commitSync error for " + tp + ": " + e));
            pending.forEach((id, count) -> released.merge(id, count, (x, y) -> (short) Math.max(x, y)));
        }
        log("%s: released to %d in %d ms: %s", what, upTo, ms(t0), seen);
    }

    /**
     * A new consumer in {@code group} after the restart: RELEASEs whatever old record it gets, until the
     * sentinel (id {@code n}) came and 2 s more passed. Returns id -> delivery counts of the old records.
     */
    private Map<Integer, List<Short>> drainAfter(String group, String topic, int n, String clientId) {
        Map<Integer, List<Short>> after = new TreeMap<>();
        try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, clientId, "explicit", topic)) {
            long t0 = System.nanoTime();
            long sentinelAt = -1;
            while (sentinelAt < 0 ? ms(t0) < 40_000 : ms(sentinelAt) < 2000) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : recs) {
                    int id = parseId(r.value());
                    if (id == n) {
                        sentinelAt = System.nanoTime();
                        c.acknowledge(r, AcknowledgeType.ACCEPT);
                    } else {
                        after.computeIfAbsent(id, k -> new ArrayList<>()).add(ShareSupport.deliveryCount(r));
                        c.acknowledge(r, AcknowledgeType.RELEASE);
                    }
                }
                if (!recs.isEmpty()) {
                    c.commitSync(Duration.ofSeconds(10));
                }
            }
            assertTrue(sentinelAt >= 0, group + ": sentinel not delivered within 40 s after the restart; old records "
                    + after);
        }
        return after;
    }
}
