package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Implicit acknowledgement (the default mode): three consumers of one share group on a one-partition
 * topic share 100,000 records. Each record is delivered exactly once (delivery count 1: nothing is
 * handed to a second consumer while the first holds its lock, and nothing times out), and every
 * consumer gets a share.
 */
@Tag("share")
@Tag("share-v1")
class ShareImplicitTest extends ShareBrokerTestBase {

    static final int N = Integer.getInteger("shard.test.share.records", 100_000);

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void threeConsumersShareOnePartitionEveryRecordOnce() throws Exception {
        String topic = "implicit-3";
        String group = "implicit-3-g";
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of());

        ConcurrentLinkedQueue<ShareWorker.Delivery> sink = new ConcurrentLinkedQueue<>();
        List<ShareWorker> workers = new ArrayList<>();
        try {
            long tJoin = System.nanoTime();
            for (int i = 0; i < 3; i++) {
                workers.add(ShareWorker.start("c" + i,
                        ShareSupport.consumerProps(broker, group, "implicit-c" + i, "implicit"), topic, sink));
            }
            // All three members must hold the partition before the records arrive, or the first one could
            // drain the topic alone.
            ShareSupport.awaitAssignedMembers(admin, group, topic, 3, Duration.ofSeconds(45));
            log("3 consumers joined in %d ms", ms(tJoin));

            long t0 = System.nanoTime();
            try (KafkaProducer<String, String> p = ShareSupport.producer(broker)) {
                for (int i = 0; i < N; i++) {
                    p.send(new ProducerRecord<>(topic, "k-" + (i % 100), ShareSupport.value(i)));
                }
                p.flush();
            }
            log("produced %d records in %d ms", N, ms(t0));

            boolean all = ShareSupport.waitFor(() -> {
                workers.forEach(ShareWorker::checkHealthy);
                return sink.size() >= N;
            }, Duration.ofSeconds(90));
            log("consumed %d deliveries in %d ms since produce start", sink.size(), ms(t0));
            // Give a duplicate delivery (a bug) a moment to show up before stopping.
            Thread.sleep(500);
            ShareWorker.stopAll(workers);
            assertTrue(all, "only " + sink.size() + " of " + N + " deliveries within 90 s");

            long[] seen = new long[N];
            Map<String, Integer> perConsumer = new TreeMap<>();
            List<String> problems = new ArrayList<>();
            for (ShareWorker.Delivery d : sink) {
                perConsumer.merge(d.consumer(), 1, Integer::sum);
                if (d.offset() < 0 || d.offset() >= N) {
                    problems.add("unexpected offset " + d.offset());
                    continue;
                }
                seen[(int) d.offset()]++;
                if (d.deliveryCount() != 1) {
                    problems.add("offset " + d.offset() + " to " + d.consumer() + " with deliveryCount " + d.deliveryCount());
                }
                if (!ShareSupport.value(d.offset()).equals(d.value())) {
                    problems.add("offset " + d.offset() + " has value " + d.value());
                }
            }
            for (int i = 0; i < N; i++) {
                if (seen[i] != 1) {
                    problems.add("offset " + i + " delivered " + seen[i] + " times");
                }
            }
            log("per consumer: %s, max records in one poll: %s", perConsumer,
                    workers.stream().map(w -> w.name + "=" + w.maxPollSize.get()).toList());
            assertTrue(problems.isEmpty(), problems.size() + " problems, first: " + ShareSupport.head(problems, 20));
            assertEquals(N, sink.size(), "total deliveries");
            for (ShareWorker w : workers) {
                assertTrue(perConsumer.getOrDefault(w.name, 0) > 0, "consumer " + w.name + " got no records: " + perConsumer);
            }
            // Share state lives in the internal topic __share_group_state: listed only when internal
            // topics are asked for, described as internal.
            String stateTopic = "__share_group_state";
            assertFalse(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(stateTopic),
                    "listTopics() must leave out internal topics");
            assertTrue(admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get(30, TimeUnit.SECONDS)
                    .contains(stateTopic), "listTopics(listInternal) must list " + stateTopic);
            TopicDescription d = admin.describeTopics(List.of(stateTopic)).topicNameValues().get(stateTopic)
                    .get(30, TimeUnit.SECONDS);
            assertTrue(d.isInternal(), stateTopic + " must be described as internal: " + d);
        } finally {
            workers.forEach(ShareWorker::close);
        }
    }
}
