import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { inject, injectable, LOGGER, onStart, onStop, type HookContext, type Logger } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import { InFlight } from '../intake/in-flight.js';
import { WorkScopes } from '../intake/work-scopes.js';
import { InvalidMessageError, type Delivery } from '../orders/delivery.js';
import { OrderHandler } from '../orders/order-handler.js';
import { NatsConnection } from './nats-connection.js';

/** How long one pull waits on an empty stream (JetStream's minimum): the longest a stop waits for a pull. */
const PULL_EXPIRES_MS = 1_000;

/**
 * Consumes the orders stream through a durable pull consumer with explicit ack: intake, so it starts
 * pulling in `@onStart` and stops in `@onStop`.
 *
 * Each pull (`fetch`) asks for as many messages as there are free slots (at most `NATS_BATCH` held
 * unacked), and every message a pull returns is handled. On stop no new pull is issued; the one
 * outstanding is read to its end (it ends when full or after `PULL_EXPIRES_MS`), because a message the
 * server already sent to it would otherwise sit unacked until `ack_wait` and come back as a
 * redelivery. Then the in-flight messages finish and are acked (`ackAck`: the server confirmed it).
 */
@injectable()
export class JetStreamConsumer {
  readonly inFlight = new InFlight();
  #consumer: Consumer | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #acked = 0;
  /** Wakes the pull loop when it waits for free slots and the consumer stops. */
  #wake: (() => void) | undefined;

  constructor(
    private readonly connection: NatsConnection,
    private readonly scopes: WorkScopes,
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly log: Logger,
  ) {}

  get acked(): number {
    return this.#acked;
  }

  @onStart({ timeout: 10_000 })
  async start(): Promise<void> {
    const { natsStream: stream, natsSubject: subject, natsConsumer: durable, natsBatch: batch, natsAckWaitMs } = this.config;
    const nc = this.connection.nc;
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({ name: stream, subjects: [subject] });
    }
    // add is idempotent for an identical config; a durable that exists with another config is an error worth seeing
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(natsAckWaitMs),
      max_ack_pending: Math.max(batch * 2, 1_000),
    });
    this.#consumer = await jetstream(nc).consumers.get(stream, durable);
    this.#loop = this.#pull(this.#consumer);
    this.log.info({ stream, consumer: durable, batch }, `consuming JetStream stream ${stream} (durable ${durable})`);
  }

  @onStop({ timeout: 10_000 })
  async stop(ctx: HookContext): Promise<void> {
    this.scopes.abandon(ctx.reason);
    this.#stopping = true;
    this.#wake?.();
    const held = this.inFlight.size;
    const ackedBefore = this.#acked;
    this.log.info({ broker: 'nats', inFlight: held }, `JetStream intake stopping: ${held} message(s) in flight, the outstanding pull to read to its end`);
    await this.#loop;
    await this.inFlight.idle();
    const finished = this.#acked - ackedBefore;
    this.log.info({ broker: 'nats', inFlightAtStop: held, finished, acked: this.#acked }, `JetStream intake stopped: ${finished} message(s) finished and acked since the stop`);
  }

  async #pull(consumer: Consumer): Promise<void> {
    const batch = this.config.natsBatch;
    const refill = Math.max(1, Math.floor(batch / 2));
    while (!this.#stopping && !this.scopes.stopping) {
      // wait until half the slots are free: fewer, fuller pulls
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        void this.inFlight.below(batch - refill).then(resolve);
      });
      this.#wake = undefined;
      // the app stops before this consumer's @onStop runs: no new pull from that moment (see WorkScopes)
      if (this.#stopping || this.scopes.stopping) break;
      try {
        const messages = await consumer.fetch({ max_messages: batch - this.inFlight.size, expires: PULL_EXPIRES_MS });
        for await (const msg of messages) this.inFlight.track(this.#handle(msg));
      } catch (err) {
        if (this.#stopping) break;
        this.log.error({ err }, 'JetStream pull failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, PULL_EXPIRES_MS));
      }
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    const delivery: Delivery = {
      broker: 'nats',
      messageId: msg.headers?.get('Nats-Msg-Id') || `${msg.info.stream}:${msg.seq}`,
      body: msg.data,
      redelivered: msg.info.deliveryCount > 1,
      deliveryCount: msg.info.deliveryCount,
    };
    try {
      await using scope = await this.scopes.open();
      await scope.get(OrderHandler).handle(delivery);
      await msg.ackAck(); // after the commit; resolves once the server has the ack
      this.#acked++;
    } catch (err) {
      // A message that can never succeed is terminated (no redelivery); any other failure is retried.
      const invalid = err instanceof InvalidMessageError;
      this.log.error({ err, messageId: delivery.messageId }, `order message failed; ${invalid ? 'terminated' : 'nak (JetStream redelivers it)'}`);
      try {
        if (invalid) msg.term();
        else msg.nak();
      } catch {
        // the connection is gone: the server redelivers after ack_wait
      }
    }
  }
}
