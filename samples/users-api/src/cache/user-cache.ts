import type { User } from '../users/user.js';

/**
 * Read-through cache of single users. Optional: without `REDIS_URL` nothing provides it and
 * `UserService` gets `undefined` (see `@optional()` there). Implementations never throw: a cache
 * that fails is a miss, not an error for the client.
 */
export abstract class UserCache {
  abstract get(id: number): Promise<User | undefined>;
  abstract set(user: User): Promise<void>;
  abstract invalidate(id: number): Promise<void>;
}
