package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

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
 * What happens to records a consumer holds (acquired, not acknowledged) when it stops taking part:
 * its lock expires while it is still a live member, it closes, or its process is killed.
 * In each case a second consumer of the group gets them, with deliveryCount 2, and never while the
 * first one still holds the lock.
 */
@Tag("share")
@Tag("share-v1")
class ShareReleaseTest extends ShareBrokerTestBase {

    static final int N = 20;

    /** Polls (explicit mode, no acks) until records arrive; returns them. */
    private static List<ConsumerRecord<String, String>> pollUntilRecords(KafkaShareConsumer<String, String> c,
                                                                          long[] pollStart) {
        long t0 = System.nanoTime();
        while (ms(t0) < 30_000) {
            pollStart[0] = System.nanoTime();
            ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
            if (!recs.isEmpty()) {
                List<ConsumerRecord<String, String>> out = new ArrayList<>();
                recs.forEach(out::add);
                return out;
            }
        }
        throw new AssertionError("no records within 30 s");
    }

    private static Set<Long> offsets(List<ConsumerRecord<String, String>> recs) {
        return recs.stream().map(ConsumerRecord::offset).collect(Collectors.toCollection(TreeSet::new));
    }

    /** First delivery per offset among {@code offsets}. */
    private static Map<Long, ShareWorker.Delivery> firstDeliveries(ConcurrentLinkedQueue<ShareWorker.Delivery> sink,
                                                                   Set<Long> offsets) {
        return firstDeliveries(sink, offsets, null);
    }

    /** First delivery per offset among {@code offsets} to {@code consumer} (any if null). */
    private static Map<Long, ShareWorker.Delivery> firstDeliveries(ConcurrentLinkedQueue<ShareWorker.Delivery> sink,
                                                                   Set<Long> offsets, String consumer) {
        Map<Long, ShareWorker.Delivery> m = new TreeMap<>();
        for (ShareWorker.Delivery d : sink) {
            if (offsets.contains(d.offset()) && (consumer == null || consumer.equals(d.consumer()))) {
                m.putIfAbsent(d.offset(), d);
            }
        }
        return m;
    }

