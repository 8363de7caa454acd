package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.shard.it.ShardBroker;

/**
 * The broker crashes of one test on the {@code System.nanoTime()} time line that deliveries and
 * acknowledgements are stamped on: {@link #kill} SIGKILLs the broker process ({@link ShardBroker#kill9},
 * the Kafka broker JVM in the Kafka flavor) and stamps the crash once the process is gone; {@link #restart}
 * starts it again on the same port and data directory and notes how long it took to be ready.
 */
final class CrashTimeline {

    private final List<Long> killTimes = new CopyOnWriteArrayList<>();
    private final List<Long> readyTimes = new CopyOnWriteArrayList<>();
    private final List<Long> restartMillis = new CopyOnWriteArrayList<>();

    /** SIGKILL and wait until the process is gone; that moment is the crash time. */
    void kill(ShardBroker broker, String why) throws InterruptedException {
        broker.kill9();
        killTimes.add(System.nanoTime());
        log("SIGKILL #%d (%s)", killTimes.size(), why);
    }

    /** Waits {@code downMs}, restarts the broker and waits until it is ready; returns the ready time. */
    long restart(ShardBroker broker, long downMs) throws Exception {
        Thread.sleep(downMs);
        long t0 = System.nanoTime();
        broker.restart();
        long ready = System.nanoTime();
        readyTimes.add(ready);
        restartMillis.add(ms(t0));
        log("restarted after %d ms down, ready in %d ms", downMs, ms(t0));
        return ready;
    }

    int kills() {
        return killTimes.size();
    }

    /** Milliseconds from each restart's launch to the broker answering DescribeCluster. */
    List<Long> restartMillis() {
        return List.copyOf(restartMillis);
    }

    /** The index of the broker run (0 before the first crash) that was up at {@code t}. */
    int epochAt(long t) {
        int e = 0;
        for (long k : killTimes) {
            if (k < t) {
                e++;
            }
        }
        return e;
    }

    /** True when a broker crash happened strictly between the two nanoTime stamps. */
    boolean killBetween(long from, long to) {
        for (long k : killTimes) {
            if (k > from && k < to) {
                return true;
            }
        }
        return false;
    }

    /** Deliveries and acks of one record and the crashes, in time order (for failure messages). */
    String history(List<AckAudit.Delivery> ds, List<AckAudit.Ack> as) {
        List<Object[]> ev = new ArrayList<>();
        for (AckAudit.Delivery d : ds) {
            ev.add(new Object[] {d.at(), "delivered#" + d.count() + "->w" + d.worker()});
        }
        for (AckAudit.Ack a : as) {
            long t = a.confirmedAt() < 0 ? Long.MAX_VALUE : a.confirmedAt();
            ev.add(new Object[] {t, a.type() + "#" + a.count() + "(w" + a.worker() + ","
                    + (a.confirmedAt() < 0 ? "unconfirmed" : "confirmed") + ")"});
        }
        for (int k = 0; k < killTimes.size(); k++) {
            ev.add(new Object[] {killTimes.get(k), "CRASH" + (k + 1)});
        }
        ev.sort(Comparator.comparingLong(e -> (Long) e[0]));
        List<String> out = new ArrayList<>();
        for (Object[] e : ev) {
            out.add((String) e[1]);
        }
        return out.toString();
    }
}
