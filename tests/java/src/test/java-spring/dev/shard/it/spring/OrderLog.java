package dev.shard.it.spring;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicIdPartition;

/**
 * What {@link OrderListener} saw and decided, and what the broker answered to the acknowledgements
 * (via the share consumer's {@code AcknowledgementCommitCallback}). Thread-safe.
 */
public class OrderLog {

    /** One delivery of one record to the listener, and the listener's decision. */
    public record Delivery(String topic, int partition, long offset, String key, String value, short deliveryCount,
                           AcknowledgeType decision, String thread) {
    }

    /** One acknowledgement result reported by the client: the offsets and the exception (null = success). */
    public record AckResult(String topic, int partition, Set<Long> offsets, Exception exception) {
    }

    private final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    private final List<AckResult> ackResults = new CopyOnWriteArrayList<>();
    private final Set<Long> ackedOk = new ConcurrentSkipListSet<>();

    void delivered(ConsumerRecord<String, String> r, short deliveryCount, AcknowledgeType decision) {
        deliveries.add(new Delivery(r.topic(), r.partition(), r.offset(), r.key(), r.value(), deliveryCount, decision,
                Thread.currentThread().getName()));
    }

    void onAcknowledgementCommit(Map<TopicIdPartition, Set<Long>> offsets, Exception exception) {
        offsets.forEach((tip, offs) -> {
            ackResults.add(new AckResult(tip.topic(), tip.partition(), Set.copyOf(offs), exception));
            if (exception == null) {
                ackedOk.addAll(offs);
            }
        });
    }

    public List<Delivery> deliveries() {
        return new ArrayList<>(deliveries);
    }

    public List<AckResult> ackResults() {
        return new ArrayList<>(ackResults);
    }

    /** Offsets whose acknowledgement (of any type) the broker confirmed without error. */
    public Set<Long> ackedOffsets() {
        return Collections.unmodifiableSet(ackedOk);
    }
}
