import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { inject, injectable, LOGGER, onDestroy, onInit, type DestroyContext } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import type { User } from '../users/user.js';
import type { UserCache } from './user-cache.js';

const TTL_SECONDS = 300;

/** `UserCache` in Redis (`ioredis`): one JSON string per user under `<prefix>user:<id>`. */
@injectable()
export class RedisUserCache implements UserCache {
  readonly #redis: Redis;

  constructor(@inject(CONFIG) config: Config, @inject(LOGGER) private readonly log: Logger) {
    this.#redis = new Redis(config.redisUrl ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
      keyPrefix: config.redisKeyPrefix,
      // A request must not hang on a Redis outage: fail the command fast and serve from the database.
      maxRetriesPerRequest: 1,
      commandTimeout: 1_000,
    });
    this.#redis.on('error', (err) => this.log.warn({ err }, 'redis connection error'));
  }

  /** Startup fails if Redis is configured but unreachable. */
  @onInit()
  async connect(): Promise<void> {
    try {
      await this.#redis.connect();
    } catch (err) {
      // An instance whose init failed is not destroyed: stop the client's reconnect loop here.
      this.#redis.disconnect();
      throw err;
    }
  }

  async get(id: number): Promise<User | undefined> {
    try {
      const json = await this.#redis.get(key(id));
      return json === null ? undefined : (JSON.parse(json) as User);
    } catch (err) {
      this.log.warn({ err, id }, 'cache read failed');
      return undefined;
    }
  }

  async set(user: User): Promise<void> {
    try {
      await this.#redis.set(key(user.id), JSON.stringify(user), 'EX', TTL_SECONDS);
    } catch (err) {
      this.log.warn({ err, id: user.id }, 'cache write failed');
    }
  }

  async invalidate(id: number): Promise<void> {
    try {
      await this.#redis.del(key(id));
    } catch (err) {
      this.log.warn({ err, id }, 'cache invalidation failed');
    }
  }

  /**
   * Runs once everything that uses the cache is done (HTTP drained, UserService idle):
   * QUIT lets pending replies arrive; past the deadline the socket is dropped.
   */
  @onDestroy()
  async quit(ctx: DestroyContext): Promise<void> {
    const onAbort = () => this.#redis.disconnect();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#redis.quit();
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }
}

function key(id: number): string {
  return `user:${id}`;
}
