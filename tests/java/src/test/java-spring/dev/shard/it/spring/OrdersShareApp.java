package dev.shard.it.spring;

import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.config.ShareKafkaListenerContainerFactory;
import org.springframework.kafka.core.DefaultShareConsumerFactory;
import org.springframework.kafka.core.ShareConsumerFactory;
import org.springframework.kafka.listener.ContainerProperties;

/**
 * A small Spring for Apache Kafka (4.1) application that consumes an "orders" topic through a KIP-932
 * share group: plain Spring ({@code AnnotationConfigApplicationContext} + {@code @EnableKafka}), a
 * {@link DefaultShareConsumerFactory}, a {@link ShareKafkaListenerContainerFactory} in
 * {@link ContainerProperties.ShareAckMode#MANUAL} mode (the listener acknowledges every record itself through
 * {@code ShareAcknowledgment}) and one {@code @KafkaListener}, {@link OrderListener}.
 *
 * <p>Properties (from the environment): {@code shard.bootstrap}, {@code orders.topic}, {@code orders.group}.
 * Everything the app observes goes to the {@link OrderLog} bean, which the test reads.
 */
@Configuration
@EnableKafka
public class OrdersShareApp {

    /** Bean name of the share container factory, referenced by {@code @KafkaListener(containerFactory = ...)}. */
    public static final String SHARE_FACTORY = "shareKafkaListenerContainerFactory";

    @Bean
    public OrderLog orderLog() {
        return new OrderLog();
    }

    @Bean
    public ShareConsumerFactory<String, String> shareConsumerFactory(@Value("${shard.bootstrap}") String bootstrap) {
        Map<String, Object> props = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        return new DefaultShareConsumerFactory<>(props);
    }

    @Bean(name = SHARE_FACTORY)
    public ShareKafkaListenerContainerFactory<String, String> shareKafkaListenerContainerFactory(
            ShareConsumerFactory<String, String> shareConsumerFactory, OrderLog orderLog) {
        ShareKafkaListenerContainerFactory<String, String> factory =
                new ShareKafkaListenerContainerFactory<>(shareConsumerFactory);
        ContainerProperties cp = factory.getContainerProperties();
        // MANUAL: the client runs in share.acknowledgement.mode=explicit and the listener must call
        // acknowledge(), release() or reject() on every record.
        cp.setShareAckMode(ContainerProperties.ShareAckMode.MANUAL);
        // The broker's answer to every acknowledgement (sent with the next ShareFetch, a commit or close).
        cp.setAcknowledgementCommitCallback(orderLog::onAcknowledgementCommit);
        return factory;
    }

    @Bean
    public OrderListener orderListener(OrderLog orderLog) {
        return new OrderListener(orderLog);
    }
}
