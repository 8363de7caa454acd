package dev.shard.it.share;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.shard.it.ShardBroker;

/**
 * The checker shared by the share-group crash and chaos tests: given what {@link AckingShareWorker}s saw
 * and the {@link CrashTimeline}, it proves that confirmed acknowledgements survived the crashes.
 *
 * <p>Timing conventions: a delivery is stamped when {@code poll()} returned it, an acknowledgement when
 * {@code commitSync()} returned, a crash when the killed process was gone. A share consumer may hand out
 * records it fetched (and the broker acquired) before a crash only after the crash; such a "stale" copy
 * can look like a redelivery although the broker did nothing wrong. So a later delivery counts against
 * an earlier confirmed acknowledgement (or delivery) when a crash lies between the two, or, with no crash
 * between, when its delivery count is higher (the broker really acquired the record again). Same-epoch
 * copies with a count not higher are counted as stale, not failed.
 *
 * <p>Per record id it checks: delivered at least once, always from the partition and offset the producer
 * was told; deliveryCount within 1..limit; no delivery after a confirmed ACCEPT or REJECT when a crash
 * lies between (or with a higher count, crash or not); after a confirmed RELEASE of delivery n, a
 * delivery after a crash has a count &gt; n; across a crash counts never go back (equal is allowed: an
 * acquisition that was not acknowledged is not persisted, Kafka and Shard hand it out again with the
 * same count); and a fresh member of the group after the drain got none of them ({@link #freshMember}).
 */
final class AckAudit {

    /** One record as one worker's {@code poll()} returned it. */
    record Delivery(int id, int partition, long offset, short count, long at, int worker) {
    }

    /** One acknowledgement; {@code confirmedAt} is the commitSync return time, or -1 if unconfirmed. */
    record Ack(int id, short count, AcknowledgeType type, long confirmedAt, int worker) {
    }

    /** Where the producer was told a record went. */
    record Location(int partition, long offset) {
    }

    /** What a new member of the group got after the drain: old records (leftovers) and sentinels. */
    record FreshMember(List<Delivery> leftovers, int sentinels) {
    }

    final List<String> problems = new ArrayList<>();
    long deliveries;
    int ids;
    int confirmedAccept;
    int confirmedReject;
    int confirmedRelease;
    int unconfirmed;
    /** Ids with a RELEASE (confirmed or not) that were delivered again. */
    int releasedDeliveredAgain;
    /** Deliveries after a confirmed ACCEPT that are failures (after a crash, or with a higher count). */
    int acceptedDeliveredAgain;
    int sameCountAcrossCrash;
    /** Stale copies (see above) in all. */
    int stale;
    /** Of those, deliveries after a confirmed ACCEPT (same broker run, count not higher). */
    int staleAfterAccept;
    int leftovers;

    private AckAudit() {
    }

    /**
     * Audits the records {@code ids}. {@code producedAt} says where the producer was told each went (null:
     * unknown, not checked); {@code fresh} is the result of {@link #freshMember}.
     */
    static AckAudit run(List<AckingShareWorker> workers, CrashTimeline crashes, int deliveryLimit, int[] ids,
                        IntFunction<Location> producedAt, FreshMember fresh) {
        AckAudit a = new AckAudit();
        Map<Integer, List<Delivery>> byId = new TreeMap<>();
        Map<Integer, List<Ack>> acksById = new TreeMap<>();
        for (AckingShareWorker w : workers) {
            a.deliveries += w.deliveries.size();
            for (Delivery d : w.deliveries) {
                byId.computeIfAbsent(d.id(), k -> new ArrayList<>()).add(d);
            }
            for (Ack ack : w.acks) {
                acksById.computeIfAbsent(ack.id(), k -> new ArrayList<>()).add(ack);
            }
        }
        a.ids = ids.length;
        for (int id : ids) {
            a.auditId(id, byId.getOrDefault(id, List.of()), acksById.getOrDefault(id, List.of()), crashes,
                    deliveryLimit, producedAt.apply(id));
        }
        a.leftovers = fresh.leftovers().size();
        for (Delivery l : fresh.leftovers()) {
            boolean accepted = acksById.getOrDefault(l.id(), List.of()).stream()
                    .anyMatch(x -> x.confirmedAt() >= 0 && x.type() == AcknowledgeType.ACCEPT);
            if (accepted) {
                a.acceptedDeliveredAgain++;
            }
            a.problems.add("fresh consumer after the drain got old record id " + l.id() + " (partition " + l.partition()
                    + " offset " + l.offset() + ") with deliveryCount " + l.count() + "; history "
                    + crashes.history(byId.getOrDefault(l.id(), List.of()), acksById.getOrDefault(l.id(), List.of())));
        }
        return a;
    }

