package dev.shard.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Produce 200,000 keyed records with headers and explicit timestamps through a default-config (acks=all,
 * idempotent) KafkaProducer, SIGKILL the broker once everything is acknowledged, restart it on the same
 * data directory, and read everything back with an assign()-based consumer (no group).
 */
class ProduceCrashConsumeTest {

    static final String TOPIC = "crash-test";
    static final int PARTITIONS = 3;
    static final int N = Integer.getInteger("shard.test.crash.records", 200_000);
    static final int KEYS = 1000;

    private ShardBroker broker;

    @AfterEach
    void tearDown() {
        if (broker != null) {
            broker.close();
        }
    }

    static String key(int i) {
        return "k-" + (i % KEYS);
    }

    /** Value: "v-<i>|" then 64..191 deterministic payload bytes derived from i. */
    static byte[] value(int i) {
        byte[] head = ("v-" + i + "|").getBytes(StandardCharsets.UTF_8);
        int payloadLen = 64 + (i * 31) % 128;
        byte[] out = new byte[head.length + payloadLen];
        System.arraycopy(head, 0, out, 0, head.length);
        long x = i * 0x9E3779B97F4A7C15L + 1;
        for (int j = 0; j < payloadLen; j++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            out[head.length + j] = (byte) x;
        }
        return out;
    }

