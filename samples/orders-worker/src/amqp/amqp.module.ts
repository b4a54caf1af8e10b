import { Module } from 'quiesce';
import { AmqpConnection } from './amqp-connection.js';
import { AmqpConsumer } from './amqp-consumer.js';

/** RabbitMQ: the connection (a resource) and the consumer on it (intake). */
@Module({ providers: [AmqpConnection, AmqpConsumer] })
export class AmqpModule {}
