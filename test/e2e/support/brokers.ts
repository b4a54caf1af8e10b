/**
 * RabbitMQ and NATS JetStream for the end-to-end tests: reachability probes, publishing a batch of
 * messages with ids, and what is left on the broker afterwards. Every name is chosen by the test
 * (unique per run), and every wait here is bounded.
 */
import { connect as amqpConnect, type Channel } from 'amqplib';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, headers as natsHeaders } from '@nats-io/transport-node';
import { Client } from 'pg';

export const DEFAULT_URLS = {
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  NATS_URL: 'nats://127.0.0.1:4222',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
} as const;

export type ServiceName = keyof typeof DEFAULT_URLS;

/** The URL a test uses for `name`: the environment's, else the default of /work/wt/PLAN.md. */
export function serviceUrl(name: ServiceName): string {
  return process.env[name] || DEFAULT_URLS[name];
}

/** Resolves with why `name` is unusable, or undefined when a client connected to it. */
export async function probe(name: ServiceName, url = serviceUrl(name), timeoutMs = 3_000): Promise<string | undefined> {
  const attempt = async (): Promise<void> => {
    if (name === 'AMQP_URL') {
      const model = await amqpConnect(url, { timeout: timeoutMs });
      await model.close();
    } else if (name === 'NATS_URL') {
      const nc = await natsConnect({ servers: url, timeout: timeoutMs, reconnect: false });
      try {
        await jetstreamManager(nc, { timeout: timeoutMs }); // fails when the server runs without -js
      } finally {
        await nc.close();
      }
    } else {
      const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
      await client.connect();
      await client.end();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      attempt(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 500);
      }),
    ]);
    return undefined;
  } catch (err) {
    return `${name}=${redact(url)} is not reachable (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    clearTimeout(timer);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export interface OutgoingMessage {
  id: string;
  body: object;
}

/** Publishes to a durable queue (created if missing) with publisher confirms: resolves once RabbitMQ has every message. */
export async function publishAmqp(url: string, queue: string, messages: readonly OutgoingMessage[]): Promise<void> {
  const model = await amqpConnect(url);
  try {
    const channel = await model.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    for (const message of messages) {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(message.body)), {
        messageId: message.id,
        persistent: true,
        contentType: 'application/json',
      });
    }
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await model.close();
  }
}

/** Ready (not delivered, or requeued) messages in `queue`; rejects when there is no such queue. */
export async function amqpQueueDepth(url: string, queue: string): Promise<number> {
  return withChannel(url, async (channel) => (await channel.checkQueue(queue)).messageCount);
}

/** Deletes `queue` (RabbitMQ treats deleting a missing queue as done). */
export async function deleteQueue(url: string, queue: string): Promise<void> {
  await withChannel(url, (channel) => channel.deleteQueue(queue));
}

async function withChannel<T>(url: string, use: (channel: Channel) => Promise<T>): Promise<T> {
  const model = await amqpConnect(url);
  // a failed check (404) closes the channel with an 'error' event: the rejected call reports it
  model.on('error', () => undefined);
  try {
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    const result = await use(channel);
    await channel.close();
    return result;
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** Creates the stream on `subject` and publishes with `Nats-Msg-Id`; resolves once JetStream acknowledged every message. */
export async function publishJetStream(url: string, stream: string, subject: string, messages: readonly OutgoingMessage[]): Promise<void> {
  const nc = await natsConnect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject] });
    const js = jetstream(nc);
    const publishSubject = subject.replace(/\.>$/, '.created').replace(/\.\*$/, '.created');
    const CHUNK = 250;
    for (let i = 0; i < messages.length; i += CHUNK) {
      await Promise.all(
        messages.slice(i, i + CHUNK).map((message) => {
          const h = natsHeaders();
          h.set('Content-Type', 'application/json');
          return js.publish(publishSubject, JSON.stringify(message.body), { msgID: message.id, headers: h });
        }),
      );
    }
  } finally {
    await nc.close();
  }
}

export interface JetStreamConsumerState {
  /** Messages not yet delivered to the consumer. */
  pending: number;
  /** Delivered, not acked. */
  ackPending: number;
  /** Messages the server redelivered at least once (its own count). */
  redelivered: number;
}

export async function jetStreamConsumerState(url: string, stream: string, durable: string): Promise<JetStreamConsumerState> {
  const nc = await natsConnect({ servers: url });
  try {
    const info = await (await jetstreamManager(nc)).consumers.info(stream, durable);
    return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
  } finally {
    await nc.close();
  }
}

export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await natsConnect({ servers: url });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream);
  } finally {
    await nc.close();
  }
}
