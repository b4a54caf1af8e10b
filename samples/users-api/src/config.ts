import { resolve } from 'node:path';
import { token } from 'quiesce';

/** Everything the service reads from its environment, parsed once at startup. */
export interface Config {
  port: number;
  host: string;
  /** Set: use this PostgreSQL server through a `pg` Pool. Unset: embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** Set: cache `GET /users/:id` in Redis. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key this service writes, so services sharing a Redis don't collide. */
  redisKeyPrefix: string;
  /** Where PGlite keeps its files (absolute). */
  dataDir: string;
  /** Global shutdown deadline, from the first signal. */
  shutdownTimeoutMs: number;
  /** How long to keep serving (readiness 503) before closing the listener. */
  drainDelayMs: number;
  /** HEALTH_PORT: /readyz and /healthz on their own listener, open until shutdown has finished. */
  healthPort?: number;
  logLevel: string;
}

export const CONFIG = token<Config>('Config');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const config: Config = {
    port: integer(env, 'PORT', 3000, 0, 65_535),
    host: nonEmpty(env.HOST) ?? '127.0.0.1',
    databaseUrl: nonEmpty(env.DATABASE_URL),
    redisUrl: nonEmpty(env.REDIS_URL),
    redisKeyPrefix: nonEmpty(env.REDIS_KEY_PREFIX) ?? 'users-api:',
    dataDir: resolve(cwd, nonEmpty(env.DATA_DIR) ?? '.data/users-api'),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 1, 3_600_000),
    drainDelayMs: integer(env, 'DRAIN_DELAY_MS', 0, 0, 3_600_000),
    healthPort: nonEmpty(env.HEALTH_PORT) === undefined ? undefined : integer(env, 'HEALTH_PORT', 0, 0, 65_535),
    logLevel: nonEmpty(env.LOG_LEVEL) ?? 'info',
  };
  // quiesce counts the drain delay inside the shutdown deadline: leave time for the rest.
  if (config.drainDelayMs >= config.shutdownTimeoutMs) {
    throw new ConfigError(
      `DRAIN_DELAY_MS (${config.drainDelayMs}) must be less than SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs}): ` +
        'the delay is part of the shutdown deadline, and in-flight requests and the database need time after it',
    );
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
