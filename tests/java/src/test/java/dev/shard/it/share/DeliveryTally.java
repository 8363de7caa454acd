package dev.shard.it.share;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Live progress of a group of {@link AckingShareWorker}s over record ids {@code 0..capacity-1}, read by
 * the test thread while they run: how often each id was delivered, which ids have an ACCEPT confirmed by
 * {@code commitSync}, and when the last delivery happened. The full history is in the workers'
 * own lists, read after they stopped.
 */
final class DeliveryTally {

    private final AtomicIntegerArray seen;
    private final AtomicIntegerArray accepted;
    private final AtomicInteger distinct = new AtomicInteger();
    private final AtomicInteger distinctAccepted = new AtomicInteger();
    private final AtomicLong deliveries = new AtomicLong();
    private final AtomicLong lastDelivery = new AtomicLong(System.nanoTime());

    DeliveryTally(int capacity) {
        this.seen = new AtomicIntegerArray(capacity);
        this.accepted = new AtomicIntegerArray(capacity);
    }

    void delivered(int id, long at) {
        deliveries.incrementAndGet();
        lastDelivery.set(at);
        if (seen.getAndIncrement(id) == 0) {
            distinct.incrementAndGet();
        }
    }

    void acceptConfirmed(int id) {
        if (accepted.getAndIncrement(id) == 0) {
            distinctAccepted.incrementAndGet();
        }
    }

    /** Ids delivered at least once. */
    int distinct() {
        return distinct.get();
    }

    /** Ids with at least one ACCEPT confirmed by commitSync. */
    int distinctAccepted() {
        return distinctAccepted.get();
    }

    long deliveries() {
        return deliveries.get();
    }

    boolean seen(int id) {
        return seen.get(id) > 0;
    }

    boolean accepted(int id) {
        return accepted.get(id) > 0;
    }

    long lastDelivery() {
        return lastDelivery.get();
    }

    /** The first {@code n} ids below {@code upTo} never delivered. */
    List<Integer> firstMissing(int upTo, int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < upTo && out.size() < n; i++) {
            if (seen.get(i) == 0) {
                out.add(i);
            }
        }
        return out;
    }
}