    static List<Header> headers(int i) {
        List<Header> h = new ArrayList<>();
        h.add(new RecordHeader("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8)));
        h.add(new RecordHeader("origin", ByteBuffer.allocate(8).putLong(~(long) i).array()));
        if (i % 1000 == 0) {
            h.add(new RecordHeader("null-valued", (byte[]) null)); // header with a null value (length -1)
        }
        return h;
    }

    /**
     * Both Shard durability modes promise that acknowledged records survive a SIGKILL of the broker
     * (page_cache: the OS still holds the data). For the Apache Kafka flavor the key is ignored.
     */
    @ParameterizedTest(name = "log.flush.mode={0}")
    @ValueSource(strings = {"fsync", "page_cache"})
    @Timeout(value = 420, unit = TimeUnit.SECONDS)
    void produceKill9RestartConsumeEverythingExactlyOnce(String flushMode) throws Exception {
        broker = ShardBroker.start("ProduceCrashConsume-" + flushMode, Map.of("log.flush.mode", flushMode));

        try (Admin admin = broker.admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }

        final long baseTs = System.currentTimeMillis() - 3_600_000L; // in the past: Kafka 4 rejects > 1 h in future
        final int[] partOf = new int[N];
        final long[] offsetOf = new long[N];
        final long[] tsOf = new long[N];
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final CountDownLatch acked = new CountDownLatch(N);

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
        // everything else default: acks=all, enable.idempotence=true, linger.ms=5, ...
        long t0 = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer =
                     new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer())) {
            String acks = String.valueOf(producerConfigValue(pp, ProducerConfig.ACKS_CONFIG));
            assertTrue(acks.equals("all") || acks.equals("-1"), "default acks must be all, is " + acks);
            for (int i = 0; i < N; i++) {
                final int idx = i;
                ProducerRecord<String, byte[]> rec =
                        new ProducerRecord<>(TOPIC, null, baseTs + i, key(i), value(i), headers(i));
                producer.send(rec, (md, ex) -> {
                    if (ex != null) {
                        failures.add("record " + idx + ": " + ex);
                        partOf[idx] = -1;
                    } else {
                        partOf[idx] = md.partition();
                        offsetOf[idx] = md.offset();
                        tsOf[idx] = md.timestamp();
                    }
                    acked.countDown();
                });
            }
            producer.flush();
            assertTrue(acked.await(120, TimeUnit.SECONDS), "not all sends completed; missing " + acked.getCount());
        }
        System.out.printf("produced %d records in %.1f s%n", N, (System.nanoTime() - t0) / 1e9);
        if (!failures.isEmpty()) {
            fail(failures.size() + " sends failed, first: " + failures.peek());
        }

        // what the producer was told, per partition
        long[] countPerPartition = new long[PARTITIONS];
        for (int i = 0; i < N; i++) {
            assertTrue(partOf[i] >= 0 && partOf[i] < PARTITIONS, "bad partition for record " + i + ": " + partOf[i]);
            assertEquals(baseTs + i, tsOf[i], "RecordMetadata.timestamp of record " + i);
            countPerPartition[partOf[i]]++;
        }
        for (int p = 0; p < PARTITIONS; p++) {
            assertTrue(countPerPartition[p] > 0, "partition " + p + " got no records; keys should spread");
        }
        // offsets reported by the producer: per partition exactly 0..count-1, increasing in send order
        long[] expectNext = new long[PARTITIONS];
        for (int i = 0; i < N; i++) {
            int p = partOf[i];
            assertEquals(expectNext[p], offsetOf[i],
                    "producer-reported offset of record " + i + " in partition " + p);
            expectNext[p]++;
        }

        // crash and recover
        broker.kill9();
        broker.restart();

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
        cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        // no group.id: assign() only, no commits
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            tps.add(new TopicPartition(TOPIC, p));
        }
        boolean[] seen = new boolean[N];
        long[] nextOffset = new long[PARTITIONS];
        int[] lastSeqPerPartition = {-1, -1, -1};
        Map<String, Integer> lastSeqPerKey = new HashMap<>();
        int total = 0;
        try (KafkaConsumer<String, byte[]> consumer =
                     new KafkaConsumer<>(cp, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(tps);
            consumer.seekToBeginning(tps);

            Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps, Duration.ofSeconds(30));
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            for (int p = 0; p < PARTITIONS; p++) {
                assertEquals(0L, begin.get(tps.get(p)), "log start offset of partition " + p + " after restart");
                assertEquals(countPerPartition[p], end.get(tps.get(p)),
                        "end offset of partition " + p + " after kill -9 + restart (acknowledged records lost?)");
            }

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (total < N) {
                if (System.nanoTime() > deadline) {
                    fail("timed out reading back: got " + total + " of " + N + " records");
                }
                ConsumerRecords<String, byte[]> recs = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<String, byte[]> r : recs) {
                    int p = r.partition();
                    assertEquals(TOPIC, r.topic());
                    assertEquals(nextOffset[p], r.offset(), "offsets must be consecutive in partition " + p);
                    nextOffset[p]++;

                    Header seqH = r.headers().lastHeader("seq");
                    assertNotNull(seqH, "missing seq header at " + p + "@" + r.offset());
                    int i = Integer.parseInt(new String(seqH.value(), StandardCharsets.UTF_8));
                    assertTrue(i >= 0 && i < N, "bad seq " + i);
                    assertTrue(!seen[i], "record " + i + " read twice (at " + p + "@" + r.offset() + ")");
                    seen[i] = true;
                    total++;

                    assertEquals(partOf[i], p, "record " + i + " partition");
                    assertEquals(offsetOf[i], r.offset(), "record " + i + " offset vs RecordMetadata");
                    assertTrue(i > lastSeqPerPartition[p], "order within partition " + p + " broken at seq " + i);
                    lastSeqPerPartition[p] = i;
                    Integer prev = lastSeqPerKey.put(r.key(), i);
                    assertTrue(prev == null || prev < i, "per-key order broken for " + r.key());

                    assertEquals(key(i), r.key(), "key of record " + i);
                    assertArrayEquals(value(i), r.value(), "value of record " + i);
                    assertEquals(baseTs + i, r.timestamp(), "timestamp of record " + i);
                    assertEquals(TimestampType.CREATE_TIME, r.timestampType(), "timestamp type of record " + i);
                    Header[] hs = r.headers().toArray();
                    List<Header> want = headers(i);
                    assertEquals(want.size(), hs.length, "header count of record " + i);
                    for (int h = 0; h < hs.length; h++) {
                        assertEquals(want.get(h).key(), hs[h].key(), "header " + h + " key of record " + i);
                        if (want.get(h).value() == null) {
                            assertNull(hs[h].value(), "header " + h + " of record " + i + " must be null");
                        } else {
                            assertArrayEquals(want.get(h).value(), hs[h].value(), "header " + h + " value of record " + i);
                        }
                    }
                }
            }
            // nothing more must arrive
            ConsumerRecords<String, byte[]> extra = consumer.poll(Duration.ofSeconds(1));
            assertEquals(0, extra.count(), "unexpected extra records after all " + N + " were read");
            for (int p = 0; p < PARTITIONS; p++) {
                assertEquals(countPerPartition[p], nextOffset[p], "records read from partition " + p);
                assertEquals(countPerPartition[p], consumer.position(tps.get(p)), "position of partition " + p);
            }
        }
        assertEquals(N, total);
        for (int i = 0; i < N; i++) {
            assertTrue(seen[i], "record " + i + " never read");
        }
    }

    private static Object producerConfigValue(Properties given, String key) {
        Object v = given.get(key);
        if (v != null) {
            return v;
        }
        // effective default from the client library
        return new ProducerConfig(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "x:1",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class)).getString(key);
    }
}
