package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

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
 * restart).
 *
 * <p>Timing conventions for the checks: a delivery is stamped when {@code poll()} returned it, an
 * acknowledgement when {@code commitSync()} returned, a crash when the killed process was gone. A share
 * consumer may hand out records it fetched (and the broker acquired) before a crash only after the
 * crash; such a "stale" copy can look like a redelivery although the broker did nothing wrong. So a
 * later delivery counts against an earlier confirmed acknowledgement (or delivery) when a crash lies
 * between the two, or, with no crash between, when its delivery count is higher (the broker really
 * acquired the record again). Same-epoch copies with a count not higher are logged as stale.
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
    private final List<Long> killTimes = new CopyOnWriteArrayList<>();

    // Runs after the base class started the broker.
    @BeforeAll
    void logSeed() {
        log("ShareCrashTest seed %d (-Dshard.crash.seed=%d to repeat)", seed, seed);
    }

    private void crash(String why) throws Exception {
        broker.kill9();
        killTimes.add(System.nanoTime());
        log("SIGKILL #%d (%s)", killTimes.size(), why);
    }

    private void restart(long downMs) throws Exception {
        Thread.sleep(downMs);
        long t0 = System.nanoTime();
        broker.restart();
        log("restarted after %d ms down, ready in %d ms", downMs, ms(t0));
    }

    /** True when a broker crash happened strictly between the two nanoTime stamps. */
    private boolean killBetween(long from, long to) {
        for (long k : killTimes) {
            if (k > from && k < to) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // Test 1: 200,000 records, 4 explicit consumers, 5 broker crashes.

    record Delivery(int id, int partition, long offset, short count, long at, int worker) {
    }

    /** One acknowledgement; {@code confirmedAt} is the commitSync return time, or -1 if unconfirmed. */
    record Ack(int id, short count, AcknowledgeType type, long confirmedAt, int worker) {
    }

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
        if (value == null || !value.startsWith("id-")) {
            throw new AssertionError("unexpected record value " + value);
        }
        return Integer.parseInt(value.substring(3));
    }

    /** An explicit-mode share consumer on its own thread that survives broker outages. */
    final class CrashWorker implements Runnable {
        final int index;
        final String topic;
        final String group;
        final List<Delivery> deliveries = new ArrayList<>();
        final List<Ack> acks = new ArrayList<>();
        final AtomicIntegerArray seen;
        final AtomicInteger distinct;
        final AtomicLong lastDelivery;
        final Thread thread;
        volatile boolean running = true;
        volatile Throwable fatal;
        int pollErrors;
        int ackErrors;
        int commitErrors;
        int commitPartitionErrors;
        int commits;

        CrashWorker(int index, String topic, String group, AtomicIntegerArray seen, AtomicInteger distinct,
                    AtomicLong lastDelivery) {
            this.index = index;
            this.topic = topic;
            this.group = group;
            this.seen = seen;
            this.distinct = distinct;
            this.lastDelivery = lastDelivery;
            this.thread = new Thread(this, "crash-worker-" + index);
            this.thread.setDaemon(true);
        }

        @Override
        public void run() {
            KafkaShareConsumer<String, String> c = null;
            try {
                c = new KafkaShareConsumer<>(ShareSupport.consumerProps(broker, group, "crash-c" + index, "explicit"));
                c.subscribe(List.of(topic));
                while (running) {
                    ConsumerRecords<String, String> recs;
                    try {
                        recs = c.poll(Duration.ofMillis(200));
                    } catch (KafkaException e) {
                        pollErrors++;
                        if (pollErrors <= 5) {
                            log("worker %d: poll failed: %s", index, e);
                        }
                        Thread.sleep(100);
                        continue;
                    }
                    if (recs.isEmpty()) {
                        continue;
                    }
                    long now = System.nanoTime();
                    lastDelivery.set(now);
                    List<int[]> pending = new ArrayList<>(); // {id, count, partition, type ordinal}
                    for (ConsumerRecord<String, String> r : recs) {
                        int id = parseId(r.value());
                        short count = ShareSupport.deliveryCount(r);
                        deliveries.add(new Delivery(id, r.partition(), r.offset(), count, now, index));
                        if (seen.getAndIncrement(id) == 0) {
                            distinct.incrementAndGet();
                        }
                        AcknowledgeType t = policy(id, count);
                        try {
                            c.acknowledge(r, t);
                            pending.add(new int[] {id, count, r.partition(), t.ordinal()});
                        } catch (RuntimeException e) {
                            ackErrors++;
                            acks.add(new Ack(id, count, t, -1, index));
                        }
                    }
                    // Simulated work; a crash may land here, between acquisition and commit.
                    Thread.sleep(recs.count() * 1000L / RATE_PER_CONSUMER);
                    Map<TopicIdPartition, Optional<KafkaException>> res = null;
                    try {
                        res = c.commitSync(Duration.ofSeconds(5));
                        commits++;
                    } catch (RuntimeException e) {
                        commitErrors++;
                    }
                    long conf = System.nanoTime();
                    for (int[] p : pending) {
                        boolean ok = false;
                        if (res != null) {
                            for (Map.Entry<TopicIdPartition, Optional<KafkaException>> e : res.entrySet()) {
                                if (e.getKey().partition() == p[2]) {
                                    ok = e.getValue().isEmpty();
                                }
                            }
                        }
                        if (res != null && !ok) {
                            commitPartitionErrors++;
                        }
                        acks.add(new Ack(p[0], (short) p[1], AcknowledgeType.values()[p[3]], ok ? conf : -1, index));
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable t) {
                fatal = t;
                log("worker %d failed: %s", index, t);
            } finally {
                if (c != null) {
                    try {
                        c.close(Duration.ofSeconds(10));
                    } catch (Throwable t) {
                        log("worker %d: close: %s", index, t);
                    }
                }
            }
        }
    }

    /**
     * 200,000 records (id in the value) in 4 partitions; 4 explicit-mode consumers ACCEPT, RELEASE (id % 50
     * == 1 on delivery 1) or REJECT (id % 97 == 0) and commitSync after every poll; the broker is
     * SIGKILLed 5 times at random points of the consumption and restarted. Checks: every record is
     * delivered, nothing is left over (a fresh member gets only the sentinels), nothing confirmed
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

        AtomicIntegerArray seen = new AtomicIntegerArray(RECORDS);
        AtomicInteger distinct = new AtomicInteger();
        AtomicLong lastDelivery = new AtomicLong(System.nanoTime());
        List<CrashWorker> workers = new ArrayList<>();
        long tc = System.nanoTime();
        for (int i = 0; i < CONSUMERS; i++) {
            CrashWorker w = new CrashWorker(i, topic, group, seen, distinct, lastDelivery);
            workers.add(w);
            w.thread.start();
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
            int killsBefore = killTimes.size();
            int atRestart = 0;
            for (int k = 0; k < KILLS; k++) {
                // The consumers must have made progress since the last restart (at least 3 % of the records).
                int threshold = Math.min(RECORDS * 97 / 100, Math.max((int) (at[k] * RECORDS), atRestart + RECORDS * 3 / 100));
                long tw = System.nanoTime();
                while (distinct.get() < threshold) {
                    if (ms(tw) > 60_000) {
                        fail("no progress to " + threshold + " distinct records delivered within 60 s after restart "
                                + k + " (at " + distinct.get() + "); " + workerStats(workers));
                    }
                    for (CrashWorker w : workers) {
                        if (w.fatal != null) {
                            throw new AssertionError("worker " + w.index + " died", w.fatal);
                        }
                    }
                    Thread.sleep(5);
                }
                Thread.sleep(rnd.nextInt(400));
                crash(String.format("%d of %d records delivered, target %.0f %%", distinct.get(), RECORDS, at[k] * 100));
                restart(rnd.nextInt(1000));
                atRestart = distinct.get();
            }
            assertEquals(KILLS, killTimes.size() - killsBefore, "crashes");
            // Drain: every record seen and no delivery anywhere for 4 s.
            long td = System.nanoTime();
            while (distinct.get() < RECORDS || ms(lastDelivery.get()) < 4000) {
                if (ms(td) > 120_000) {
                    fail("not drained within 120 s after the last restart: " + distinct.get() + " of " + RECORDS
                            + " delivered, last delivery " + ms(lastDelivery.get()) + " ms ago; never delivered: "
                            + firstMissing(seen, 20) + "; " + workerStats(workers));
                }
                Thread.sleep(50);
            }
            log("consumed: %d distinct records in %d ms (drained %d ms after the last restart); %s",
                    distinct.get(), ms(tc), ms(td), workerStats(workers));
        } finally {
            workers.forEach(w -> w.running = false);
            for (CrashWorker w : workers) {
                w.thread.join(30_000);
                if (w.thread.isAlive()) {
                    w.thread.interrupt();
                }
            }
        }
        for (CrashWorker w : workers) {
            if (w.fatal != null) {
                throw new AssertionError("worker " + w.index + " died", w.fatal);
            }
            assertTrue(!w.thread.isAlive(), "worker " + w.index + " did not stop");
        }

        // A fresh member of the group gets none of the old records, then one sentinel per partition.
        List<Delivery> leftovers = new ArrayList<>();
        int sentinels = 0;
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker);
             KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, "crash-check", "explicit", topic)) {
            for (int part = 0; part < PARTITIONS; part++) {
                p.send(new ProducerRecord<>(topic, part, null, "id-" + (RECORDS + part))).get(30, TimeUnit.SECONDS);
            }
            long ts = System.nanoTime();
            while (sentinels < PARTITIONS && ms(ts) < 30_000) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : recs) {
                    int id = parseId(r.value());
                    if (id >= RECORDS) {
                        sentinels++;
                    } else {
                        leftovers.add(new Delivery(id, r.partition(), r.offset(), ShareSupport.deliveryCount(r),
                                System.nanoTime(), -1));
                    }
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
                if (!recs.isEmpty()) {
                    c.commitSync(Duration.ofSeconds(10));
                }
            }
        }

        // ---- analysis ----
        Map<Integer, List<Delivery>> byId = new TreeMap<>();
        Map<Integer, List<Ack>> acksById = new TreeMap<>();
        long deliveriesTotal = 0;
        for (CrashWorker w : workers) {
            deliveriesTotal += w.deliveries.size();
            for (Delivery d : w.deliveries) {
                byId.computeIfAbsent(d.id(), k -> new ArrayList<>()).add(d);
            }
            for (Ack a : w.acks) {
                acksById.computeIfAbsent(a.id(), k -> new ArrayList<>()).add(a);
            }
        }
        List<String> problems = new ArrayList<>();
        int confirmedAccept = 0;
        int confirmedReject = 0;
        int confirmedRelease = 0;
        int releasedSeenAgain = 0;
        int unconfirmed = 0;
        int stale = 0;
        int sameCountAcrossCrash = 0;
        for (int id = 0; id < RECORDS; id++) {
            List<Delivery> ds = byId.getOrDefault(id, List.of());
            List<Ack> as = acksById.getOrDefault(id, List.of());
            if (ds.isEmpty()) {
                problems.add("id " + id + " (partition " + partOf[id] + " offset " + offsetOf[id] + ") was never delivered");
                continue;
            }
            ds.sort(Comparator.comparingLong(Delivery::at));
            for (Delivery d : ds) {
                if (d.partition() != partOf[id] || d.offset() != offsetOf[id]) {
                    problems.add("id " + id + " delivered from partition " + d.partition() + " offset " + d.offset()
                            + ", produced to " + partOf[id] + "/" + offsetOf[id]);
                }
                if (d.count() < 1 || d.count() > DEFAULT_LIMIT) {
                    problems.add("id " + id + " delivered with deliveryCount " + d.count() + " (limit " + DEFAULT_LIMIT
                            + "); history " + history(ds, as));
                }
            }
            for (Ack a : as) {
                if (a.confirmedAt() < 0) {
                    unconfirmed++;
                    continue;
                }
                switch (a.type()) {
                    case ACCEPT -> confirmedAccept++;
                    case REJECT -> confirmedReject++;
                    default -> confirmedRelease++;
                }
                for (Delivery d : ds) {
                    if (d.at() <= a.confirmedAt()) {
                        continue;
                    }
                    boolean crashBetween = killBetween(a.confirmedAt(), d.at());
                    if (a.type() == AcknowledgeType.RELEASE) {
                        if (d.count() > a.count()) {
                            continue;
                        }
                        if (crashBetween) {
                            problems.add("id " + id + ": RELEASE of delivery " + a.count() + " confirmed, then after a crash"
                                    + " delivered with deliveryCount " + d.count() + " (not higher); history " + history(ds, as));
                        } else {
                            stale++;
                        }
                    } else if (crashBetween || d.count() > a.count()) {
                        problems.add("id " + id + ": " + a.type() + " of delivery " + a.count() + " confirmed by commitSync"
                                + (crashBetween ? ", then a crash," : "") + " and delivered again with deliveryCount "
                                + d.count() + "; history " + history(ds, as));
                    } else {
                        stale++;
                    }
                }
            }
            // Delivery counts never go back across a crash; equal only when the earlier acquisition may
            // not have been persisted (acquisitions are not) - but never equal to a confirmed RELEASE (above).
            for (int j = 1; j < ds.size(); j++) {
                Delivery dj = ds.get(j);
                for (int i = 0; i < j; i++) {
                    Delivery di = ds.get(i);
                    if (!killBetween(di.at(), dj.at())) {
                        if (dj.count() <= di.count()) {
                            stale++;
                        }
                        continue;
                    }
                    if (dj.count() < di.count()) {
                        problems.add("id " + id + ": deliveryCount went back across a crash: " + di.count() + " then "
                                + dj.count() + "; history " + history(ds, as));
                    } else if (dj.count() == di.count()) {
                        sameCountAcrossCrash++;
                    }
                }
            }
            if (id % 50 == 1 && id % 97 != 0 && ds.size() > 1) {
                releasedSeenAgain++;
            }
        }
        for (Delivery l : leftovers) {
            problems.add("fresh consumer after the drain got old record id " + l.id() + " (partition " + l.partition()
                    + " offset " + l.offset() + ") with deliveryCount " + l.count() + "; history "
                    + history(byId.getOrDefault(l.id(), List.of()), acksById.getOrDefault(l.id(), List.of())));
        }
        log("deliveries %d for %d records; acks confirmed: %d ACCEPT, %d REJECT, %d RELEASE; unconfirmed %d; "
                        + "released ones redelivered %d; same count across a crash %d; stale copies %d; leftovers %d; "
                        + "sentinels %d/%d; total %d ms",
                deliveriesTotal, byId.size(), confirmedAccept, confirmedReject, confirmedRelease, unconfirmed,
                releasedSeenAgain, sameCountAcrossCrash, stale, leftovers.size(), sentinels, PARTITIONS, ms(tStart));
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems (seed " + seed + "), first 30:\n  "
                    + String.join("\n  ", problems.subList(0, Math.min(30, problems.size()))));
        }
        assertEquals(PARTITIONS, sentinels, "sentinels delivered to the fresh consumer within 30 s");
        // The run must have exercised what it checks.
        assertTrue(confirmedAccept > RECORDS / 2, "confirmed ACCEPTs: " + confirmedAccept);
        assertTrue(confirmedReject > 0, "confirmed REJECTs: " + confirmedReject);
        assertTrue(releasedSeenAgain > 0, "released records redelivered: " + releasedSeenAgain);
    }

    private static boolean spaced(double[] sorted, double gap) {
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] - sorted[i - 1] < gap) {
                return false;
            }
        }
        return true;
    }

    private static String firstMissing(AtomicIntegerArray seen, int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < seen.length() && out.size() < n; i++) {
            if (seen.get(i) == 0) {
                out.add(i);
            }
        }
        return out.toString();
    }

    private static String workerStats(List<CrashWorker> workers) {
        StringBuilder sb = new StringBuilder();
        for (CrashWorker w : workers) {
            sb.append(String.format("[w%d: %d deliveries, %d commits, %d commit errors, %d partition errors, %d poll errors,"
                            + " %d ack errors] ", w.index, w.deliveries.size(), w.commits, w.commitErrors,
                    w.commitPartitionErrors, w.pollErrors, w.ackErrors));
        }
        return sb.toString();
    }

    /** Deliveries and acks of one record on a common time line (ms since the first crash-test event). */
    private String history(List<Delivery> ds, List<Ack> as) {
        List<String[]> ev = new ArrayList<>();
        for (Delivery d : ds) {
            ev.add(new String[] {Long.toString(d.at()), "delivered#" + d.count() + "->w" + d.worker()});
        }
        for (Ack a : as) {
            long t = a.confirmedAt() < 0 ? Long.MAX_VALUE : a.confirmedAt();
            ev.add(new String[] {Long.toString(t), a.type() + "#" + a.count() + "(w" + a.worker() + ","
                    + (a.confirmedAt() < 0 ? "unconfirmed" : "confirmed") + ")"});
        }
        for (int k = 0; k < killTimes.size(); k++) {
            ev.add(new String[] {Long.toString(killTimes.get(k)), "CRASH" + (k + 1)});
        }
        ev.sort(Comparator.comparingLong(e -> Long.parseLong(e[0])));
        List<String> out = new ArrayList<>();
        for (String[] e : ev) {
            out.add(e[1]);
        }
        return out.toString();
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
