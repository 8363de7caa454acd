package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntPredicate;

import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.shard.it.ShardBroker;

/**
 * Chaos (issue 12): idempotent producers and explicit-acknowledgement share consumers keep working while
 * the broker is SIGKILLed and restarted again and again for about a minute; then a checker proves that
 * nothing acknowledged was lost or duplicated and that no confirmed ACCEPT was delivered again.
 *
 * <ul>
 * <li>2 {@code KafkaProducer}s (acks=all, enable.idempotence=true), each on its own thread, send records
 * with a unique id ({@code id-<n>}) at {@value #RATE_PER_PRODUCER} records/s each into 4 partitions
 * ({@code n % 4}); their callbacks note what was acknowledged and where.</li>
 * <li>4 {@link AckingShareWorker}s (explicit mode, own threads) ACCEPT every record except that they
 * RELEASE delivery 1 of every 20th, and commitSync after every poll.</li>
 * <li>The broker process (Shard's release binary, default {@code log.flush.mode = fsync}; or the Kafka
 * broker JVM with {@code -Dshard.test.broker=kafka}) is SIGKILLed after a random 8-12 s of uptime (and
 * only once, since its last restart, the producers got an acknowledgement and the consumers a confirmed
 * ACCEPT), down 0-1 s, and restarted on the same port and data directory, for
 * {@code shard.chaos.seconds} (60). Then the producers stop, the broker is SIGKILLed once more, so every
 * acknowledged record has been through at least one crash, and restarted.</li>
 * <li>The log is read back with a group-less {@code KafkaConsumer} (assign, from the beginning to the end
 * offsets): (a) every acknowledged record is at the partition and offset its producer was told, (b) no id
 * of an acknowledged record occurs twice.</li>
 * <li>Drain: the consumers run until every record in the log was delivered and has an ACCEPT confirmed by
 * commitSync, or, where an ACCEPT's reply was lost in a crash, nothing was delivered for longer than a
 * lock lasts. Then (c) {@link AckAudit}: no confirmed ACCEPT was followed by a delivery after a crash or
 * with a higher deliveryCount, nor by a delivery to a new member of the group after the drain; plus its
 * other checks (counts within 1..5, RELEASE raises the count, counts never go back across a crash). And
 * every record is terminal: after the new member ACCEPTed one sentinel per partition, each share-partition
 * has lag 0 and a start offset at least at the log end from before the sentinels (ListShareGroupOffsets,
 * a kafka-clients 4.2 API, hence {@code src/test/java-kafka42}), so nothing is stuck acquired.</li>
 * </ul>
 *
 * <p>All randomness comes from one seed, {@code -Dshard.chaos.seed=N}, printed at the start. Figures
 * (records sent, acknowledged, in the log, deliveries, kills, restart times) go to stdout, the last
 * line prefixed {@code CHAOS RESULT}.
 */
@Tag("share")
@Tag("chaos")
class ShareChaosTest extends ShareBrokerTestBase {

    private static final int CHAOS_SECONDS = Integer.getInteger("shard.chaos.seconds", 60);
    private static final int PARTITIONS = 4;
    private static final int PRODUCERS = 2;
    private static final int CONSUMERS = 4;
    /** Records/s each producer sends. */
    private static final int RATE_PER_PRODUCER = 1000;
    /** Records/s each consumer handles at most (it sleeps before commitSync): 3 x what is produced. */
    private static final int RATE_PER_CONSUMER = 1500;
    /** Ids are below this (the producers stop there); sentinels start at it. */
    private static final int CAPACITY = 1_000_000;
    private static final int MIN_UPTIME_MS = 8000;
    private static final int MAX_UPTIME_MS = 12000;
    /** Broker default {@code group.share.delivery.count.limit}. */
    private static final int DELIVERY_LIMIT = 5;
    /** The group's {@code share.record.lock.duration.ms}. */
    private static final int LOCK_MS = 10_000;

    private static final int PENDING = 0;
    private static final int ACKED = 1;
    private static final int FAILED = 2;

    private final long seed = Long.getLong("shard.chaos.seed", System.nanoTime());
    private final CrashTimeline crashes = new CrashTimeline();

    // What the producers were told, per id.
    private final AtomicIntegerArray status = new AtomicIntegerArray(CAPACITY);
    private final AtomicIntegerArray partOf = new AtomicIntegerArray(CAPACITY);
    private final AtomicLongArray offsetOf = new AtomicLongArray(CAPACITY);
    private final AtomicLongArray ackedAt = new AtomicLongArray(CAPACITY);
    private final AtomicInteger nextId = new AtomicInteger();
    private final AtomicInteger acked = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();
    /** Log end offsets when the log was read back (after the producers stopped). */
    private final Map<TopicPartition, Long> logEnd = new ConcurrentHashMap<>();

