package dev.shard.it.share;

import static dev.shard.it.share.ShareSupport.log;
import static dev.shard.it.share.ShareSupport.ms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.core.env.MapPropertySource;

import dev.shard.it.spring.OrderLog;
import dev.shard.it.spring.OrderLog.AckResult;
import dev.shard.it.spring.OrderLog.Delivery;
import dev.shard.it.spring.OrdersShareApp;

/**
 * The Spring for Apache Kafka share-group app ({@link OrdersShareApp}: {@code @KafkaListener} on a
 * {@code ShareKafkaListenerContainerFactory}, {@code ShareAckMode.MANUAL}, {@code ShareAcknowledgment}) against
 * the broker. Compiled only with {@code -Pshare} (src/test/java-spring: Spring Kafka 4.1 needs kafka-clients 4.2+).
 */
@Tag("share")
class SpringShareListenerTest extends ShareBrokerTestBase {

    /** offset % 5: 1 = retry (released once), 3 = poison (rejected), else ok (accepted). */
    private static String valueFor(int i) {
        return switch (i % 5) {
            case 1 -> "retry-" + i;
            case 3 -> "poison-" + i;
            default -> "ok-" + i;
        };
    }

    /** Sends the values in order, one producer batch per flush; returns offset -> value. */
    private Map<Long, String> produce(String topic, List<String> values) throws Exception {
        Map<Long, String> byOffset = new TreeMap<>();
        try (KafkaProducer<String, String> p = ShareSupport.producer(broker)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (String v : values) {
                fs.add(p.send(new ProducerRecord<>(topic, "order-" + v.substring(v.indexOf('-') + 1), v)));
            }
            p.flush();
            for (int i = 0; i < fs.size(); i++) {
                RecordMetadata md = fs.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(0, md.partition());
                byOffset.put(md.offset(), values.get(i));
            }
        }
        return byOffset;
    }

    private static void await(String what, Duration timeout, BooleanSupplier cond, Object state) throws InterruptedException {
        if (!ShareSupport.waitFor(cond, timeout)) {
            fail(what + " not within " + timeout + "; state: " + state);
        }
    }

