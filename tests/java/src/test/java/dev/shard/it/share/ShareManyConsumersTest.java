package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IntSummaryStatistics;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The point of share groups: more consumers than partitions. 50 consumers of one group on a
 * one-partition topic (max.poll.records=5, 20 ms of "work" per poll) all get records, and every record is
 * delivered exactly once.
 */
@Tag("share")
@Tag("share-v1")
class ShareManyConsumersTest extends ShareBrokerTestBase {

    static final int CONSUMERS = 50;
    static final int N = 3000;

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void fiftyConsumersOnOnePartitionAllMakeProgress() throws Exception {
        String topic = "many";
        String group = "many-g";
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of());

        ConcurrentLinkedQueue<ShareWorker.Delivery> sink = new ConcurrentLinkedQueue<>();
        List<ShareWorker> workers = new ArrayList<>();
        try {
            long tj = System.nanoTime();
            for (int i = 0; i < CONSUMERS; i++) {
                Properties p = ShareSupport.consumerProps(broker, group, "many-c" + i, "explicit");
                p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5);
                workers.add(ShareWorker.start("c" + i, p, topic, sink, r -> AcknowledgeType.ACCEPT, 20));
            }
            ShareSupport.awaitAssignedMembers(admin, group, topic, CONSUMERS, Duration.ofSeconds(60));
            log("%d consumers joined in %d ms", CONSUMERS, ms(tj));

            long t0 = System.nanoTime();
            // One record per batch (batch.size=0): a share fetch acquires whole batches, so small batches let
            // max.poll.records=5 spread the records over the consumers.
            try (KafkaProducer<String, String> p = ShareSupport.producer(broker, Map.of(
                    ProducerConfig.BATCH_SIZE_CONFIG, 0, ProducerConfig.LINGER_MS_CONFIG, 0))) {
                for (int i = 0; i < N; i++) {
                    p.send(new ProducerRecord<>(topic, null, ShareSupport.value(i)));
                }
                p.flush();
            }
            log("produced %d records in %d ms", N, ms(t0));
            boolean all = false;
            for (int waited = 0; waited < 60 && !all; waited += 5) {
                all = ShareSupport.waitFor(() -> {
                    workers.forEach(ShareWorker::checkHealthy);
                    return sink.size() >= N;
                }, Duration.ofSeconds(5));
                if (!all) {
                    // A stall shows who is stuck: per-consumer counts so far.
                    log("still waiting after %d s: %d deliveries; per consumer %s", waited + 5, sink.size(),
                            workers.stream().map(w -> w.name + "=" + w.records.get()).toList());
                }
            }
            log("%d deliveries %d ms after produce start", sink.size(), ms(t0));
            Thread.sleep(500);
            long ts = System.nanoTime();
            ShareWorker.stopAll(workers);
            log("stopped %d consumers in %d ms", CONSUMERS, ms(ts));
            assertTrue(all, "only " + sink.size() + " of " + N + " deliveries within 60 s");

            int[] seen = new int[N];
            List<String> problems = new ArrayList<>();
            for (ShareWorker.Delivery d : sink) {
                if (d.offset() < 0 || d.offset() >= N) {
                    problems.add("unexpected offset " + d.offset());
                    continue;
                }
                seen[(int) d.offset()]++;
                if (d.deliveryCount() != 1) {
                    problems.add("offset " + d.offset() + " to " + d.consumer() + " with deliveryCount " + d.deliveryCount());
                }
            }
            for (int i = 0; i < N; i++) {
                if (seen[i] != 1) {
                    problems.add("offset " + i + " delivered " + seen[i] + " times");
                }
            }
            IntSummaryStatistics stats = workers.stream().mapToInt(w -> w.records.get()).summaryStatistics();
            log("records per consumer: min %d, max %d, avg %.1f; max records in one poll %d", stats.getMin(), stats.getMax(),
                    stats.getAverage(), workers.stream().mapToInt(w -> w.maxPollSize.get()).max().orElse(0));
            assertTrue(problems.isEmpty(), problems.size() + " problems, first: " + ShareSupport.head(problems, 20));
            assertEquals(N, sink.size(), "total deliveries");
            List<String> idle = workers.stream().filter(w -> w.records.get() == 0).map(w -> w.name).toList();
            assertTrue(idle.isEmpty(), idle.size() + " consumers got no record: " + idle);
        } finally {
            workers.forEach(ShareWorker::close);
        }
    }
}