    // Runs after the base class started the broker.
    @BeforeAll
    void logSeed() {
        log("ShareChaosTest seed %d (-Dshard.chaos.seed=%d to repeat), %d s of chaos against %s", seed, seed,
                CHAOS_SECONDS, broker);
    }

    static AcknowledgeType policy(int id, short count) {
        return id % 20 == 1 && count == 1 ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT;
    }

    /** An idempotent producer on its own thread, sending paced records with fresh ids until stopped. */
    final class ChaosProducer implements Runnable {
        final int index;
        final Thread thread;
        volatile boolean running = true;
        volatile Throwable fatal;
        int sent;

        ChaosProducer(int index) {
            this.index = index;
            this.thread = new Thread(this, "chaos-producer-" + index);
            this.thread.setDaemon(true);
            this.thread.start();
        }

        @Override
        public void run() {
            try (KafkaProducer<String, String> p = ShareSupport.producer(broker, Map.of(
                    ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                    ProducerConfig.LINGER_MS_CONFIG, 5, ProducerConfig.CLIENT_ID_CONFIG, "chaos-p" + index))) {
                long t0 = System.nanoTime();
                while (running) {
                    long due = ms(t0) * RATE_PER_PRODUCER / 1000;
                    while (running && sent < due) {
                        int id = nextId.getAndIncrement();
                        if (id >= CAPACITY) {
                            running = false;
                            break;
                        }
                        send(p, id);
                        sent++;
                    }
                    Thread.sleep(5);
                }
                p.flush();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable t) {
                fatal = t;
                log("producer %d failed: %s", index, t);
            }
        }

        private void send(KafkaProducer<String, String> p, int id) {
            ProducerRecord<String, String> r = new ProducerRecord<>(topic(), id % PARTITIONS, "p" + index, "id-" + id);
            try {
                p.send(r, (md, e) -> {
                    if (e != null) {
                        failed(id, e);
                    } else {
                        partOf.set(id, md.partition());
                        offsetOf.set(id, md.offset());
                        ackedAt.set(id, System.nanoTime());
                        status.set(id, ACKED);
                        acked.incrementAndGet();
                    }
                });
            } catch (RuntimeException e) {
                failed(id, e);
            }
        }

        private void failed(int id, Exception e) {
            status.set(id, FAILED);
            failed.incrementAndGet();
            failures.merge(e.getClass().getSimpleName(), 1, Integer::sum);
        }
    }

    private static String topic() {
        return "chaos";
    }

