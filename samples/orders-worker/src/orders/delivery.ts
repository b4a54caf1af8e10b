/** One delivery of one message, whichever broker it came from. */
export interface Delivery {
  broker: 'amqp' | 'nats';
  /** The publisher's message id: RabbitMQ's `message-id` property, JetStream's `Nats-Msg-Id` header. */
  messageId: string;
  body: Uint8Array;
  /** RabbitMQ's `redelivered` flag; for JetStream, delivery count > 1. */
  redelivered: boolean;
  /** JetStream's delivery count (1 the first time); RabbitMQ classic queues do not count. */
  deliveryCount: number | undefined;
}

/** What an order message carries (JSON). */
export interface OrderMessage {
  customer: string;
  amountCents: number;
}

export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
}

export function parseOrder(delivery: Delivery): OrderMessage {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(delivery.body).toString('utf8'));
  } catch {
    throw new InvalidMessageError(`${delivery.broker} message ${delivery.messageId}: body is not JSON`);
  }
  const { customer, amountCents } = (value ?? {}) as Partial<OrderMessage>;
  if (typeof customer !== 'string' || customer === '' || !Number.isInteger(amountCents)) {
    throw new InvalidMessageError(
      `${delivery.broker} message ${delivery.messageId}: expected {"customer": string, "amountCents": integer}`,
    );
  }
  return { customer, amountCents: amountCents! };
}
