import type { App, Logger } from 'quiesce';
import { AmqpConnection } from './amqp/amqp-connection.js';
import { AmqpConsumer } from './amqp/amqp-consumer.js';
import type { Config } from './config.js';
import { JetStreamConsumer } from './nats/jetstream-consumer.js';
import { NatsConnection } from './nats/nats-connection.js';

/**
 * SHUTDOWN_MODE=naive: the baseline the e2e test measures quiesce against, and what a worker without
 * phases typically does on SIGTERM — close the broker connections, exit. Messages in flight are
 * abandoned: committed ones lose their ack (the broker redelivers them; the idempotent write turns
 * the duplicate into a no-op), uncommitted ones roll back. Do not use it for anything else.
 */
export function installNaiveShutdown(app: App, config: Config, log: Logger): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    const amqp = config.amqpUrl === undefined ? undefined : app.get(AmqpConsumer);
    const nats = config.natsUrl === undefined ? undefined : app.get(JetStreamConsumer);
    log.warn(
      { mode: 'naive', signal, amqpInFlight: amqp?.inFlight.size, natsInFlight: nats?.inFlight.size },
      'naive shutdown: closing the broker connections now, abandoning the messages in flight',
    );
    const closing: Promise<unknown>[] = [];
    if (amqp !== undefined) closing.push(app.get(AmqpConnection).close());
    if (nats !== undefined) closing.push(app.get(NatsConnection).nc.close());
    void Promise.allSettled(closing).then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
