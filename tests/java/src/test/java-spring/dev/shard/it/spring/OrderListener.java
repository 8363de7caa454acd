package dev.shard.it.spring;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.support.ShareAcknowledgment;

/**
 * The orders listener. The business rule is in the value's prefix:
 * <ul>
 *   <li>{@code ok-…}: processed, {@link ShareAcknowledgment#acknowledge()} (ACCEPT);</li>
 *   <li>{@code retry-…}: fails transiently on its first delivery, {@link ShareAcknowledgment#release()}
 *       (RELEASE, the broker hands it out again with a higher delivery count); accepted on a later delivery;</li>
 *   <li>{@code poison-…}: can never be processed, {@link ShareAcknowledgment#reject()} (REJECT, archived).</li>
 * </ul>
 */
public class OrderListener {

    private final OrderLog log;

    public OrderListener(OrderLog log) {
        this.log = log;
    }

    @KafkaListener(id = "orders", topics = "${orders.topic}", groupId = "${orders.group}",
            containerFactory = OrdersShareApp.SHARE_FACTORY)
    public void onOrder(ConsumerRecord<String, String> record, ShareAcknowledgment ack) {
        short deliveryCount = record.deliveryCount().orElse((short) -1);
        String value = record.value();
        AcknowledgeType decision;
        if (value.startsWith("poison-")) {
            decision = AcknowledgeType.REJECT;
        } else if (value.startsWith("retry-") && deliveryCount <= 1) {
            decision = AcknowledgeType.RELEASE;
        } else {
            decision = AcknowledgeType.ACCEPT;
        }
        log.delivered(record, deliveryCount, decision);
        switch (decision) {
            case ACCEPT -> ack.acknowledge();
            case RELEASE -> ack.release();
            default -> ack.reject();
        }
    }
}
