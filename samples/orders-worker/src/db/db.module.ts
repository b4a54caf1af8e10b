import { Pool } from 'pg';
import { LOGGER, Module, token, type Logger } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import { createSchema } from './schema.js';

/** pg's `Pool` class is named `BoundPool` at runtime; a token gives the graph and the shutdown report a clear name. */
export const POOL = token<Pool>('Pool');

/**
 * The `pg` Pool, as a factory provider: created once, the schema made sure of in `init` (so startup
 * fails at once when PostgreSQL is unreachable), ended by `dispose`. `pool.end()` waits for clients
 * still checked out; by the time it runs the stop phase has finished every message, so none is.
 */
@Module({
  providers: [
    {
      provide: POOL,
      useFactory: (config: Config, log: Logger) => {
        const pool = new Pool({ connectionString: config.databaseUrl, max: config.poolSize });
        // An idle client losing its connection must not crash the process; the next query reconnects.
        pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL client failed'));
        return pool;
      },
      inject: [CONFIG, LOGGER],
      init: (pool: Pool) => createSchema(pool),
      dispose: (pool: Pool) => pool.end(),
    },
  ],
})
export class DbModule {}
