package dev.shard.it.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static dev.shard.it.share.ShareSupport.deliveryCount;
import static dev.shard.it.share.ShareSupport.head;
import static dev.shard.it.share.ShareSupport.ms;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.shard.it.share.ShareSupport;

/**
 * Smoke test of the container image (issue 6), driven by {@code tests/container-smoke.sh}: it talks to a
 * broker that is already running in a container, at {@code -Dshard.container.bootstrap=HOST:PORT}, and
 * starts no broker itself. Two phases, one Maven run each, with a container restart in between:
 *
 * <ul>
 *   <li>{@code -Dshard.container.phase=before}: creates topic {@value #TOPIC} (one partition), sets group
 *       {@value #GROUP}'s {@code share.auto.offset.reset=earliest}, produces {@value #N} records
 *       ({@code acks=all}, each acknowledged at the offset expected), and an explicit
 *       {@code KafkaShareConsumer} in the group ACCEPTs exactly offsets 0..{@value #ACCEPTED}-1
 *       (confirmed by {@code commitSync}) and RELEASEs whatever else it is handed. What it saw goes to
 *       the state file {@code -Dshard.container.state}.</li>
 *   <li>{@code -Dshard.container.phase=after} (the container was restarted on the same volume): a plain
 *       {@code KafkaConsumer} reads all {@value #N} records with their keys and values; the group config
 *       is still {@code earliest}; a new {@code KafkaShareConsumer} in the group gets exactly the
 *       {@value #N} - {@value #ACCEPTED} records not accepted, each once, with a delivery count above the
 *       one it was released with, and none of the accepted ones.</li>
 * </ul>
 *
 * <p>Tag {@code container}: only {@code mvn test -Pcontainer} runs it.
 */
@Tag("container")
class ContainerSmokeTest {

    static final String TOPIC = "smoke";
    static final String GROUP = "smoke";
    static final int N = 1000;
    static final int ACCEPTED = 600;

    private final String bootstrap = System.getProperty("shard.container.bootstrap", "");
    private final String phase = System.getProperty("shard.container.phase", "");
    private final Path stateFile = Paths.get(System.getProperty("shard.container.state", "").isEmpty()
            ? "target/container-smoke-state.txt" : System.getProperty("shard.container.state"));

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void smoke() throws Exception {
        assertFalse(bootstrap.isBlank(), "set -Dshard.container.bootstrap=HOST:PORT (see tests/container-smoke.sh)");
        log("phase '%s' against %s, kafka-clients %s", phase, bootstrap, AppInfoParser.getVersion());
        switch (phase) {
            case "before" -> before();
            case "after" -> after();
            default -> fail("set -Dshard.container.phase=before or after, got '" + phase + "'");
        }
    }

    // ---- phase 1 ----------------------------------------------------------------------------------

