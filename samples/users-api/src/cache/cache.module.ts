import { Module } from 'quiesce';
import type { Config } from '../config.js';
import { RedisUserCache } from './redis-user-cache.js';
import { UserCache } from './user-cache.js';

/** Provides `UserCache` only when `REDIS_URL` is set; otherwise nothing (the dependency is optional). */
@Module({})
export class CacheModule {
  static forRoot(config: Pick<Config, 'redisUrl'>) {
    return {
      module: CacheModule,
      providers: config.redisUrl === undefined ? [] : [{ provide: UserCache, useClass: RedisUserCache }],
    };
  }
}