    @Test
    @Timeout(value = 360, unit = TimeUnit.SECONDS)
    void acknowledgedRecordsSurviveRepeatedSigkills() throws Exception {
        String group = "chaos-g";
        Random rnd = new Random(seed);
        long tStart = System.nanoTime();
        ShareSupport.createTopic(admin, topic(), PARTITIONS);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", Integer.toString(LOCK_MS)));

        DeliveryTally tally = new DeliveryTally(CAPACITY);
        List<AckingShareWorker> workers = new ArrayList<>();
        List<ChaosProducer> producers = new ArrayList<>();
        boolean drained = false;
        Map<TopicPartition, Map<Long, Integer>> logged;
        try {
            for (int i = 0; i < CONSUMERS; i++) {
                workers.add(AckingShareWorker.start(i, ShareSupport.consumerProps(broker, group, "chaos-c" + i, "explicit"),
                        topic(), ShareChaosTest::policy, RATE_PER_CONSUMER, tally));
            }
            for (int i = 0; i < PRODUCERS; i++) {
                producers.add(new ChaosProducer(i));
            }

            // Chaos: kill after 8-12 s of uptime and progress since the last restart, until the time is up.
            long readyAt = System.nanoTime();
            long chaosEnd = readyAt + TimeUnit.SECONDS.toNanos(CHAOS_SECONDS);
            while (System.nanoTime() < chaosEnd) {
                long uptime = MIN_UPTIME_MS + rnd.nextInt(MAX_UPTIME_MS - MIN_UPTIME_MS + 1);
                long down = rnd.nextInt(1001);
                if (!awaitProgress(readyAt, uptime, chaosEnd, producers, workers, tally)) {
                    break;
                }
                crashes.kill(broker, String.format("after %d ms up; %d records acked, %d ids accepted", ms(readyAt),
                        acked.get(), tally.distinctAccepted()));
                readyAt = crashes.restart(broker, down);
            }
            producers.forEach(p -> p.running = false);
            for (ChaosProducer p : producers) {
                p.thread.join(120_000);
                assertTrue(!p.thread.isAlive(), "producer " + p.index + " did not finish within 120 s");
            }
            checkAlive(producers, workers);
            int sent = Math.min(nextId.get(), CAPACITY);
            log("producers stopped after %d ms: %d sent, %d acked, %d failed %s", ms(tStart), sent, acked.get(),
                    failed.get(), failures);
            assertEquals(sent, acked.get() + failed.get(), "sends without a completed callback");

            // Every acknowledged record goes through at least one more crash before it is checked.
            crashes.kill(broker, "producers stopped");
            crashes.restart(broker, rnd.nextInt(1001));

            logged = readLog();

            // Drain: every record in the log delivered, and either ACCEPTed with confirmation or, if an
            // ACCEPT's reply was lost in a crash, nothing delivered for longer than a lock lasts (a record
            // still acquired by nobody alive would have come back by then).
            long td = System.nanoTime();
            while (!drained && ms(td) < 120_000) {
                AckingShareWorker.checkAlive(workers);
                drained = unsettled(logged, tally, 1, tally::seen).isEmpty()
                        && (unsettled(logged, tally, 1, tally::accepted).isEmpty() || ms(tally.lastDelivery()) > LOCK_MS + 5000);
                Thread.sleep(drained ? 0 : 100);
            }
            log("drain %s after %d ms; %s", drained ? "complete" : "NOT complete", ms(td), AckingShareWorker.stats(workers));
        } finally {
            producers.forEach(p -> p.running = false);
            AckingShareWorker.stopAll(workers);
        }
        AckingShareWorker.checkStopped(workers);
        if (!drained) {
            List<Integer> missing = unsettled(logged, tally, 20, tally::seen);
            fail("not drained within 120 s (seed " + seed + "): records in the log never delivered, first " + missing);
        }

        // (a) lost and (b) duplicated acknowledged records.
        Map<Integer, Integer> occurrences = new HashMap<>();
        Map<Integer, AckAudit.Location> where = new HashMap<>();
        long inLog = 0;
        for (Map.Entry<TopicPartition, Map<Long, Integer>> pe : logged.entrySet()) {
            for (Map.Entry<Long, Integer> e : pe.getValue().entrySet()) {
                inLog++;
                occurrences.merge(e.getValue(), 1, Integer::sum);
                where.putIfAbsent(e.getValue(), new AckAudit.Location(pe.getKey().partition(), e.getKey()));
            }
        }
        int sent = Math.min(nextId.get(), CAPACITY);
        List<String> lost = new ArrayList<>();
        List<String> duplicated = new ArrayList<>();
        int unackedInLog = 0;
        int duplicatedUnacked = 0;
        for (int id = 0; id < sent; id++) {
            int n = occurrences.getOrDefault(id, 0);
            if (status.get(id) != ACKED) {
                unackedInLog += n > 0 ? 1 : 0;
                duplicatedUnacked += n > 1 ? 1 : 0;
                continue;
            }
            TopicPartition tp = new TopicPartition(topic(), partOf.get(id));
            Integer there = logged.getOrDefault(tp, Map.of()).get(offsetOf.get(id));
            if (there == null || there != id) {
                lost.add("id " + id + " acked at " + tp + "@" + offsetOf.get(id) + " (broker run "
                        + crashes.epochAt(ackedAt.get(id)) + "), the log has " + (there == null ? "nothing" : "id " + there)
                        + " there" + (n > 0 ? " (id found at " + where.get(id) + ")" : ""));
            }
            if (n > 1) {
                duplicated.add("id " + id + " is " + n + " times in the log");
            }
        }
        for (int id : occurrences.keySet()) {
            if (id < 0 || id >= sent) {
                lost.add("the log holds id " + id + ", never sent");
            }
        }

        // (c) confirmed acknowledgements across the crashes.
        AckAudit.FreshMember fresh = AckAudit.freshMember(broker, group, topic(), PARTITIONS, CAPACITY);
        // Every record is terminal: lag 0, and the share-partition start offset at least at the log end as it
        // was before the sentinels (Kafka persists a moved start offset one state write late, Shard at once).
        Map<TopicPartition, SharePartitionOffsetInfo> offsets = awaitShareOffsets(group);
        List<String> notTerminal = new ArrayList<>();
        for (int i = 0; i < PARTITIONS; i++) {
            TopicPartition tp = new TopicPartition(topic(), i);
            SharePartitionOffsetInfo info = offsets.get(tp);
            if (!terminal(tp, info)) {
                notTerminal.add(tp + ": share-partition offsets " + info + ", log end offset " + logEnd.get(tp)
                        + " before the sentinel");
            }
        }
        int[] ids = occurrences.keySet().stream().mapToInt(Integer::intValue).filter(i -> i >= 0 && i < sent)
                .sorted().toArray();
        AckAudit audit = AckAudit.run(workers, crashes, DELIVERY_LIMIT, ids, where::get, fresh);
        // Records whose every ACCEPT went unconfirmed (the reply lost in a crash) and never came back: the
        // broker had applied the ACCEPT. Logged with their history.
        List<Integer> acceptedUnconfirmed = new ArrayList<>();
        for (int id : ids) {
            if (!tally.accepted(id)) {
                acceptedUnconfirmed.add(id);
            }
        }
        log("CHAOS ACCEPTed without a confirmation and never delivered again: %d %s", acceptedUnconfirmed.size(),
                ShareSupport.head(acceptedUnconfirmed, 10));
        log("CHAOS share-partition offsets after the fresh member: %s", offsets);

        log("CHAOS runs of the broker: %s", perRun(workers, sent));
        log("CHAOS restart times (ms): %s", crashes.restartMillis());
        log("CHAOS audit: %s; sentinels %d/%d", audit.summary(), fresh.sentinels(), PARTITIONS);
        String result = String.format("seed %d, %s broker, %d s: kills %d; records sent %d, acked %d, failed %d %s,"
                        + " in the log %d (unacked but written %d); lost %d, duplicated %d (unacked %d); deliveries %d,"
                        + " confirmed ACCEPT %d, RELEASE %d, unconfirmed acks %d (ACCEPTed without confirmation %d),"
                        + " confirmed ACCEPTs delivered again %d, stale copies %d (after a confirmed ACCEPT %d), not terminal %d;"
                        + " total %d ms", seed,
                ShardBroker.flavor(), CHAOS_SECONDS, crashes.kills(), sent, acked.get(), failed.get(), failures, inLog,
                unackedInLog, lost.size(), duplicated.size(), duplicatedUnacked, audit.deliveries, audit.confirmedAccept,
                audit.confirmedRelease, audit.unconfirmed, acceptedUnconfirmed.size(), audit.acceptedDeliveredAgain,
                audit.stale, audit.staleAfterAccept, notTerminal.size(), ms(tStart));
        log("CHAOS RESULT %s", result);

        List<String> problems = new ArrayList<>();
        lost.forEach(s -> problems.add("lost: " + s));
        duplicated.forEach(s -> problems.add("duplicate: " + s));
        notTerminal.forEach(s -> problems.add("not terminal: " + s));
        problems.addAll(audit.problems);
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems (seed " + seed + "), first 30:\n  "
                    + String.join("\n  ", problems.subList(0, Math.min(30, problems.size()))));
        }
        assertEquals(0, audit.acceptedDeliveredAgain, "confirmed ACCEPTs delivered again");
        assertEquals(PARTITIONS, fresh.sentinels(), "sentinels delivered to the fresh consumer within 30 s");
        // The run must have exercised what it checks.
        assertTrue(crashes.kills() >= 2, "kills: " + crashes.kills());
        assertTrue(acked.get() > 0 && audit.confirmedAccept > acked.get() / 2, "acked " + acked.get()
                + ", confirmed ACCEPTs " + audit.confirmedAccept);
        assertTrue(audit.releasedDeliveredAgain > 0, "released records delivered again: " + audit.releasedDeliveredAgain);
    }

    private static void checkAlive(List<ChaosProducer> producers, List<AckingShareWorker> workers) {
        for (ChaosProducer p : producers) {
            if (p.fatal != null) {
                throw new AssertionError("producer " + p.index + " died", p.fatal);
            }
        }
        AckingShareWorker.checkAlive(workers);
    }

    /** Partition -> offset -> id of everything in the topic, read from the beginning to the end offsets. */
    private Map<TopicPartition, Map<Long, Integer>> readLog() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < PARTITIONS; i++) {
            tps.add(new TopicPartition(topic(), i));
        }
        Map<TopicPartition, Map<Long, Integer>> out = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
        long t0 = System.nanoTime();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            logEnd.putAll(end);
            tps.forEach(tp -> out.put(tp, new HashMap<>()));
            while (tps.stream().anyMatch(tp -> c.position(tp, Duration.ofSeconds(30)) < end.get(tp))) {
                if (ms(t0) > 60_000) {
                    fail("reading the log back took over 60 s; end offsets " + end);
                }
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    Integer prev = out.get(new TopicPartition(r.topic(), r.partition()))
                            .put(r.offset(), AckingShareWorker.parseId(r.value()));
                    assertTrue(prev == null, "offset " + r.offset() + " read twice");
                }
            }
            log("read the log back in %d ms: end offsets %s", ms(t0), end);
        }
        return out;
    }

    /** Up to {@code n} ids in the log for which {@code done} is false. */
    private static List<Integer> unsettled(Map<TopicPartition, Map<Long, Integer>> log, DeliveryTally tally, int n,
                                           IntPredicate done) {
        List<Integer> out = new ArrayList<>();
        for (Map<Long, Integer> m : log.values()) {
            for (int id : m.values()) {
                if (id >= 0 && id < CAPACITY && !done.test(id)) {
                    out.add(id);
                    if (out.size() == n) {
                        return out;
                    }
                }
            }
        }
        return out;
    }

    /**
     * Sleeps until the broker has been up {@code uptimeMs} and, since it was ready, the producers got an
     * acknowledgement and the consumers a confirmed ACCEPT (true), or until the chaos time is up (false).
     */
    private boolean awaitProgress(long readyAt, long uptimeMs, long chaosEnd, List<ChaosProducer> producers,
                                  List<AckingShareWorker> workers, DeliveryTally tally) throws InterruptedException {
        int ackedBefore = acked.get();
        int acceptedBefore = tally.distinctAccepted();
        while (ms(readyAt) < uptimeMs || acked.get() == ackedBefore || tally.distinctAccepted() == acceptedBefore) {
            if (System.nanoTime() >= chaosEnd) {
                return false;
            }
            if (ms(readyAt) > uptimeMs + 60_000) {
                fail(String.format("no progress within %d s after restart %d: %d acked produces (%d before),"
                                + " %d ids with a confirmed ACCEPT (%d before); %s", uptimeMs / 1000 + 60, crashes.kills(),
                        acked.get(), ackedBefore, tally.distinctAccepted(), acceptedBefore, AckingShareWorker.stats(workers)));
            }
            checkAlive(producers, workers);
            Thread.sleep(10);
        }
        return true;
    }

    /**
     * The group's share-partition offsets (ListShareGroupOffsets), polled for up to 20 s until every
     * partition is {@link #terminal}.
     */
    private Map<TopicPartition, SharePartitionOffsetInfo> awaitShareOffsets(String group) throws Exception {
        long t0 = System.nanoTime();
        Map<TopicPartition, SharePartitionOffsetInfo> last = Map.of();
        while (ms(t0) < 20_000) {
            last = admin.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec()))
                    .partitionsToOffsetInfo(group).get(30, TimeUnit.SECONDS);
            boolean done = true;
            for (int i = 0; i < PARTITIONS; i++) {
                TopicPartition tp = new TopicPartition(topic(), i);
                done &= terminal(tp, last.get(tp));
            }
            if (done) {
                break;
            }
            Thread.sleep(500);
        }
        Map<TopicPartition, SharePartitionOffsetInfo> out = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
        out.putAll(last);
        return out;
    }

    /** Lag 0 (acquired records count as lag) and the start offset past everything the producers wrote. */
    private boolean terminal(TopicPartition tp, SharePartitionOffsetInfo info) {
        return info != null && info.lag().isPresent() && info.lag().get() == 0 && info.startOffset() >= logEnd.get(tp);
    }

    /** Per broker run (between crashes): produces acknowledged, deliveries, confirmed ACCEPTs. */
    private String perRun(List<AckingShareWorker> workers, int sent) {
        int runs = crashes.kills() + 1;
        int[] ackedIn = new int[runs];
        int[] deliveredIn = new int[runs];
        int[] acceptedIn = new int[runs];
        for (int id = 0; id < sent; id++) {
            if (status.get(id) == ACKED) {
                ackedIn[crashes.epochAt(ackedAt.get(id))]++;
            }
        }
        for (AckingShareWorker w : workers) {
            w.deliveries.forEach(d -> deliveredIn[crashes.epochAt(d.at())]++);
            w.acks.stream().filter(a -> a.confirmedAt() >= 0 && a.type() == AcknowledgeType.ACCEPT)
                    .forEach(a -> acceptedIn[crashes.epochAt(a.confirmedAt())]++);
        }
        List<String> out = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            out.add(String.format("#%d: %d acked, %d delivered, %d accepted", r, ackedIn[r], deliveredIn[r], acceptedIn[r]));
        }
        return String.join("; ", out);
    }
}