    private void before() throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            ConfigResource g = new ConfigResource(ConfigResource.Type.GROUP, GROUP);
            admin.incrementalAlterConfigs(Map.of(g, List.of(new AlterConfigOp(
                    new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
        }

        long t0 = System.nanoTime();
        try (KafkaProducer<String, String> p = producer()) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                sent.add(p.send(new ProducerRecord<>(TOPIC, key(i), value(i))));
            }
            p.flush();
            for (int i = 0; i < N; i++) {
                RecordMetadata md = sent.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(i, md.offset(), "offset of record " + i);
                assertEquals(0, md.partition());
            }
        }
        log("produced %d records (acks=all) in %d ms", N, ms(t0));

        // offset -> highest delivery count a RELEASE of it was confirmed for
        Map<Long, Short> released = new TreeMap<>();
        Set<Long> accepted = new TreeSet<>();
        t0 = System.nanoTime();
        try (KafkaShareConsumer<String, String> c = shareConsumer("smoke-before")) {
            while (accepted.size() < ACCEPTED) {
                if (ms(t0) > 90_000) {
                    fail("only " + accepted.size() + " of offsets 0.." + (ACCEPTED - 1) + " accepted within 90 s");
                }
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(500));
                Map<Long, Short> releasing = new TreeMap<>();
                Set<Long> accepting = new TreeSet<>();
                for (ConsumerRecord<String, String> r : recs) {
                    checkRecord(r);
                    if (r.offset() < ACCEPTED) {
                        assertFalse(accepted.contains(r.offset()), "offset " + r.offset() + " delivered after its ACCEPT was confirmed");
                        c.acknowledge(r, AcknowledgeType.ACCEPT);
                        accepting.add(r.offset());
                    } else {
                        c.acknowledge(r, AcknowledgeType.RELEASE);
                        releasing.merge(r.offset(), deliveryCount(r), (a, b) -> (short) Math.max(a, b));
                    }
                }
                if (!recs.isEmpty()) {
                    Map<TopicIdPartition, Optional<KafkaException>> res = c.commitSync(Duration.ofSeconds(20));
                    res.forEach((tp, e) -> assertTrue(e.isEmpty(), "commitSync error for " + tp + ": " + e));
                    accepted.addAll(accepting);
                    releasing.forEach((o, d) -> released.merge(o, d, (a, b) -> (short) Math.max(a, b)));
                    log("poll: %d records (offsets %d..%d), accepted %d so far, released %d", recs.count(),
                            first(recs), last(recs), accepted.size(), releasing.size());
                }
            }
        }
        log("accepted offsets 0..%d in %d ms; released %d other offsets (max delivery count %s)", ACCEPTED - 1, ms(t0),
                released.size(), released.values().stream().max(Short::compare).orElse((short) 0));
        assertEquals(ACCEPTED, accepted.size());
        assertTrue(released.keySet().stream().allMatch(o -> o >= ACCEPTED));

