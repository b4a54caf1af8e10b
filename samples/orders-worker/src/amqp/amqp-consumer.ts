import type { Channel, ConsumeMessage } from 'amqplib';
import { inject, injectable, LOGGER, onDestroy, onStart, onStop, type HookContext, type Logger } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import { InFlight } from '../intake/in-flight.js';
import { WorkScopes } from '../intake/work-scopes.js';
import { InvalidMessageError, type Delivery } from '../orders/delivery.js';
import { OrderHandler } from '../orders/order-handler.js';
import { AmqpConnection } from './amqp-connection.js';

/**
 * Consumes the orders queue: intake, so it subscribes in `@onStart` and stops in `@onStop`.
 *
 * Manual ack with a prefetch of `AMQP_PREFETCH`: RabbitMQ hands over that many messages before the
 * first ack, and each is acked only after its transaction committed. On stop, `basic.cancel` ends
 * the deliveries; every message RabbitMQ sent before its cancel-ok has reached `#onMessage` by the
 * time `cancel()` resolves (one channel, frames in order), so waiting for the in-flight count to
 * reach zero finishes and acks all of them — and none goes back to the queue. The channel closes in
 * `@onDestroy`, before the connection (which this consumer depends on).
 */
@injectable()
export class AmqpConsumer {
  readonly inFlight = new InFlight();
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #acked = 0;
  /** Resolves once RabbitMQ confirmed the cancel (or the channel is gone): held acks may go out. */
  #cancelled: Promise<void> = Promise.resolve();
  #confirmCancel: () => void = () => {};

  constructor(
    private readonly connection: AmqpConnection,
    private readonly scopes: WorkScopes,
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly log: Logger,
  ) {}

  get acked(): number {
    return this.#acked;
  }

  @onStart({ timeout: 10_000 })
  async start(): Promise<void> {
    const { amqpQueue: queue, amqpPrefetch: prefetch } = this.config;
    const channel = await this.connection.model.createChannel();
    channel.on('error', (err: Error) => this.log.error({ err, queue }, 'RabbitMQ channel error'));
    this.#channel = channel;
    await channel.assertQueue(queue, { durable: true });
    await channel.prefetch(prefetch);
    const { consumerTag } = await channel.consume(queue, (msg) => this.#onMessage(channel, msg), { noAck: false });
    this.#consumerTag = consumerTag;
    this.#cancelled = new Promise((resolve) => (this.#confirmCancel = resolve));
    this.log.info({ queue, prefetch }, `consuming RabbitMQ queue ${queue}`);
  }

  @onStop({ timeout: 10_000 })
  async stop(ctx: HookContext): Promise<void> {
    this.scopes.abandon(ctx.reason);
    const channel = this.#channel;
    if (channel === undefined || this.#consumerTag === undefined) return;
    const tag = this.#consumerTag;
    this.#consumerTag = undefined;
    const ackedBefore = this.#acked;
    try {
      await channel.cancel(tag);
    } finally {
      this.#confirmCancel();
    }
    const held = this.inFlight.size;
    this.log.info({ broker: 'amqp', inFlight: held }, `RabbitMQ intake stopping: deliveries cancelled, ${held} message(s) in flight`);
    await this.inFlight.idle();
    const finished = this.#acked - ackedBefore;
    this.log.info({ broker: 'amqp', inFlightAtStop: held, finished, acked: this.#acked }, `RabbitMQ intake stopped: ${finished} message(s) finished and acked since the stop`);
  }

  /** The channel is this consumer's; the connection under it closes after it (it depends on the connection). */
  @onDestroy()
  async close(): Promise<void> {
    const channel = this.#channel;
    this.#channel = undefined;
    await channel?.close();
  }

  #onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.log.warn({ queue: this.config.amqpQueue }, 'RabbitMQ cancelled the consumer (queue deleted?)');
      return;
    }
    this.inFlight.track(this.#handle(channel, msg));
  }

  async #handle(channel: Channel, msg: ConsumeMessage): Promise<void> {
    const delivery: Delivery = {
      broker: 'amqp',
      messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : `amqp:${msg.fields.deliveryTag}`,
      body: msg.content,
      redelivered: msg.fields.redelivered,
      deliveryCount: undefined,
    };
    try {
      await using scope = await this.scopes.open();
      await scope.get(OrderHandler).handle(delivery);
      // While the app stops and the cancel is not confirmed, an ack would free a prefetch slot that RabbitMQ
      // may refill with one more message: hold it until the cancel-ok (see WorkScopes for why that matters).
      if (this.scopes.stopping) await this.#cancelled;
      channel.ack(msg); // after the commit: a crash before this line redelivers, the write is idempotent
      this.#acked++;
    } catch (err) {
      // A message that can never succeed is rejected (dead-lettered if the queue has a DLX), not requeued forever.
      const requeue = !(err instanceof InvalidMessageError);
      this.log.error({ err, messageId: delivery.messageId, requeue }, `order message failed; ${requeue ? 'requeued' : 'rejected'}`);
      try {
        channel.nack(msg, false, requeue);
      } catch {
        // the channel is gone: RabbitMQ requeues every unacked message by itself
      }
    }
  }
}
