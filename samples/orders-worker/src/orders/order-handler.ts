import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { parseOrder, type Delivery } from './delivery.js';

/**
 * Handles one order message inside its scope: stores the order once per message id and records the
 * delivery, in one transaction. Request-scoped, like the `UnitOfWork` it uses.
 *
 * Idempotent on the message id (`on conflict do nothing`): a message redelivered after its commit
 * (the ack was lost with a connection) leaves the order as it was and only adds a delivery row.
 */
@injectable()
export class OrderHandler {
  constructor(
    private readonly uow: UnitOfWork,
    @inject(CONFIG) private readonly config: Config,
  ) {}

  /** Resolves once the transaction has committed: only then may the caller ack. Returns whether this delivery stored the order. */
  async handle(delivery: Delivery): Promise<boolean> {
    const order = parseOrder(delivery);
    if (this.config.workMs > 0) await sleep(this.config.workMs); // stands in for real work (an API call, a computation)
    return this.uow.transaction(async (query) => {
      // one round trip: store the order unless its id is known, and log this delivery either way
      const [row] = await query<{ stored: boolean }>(
        `with inserted as (
           insert into orders (message_id, broker, customer, amount_cents, stored_by)
           values ($1, $2, $3, $4, $5)
           on conflict (message_id) do nothing
           returning message_id
         )
         insert into deliveries (message_id, broker, worker, redelivered, delivery_count, stored)
         select $1, $2, $5, $6, $7, exists (select 1 from inserted)
         returning stored`,
        [delivery.messageId, delivery.broker, order.customer, order.amountCents, this.config.workerId, delivery.redelivered, delivery.deliveryCount ?? null],
      );
      return row?.stored ?? false;
    });
  }
}
