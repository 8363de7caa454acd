package dev.shard.it.share;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;

/**
 * One KafkaShareConsumer on its own thread: created, polled and closed there. Every record it gets is
 * appended to a shared sink as a {@link Delivery}. In explicit mode it ACCEPTs each record (or applies
 * {@link #handler}); in implicit mode the next poll acknowledges.
 */
final class ShareWorker implements AutoCloseable {

    /** One record as one consumer saw it. */
    record Delivery(String consumer, long offset, short deliveryCount, long atNanos, String value) {
    }

    /** Per-record reaction of an explicit-mode worker. */
    interface Handler {
        AcknowledgeType ack(ConsumerRecord<String, String> r);
    }

    final String name;
    private final Properties props;
    private final String topic;
    private final Queue<Delivery> sink;
    private final boolean explicit;
    private final Handler handler;
    private final long sleepPerPollMs;
    private final Thread thread;
    private volatile boolean running = true;
    private final AtomicReference<String> holdGate;
    /** Records this worker holds (acquired, never acknowledged) if it won the hold gate. */
    volatile List<ConsumerRecord<String, String>> held = List.of();
    volatile long heldAtNanos;
    private volatile Throwable error;
    final AtomicInteger records = new AtomicInteger();
    final AtomicInteger maxPollSize = new AtomicInteger();

    private ShareWorker(String name, Properties props, String topic, Queue<Delivery> sink, Handler handler,
                        long sleepPerPollMs, AtomicReference<String> holdGate) {
        this.holdGate = holdGate;
        this.name = name;
        this.props = props;
        this.topic = topic;
        this.sink = sink;
        this.explicit = "explicit".equals(props.getProperty("share.acknowledgement.mode"));
        this.handler = handler;
        this.sleepPerPollMs = sleepPerPollMs;
        this.thread = new Thread(this::run, "share-worker-" + name);
        this.thread.setDaemon(true);
    }

    static ShareWorker start(String name, Properties props, String topic, Queue<Delivery> sink) {
        return start(name, props, topic, sink, r -> AcknowledgeType.ACCEPT, 0);
    }

    static ShareWorker start(String name, Properties props, String topic, Queue<Delivery> sink, Handler handler,
                             long sleepPerPollMs) {
        ShareWorker w = new ShareWorker(name, props, topic, sink, handler, sleepPerPollMs, null);
        w.thread.start();
        return w;
    }

    /**
     * An explicit-mode worker that ACCEPTs, except that the first worker sharing {@code gate} to get records
     * keeps them: it acknowledges none of them and stops polling (staying open, a member of the group)
     * until stopped.
     */
    static ShareWorker startHolder(String name, Properties props, String topic, Queue<Delivery> sink,
                                   AtomicReference<String> gate) {
        ShareWorker w = new ShareWorker(name, props, topic, sink, r -> AcknowledgeType.ACCEPT, 0, gate);
        w.thread.start();
        return w;
    }

    private void run() {
        KafkaShareConsumer<String, String> c = null;
        try {
            c = new KafkaShareConsumer<>(props);
            c.subscribe(List.of(topic));
            while (running) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(100));
                if (recs.isEmpty()) {
                    continue;
                }
                maxPollSize.accumulateAndGet(recs.count(), Math::max);
                long now = System.nanoTime();
                if (holdGate != null && holdGate.compareAndSet(null, name)) {
                    List<ConsumerRecord<String, String>> h = new ArrayList<>();
                    for (ConsumerRecord<String, String> r : recs) {
                        sink.add(new Delivery(name, r.offset(), ShareSupport.deliveryCount(r), now, r.value()));
                        h.add(r);
                    }
                    heldAtNanos = now;
                    held = h;
                    while (running) {
                        Thread.sleep(10);
                    }
                    break;
                }
                for (ConsumerRecord<String, String> r : recs) {
                    sink.add(new Delivery(name, r.offset(), ShareSupport.deliveryCount(r), now, r.value()));
                    records.incrementAndGet();
                    if (explicit) {
                        c.acknowledge(r, handler.ack(r));
                    }
                }
                if (sleepPerPollMs > 0) {
                    Thread.sleep(sleepPerPollMs);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            error = t;
            ShareSupport.log("worker %s failed: %s", name, t);
        } finally {
            if (c != null) {
                try {
                    c.close(Duration.ofSeconds(15));
                } catch (Throwable t) {
                    if (error == null) {
                        error = t;
                    }
                }
            }
        }
    }

    /** Asks the worker to stop (close) without waiting; {@link #stop()} then waits. */
    void requestStop() {
        running = false;
    }

    /** Stops all workers concurrently (their close() calls overlap) and rethrows the first error. */
    static void stopAll(List<ShareWorker> workers) throws InterruptedException {
        workers.forEach(ShareWorker::requestStop);
        for (ShareWorker w : workers) {
            w.stop();
        }
    }

    /** Stops polling, closes the consumer (which sends the final acknowledgements) and rethrows its error. */
    void stop() throws InterruptedException {
        running = false;
        thread.join(TimeUnit.SECONDS.toMillis(40));
        if (thread.isAlive()) {
            thread.interrupt();
            thread.join(5000);
            throw new AssertionError("share worker " + name + " did not stop within 40 s");
        }
        if (error != null) {
            throw new AssertionError("share worker " + name + " failed", error);
        }
    }

    void checkHealthy() {
        if (error != null) {
            throw new AssertionError("share worker " + name + " failed", error);
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(40));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
