import { Module } from 'quiesce';
import { JetStreamConsumer } from './jetstream-consumer.js';
import { NatsConnection } from './nats-connection.js';

/** NATS JetStream: the connection (a resource) and the pull consumer on it (intake). */
@Module({ providers: [NatsConnection, JetStreamConsumer] })
export class NatsModule {}
