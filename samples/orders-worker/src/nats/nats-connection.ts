import { connect, type NatsConnection as Nats } from '@nats-io/transport-node';
import { inject, injectable, LOGGER, onDestroy, onInit, type Logger } from 'quiesce';
import { CONFIG, type Config } from '../config.js';

/** The NATS connection: opened in `@onInit`, drained and closed in `@onDestroy`, after the stop phase. */
@injectable()
export class NatsConnection {
  #nc: Nats | undefined;

  constructor(
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly log: Logger,
  ) {}

  get nc(): Nats {
    if (this.#nc === undefined) throw new Error('NatsConnection: used before @onInit or after close');
    return this.#nc;
  }

  @onInit({ timeout: 10_000 })
  async open(): Promise<void> {
    this.#nc = await connect({ servers: this.config.natsUrl!, name: `orders-worker ${this.config.workerId}` });
    void this.#nc.closed().then((err) => {
      if (err) this.log.error({ err }, 'NATS connection closed with an error');
    });
  }

  @onDestroy()
  async close(): Promise<void> {
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) return;
    await nc.drain(); // flushes what is buffered, then closes
    this.log.info('NATS connection closed');
  }
}
