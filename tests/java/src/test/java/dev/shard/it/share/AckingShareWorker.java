package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;

/**
 * An explicit-mode share consumer on its own thread that survives broker outages, for the crash and
 * chaos tests. Record values are {@code id-<n>} ({@link #parseId}). After every non-empty poll it
 * acknowledges each record as {@link Policy} says, sleeps to stay under {@code ratePerSecond} (a crash
 * may land between acquisition and commit), and calls {@code commitSync}. It records every delivery
 * (id, partition, offset, deliveryCount, when {@code poll()} returned) and every acknowledgement (type,
 * count, and when {@code commitSync} returned without exception and without an error for the record's
 * partition: confirmed). Poll, acknowledge and commit failures during outages are counted, not fatal.
 *
 * <p>{@link #deliveries} and {@link #acks} belong to the worker thread: read them after {@link #stopAll}.
 * The shared {@link DeliveryTally} is the live view.
 */
final class AckingShareWorker implements Runnable {

    /** The acknowledgement for delivery {@code count} of record {@code id}. */
    interface Policy {
        AcknowledgeType ack(int id, short count);
    }

    final int index;
    final List<AckAudit.Delivery> deliveries = new ArrayList<>();
    final List<AckAudit.Ack> acks = new ArrayList<>();
    private final Properties props;
    private final String topic;
    private final Policy policy;
    private final int ratePerSecond;
    private final DeliveryTally tally;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable fatal;
    private int pollErrors;
    private int ackErrors;
    private int commitErrors;
    private int commitPartitionErrors;
    private int commits;

    private AckingShareWorker(int index, Properties props, String topic, Policy policy, int ratePerSecond,
                              DeliveryTally tally) {
        this.index = index;
        this.props = props;
        this.topic = topic;
        this.policy = policy;
        this.ratePerSecond = ratePerSecond;
        this.tally = tally;
        this.thread = new Thread(this, "acking-share-worker-" + index);
        this.thread.setDaemon(true);
    }

    /** Starts a worker; {@code props} must set {@code share.acknowledgement.mode=explicit}. */
    static AckingShareWorker start(int index, Properties props, String topic, Policy policy, int ratePerSecond,
                                   DeliveryTally tally) {
        AckingShareWorker w = new AckingShareWorker(index, props, topic, policy, ratePerSecond, tally);
        w.thread.start();
        return w;
    }

    static int parseId(String value) {
        if (value == null || !value.startsWith("id-")) {
            throw new AssertionError("unexpected record value " + value);
        }
        return Integer.parseInt(value.substring(3));
    }

    @Override
    public void run() {
        KafkaShareConsumer<String, String> c = null;
        try {
            c = new KafkaShareConsumer<>(props);
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
                List<int[]> pending = new ArrayList<>(); // {id, count, partition, type ordinal}
                for (ConsumerRecord<String, String> r : recs) {
                    int id = parseId(r.value());
                    short count = ShareSupport.deliveryCount(r);
                    deliveries.add(new AckAudit.Delivery(id, r.partition(), r.offset(), count, now, index));
                    tally.delivered(id, now);
                    AcknowledgeType t = policy.ack(id, count);
                    try {
                        c.acknowledge(r, t);
                        pending.add(new int[] {id, count, r.partition(), t.ordinal()});
                    } catch (RuntimeException e) {
                        ackErrors++;
                        acks.add(new AckAudit.Ack(id, count, t, -1, index));
                    }
                }
                // Simulated work; a crash may land here, between acquisition and commit.
                Thread.sleep(recs.count() * 1000L / ratePerSecond);
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
                    AcknowledgeType type = AcknowledgeType.values()[p[3]];
                    acks.add(new AckAudit.Ack(p[0], (short) p[1], type, ok ? conf : -1, index));
                    if (ok && type == AcknowledgeType.ACCEPT) {
                        tally.acceptConfirmed(p[0]);
                    }
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

    /** Throws if a worker died (an unexpected exception, not an outage). */
    static void checkAlive(List<AckingShareWorker> workers) {
        for (AckingShareWorker w : workers) {
            if (w.fatal != null) {
                throw new AssertionError("worker " + w.index + " died", w.fatal);
            }
        }
    }

    /**
     * Stops all workers (their close() calls overlap) and waits up to 30 s for each; never throws, so it
     * can run in a {@code finally}. Then {@link #checkStopped}.
     */
    static void stopAll(List<AckingShareWorker> workers) throws InterruptedException {
        workers.forEach(w -> w.running = false);
        for (AckingShareWorker w : workers) {
            w.thread.join(30_000);
            if (w.thread.isAlive()) {
                w.thread.interrupt();
            }
        }
    }

    /** After {@link #stopAll}: throws if a worker died or did not stop. */
    static void checkStopped(List<AckingShareWorker> workers) {
        checkAlive(workers);
        for (AckingShareWorker w : workers) {
            if (w.thread.isAlive()) {
                throw new AssertionError("worker " + w.index + " did not stop");
            }
        }
    }

    /** Per-worker counters for logs and failure messages. */
    static String stats(List<AckingShareWorker> workers) {
        StringBuilder sb = new StringBuilder();
        for (AckingShareWorker w : workers) {
            sb.append(String.format("[w%d: %d deliveries, %d commits, %d commit errors, %d partition errors, %d poll errors,"
                            + " %d ack errors] ", w.index, w.deliveries.size(), w.commits, w.commitErrors,
                    w.commitPartitionErrors, w.pollErrors, w.ackErrors));
        }
        return sb.toString();
    }
}
