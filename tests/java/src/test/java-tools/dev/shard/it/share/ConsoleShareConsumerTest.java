package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Kafka's console share consumer ({@code kafka-console-share-consumer.sh}, class
 * {@code org.apache.kafka.tools.consumer.ConsoleShareConsumer} from kafka-tools) against the broker, run as a
 * child JVM with the test classpath; its stdout is the record values, one a line. Compiled only with the share
 * profiles (src/test/java-tools), which add kafka-tools.
 */
@Tag("share")
@Tag("share-v1")
class ConsoleShareConsumerTest extends ShareBrokerTestBase {

    private static final String MAIN = "org.apache.kafka.tools.consumer.ConsoleShareConsumer";
    /** Bounds one run of the tool: its own --timeout-ms (no record for that long: it exits; one poll may wait that
     * long again before it notices) and a hard kill after {@link #TOOL_KILL_AFTER}. */
    private static final long TOOL_IDLE_TIMEOUT_MS = 20_000;
    private static final Duration TOOL_KILL_AFTER = Duration.ofSeconds(60);

    /** Produces the values in order (one batch); returns offset -> value. */
    private Map<Long, String> produce(String topic, List<String> values) throws Exception {
        Map<Long, String> byOffset = new TreeMap<>();
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (String v : values) {
                fs.add(p.send(new ProducerRecord<>(topic, null, v)));
            }
            p.flush();
            for (int i = 0; i < fs.size(); i++) {
                byOffset.put(fs.get(i).get(30, TimeUnit.SECONDS).offset(), values.get(i));
            }
        }
        return byOffset;
    }

    /** Runs ConsoleShareConsumer with {@code --timeout-ms} {@link #TOOL_IDLE_TIMEOUT_MS} and {@code args}. */
    private KafkaTool.Run runTool(String name, List<String> args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--timeout-ms", Long.toString(TOOL_IDLE_TIMEOUT_MS)));
        all.addAll(args);
        return KafkaTool.run(broker, MAIN, name, all, TOOL_KILL_AFTER);
    }

    /**
     * A new explicit consumer in the group, after the tool exited: produces one sentinel record and returns what
     * the consumer gets up to and including it (offset -> deliveryCount), ACCEPTing everything.
     */
    private Map<Long, Short> drainUpToSentinel(String topic, String group) throws Exception {
        long sentinel = produce(topic, List.of("sentinel")).keySet().iterator().next();
        Map<Long, Short> got = new TreeMap<>();
        try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, group + "-check", "explicit", topic)) {
            long t0 = System.nanoTime();
            while (!got.containsKey(sentinel)) {
                if (ms(t0) > 30_000) {
                    fail("sentinel (offset " + sentinel + ") not delivered within 30 s; got " + got);
                }
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    got.put(r.offset(), ShareSupport.deliveryCount(r));
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
            }
            c.commitSync(Duration.ofSeconds(20)).forEach((tip, e) ->
                    assertTrue(e.isEmpty(), "commitSync error for " + tip + ": " + e));
        }
        return got;
    }

    /**
     * 100 records produced before the tool starts (group at earliest): {@code --max-messages 100} prints exactly
     * their values, in offset order, says "Processed a total of 100 messages" and exits 0. It ACCEPTed them: a
     * new consumer in the group then gets only a sentinel produced afterwards.
     */
    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void printsTheProducedValues() throws Exception {
        String topic = "console-share";
        String group = "console-share-g";
        int n = 100;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of()); // share.auto.offset.reset=earliest, 1 s heartbeat
        List<String> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            values.add(i % 10 == 9 ? "value " + i + " \u00fc\u20ac tab\there" : "value-" + i);
        }
        Map<Long, String> produced = produce(topic, values);
        assertEquals(List.copyOf(produced.values()), values, "offsets 0..n-1 in send order");

        KafkaTool.Run run = runTool("values", List.of("--topic", topic, "--group", group,
                "--max-messages", Integer.toString(n)));
        assertEquals(values, run.stdout(), "stdout of ConsoleShareConsumer; stderr:\n" + run.stderr());
        assertTrue(run.stderr().contains("Processed a total of " + n + " messages"), "stderr:\n" + run.stderr());
        assertEquals(0, run.exitCode(), "exit code; stderr:\n" + run.stderr());

        Map<Long, Short> after = drainUpToSentinel(topic, group);
        assertEquals(Map.of((long) n, (short) 1), after, "a new consumer in the group after the tool exited");
    }

    /**
     * {@code --release} with offsets and delivery counts printed ({@code --formatter-config}: print.offset,
     * print.delivery): 10 records, {@code --max-messages 20}: each offset is printed twice, with Delivery:1 and then
     * Delivery:2, and the right value. The tool released them all again, so a new consumer in the group gets the 10
     * once more, with deliveryCount 3, before the sentinel.
     */
    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void releaseRedeliversWithHigherDeliveryCount() throws Exception {
        String topic = "console-share-release";
        String group = "console-share-release-g";
        int n = 10;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of());
        List<String> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            values.add("r-" + i);
        }
        Map<Long, String> produced = produce(topic, values);
        Path formatterConfig = broker.dataDir().resolve("formatter.properties");
        Files.writeString(formatterConfig, "print.offset=true\nprint.delivery=true\n", StandardCharsets.UTF_8);

        KafkaTool.Run run = runTool("release", List.of("--topic", topic, "--group", group, "--release",
                "--max-messages", Integer.toString(2 * n), "--formatter-config", formatterConfig.toString()));
        assertEquals(0, run.exitCode(), "exit code; stderr:\n" + run.stderr());
        // DefaultMessageFormatter with print.offset and print.delivery: "Offset:3<TAB>Delivery:1<TAB>value"
        Pattern line = Pattern.compile("Offset:(\\d+)\tDelivery:(\\d+)\t(.*)");
        Map<Long, List<Integer>> seen = new TreeMap<>();
        for (String s : run.stdout()) {
            Matcher m = line.matcher(s);
            assertTrue(m.matches(), "unexpected line '" + s + "' in " + run.stdout());
            long offset = Long.parseLong(m.group(1));
            assertEquals(produced.get(offset), m.group(3), "value at offset " + offset);
            seen.computeIfAbsent(offset, k -> new ArrayList<>()).add(Integer.parseInt(m.group(2)));
        }
        Map<Long, List<Integer>> expected = new TreeMap<>();
        produced.keySet().forEach(o -> expected.put(o, List.of(1, 2)));
        assertEquals(expected, seen, "offset -> printed delivery counts; stdout " + run.stdout());
        assertTrue(run.stderr().contains("Processed a total of " + 2 * n + " messages"), "stderr:\n" + run.stderr());

        Map<Long, Short> after = drainUpToSentinel(topic, group);
        Map<Long, Short> expectedAfter = new TreeMap<>();
        produced.keySet().forEach(o -> expectedAfter.put(o, (short) 3));
        expectedAfter.put((long) n, (short) 1);
        assertEquals(expectedAfter, after, "offset -> deliveryCount for a new consumer after the tool exited");
    }
}