        StringBuilder sb = new StringBuilder();
        released.forEach((o, d) -> sb.append(o).append(' ').append(d).append('\n'));
        Files.createDirectories(stateFile.toAbsolutePath().getParent());
        Files.writeString(stateFile, sb.toString(), StandardCharsets.UTF_8);
        log("state file %s: %d released offsets", stateFile, released.size());
    }

    // ---- phase 2 ----------------------------------------------------------------------------------

    private void after() throws Exception {
        Map<Long, Short> released = readState();

        try (Admin admin = admin()) {
            ConfigResource g = new ConfigResource(ConfigResource.Type.GROUP, GROUP);
            Config cfg = admin.describeConfigs(List.of(g)).all().get(30, TimeUnit.SECONDS).get(g);
            ConfigEntry reset = cfg.get("share.auto.offset.reset");
            assertNotNull(reset, "share.auto.offset.reset missing from DescribeConfigs of group " + GROUP);
            assertEquals("earliest", reset.value(), "group config after the restart");
        }

        // Every record, in order, with its key and value.
        long t0 = System.nanoTime();
        TopicPartition tp = new TopicPartition(TOPIC, 0);
        int read = 0;
        try (KafkaConsumer<String, String> c = plainConsumer()) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            assertEquals(N, c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp), "end offset after the restart");
            while (read < N) {
                if (ms(t0) > 60_000) {
                    fail("plain consumer read only " + read + " of " + N + " records within 60 s");
                }
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    assertEquals(read, r.offset(), "offsets in order from 0");
                    assertEquals(key(read), r.key(), "key at offset " + read);
                    assertEquals(value(read), r.value(), "value at offset " + read);
                    read++;
                }
            }
        }
        log("plain consumer read all %d records in %d ms", read, ms(t0));

        // The share group resumes where it was: only the unaccepted records, each once.
        Map<Long, Short> delivered = new TreeMap<>();
        t0 = System.nanoTime();
        long lastNew = System.nanoTime();
        try (KafkaShareConsumer<String, String> c = shareConsumer("smoke-after")) {
            // Done when all of them came and then 3 s passed without any delivery (an accepted record
            // coming back late would show up here).
            while (delivered.size() < N - ACCEPTED || ms(lastNew) < 3_000) {
                if (ms(t0) > 90_000) {
                    fail("share consumer got " + delivered.size() + " of the " + (N - ACCEPTED)
                            + " unaccepted records within 90 s: " + head(delivered.keySet(), 20));
                }
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(500));
                for (ConsumerRecord<String, String> r : recs) {
                    checkRecord(r);
                    assertTrue(r.offset() >= ACCEPTED, "offset " + r.offset() + " was ACCEPTed before the restart and delivered again"
                            + " (deliveryCount " + deliveryCount(r) + ")");
                    assertFalse(delivered.containsKey(r.offset()), "offset " + r.offset() + " delivered twice");
                    delivered.put(r.offset(), deliveryCount(r));
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                    lastNew = System.nanoTime();
                }
                if (!recs.isEmpty()) {
                    c.commitSync(Duration.ofSeconds(20))
                            .forEach((p, e) -> assertTrue(e.isEmpty(), "commitSync error for " + p + ": " + e));
                }
            }
        }
        log("share consumer got the %d unaccepted records in %d ms, delivery counts %s", delivered.size(), ms(t0),
                new TreeSet<>(delivered.values()));
        assertEquals(N - ACCEPTED, delivered.size());
        for (long o = ACCEPTED; o < N; o++) {
            Short d = delivered.get(o);
            assertNotNull(d, "offset " + o + " not delivered after the restart");
            Short before = released.get(o);
            if (before != null) {
                assertTrue(d > before, "offset " + o + ": released with deliveryCount " + before
                        + " before the restart, delivered with " + d + " after it");
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private Map<Long, Short> readState() throws IOException {
        assertTrue(Files.isRegularFile(stateFile), "state file " + stateFile + " of phase 'before' missing");
        Map<Long, Short> m = new TreeMap<>();
        for (String line : Files.readAllLines(stateFile, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                String[] f = line.trim().split(" ");
                m.put(Long.parseLong(f[0]), Short.parseShort(f[1]));
            }
        }
        log("state file %s: %d offsets were released before the restart", stateFile, m.size());
        return m;
    }

    private static void checkRecord(ConsumerRecord<String, String> r) {
        assertTrue(r.offset() >= 0 && r.offset() < N, "offset " + r.offset() + " out of range");
        assertEquals(key((int) r.offset()), r.key(), "key at offset " + r.offset());
        assertEquals(value((int) r.offset()), r.value(), "value at offset " + r.offset());
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(p);
    }

    private KafkaProducer<String, String> producer() {
        return ShareSupport.producer(bootstrap, Map.of(ProducerConfig.ACKS_CONFIG, "all"));
    }

    private KafkaShareConsumer<String, String> shareConsumer(String clientId) {
        KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(
                ShareSupport.consumerProps(bootstrap, GROUP, clientId, "explicit"));
        c.subscribe(List.of(TOPIC));
        return c;
    }

    private KafkaConsumer<String, String> plainConsumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }

    static String key(int i) {
        return "k-" + i;
    }

    static String value(int i) {
        return "smoke-value-" + i;
    }

    private static long first(ConsumerRecords<?, ?> recs) {
        long m = Long.MAX_VALUE;
        for (ConsumerRecord<?, ?> r : recs) {
            m = Math.min(m, r.offset());
        }
        return m;
    }

    private static long last(ConsumerRecords<?, ?> recs) {
        long m = -1;
        for (ConsumerRecord<?, ?> r : recs) {
            m = Math.max(m, r.offset());
        }
        return m;
    }

    private static void log(String fmt, Object... args) {
        System.out.printf("[container-smoke %tT.%<tL] %s%n", System.currentTimeMillis(), String.format(fmt, args));
        System.out.flush();
    }
}