    private void auditId(int id, List<Delivery> ds, List<Ack> as, CrashTimeline crashes, int limit, Location at) {
        if (ds.isEmpty()) {
            problems.add("id " + id + (at == null ? "" : " (partition " + at.partition() + " offset " + at.offset() + ")")
                    + " was never delivered");
            return;
        }
        ds = new ArrayList<>(ds);
        ds.sort(Comparator.comparingLong(Delivery::at));
        for (Delivery d : ds) {
            if (at != null && (d.partition() != at.partition() || d.offset() != at.offset())) {
                problems.add("id " + id + " delivered from partition " + d.partition() + " offset " + d.offset()
                        + ", produced to " + at.partition() + "/" + at.offset());
            }
            if (d.count() < 1 || d.count() > limit) {
                problems.add("id " + id + " delivered with deliveryCount " + d.count() + " (limit " + limit
                        + "); history " + crashes.history(ds, as));
            }
        }
        boolean released = false;
        for (Ack a : as) {
            released |= a.type() == AcknowledgeType.RELEASE;
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
                boolean crashBetween = crashes.killBetween(a.confirmedAt(), d.at());
                if (a.type() == AcknowledgeType.RELEASE) {
                    if (d.count() > a.count()) {
                        continue;
                    }
                    if (crashBetween) {
                        problems.add("id " + id + ": RELEASE of delivery " + a.count() + " confirmed, then after a crash"
                                + " delivered with deliveryCount " + d.count() + " (not higher); history "
                                + crashes.history(ds, as));
                    } else {
                        stale++;
                    }
                } else if (crashBetween || d.count() > a.count()) {
                    if (a.type() == AcknowledgeType.ACCEPT) {
                        acceptedDeliveredAgain++;
                    }
                    problems.add("id " + id + ": " + a.type() + " of delivery " + a.count() + " confirmed by commitSync"
                            + (crashBetween ? ", then a crash," : "") + " and delivered again with deliveryCount "
                            + d.count() + "; history " + crashes.history(ds, as));
                } else {
                    stale++;
                    if (a.type() == AcknowledgeType.ACCEPT) {
                        staleAfterAccept++;
                    }
                }
            }
        }
        // Delivery counts never go back across a crash; equal only when the earlier acquisition may
        // not have been persisted (acquisitions are not) - but never equal to a confirmed RELEASE (above).
        for (int j = 1; j < ds.size(); j++) {
            Delivery dj = ds.get(j);
            for (int i = 0; i < j; i++) {
                Delivery di = ds.get(i);
                if (!crashes.killBetween(di.at(), dj.at())) {
                    if (dj.count() <= di.count()) {
                        stale++;
                    }
                    continue;
                }
                if (dj.count() < di.count()) {
                    problems.add("id " + id + ": deliveryCount went back across a crash: " + di.count() + " then "
                            + dj.count() + "; history " + crashes.history(ds, as));
                } else if (dj.count() == di.count()) {
                    sameCountAcrossCrash++;
                }
            }
        }
        if (released && ds.size() > 1) {
            releasedDeliveredAgain++;
        }
    }

    /**
     * After the workers stopped: produces one sentinel per partition (value {@code id-<sentinelBase +
     * partition>}) and lets a new explicit member of the group ACCEPT what it gets until all sentinels
     * came or 30 s passed. Anything below {@code sentinelBase} is a leftover.
     */
    static FreshMember freshMember(ShardBroker broker, String group, String topic, int partitions, int sentinelBase)
            throws Exception {
        List<Delivery> leftovers = new ArrayList<>();
        int sentinels = 0;
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker);
             KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, "fresh-member", "explicit", topic)) {
            for (int part = 0; part < partitions; part++) {
                p.send(new ProducerRecord<>(topic, part, null, "id-" + (sentinelBase + part))).get(30, TimeUnit.SECONDS);
            }
            long ts = System.nanoTime();
            while (sentinels < partitions && ShareSupport.ms(ts) < 30_000) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : recs) {
                    int id = AckingShareWorker.parseId(r.value());
                    if (id >= sentinelBase) {
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
        return new FreshMember(leftovers, sentinels);
    }

    /** The counters, one line. */
    String summary() {
        return String.format("deliveries %d for %d records; acks confirmed: %d ACCEPT, %d REJECT, %d RELEASE; unconfirmed %d; "
                        + "released ones delivered again %d; confirmed ACCEPTs delivered again %d; same count across a crash %d; "
                        + "stale copies %d (after a confirmed ACCEPT %d); leftovers %d; problems %d",
                deliveries, ids, confirmedAccept, confirmedReject, confirmedRelease, unconfirmed, releasedDeliveredAgain,
                acceptedDeliveredAgain, sameCountAcrossCrash, stale, staleAfterAccept, leftovers, problems.size());
    }

    /** The first {@code n} problems, one per line. */
    String firstProblems(int n) {
        return String.join("\n  ", problems.subList(0, Math.min(n, problems.size())));
    }
}
