import 'reflect-metadata';
import { pino } from 'pino';
import { bootstrap } from 'quiesce';
import { createAppModule } from './app.module.js';
import { ConfigError, loadConfig, type Config } from './config.js';

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

const config = loadConfigOrExit();
// Synchronous stdout, like the logger quiesce builds by default: the lines written just before the process
// exits (quiesce's 'shutdown finished' line carries the whole report) must be neither lost nor overtaken.
// It is the app's logger: quiesce and fastify write to it, and services that inject LOGGER get a child of it.
const log = pino({ name: 'users-api', level: config.logLevel }, pino.destination({ dest: 1, sync: true }));

try {
  const app = await bootstrap(createAppModule(config), {
    shutdownTimeout: config.shutdownTimeoutMs,
    signals: SIGNALS,
    exit: true,
    logger: log,
  });
  log.info(
    {
      url: app.url,
      db: config.databaseUrl === undefined ? `pglite ${config.dataDir}` : 'postgres',
      cache: config.redisUrl === undefined ? 'none' : 'redis',
    },
    `users-api listening on ${app.url ?? '(no url)'}`,
  );
} catch (err) {
  log.fatal({ err }, 'users-api failed to start');
  process.exit(1);
}

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`users-api: ${err.message}`);
    process.exit(1);
  }
}
