import { token } from 'quiesce';

/** Everything the worker reads from its environment, parsed once at startup. */
export interface Config {
  /** PostgreSQL (required): orders and the delivery log are written there. */
  databaseUrl: string;
  /** Set: consume the RabbitMQ queue `amqpQueue`. */
  amqpUrl: string | undefined;
  amqpQueue: string;
  /** Unacked messages RabbitMQ hands this worker at once (basic.qos on the consumer's channel). */
  amqpPrefetch: number;
  /** Set: consume the JetStream stream `natsStream` through the durable pull consumer `natsConsumer`. */
  natsUrl: string | undefined;
  natsStream: string;
  /** Subject the stream captures; the worker creates the stream on it when it does not exist. */
  natsSubject: string;
  natsConsumer: string;
  /** Messages pulled from JetStream at once (the most this worker holds unacked). */
  natsBatch: number;
  /** JetStream redelivers a message not acked within this many ms (the consumer's ack_wait). */
  natsAckWaitMs: number;
  /** Simulated processing time per message, before the database write (0 in production). */
  workMs: number;
  /** pg Pool size. */
  poolSize: number;
  /** Global shutdown deadline, from the first signal. */
  shutdownTimeoutMs: number;
  /**
   * 'graceful' (default): quiesce's phases. 'naive': what most workers do — on SIGTERM close the
   * broker connections and exit at once. Only there to measure the difference (see the e2e test).
   */
  shutdownMode: 'graceful' | 'naive';
  /** Written to every delivery row, to tell two workers' deliveries apart. Default: `pid-<pid>`. */
  workerId: string;
  logLevel: string;
}

export const CONFIG = token<Config>('Config');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  if (databaseUrl === undefined) throw new ConfigError('DATABASE_URL is required (e.g. postgres://postgres@127.0.0.1:5432/orders)');
  const config: Config = {
    databaseUrl,
    amqpUrl: nonEmpty(env.AMQP_URL),
    amqpQueue: nonEmpty(env.AMQP_QUEUE) ?? 'orders',
    amqpPrefetch: integer(env, 'AMQP_PREFETCH', 50, 2, 65_535),
    natsUrl: nonEmpty(env.NATS_URL),
    natsStream: nonEmpty(env.NATS_STREAM) ?? 'ORDERS',
    natsSubject: nonEmpty(env.NATS_SUBJECT) ?? 'orders.>',
    natsConsumer: nonEmpty(env.NATS_CONSUMER) ?? 'orders-worker',
    natsBatch: integer(env, 'NATS_BATCH', 50, 2, 10_000),
    natsAckWaitMs: integer(env, 'NATS_ACK_WAIT_MS', 30_000, 1_000, 3_600_000),
    workMs: integer(env, 'WORK_MS', 0, 0, 60_000),
    poolSize: integer(env, 'PG_POOL_SIZE', 10, 1, 1_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 1, 3_600_000),
    shutdownMode: oneOf(env, 'SHUTDOWN_MODE', ['graceful', 'naive'] as const, 'graceful'),
    workerId: nonEmpty(env.WORKER_ID) ?? `pid-${process.pid}`,
    logLevel: nonEmpty(env.LOG_LEVEL) ?? 'info',
  };
  if (config.amqpUrl === undefined && config.natsUrl === undefined) {
    throw new ConfigError('nothing to consume: set AMQP_URL (RabbitMQ), NATS_URL (NATS JetStream), or both');
  }
  return config;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${values.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}
