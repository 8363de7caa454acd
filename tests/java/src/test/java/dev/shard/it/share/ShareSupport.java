package dev.shard.it.share;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.AppInfoParser;

import dev.shard.it.ShardBroker;

/**
 * Shared pieces of the share-consumer (KIP-932) tests: broker overrides, group configs, producers,
 * consumer properties, membership waits.
 *
 * <p>Only the client API of kafka-clients 4.1 is used here, so the {@code share-v1} subset compiles
 * against 4.1.x. Tests that need a 4.2+ API live in {@code src/test/java-kafka42}.
 */
public final class ShareSupport {

    private ShareSupport() {
    }

    /**
     * Broker configuration for every share test class. Apache Kafka bounds the per-group lock duration
     * by {@code group.share.min.record.lock.duration.ms} (default 15 s, range 1..30 s), so 1 s locks need
     * the minimum lowered in the broker config. The same keys go to Shard's broker.toml (dotted keys).
     */
    static final Map<String, Object> BROKER_OVERRIDES = brokerOverrides();

    private static Map<String, Object> brokerOverrides() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("group.share.min.record.lock.duration.ms", 1000);
        m.put("group.share.min.heartbeat.interval.ms", 1000);
        return m;
    }

    static ShardBroker startBroker(String name) throws Exception {
        ShardBroker b = ShardBroker.start(name, BROKER_OVERRIDES);
        log("%s: kafka-clients %s against %s", name, AppInfoParser.getVersion(), b);
        if (ShardBroker.flavor() == ShardBroker.Flavor.KAFKA) {
            // A freshly formatted 4.2+ Kafka node has share.version=1; a 4.1 one would not (see java-harness.md).
            try (Admin admin = b.admin()) {
                FinalizedVersionRange v = admin.describeFeatures().featureMetadata().get(30, TimeUnit.SECONDS)
                        .finalizedFeatures().get("share.version");
                if (v == null || v.maxVersionLevel() < 1) {
                    b.close();
                    throw new IllegalStateException("share groups are not enabled on the Kafka broker (share.version "
                            + v + "); use Kafka 4.2+ jars in shard.kafka.lib");
                }
            }
        }
        return b;
    }

    static void createTopic(Admin admin, String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    /**
     * The group configs every share test sets first: {@code share.auto.offset.reset=earliest} (records are
     * usually produced before or while members join) and {@code share.heartbeat.interval.ms=1000} (members
     * get their assignment within a second or two instead of five), plus {@code extra}.
     */
    static void setupGroup(Admin admin, String group, Map<String, String> extra) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("share.auto.offset.reset", "earliest");
        m.put("share.heartbeat.interval.ms", "1000");
        m.putAll(extra);
        setGroupConfig(admin, group, m);
    }

    /** Sets dynamic group configs ({@code share.*}) with IncrementalAlterConfigs on resource type GROUP. */
    static void setGroupConfig(Admin admin, String group, Map<String, String> configs) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.GROUP, group);
        List<AlterConfigOp> ops = new ArrayList<>();
        configs.forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
        admin.incrementalAlterConfigs(Map.of(r, ops)).all().get(30, TimeUnit.SECONDS);
    }

    static KafkaProducer<String, String> producer(ShardBroker broker) {
        return producer(broker, Map.of());
    }

    static KafkaProducer<String, String> producer(ShardBroker broker, Map<String, Object> extra) {
        return producer(broker.bootstrap(), extra);
    }

    /** A String producer for the broker at {@code bootstrap} (also one this suite did not start). */
    public static KafkaProducer<String, String> producer(String bootstrap, Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    /** Share consumer properties; {@code mode} is {@code implicit} or {@code explicit}. */
    static Properties consumerProps(ShardBroker broker, String group, String clientId, String mode) {
        return consumerProps(broker.bootstrap(), group, clientId, mode);
    }

    /** Share consumer properties for the broker at {@code bootstrap}. */
    public static Properties consumerProps(String bootstrap, String group, String clientId, String mode) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put("share.acknowledgement.mode", mode);
        return p;
    }

    static KafkaShareConsumer<String, String> consumer(ShardBroker broker, String group, String clientId,
                                                       String mode, String topic) {
        KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(consumerProps(broker, group, clientId, mode));
        c.subscribe(List.of(topic));
        return c;
    }

    /** Members of a share group that have {@code topic}-{@code partition} in their assignment. */
    static int assignedMembers(Admin admin, String group, String topic, int partition) {
        try {
            ShareGroupDescription d = admin.describeShareGroups(List.of(group)).describedGroups().get(group)
                    .get(10, TimeUnit.SECONDS);
            int n = 0;
            for (ShareMemberDescription m : d.members()) {
                if (m.assignment() != null && m.assignment().topicPartitions().contains(new TopicPartition(topic, partition))) {
                    n++;
                }
            }
            return n;
        } catch (Exception e) {
            return -1;
        }
    }

    /** Waits until {@code n} members of the group are assigned partition 0 of the topic. */
    static void awaitAssignedMembers(Admin admin, String group, String topic, int n, Duration timeout) throws Exception {
        long t0 = System.nanoTime();
        int last = -2;
        while (System.nanoTime() - t0 < timeout.toNanos()) {
            last = assignedMembers(admin, group, topic, 0);
            if (last >= n) {
                log("group %s: %d members assigned %s-0 after %d ms", group, last, topic, ms(t0));
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("group " + group + ": expected " + n + " members assigned " + topic
                + "-0 within " + timeout + ", last count " + last);
    }

    static boolean waitFor(BooleanSupplier cond, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return cond.getAsBoolean();
    }

    public static long ms(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    static String value(long offset) {
        return "v-" + offset;
    }

    public static short deliveryCount(org.apache.kafka.clients.consumer.ConsumerRecord<?, ?> r) {
        Optional<Short> d = r.deliveryCount();
        if (d.isEmpty()) {
            throw new AssertionError("record at offset " + r.offset() + " has no deliveryCount()");
        }
        return d.get();
    }

    static void log(String fmt, Object... args) {
        System.out.printf("[share-it %tT.%<tL] %s%n", System.currentTimeMillis(), String.format(fmt, args));
        System.out.flush();
    }

    public static <T> String head(Collection<T> c, int n) {
        List<String> out = new ArrayList<>();
        for (T t : c) {
            if (out.size() == n) {
                out.add("...");
                break;
            }
            out.add(String.valueOf(t));
        }
        return out.toString();
    }
}
