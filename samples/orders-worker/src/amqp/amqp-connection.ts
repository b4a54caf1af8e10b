import { connect, type ChannelModel } from 'amqplib';
import { inject, injectable, LOGGER, onDestroy, onInit, type Logger } from 'quiesce';
import { CONFIG, type Config } from '../config.js';

/**
 * The RabbitMQ connection: a resource, so it opens in `@onInit` and closes in `@onDestroy` — after
 * the stop phase, when every consumer on it has stopped and acked what it held.
 */
@injectable()
export class AmqpConnection {
  #model: ChannelModel | undefined;
  #closing = false;

  constructor(
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly log: Logger,
  ) {}

  get model(): ChannelModel {
    if (this.#model === undefined) throw new Error('AmqpConnection: used before @onInit or after close');
    return this.#model;
  }

  @onInit({ timeout: 10_000 })
  async open(): Promise<void> {
    const model = await connect(this.config.amqpUrl!, { clientProperties: { connection_name: `orders-worker ${this.config.workerId}` } });
    model.on('error', (err: Error) => this.log.error({ err }, 'RabbitMQ connection error'));
    model.on('close', (err?: Error) => {
      if (!this.#closing) this.log.error({ err }, 'RabbitMQ connection closed unexpectedly');
    });
    this.#model = model;
  }

  @onDestroy()
  async close(): Promise<void> {
    const model = this.#model;
    if (model === undefined || this.#closing) return;
    this.#closing = true;
    await model.close();
    this.log.info('RabbitMQ connection closed');
  }
}