    /**
     * Lock 1 s (group config share.record.lock.duration.ms; the broker minimum is lowered to 1 s). Two
     * consumers poll; whichever gets the records first keeps them: it neither acknowledges nor polls
     * again, staying a live member. The other one gets them with deliveryCount 2, not before 1 s after
     * they were produced, and within 5 s of the produce.
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void lockExpiryRedeliversToAnotherConsumer() throws Exception {
        String topic = "lock-expiry";
        String group = "lock-expiry-g";
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", "1000"));

        ConcurrentLinkedQueue<ShareWorker.Delivery> sink = new ConcurrentLinkedQueue<>();
        AtomicReference<String> gate = new AtomicReference<>();
        List<ShareWorker> workers = new ArrayList<>();
        try {
            for (String name : List.of("A", "B")) {
                workers.add(ShareWorker.startHolder(name, ShareSupport.consumerProps(broker, group, "lock-" + name, "explicit"),
                        topic, sink, gate));
            }
            ShareSupport.awaitAssignedMembers(admin, group, topic, 2, Duration.ofSeconds(30));
            Thread.sleep(500);
            long tp = System.nanoTime();
            produce(topic, 0, N);
            long producedMs = ms(tp);
            assertTrue(ShareSupport.waitFor(() -> gate.get() != null, Duration.ofSeconds(20)), "nobody got the records");
            ShareWorker holder = workers.stream().filter(w -> w.name.equals(gate.get())).findFirst().orElseThrow();
            ShareWorker other = workers.stream().filter(w -> w != holder).findFirst().orElseThrow();
            assertTrue(ShareSupport.waitFor(() -> !holder.held.isEmpty(), Duration.ofSeconds(5)));
            Set<Long> heldOffsets = offsets(holder.held);
            log("%s holds %d records %s, %d ms after produce start (produce took %d ms)", holder.name, heldOffsets.size(),
                    ShareSupport.head(heldOffsets, 30), TimeUnit.NANOSECONDS.toMillis(holder.heldAtNanos - tp), producedMs);
            holder.held.forEach(r -> assertEquals((short) 1, ShareSupport.deliveryCount(r), "first delivery count"));

            boolean all = ShareSupport.waitFor(() -> {
                workers.forEach(ShareWorker::checkHealthy);
                return firstDeliveries(sink, heldOffsets, other.name).size() == heldOffsets.size();
            }, Duration.ofSeconds(30));
            Map<Long, ShareWorker.Delivery> first = firstDeliveries(sink, heldOffsets, other.name);
            assertTrue(all, other.name + " got only " + first.keySet() + " of " + heldOffsets + " within 30 s");
            long earliest = first.values().stream().mapToLong(ShareWorker.Delivery::atNanos).min().orElseThrow() - tp;
            long latest = first.values().stream().mapToLong(ShareWorker.Delivery::atNanos).max().orElseThrow() - tp;
            log("%s got them %d..%d ms after produce start (lock 1000 ms); delivery counts %s", other.name,
                    TimeUnit.NANOSECONDS.toMillis(earliest), TimeUnit.NANOSECONDS.toMillis(latest),
                    first.values().stream().map(ShareWorker.Delivery::deliveryCount).distinct().toList());
            assertTrue(earliest >= TimeUnit.MILLISECONDS.toNanos(1000),
                    "a record locked by " + holder.name + " was redelivered after only " + TimeUnit.NANOSECONDS.toMillis(earliest) + " ms");
            assertTrue(latest <= TimeUnit.MILLISECONDS.toNanos(5000),
                    "1 s locks ran out only after " + TimeUnit.NANOSECONDS.toMillis(latest) + " ms");
            for (ShareWorker.Delivery d : first.values()) {
                assertEquals((short) 2, d.deliveryCount(), "deliveryCount of offset " + d.offset() + " at " + other.name);
            }
            assertEquals(2, ShareSupport.assignedMembers(admin, group, topic, 0),
                    holder.name + " must still be a member (it only stopped polling)");
            ShareWorker.stopAll(workers);
        } finally {
            workers.forEach(ShareWorker::close);
        }
        // Per offset: at most once to the holder (count 1), exactly once to the other (count 2 if held, else 1).
        Map<String, Map<Long, Long>> per = sink.stream().collect(Collectors.groupingBy(ShareWorker.Delivery::consumer,
                Collectors.groupingBy(ShareWorker.Delivery::offset, Collectors.counting())));
        per.forEach((c, m) -> m.forEach((o, k) -> assertEquals(1L, k, "offset " + o + " delivered to " + c + " " + k + " times")));
        Set<Long> all = sink.stream().map(ShareWorker.Delivery::offset).collect(Collectors.toSet());
        assertEquals(N, all.size(), "every record delivered: " + all);
    }

    /**
     * Lock 1 s, one consumer. It fetches, waits past the lock, then ACCEPTs: the commitSync result holds an
     * InvalidRecordStateException for the partition (the records are no longer acquired by it), and the
     * next poll hands the same records out again with deliveryCount 2.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void lateAcknowledgementAfterLockExpiryFails() throws Exception {
        String topic = "late-ack";
        String group = "late-ack-g";
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", "1000"));
        produce(topic, 0, N);
        try (KafkaShareConsumer<String, String> a = ShareSupport.consumer(broker, group, "late-a", "explicit", topic)) {
            List<ConsumerRecord<String, String>> held = pollUntilRecords(a, new long[1]);
            Set<Long> heldOffsets = offsets(held);
            Thread.sleep(2500);
            held.forEach(r -> a.acknowledge(r, AcknowledgeType.ACCEPT));
            Map<TopicIdPartition, Optional<KafkaException>> res = a.commitSync(Duration.ofSeconds(20));
            log("late commitSync result: %s", res);
            assertEquals(1, res.size(), "one partition in the commit result: " + res);
            Optional<KafkaException> err = res.values().iterator().next();
            assertTrue(err.isPresent(), "an ACCEPT after the lock expired must fail: " + res);
            assertEquals("InvalidRecordStateException", err.get().getClass().getSimpleName(), "error: " + err.get());

            Map<Long, Short> again = new TreeMap<>();
            long t0 = System.nanoTime();
            while (again.size() < heldOffsets.size() && ms(t0) < 20_000) {
                for (ConsumerRecord<String, String> r : a.poll(Duration.ofMillis(200))) {
                    again.put(r.offset(), ShareSupport.deliveryCount(r));
                    a.acknowledge(r, AcknowledgeType.ACCEPT);
                }
            }
            a.commitSync(Duration.ofSeconds(20)).forEach((tp, e) -> assertTrue(e.isEmpty(), "commit: " + e));
            log("redelivered after the failed late ack: %s", again);
            assertEquals(heldOffsets, again.keySet(), "the records are delivered again");
            again.forEach((o, c) -> assertEquals((short) 2, c, "deliveryCount of offset " + o));
        }
    }

    /**
     * Lock 30 s. A holds records; B, in the group and polling, does not get them. A.close() releases them
     * at once: B gets them well inside the lock duration, with deliveryCount 2.
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void closeReleasesRecordsAtOnce() throws Exception {
        String topic = "close-release";
        String group = "close-release-g";
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", "30000"));
        produce(topic, 0, N);

        ConcurrentLinkedQueue<ShareWorker.Delivery> sink = new ConcurrentLinkedQueue<>();
        ShareWorker b = null;
        KafkaShareConsumer<String, String> a = ShareSupport.consumer(broker, group, "close-a", "explicit", topic);
        try {
            List<ConsumerRecord<String, String>> held = pollUntilRecords(a, new long[1]);
            Set<Long> heldOffsets = offsets(held);
            log("A holds %d records %s", held.size(), ShareSupport.head(heldOffsets, 30));

            b = ShareWorker.start("B", ShareSupport.consumerProps(broker, group, "close-b", "explicit"), topic, sink);
            ShareSupport.awaitAssignedMembers(admin, group, topic, 2, Duration.ofSeconds(30));
            Thread.sleep(1000); // B fetches for a second: A's records are locked
            b.checkHealthy();
            assertTrue(firstDeliveries(sink, heldOffsets).isEmpty(),
                    "B got records A holds: " + firstDeliveries(sink, heldOffsets).keySet());

            long tc = System.nanoTime();
            a.close(Duration.ofSeconds(30));
            long closeMs = ms(tc);
            a = null;
            ShareWorker bb = b;
            boolean all = ShareSupport.waitFor(() -> {
                bb.checkHealthy();
                return firstDeliveries(sink, heldOffsets).size() == heldOffsets.size();
            }, Duration.ofSeconds(25));
            long gotMs = ms(tc);
            Map<Long, ShareWorker.Delivery> first = firstDeliveries(sink, heldOffsets);
            log("A.close() took %d ms; B had all %d of A's records %d ms after close() began (B got %d); counts %s",
                    closeMs, heldOffsets.size(), gotMs, first.size(),
                    first.values().stream().map(ShareWorker.Delivery::deliveryCount).distinct().toList());
            assertTrue(all, "B got only " + first.keySet() + " of " + heldOffsets + " within 25 s of A.close()");
            assertTrue(gotMs < 10_000, "records came back after " + gotMs + " ms: close() did not release them (lock is 30 s)");
            for (ShareWorker.Delivery d : first.values()) {
                assertEquals((short) 2, d.deliveryCount(), "deliveryCount of offset " + d.offset() + " at B");
            }
            b.stop();
        } finally {
            if (a != null) {
                a.close(Duration.ofSeconds(5));
            }
            if (b != null) {
                b.close();
            }
        }
    }

    /**
     * A consumer in a separate JVM acquires records and is then killed (SIGKILL): no close, no leave.
     * Lock 10 s. B, polling meanwhile, gets nothing while the child holds them and all of them, with
     * deliveryCount 2, within the lock duration (+5 s) of the kill (the session timeout is 45 s).
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void killedConsumerProcessRecordsReturn() throws Exception {
        String topic = "kill-release";
        String group = "kill-release-g";
        int lockMs = 10_000;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of("share.record.lock.duration.ms", Integer.toString(lockMs)));

        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = List.of(java.toString(), "-Xmx256m",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"),
                ShareChildConsumer.class.getName(), broker.bootstrap(), topic, group);
        Path childLog = broker.logFile().resolveSibling("ShareChildConsumer-" + System.currentTimeMillis() + ".log");
        Process child = new ProcessBuilder(cmd).redirectError(childLog.toFile()).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (Exception ignored) {
                // process gone
            }
        }, "child-stdout");
        reader.setDaemon(true);
        reader.start();

        ConcurrentLinkedQueue<ShareWorker.Delivery> sink = new ConcurrentLinkedQueue<>();
        ShareWorker b = null;
        try {
            long ts = System.nanoTime();
            assertEquals("SUBSCRIBED", lines.poll(30, TimeUnit.SECONDS), "child start; stderr in " + childLog);
            ShareSupport.awaitAssignedMembers(admin, group, topic, 1, Duration.ofSeconds(30));
            log("child consumer joined %d ms after start", ms(ts));
            produce(topic, 0, N);
            String acquired = lines.poll(30, TimeUnit.SECONDS);
            assertTrue(acquired != null && acquired.startsWith("ACQUIRED "), "child said " + acquired + "; stderr in " + childLog);
            Set<Long> heldOffsets = new TreeSet<>();
            for (String s : acquired.substring("ACQUIRED ".length()).split(",")) {
                heldOffsets.add(Long.parseLong(s));
            }
            log("child holds %s", ShareSupport.head(heldOffsets, 30));

            b = ShareWorker.start("B", ShareSupport.consumerProps(broker, group, "kill-b", "explicit"), topic, sink);
            ShareSupport.awaitAssignedMembers(admin, group, topic, 2, Duration.ofSeconds(30));
            Thread.sleep(1000);
            b.checkHealthy();
            assertTrue(firstDeliveries(sink, heldOffsets).isEmpty(),
                    "B got records the child holds: " + firstDeliveries(sink, heldOffsets).keySet());

            long tk = System.nanoTime();
            child.destroyForcibly();
            assertTrue(child.waitFor(10, TimeUnit.SECONDS), "child did not die");
            ShareWorker bb = b;
            boolean all = ShareSupport.waitFor(() -> {
                bb.checkHealthy();
                return firstDeliveries(sink, heldOffsets).size() == heldOffsets.size();
            }, Duration.ofMillis(lockMs + 5000));
            long gotMs = ms(tk);
            Map<Long, ShareWorker.Delivery> first = firstDeliveries(sink, heldOffsets);
            int members = ShareSupport.assignedMembers(admin, group, topic, 0);
            log("B had all %d of the child's records %d ms after SIGKILL (lock %d ms); counts %s; members now %d",
                    heldOffsets.size(), gotMs, lockMs,
                    first.values().stream().map(ShareWorker.Delivery::deliveryCount).distinct().toList(), members);
            assertTrue(all, "B got only " + first.keySet() + " of " + heldOffsets + " within " + (lockMs + 5000) + " ms of the kill");
            for (ShareWorker.Delivery d : first.values()) {
                assertEquals((short) 2, d.deliveryCount(), "deliveryCount of offset " + d.offset() + " at B");
            }
            b.stop();
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
                child.waitFor(10, TimeUnit.SECONDS);
            }
            if (b != null) {
                b.close();
            }
        }
        assertFalse(child.isAlive());
    }
}
