import { HttpModule, Module } from 'quiesce';
import { AuditModule } from './audit/audit.module.js';
import { CacheModule } from './cache/cache.module.js';
import { CONFIG, type Config } from './config.js';
import { DbModule } from './db/db.module.js';
import { UsersModule } from './users/users.module.js';

export const READINESS_PATH = '/readyz';
export const LIVENESS_PATH = '/healthz';

/**
 * The root module. Which database and whether a cache exist depends on the environment, so the
 * module is built from the parsed config; everything below it is plain, static wiring.
 */
export function createAppModule(config: Config) {
  @Module({
    imports: [
      DbModule.forRoot(config),
      CacheModule.forRoot(config),
      AuditModule,
      UsersModule,
      HttpModule.forRoot({
        port: config.port,
        host: config.host,
        drainDelay: config.drainDelayMs,
        healthPort: config.healthPort,
        readinessPath: READINESS_PATH,
        livenessPath: LIVENESS_PATH,
      }),
    ],
    providers: [{ provide: CONFIG, useValue: config }],
  })
  class AppModule {}
  return AppModule;
}
