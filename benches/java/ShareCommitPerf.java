/*
 * Share consumption with commitSync() after every poll (Spring for Apache Kafka's default for share
 * listeners), N KafkaShareConsumers in one share group. Run by benches/share-commit-perf.sh; compiled
 * there with `javac -cp "benches/work/kafka-lib/*" -d benches/work/classes`.
 *
 *   java -cp "benches/work/classes:benches/work/kafka-lib/*" ShareCommitPerf \
 *        BOOTSTRAP TOPIC GROUP CONSUMERS EXPECTED_RECORDS TIMEOUT_SECONDS [client.prop=value ...]
 *
 * 1. Admin: the topic's partitions and their earliest/latest offsets; the records in the topic must
 *    number EXPECTED_RECORDS (offsets [earliest, latest) of every partition). Then the group config
 *    share.auto.offset.reset=earliest (incrementalAlterConfigs on ConfigResource GROUP), before any
 *    consumer joins.
 * 2. CONSUMERS threads, each owning one KafkaShareConsumer<byte[], byte[]> (implicit acknowledgement,
 *    the default; client defaults otherwise, extra client properties from the arguments), subscribed
 *    to TOPIC, looping: poll(100 ms); if records came back, commitSync() (ACCEPTs the whole poll and
 *    waits for the broker's answer), timed.
 * 3. Per partition two BitSets: offsets delivered (a delivery of an offset already delivered counts
 *    as a duplicate) and offsets acknowledged (set when the commitSync that covered the poll returned
 *    without an error for that partition). The run ends when every offset of the topic is acknowledged;
 *    "seconds" is from the first record delivered to that moment (the group join is reported apart).
 * 4. Prints progress to stderr every 5 s (and the first 20 commitSync calls that took 200 ms or more)
 *    and, on stdout, one line:
 *    RESULT status=OK records=N seconds=S records_per_s=R mb_per_s=M duplicates=D redelivered=X
 *           commits=C commit_errors=E commit_p50_ms=.. commit_p99_ms=.. commit_max_ms=.. polls=P
 *           empty_polls=Q records_per_commit=A join_s=J consumers=K
 *    (MB = 1024*1024 bytes of key+value, like Kafka's perf tools; redelivered = deliveries with
 *    deliveryCount > 1.)
 * Exit: 0 = all records acknowledged, no commit error; 2 = timeout (RESULT status=TIMEOUT, with how many
 * were acknowledged); 3 = all acknowledged but some commitSync reported errors (status=COMMIT_ERRORS);
 * 4 = setup or consumer failure (message on stderr); 1 = bad arguments.
 */

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class ShareCommitPerf {

    /** Offsets of one partition: [start, end) must all be acknowledged. */
    static final class PartitionTrack {
        final long start;
        final long end;
        final BitSet delivered = new BitSet();
        final BitSet acked = new BitSet();

        PartitionTrack(long start, long end) {
            this.start = start;
            this.end = end;
        }
    }

    /** A growable long array (commitSync latencies in ns). */
    static final class Longs {
        long[] a = new long[1024];
        int n;

        void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }
    }

    static String bootstrap;
    static String topic;
    static String group;
    static Map<Integer, PartitionTrack> tracks = new HashMap<>();
    static long expected;

    static final AtomicLong deliveries = new AtomicLong();
    static final AtomicLong distinct = new AtomicLong();
    static final AtomicLong acked = new AtomicLong();
    static final AtomicLong duplicates = new AtomicLong();
    static final AtomicLong redelivered = new AtomicLong();
    static final AtomicLong unexpected = new AtomicLong();
    static final AtomicLong bytes = new AtomicLong();
    static final AtomicLong commits = new AtomicLong();
    static final AtomicLong commitErrors = new AtomicLong();
    static final AtomicLong polls = new AtomicLong();
    static final AtomicLong emptyPolls = new AtomicLong();
    static final AtomicLong firstNs = new AtomicLong(0);
    static final AtomicLong endNs = new AtomicLong(0);
    static final AtomicReference<Throwable> fatal = new AtomicReference<>();
    static final AtomicReference<String> firstCommitError = new AtomicReference<>();
    static final CountDownLatch finished = new CountDownLatch(1);
    static volatile boolean stop;
    static final long SLOW_COMMIT_NS = TimeUnit.MILLISECONDS.toNanos(200);
    static final AtomicLong slowReported = new AtomicLong();

    public static void main(String[] args) throws Exception {
        if (args.length < 6) {
            System.err.println("usage: ShareCommitPerf BOOTSTRAP TOPIC GROUP CONSUMERS EXPECTED_RECORDS TIMEOUT_SECONDS"
                    + " [client.prop=value ...]");
            System.exit(1);
        }
        bootstrap = args[0];
        topic = args[1];
        group = args[2];
        int consumers = Integer.parseInt(args[3]);
        expected = Long.parseLong(args[4]);
        long timeoutS = Long.parseLong(args[5]);
        Properties extra = new Properties();
        for (int i = 6; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                System.err.println("client property must be key=value: " + args[i]);
                System.exit(1);
            }
            extra.setProperty(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutS);

        try {
            setup();
        } catch (Exception e) {
            System.err.println("ShareCommitPerf: setup failed: " + e);
            e.printStackTrace();
            System.exit(4);
        }

        List<Thread> threads = new ArrayList<>();
        List<Longs> latencies = new ArrayList<>();
        for (int i = 0; i < consumers; i++) {
            Longs lat = new Longs();
            latencies.add(lat);
            int id = i + 1;
            Thread t = new Thread(() -> consume(id, extra, lat), "share-commit-perf-" + id);
            threads.add(t);
        }
        long start = System.nanoTime();
        threads.forEach(Thread::start);

        long lastReport = start;
        long lastAcked = 0;
        boolean timedOut = false;
        while (!finished.await(200, TimeUnit.MILLISECONDS)) {
            long now = System.nanoTime();
            if (now >= deadline) {
                timedOut = true;
                break;
            }
            if (now - lastReport >= TimeUnit.SECONDS.toNanos(5)) {
                long a = acked.get();
                System.err.printf(Locale.ROOT, "[ShareCommitPerf] %.0f s: %d of %d acknowledged (%.0f records/s in the last"
                        + " %.1f s), %d deliveries, %d commits%n", (now - start) / 1e9, a, expected,
                        (a - lastAcked) / ((now - lastReport) / 1e9), (now - lastReport) / 1e9, deliveries.get(),
                        commits.get());
                lastReport = now;
                lastAcked = a;
            }
        }
        stop = true;
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            if (t.isAlive()) {
                System.err.println("ShareCommitPerf: " + t.getName() + " did not stop within 60 s of the end");
            }
        }

        Longs all = new Longs();
        for (Longs l : latencies) {
            for (int i = 0; i < l.n; i++) {
                all.add(l.a[i]);
            }
        }
        long[] lat = Arrays.copyOf(all.a, all.n);
        Arrays.sort(lat);

        long first = firstNs.get();
        long end = endNs.get() != 0 ? endNs.get() : System.nanoTime();
        double seconds = first == 0 ? 0 : (end - first) / 1e9;
        long a = acked.get();
        String status;
        int exit;
        if (fatal.get() != null) {
            status = "FAILED";
            exit = 4;
            System.err.println("ShareCommitPerf: a consumer failed: " + fatal.get());
        } else if (timedOut || a < expected) {
            status = "TIMEOUT";
            exit = 2;
            System.err.printf(Locale.ROOT, "ShareCommitPerf: TIMEOUT after %d s: %d of %d records acknowledged"
                    + " (%d distinct delivered, %d deliveries)%n", timeoutS, a, expected, distinct.get(), deliveries.get());
        } else if (commitErrors.get() > 0) {
            status = "COMMIT_ERRORS";
            exit = 3;
            System.err.printf(Locale.ROOT, "ShareCommitPerf: %d commitSync partition results carried an error (first: %s)%n",
                    commitErrors.get(), firstCommitError.get());
        } else {
            status = "OK";
            exit = 0;
        }
        long c = commits.get();
        System.out.printf(Locale.ROOT, "RESULT status=%s records=%d seconds=%.3f records_per_s=%.1f mb_per_s=%.2f"
                        + " duplicates=%d redelivered=%d unexpected=%d commits=%d commit_errors=%d commit_p50_ms=%.2f"
                        + " commit_p99_ms=%.2f commit_max_ms=%.2f polls=%d empty_polls=%d records_per_commit=%.1f"
                        + " join_s=%.3f consumers=%d%n",
                status, a, seconds, seconds > 0 ? a / seconds : 0.0,
                seconds > 0 ? bytes.get() / 1048576.0 / seconds : 0.0, duplicates.get(), redelivered.get(),
                unexpected.get(), c, commitErrors.get(), pct(lat, 0.50), pct(lat, 0.99),
                lat.length == 0 ? 0.0 : lat[lat.length - 1] / 1e6, polls.get(), emptyPolls.get(),
                c == 0 ? 0.0 : (double) deliveries.get() / c, first == 0 ? 0.0 : (first - start) / 1e9, consumers);
        System.out.flush();
        System.exit(exit);
    }

    static double pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0.0;
        }
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }

    static void setup() throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(60, TimeUnit.SECONDS).get(topic);
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (TopicPartitionInfo info : d.partitions()) {
                TopicPartition tp = new TopicPartition(topic, info.partition());
                earliest.put(tp, OffsetSpec.earliest());
                latest.put(tp, OffsetSpec.latest());
            }
            Map<TopicPartition, ListOffsetsResultInfo> lo = admin.listOffsets(earliest).all().get(60, TimeUnit.SECONDS);
            Map<TopicPartition, ListOffsetsResultInfo> hi = admin.listOffsets(latest).all().get(60, TimeUnit.SECONDS);
            long total = 0;
            for (TopicPartition tp : earliest.keySet()) {
                long s = lo.get(tp).offset();
                long e = hi.get(tp).offset();
                tracks.put(tp.partition(), new PartitionTrack(s, e));
                total += e - s;
            }
            if (total != expected) {
                throw new IllegalStateException("topic " + topic + " holds " + total + " records (offsets "
                        + describeTracks() + "), expected " + expected);
            }
            ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, group);
            Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(res, List.of(new AlterConfigOp(
                    new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET)));
            admin.incrementalAlterConfigs(ops).all().get(60, TimeUnit.SECONDS);
        }
        System.err.printf(Locale.ROOT, "[ShareCommitPerf] topic %s: %d records, offsets %s; group %s:"
                + " share.auto.offset.reset=earliest%n", topic, expected, describeTracks(), group);
    }

    static String describeTracks() {
        StringBuilder sb = new StringBuilder();
        tracks.keySet().stream().sorted().forEach(pt -> {
            PartitionTrack t = tracks.get(pt);
            sb.append(sb.length() == 0 ? "" : ", ").append(pt).append(": [").append(t.start).append(", ")
                    .append(t.end).append(')');
        });
        return sb.toString();
    }

    static void consume(int id, Properties extra, Longs lat) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "share-commit-perf-" + id);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put("share.acknowledgement.mode", "implicit");
        p.putAll(extra);
        KafkaShareConsumer<byte[], byte[]> consumer = null;
        try {
            consumer = new KafkaShareConsumer<>(p);
            consumer.subscribe(Set.of(topic));
            Map<Integer, Longs> byPartition = new HashMap<>();
            while (!stop) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                polls.incrementAndGet();
                if (records.isEmpty()) {
                    emptyPolls.incrementAndGet();
                    continue;
                }
                firstNs.compareAndSet(0, System.nanoTime());
                byPartition.clear();
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    byPartition.computeIfAbsent(r.partition(), k -> new Longs()).add(r.offset());
                    if (r.deliveryCount().orElse((short) 1) > 1) {
                        redelivered.incrementAndGet();
                    }
                }
                long n = records.count();
                deliveries.addAndGet(n);
                long recordBytes = 0;
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    recordBytes += Math.max(0, r.serializedKeySize()) + Math.max(0, r.serializedValueSize());
                }
                markDelivered(byPartition, n, recordBytes);

                long c0 = System.nanoTime();
                Map<TopicIdPartition, Optional<KafkaException>> result;
                try {
                    result = consumer.commitSync();
                } catch (KafkaException e) {
                    lat.add(System.nanoTime() - c0);
                    commits.incrementAndGet();
                    commitErrors.incrementAndGet();
                    firstCommitError.compareAndSet(null, "commitSync threw " + e);
                    continue;
                }
                long took = System.nanoTime() - c0;
                lat.add(took);
                commits.incrementAndGet();
                if (took >= SLOW_COMMIT_NS && slowReported.incrementAndGet() <= 20) {
                    System.err.printf(Locale.ROOT, "[ShareCommitPerf] slow commitSync: %.1f ms (consumer %d, %d records,"
                            + " ended %.3f s after the first record)%n", took / 1e6, id, n,
                            (System.nanoTime() - firstNs.get()) / 1e9);
                }
                for (Map.Entry<Integer, Longs> e : byPartition.entrySet()) {
                    Optional<KafkaException> err = errorFor(result, e.getKey());
                    if (err.isPresent()) {
                        commitErrors.incrementAndGet();
                        firstCommitError.compareAndSet(null, "partition " + e.getKey() + ": " + err.get());
                    } else {
                        markAcked(e.getKey(), e.getValue());
                    }
                }
            }
        } catch (Throwable t) {
            fatal.compareAndSet(null, t);
            t.printStackTrace();
            finished.countDown();
        } finally {
            if (consumer != null) {
                try {
                    consumer.close(Duration.ofSeconds(30));
                } catch (Exception e) {
                    System.err.println("ShareCommitPerf: consumer " + id + " close: " + e);
                }
            }
        }
    }

    static Optional<KafkaException> errorFor(Map<TopicIdPartition, Optional<KafkaException>> result, int partition) {
        for (Map.Entry<TopicIdPartition, Optional<KafkaException>> e : result.entrySet()) {
            if (e.getKey().partition() == partition && topic.equals(e.getKey().topic())) {
                return e.getValue() == null ? Optional.empty() : e.getValue();
            }
        }
        // commitSync returns an entry for every partition it acknowledged; a partition without an entry
        // was not acknowledged by this call.
        return Optional.of(new KafkaException("no commitSync result for partition " + partition));
    }

    static void markDelivered(Map<Integer, Longs> byPartition, long n, long recordBytes) {
        long fresh = 0;
        long dup = 0;
        long unexp = 0;
        for (Map.Entry<Integer, Longs> e : byPartition.entrySet()) {
            PartitionTrack t = tracks.get(e.getKey());
            Longs offs = e.getValue();
            if (t == null) {
                unexp += offs.n;
                continue;
            }
            synchronized (t) {
                for (int i = 0; i < offs.n; i++) {
                    long o = offs.a[i];
                    if (o < t.start || o >= t.end) {
                        unexp++;
                        continue;
                    }
                    int bit = (int) (o - t.start);
                    if (t.delivered.get(bit)) {
                        dup++;
                    } else {
                        t.delivered.set(bit);
                        fresh++;
                    }
                }
            }
        }
        distinct.addAndGet(fresh);
        duplicates.addAndGet(dup);
        unexpected.addAndGet(unexp);
        // bytes of first deliveries only (approximation when a poll mixes fresh and duplicate records)
        if (n > 0) {
            bytes.addAndGet(recordBytes * fresh / n);
        }
    }

    static void markAcked(int partition, Longs offs) {
        PartitionTrack t = tracks.get(partition);
        if (t == null) {
            return;
        }
        long fresh = 0;
        synchronized (t) {
            for (int i = 0; i < offs.n; i++) {
                long o = offs.a[i];
                if (o < t.start || o >= t.end) {
                    continue;
                }
                int bit = (int) (o - t.start);
                if (!t.acked.get(bit)) {
                    t.acked.set(bit);
                    fresh++;
                }
            }
        }
        if (fresh > 0 && acked.addAndGet(fresh) >= expected) {
            endNs.compareAndSet(0, System.nanoTime());
            finished.countDown();
        }
    }
}
