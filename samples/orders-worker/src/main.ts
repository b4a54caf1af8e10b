import 'reflect-metadata';
import { pino } from 'pino';
import { bootstrap } from 'quiesce';
import { createAppModule } from './app.module.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { WorkScopes } from './intake/work-scopes.js';
import { installNaiveShutdown } from './naive-shutdown.js';

const config = loadConfigOrExit();
// Synchronous stdout, like the logger quiesce builds by default: the shutdown summary written just
// before the process exits must be neither lost nor overtaken.
const log = pino(
  { name: 'orders-worker', level: config.logLevel, base: { pid: process.pid, worker: config.workerId } },
  pino.destination({ dest: 1, sync: true }),
);
const naive = config.shutdownMode === 'naive';

try {
  const app = await bootstrap(createAppModule(config), {
    shutdownTimeout: config.shutdownTimeoutMs,
    signals: naive ? false : ['SIGTERM', 'SIGINT'],
    exit: true,
    logger: log,
  });
  app.get(WorkScopes).attach(app);
  if (naive) installNaiveShutdown(app, config, log);
  log.info(
    {
      amqp: config.amqpUrl === undefined ? undefined : { queue: config.amqpQueue, prefetch: config.amqpPrefetch },
      nats: config.natsUrl === undefined ? undefined : { stream: config.natsStream, consumer: config.natsConsumer, batch: config.natsBatch },
      shutdownMode: config.shutdownMode,
    },
    'orders-worker consuming',
  );
} catch (err) {
  log.fatal({ err }, 'orders-worker failed to start');
  process.exit(1);
}

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`orders-worker: ${err.message}`);
    process.exit(1);
  }
}