    /**
     * 50 orders, pre-produced (the group starts at earliest): every order is delivered to the listener and
     * acknowledged, the broker confirms each acknowledgement (commit callback, no error); each {@code retry-}
     * order is released on delivery 1 and comes back with deliveryCount 2, then is accepted; each
     * {@code poison-} order is rejected once and never delivered again, and neither is any accepted order:
     * a sentinel produced afterwards is delivered alone, to the Spring listener and, after the Spring
     * context is closed, to a new plain share consumer in the same group.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void listenerAcknowledgesReleasesAndRejects() throws Exception {
        String topic = "spring-orders";
        String group = "spring-orders-g";
        int n = 50;
        ShareSupport.createTopic(admin, topic, 1);
        ShareSupport.setupGroup(admin, group, Map.of()); // share.auto.offset.reset=earliest, 1 s heartbeat

        List<String> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            values.add(valueFor(i));
        }
        Map<Long, String> produced = produce(topic, values);
        assertEquals(n, produced.size());
        assertEquals(List.copyOf(produced.keySet()), java.util.stream.LongStream.range(0, n).boxed().toList(),
                "offsets of the produced orders");

        long t0 = System.nanoTime();
        OrderLog orderLog;
        AnnotationConfigApplicationContext ctx = new AnnotationConfigApplicationContext();
        try {
            ctx.getEnvironment().getPropertySources().addFirst(new MapPropertySource("test", Map.of(
                    "shard.bootstrap", broker.bootstrap(),
                    "orders.topic", topic,
                    "orders.group", group)));
            ctx.register(OrdersShareApp.class);
            ctx.refresh();
            orderLog = ctx.getBean(OrderLog.class);
            log("Spring context started in %d ms", ms(t0));

            // n first deliveries + one redelivery per retry order; every ack (n + retries) confirmed.
            long retries = values.stream().filter(v -> v.startsWith("retry-")).count();
            OrderLog l = orderLog;
            await("all " + (n + retries) + " deliveries", Duration.ofSeconds(60),
                    () -> l.deliveries().size() >= n + retries, orderLog.deliveries());
            log("%d deliveries after %d ms", orderLog.deliveries().size(), ms(t0));
            await("broker confirmation of every acknowledgement", Duration.ofSeconds(20),
                    () -> l.ackedOffsets().size() >= n, orderLog.ackResults());
            log("all %d offsets acknowledged after %d ms", n, ms(t0));

            // Sentinel: delivered alone, nothing acknowledged comes back.
            Map<Long, String> s1 = produce(topic, List.of("ok-sentinel1"));
            long sentinel1 = s1.keySet().iterator().next();
            assertEquals(n, sentinel1);
            await("sentinel delivery and acknowledgement", Duration.ofSeconds(20),
                    () -> l.ackedOffsets().contains(sentinel1), orderLog.deliveries());
            produced.putAll(s1);
        } finally {
            long tc = System.nanoTime();
            ctx.close(); // stops the container: its share consumer closes (ShareAcknowledge + leave)
            log("Spring context closed in %d ms", ms(tc));
        }

        // What the listener saw: offset -> [deliveryCount:decision, ...]
        Map<Long, List<String>> seen = new TreeMap<>();
        for (Delivery d : orderLog.deliveries()) {
            assertEquals(topic, d.topic());
            assertEquals(produced.get(d.offset()), d.value(), "value at offset " + d.offset());
            assertEquals("order-" + d.value().substring(d.value().indexOf('-') + 1), d.key(), "key at " + d.offset());
            seen.computeIfAbsent(d.offset(), k -> new ArrayList<>()).add(d.deliveryCount() + ":" + d.decision().name());
        }
        for (Map.Entry<Long, String> e : produced.entrySet()) {
            String v = e.getValue();
            List<String> expected = v.startsWith("retry-") ? List.of("1:RELEASE", "2:ACCEPT")
                    : v.startsWith("poison-") ? List.of("1:REJECT") : List.of("1:ACCEPT");
            assertEquals(expected, seen.get(e.getKey()), "deliveries of offset " + e.getKey() + " (" + v + "); all: " + seen);
        }
        assertEquals(produced.keySet(), seen.keySet(), "offsets delivered");

        // What the broker answered: no acknowledgement failed; a retry order was acknowledged twice.
        Map<Long, Integer> ackCount = new TreeMap<>();
        for (AckResult r : orderLog.ackResults()) {
            assertNull(r.exception(), "acknowledgement of " + r.offsets() + " failed");
            assertEquals(topic, r.topic());
            r.offsets().forEach(o -> ackCount.merge(o, 1, Integer::sum));
        }
        for (Map.Entry<Long, String> e : produced.entrySet()) {
            int expected = e.getValue().startsWith("retry-") ? 2 : 1;
            assertEquals(expected, ackCount.getOrDefault(e.getKey(), 0),
                    "confirmed acknowledgements of offset " + e.getKey() + " (" + e.getValue() + "); all: " + ackCount);
        }
        log("listener deliveries and broker confirmations as expected (%d offsets)", produced.size());

        // The acknowledgements are broker state, not client state: a new consumer in the group gets only
        // the next record (a rejected or accepted one showing up here would come first, at a lower offset).
        Map<Long, String> s2 = produce(topic, List.of("ok-sentinel2"));
        long sentinel2 = s2.keySet().iterator().next();
        List<Long> got = new ArrayList<>();
        try (KafkaShareConsumer<String, String> c = ShareSupport.consumer(broker, group, "spring-orders-check",
                "explicit", topic)) {
            long tp = System.nanoTime();
            while (!got.contains(sentinel2)) {
                if (ms(tp) > 30_000) {
                    fail("sentinel2 (offset " + sentinel2 + ") not delivered within 30 s; got " + got);
                }
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    got.add(r.offset());
                    assertEquals(1, ShareSupport.deliveryCount(r), "deliveryCount of offset " + r.offset());
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
            }
            c.commitSync(Duration.ofSeconds(20)).forEach((tip, e) ->
                    assertTrue(e.isEmpty(), "commitSync error for " + tip + ": " + e));
        }
        assertEquals(List.of(sentinel2), got, "a new consumer in the group after the Spring app closed");
        log("new consumer got only offset %d; %s", sentinel2,
                seen.entrySet().stream().limit(6).map(Object::toString).collect(Collectors.joining(" ")));
    }
}
