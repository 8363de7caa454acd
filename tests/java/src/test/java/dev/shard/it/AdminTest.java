package dev.shard.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicIdException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Admin API behaviour, asserted as Apache Kafka answers it (run with -Dshard.test.broker=kafka to check
 * the assertions themselves against the reference broker). One broker for the class; every test uses its
 * own topic names.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminTest {

    static final long DEFAULT_RETENTION_MS = 604_800_000L;
    static final String DEFAULT_SEGMENT_BYTES = "1073741824";
    static final String DEFAULT_MAX_MESSAGE_BYTES = "1048588";

    private ShardBroker broker;
    private Admin admin;

    @BeforeAll
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void startBroker() throws Exception {
        broker = ShardBroker.start("AdminTest");
        admin = broker.admin();
    }

    @AfterAll
    void stopBroker() {
        if (admin != null) {
            admin.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    // ---------------------------------------------------------------------------------- helpers

    static <T> T get(KafkaFuture<T> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    /** Asserts that the future fails with the given exception type (unwrapped from ExecutionException). */
    static <E extends Throwable> E assertFailsWith(Class<E> type, KafkaFuture<?> f) {
        ExecutionException ee = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS),
                "expected " + type.getSimpleName());
        return assertInstanceOf(type, ee.getCause(), "wrong error: " + ee.getCause());
    }

    private TopicDescription describe(String topic) throws Exception {
        return get(admin.describeTopics(List.of(topic)).topicNameValues().get(topic));
    }

    private Config topicConfig(String topic) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return get(admin.describeConfigs(List.of(r)).all()).get(r);
    }

    private static ConfigEntry entry(Config c, String name) {
        ConfigEntry e = c.get(name);
        assertNotNull(e, "config " + name + " missing from describeConfigs; got " +
                c.entries().stream().map(ConfigEntry::name).sorted().collect(Collectors.toList()));
        return e;
    }

    private void createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        get(admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all());
    }

    /** Topic deletion is asynchronous in Kafka's metadata propagation; wait (bounded) until it is gone. */
    private void awaitTopicGone(String topic) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            Set<String> names = get(admin.listTopics().names());
            if (!names.contains(topic)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("topic " + topic + " still listed 15 s after deleteTopics: " + names);
            }
            Thread.sleep(100);
        }
    }

    // ------------------------------------------------------------------------------------ tests

    @Test
    void describeClusterShowsSingleNode1() throws Exception {
        DescribeClusterResult r = admin.describeCluster();
        Collection<Node> nodes = get(r.nodes());
        assertEquals(1, nodes.size(), "nodes: " + nodes);
        Node n = nodes.iterator().next();
        assertEquals(1, n.id());
        assertEquals("127.0.0.1", n.host());
        assertEquals(broker.port(), n.port());
        String clusterId = get(r.clusterId());
        assertNotNull(clusterId);
        assertFalse(clusterId.isBlank());
        assertEquals(clusterId, get(admin.describeCluster().clusterId()), "cluster id must be stable");
    }

    @Test
    void createTopicWithConfigsThenListAndDescribe() throws Exception {
        String t = "admin-create";
        CreateTopicsResult res = admin.createTopics(List.of(new NewTopic(t, 2, (short) 1)
                .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "delete"))));
        get(res.all());
        assertEquals(2, get(res.numPartitions(t)));
        assertEquals(1, get(res.replicationFactor(t)));
        Uuid createdId = get(res.topicId(t));
        assertNotEquals(Uuid.ZERO_UUID, createdId);
        // CreateTopics v5+ returns the topic's configs
        Config created = get(res.config(t));
        assertEquals("3600000", entry(created, "retention.ms").value());

        assertTrue(get(admin.listTopics().names()).contains(t), "listTopics must include " + t);

        TopicDescription d = describe(t);
        assertEquals(t, d.name());
        assertFalse(d.isInternal());
        assertEquals(createdId, d.topicId(), "topic id from CreateTopics and DescribeTopics must match");
        assertEquals(2, d.partitions().size());
        for (int p = 0; p < 2; p++) {
            TopicPartitionInfo pi = d.partitions().get(p);
            assertEquals(p, pi.partition());
            assertNotNull(pi.leader(), "partition " + p + " has no leader");
            assertEquals(1, pi.leader().id(), "leader of partition " + p);
            assertEquals(List.of(1), pi.replicas().stream().map(Node::id).collect(Collectors.toList()));
            assertEquals(List.of(1), pi.isr().stream().map(Node::id).collect(Collectors.toList()));
        }
        // stable across calls
        assertEquals(createdId, describe(t).topicId());

        Config c = topicConfig(t);
        ConfigEntry retention = entry(c, "retention.ms");
        assertEquals("3600000", retention.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source());
        assertFalse(retention.isDefault());
        ConfigEntry cleanup = entry(c, "cleanup.policy");
        assertEquals("delete", cleanup.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, cleanup.source());
        ConfigEntry segment = entry(c, "segment.bytes");
        assertEquals(DEFAULT_SEGMENT_BYTES, segment.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, segment.source());
        assertTrue(segment.isDefault());
        ConfigEntry maxMsg = entry(c, "max.message.bytes");
        assertEquals(DEFAULT_MAX_MESSAGE_BYTES, maxMsg.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, maxMsg.source());
    }

    @Test
    void describeTopicById() throws Exception {
        String t = "admin-by-id";
        createTopic(t, 2, Map.of());
        Uuid id = describe(t).topicId();
        assertNotEquals(Uuid.ZERO_UUID, id);
        // Metadata v12+ request by topic id (name null)
        TopicDescription byId = get(admin.describeTopics(TopicCollection.ofTopicIds(List.of(id)))
                .topicIdValues().get(id));
        assertEquals(t, byId.name());
        assertEquals(id, byId.topicId());
        assertEquals(2, byId.partitions().size());
        Uuid unknown = Uuid.randomUuid();
        assertFailsWith(UnknownTopicIdException.class,
                admin.describeTopics(TopicCollection.ofTopicIds(List.of(unknown))).topicIdValues().get(unknown));
    }

    @Test
    void validateOnlyCreatesNothing() throws Exception {
        String t = "admin-validate-only";
        CreateTopicsResult res = admin.createTopics(
                List.of(new NewTopic(t, 3, (short) 1).configs(Map.of("retention.ms", "1000"))),
                new CreateTopicsOptions().validateOnly(true));
        get(res.all());
        assertEquals(3, get(res.numPartitions(t)));
        assertFalse(get(admin.listTopics().names()).contains(t), "validateOnly must not create the topic");
        assertFailsWith(UnknownTopicOrPartitionException.class,
                admin.describeTopics(List.of(t)).topicNameValues().get(t));

        // validateOnly still validates
        assertFailsWith(InvalidConfigurationException.class, admin.createTopics(
                List.of(new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "not-a-number"))),
                new CreateTopicsOptions().validateOnly(true)).all());
    }

    @Test
    void createTopicErrors() throws Exception {
        String t = "admin-exists";
        createTopic(t, 1, Map.of());
        assertFailsWith(TopicExistsException.class,
                admin.createTopics(List.of(new NewTopic(t, 1, (short) 1))).all());
        assertFailsWith(TopicExistsException.class,
                admin.createTopics(List.of(new NewTopic(t, 1, (short) 1)), new CreateTopicsOptions().validateOnly(true)).all());

        assertFailsWith(InvalidConfigurationException.class, admin.createTopics(List.of(
                new NewTopic("admin-bad-config-name", 1, (short) 1).configs(Map.of("no.such.config", "1")))).all());
        assertFailsWith(InvalidConfigurationException.class, admin.createTopics(List.of(
                new NewTopic("admin-bad-config-value", 1, (short) 1).configs(Map.of("retention.ms", "abc")))).all());
        assertFailsWith(InvalidReplicationFactorException.class, admin.createTopics(List.of(
                new NewTopic("admin-bad-rf", 1, (short) 3))).all());
        assertFailsWith(InvalidPartitionsException.class, admin.createTopics(List.of(
                new NewTopic("admin-bad-partitions", 0, (short) 1))).all());

        Set<String> names = get(admin.listTopics().names());
        for (String bad : List.of("admin-bad-config-name", "admin-bad-config-value", "admin-bad-rf", "admin-bad-partitions")) {
            assertFalse(names.contains(bad), "failed create must not leave topic " + bad);
        }
    }

    @Test
    void describeMissingTopicFails() {
        assertFailsWith(UnknownTopicOrPartitionException.class,
                admin.describeTopics(List.of("admin-no-such-topic")).topicNameValues().get("admin-no-such-topic"));
        assertFailsWith(UnknownTopicOrPartitionException.class, admin.describeConfigs(List.of(
                new ConfigResource(ConfigResource.Type.TOPIC, "admin-no-such-topic"))).all());
        assertFailsWith(UnknownTopicOrPartitionException.class,
                admin.deleteTopics(List.of("admin-no-such-topic")).all());
    }

    @Test
    void describeBrokerConfigs() throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.BROKER, "1");
        Config c = get(admin.describeConfigs(List.of(r)).all()).get(r);
        // set in the broker's config file by the fixture
        ConfigEntry numPartitions = entry(c, "num.partitions");
        assertEquals("1", numPartitions.value());
        assertEquals(ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG, numPartitions.source());
        assertFalse(numPartitions.isDefault());
        ConfigEntry nodeId = entry(c, "node.id");
        assertEquals("1", nodeId.value());
        assertEquals(ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG, nodeId.source());
        // not set: defaults
        ConfigEntry maxMsg = entry(c, "message.max.bytes");
        assertEquals(DEFAULT_MAX_MESSAGE_BYTES, maxMsg.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, maxMsg.source());
        assertTrue(maxMsg.isDefault());
        ConfigEntry segment = entry(c, "log.segment.bytes");
        assertEquals(DEFAULT_SEGMENT_BYTES, segment.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, segment.source());
        ConfigEntry autoCreate = entry(c, "auto.create.topics.enable");
        assertEquals("true", autoCreate.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, autoCreate.source());
    }

    @Test
    void incrementalAlterTopicConfigs() throws Exception {
        String t = "admin-alter";
        createTopic(t, 1, Map.of());
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, t);

        ConfigEntry before = entry(topicConfig(t), "retention.ms");
        assertEquals(Long.toString(DEFAULT_RETENTION_MS), before.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, before.source());

        // SET
        get(admin.incrementalAlterConfigs(Map.of(r, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000000"), AlterConfigOp.OpType.SET)))).all());
        Config c = topicConfig(t);
        assertEquals("7200000", entry(c, "retention.ms").value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, entry(c, "retention.ms").source());
        assertEquals("2000000", entry(c, "max.message.bytes").value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, entry(c, "max.message.bytes").source());

        // validateOnly changes nothing
        get(admin.incrementalAlterConfigs(Map.of(r, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "1234"), AlterConfigOp.OpType.SET))),
                new AlterConfigsOptions().validateOnly(true)).all());
        assertEquals("7200000", entry(topicConfig(t), "retention.ms").value());

        // DELETE reverts to the default
        get(admin.incrementalAlterConfigs(Map.of(r, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)))).all());
        c = topicConfig(t);
        assertEquals(Long.toString(DEFAULT_RETENTION_MS), entry(c, "retention.ms").value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, entry(c, "retention.ms").source());
        assertEquals("2000000", entry(c, "max.message.bytes").value(), "untouched override must stay");

        // errors: unknown key, bad value; nothing changes
        assertFailsWith(InvalidConfigurationException.class, admin.incrementalAlterConfigs(Map.of(r, List.of(
                new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all());
        assertFailsWith(InvalidConfigurationException.class, admin.incrementalAlterConfigs(Map.of(r, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "not-a-number"), AlterConfigOp.OpType.SET)))).all());
        assertFailsWith(InvalidConfigurationException.class, admin.incrementalAlterConfigs(Map.of(r, List.of(
                new AlterConfigOp(new ConfigEntry("cleanup.policy", "shred"), AlterConfigOp.OpType.SET)))).all());
        c = topicConfig(t);
        assertEquals(Long.toString(DEFAULT_RETENTION_MS), entry(c, "retention.ms").value());
        assertEquals("delete", entry(c, "cleanup.policy").value());

        // missing topic
        ConfigResource missing = new ConfigResource(ConfigResource.Type.TOPIC, "admin-alter-missing");
        assertFailsWith(UnknownTopicOrPartitionException.class, admin.incrementalAlterConfigs(Map.of(missing, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "1000"), AlterConfigOp.OpType.SET)))).all());
    }

    @Test
    void createPartitions() throws Exception {
        String t = "admin-partitions";
        createTopic(t, 1, Map.of());
        Uuid id = describe(t).topicId();
        get(admin.createPartitions(Map.of(t, NewPartitions.increaseTo(4))).all());
        TopicDescription d = describe(t);
        assertEquals(4, d.partitions().size());
        assertEquals(id, d.topicId(), "topic id must not change when partitions are added");
        for (TopicPartitionInfo pi : d.partitions()) {
            assertNotNull(pi.leader());
            assertEquals(1, pi.leader().id());
        }
        assertFailsWith(InvalidPartitionsException.class,
                admin.createPartitions(Map.of(t, NewPartitions.increaseTo(2))).all());
        assertFailsWith(InvalidPartitionsException.class,
                admin.createPartitions(Map.of(t, NewPartitions.increaseTo(4))).all());
        assertFailsWith(UnknownTopicOrPartitionException.class,
                admin.createPartitions(Map.of("admin-partitions-missing", NewPartitions.increaseTo(2))).all());
        assertEquals(4, describe(t).partitions().size());
    }

    @Test
    void deleteTopic() throws Exception {
        String t = "admin-delete";
        createTopic(t, 2, Map.of());
        Uuid oldId = describe(t).topicId();
        get(admin.deleteTopics(List.of(t)).all());
        awaitTopicGone(t);
        assertFailsWith(UnknownTopicOrPartitionException.class,
                admin.describeTopics(List.of(t)).topicNameValues().get(t));

        // re-create under the same name: a new topic id
        createTopic(t, 1, Map.of());
        TopicDescription d = describe(t);
        assertEquals(1, d.partitions().size());
        assertNotEquals(oldId, d.topicId(), "a re-created topic must get a new id");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void topicMetadataSurvivesRestart() throws Exception {
        String t = "admin-restart";
        createTopic(t, 3, Map.of("retention.ms", "5400000"));
        Uuid id = describe(t).topicId();
        admin.close();
        admin = null;
        broker.restart(); // SIGTERM, then start on the same port and data dir
        admin = broker.admin();
        TopicDescription d = describe(t);
        assertEquals(id, d.topicId(), "topic id must survive a restart");
        assertEquals(3, d.partitions().size());
        ConfigEntry e = entry(topicConfig(t), "retention.ms");
        assertEquals("5400000", e.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, e.source());
    }
}
