/**
 * Publishes N order messages to whichever brokers are configured (AMQP_URL, NATS_URL), with the same
 * names the worker reads (AMQP_QUEUE, NATS_STREAM, NATS_SUBJECT). For trying the worker by hand:
 *
 *   node samples/orders-worker/dist/publish.js 500
 */
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { connect as amqpConnect } from 'amqplib';

const count = Number(process.argv[2] ?? '100');
if (!Number.isInteger(count) || count < 1) {
  console.error('usage: publish.js <count>   (a positive integer)');
  process.exit(1);
}
const env = (name: string, fallback?: string): string | undefined => process.env[name]?.trim() || fallback;
const orders = Array.from({ length: count }, (_, i) => ({ id: randomUUID(), body: JSON.stringify({ customer: `customer-${i % 10}`, amountCents: 100 + i }) }));

const amqpUrl = env('AMQP_URL');
if (amqpUrl !== undefined) {
  const queue = env('AMQP_QUEUE', 'orders')!;
  const model = await amqpConnect(amqpUrl);
  const channel = await model.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  for (const order of orders) channel.sendToQueue(queue, Buffer.from(order.body), { messageId: order.id, persistent: true });
  await channel.waitForConfirms();
  await model.close();
  console.log(`published ${count} order(s) to RabbitMQ queue ${queue}`);
}

const natsUrl = env('NATS_URL');
if (natsUrl !== undefined) {
  const stream = env('NATS_STREAM', 'ORDERS')!;
  const subject = env('NATS_SUBJECT', 'orders.>')!;
  const nc = await natsConnect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.info(stream).catch(() => jsm.streams.add({ name: stream, subjects: [subject] }));
  const js = jetstream(nc);
  const to = subject.replace(/\.[>*]$/, '.created');
  for (const order of orders) await js.publish(to, order.body, { msgID: order.id });
  await nc.close();
  console.log(`published ${count} order(s) to JetStream stream ${stream} (subject ${to})`);
}

if (amqpUrl === undefined && natsUrl === undefined) {
  console.error('set AMQP_URL, NATS_URL, or both');
  process.exit(1);
}
