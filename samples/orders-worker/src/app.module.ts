import { Module, type ModuleImport } from 'quiesce';
import { AmqpModule } from './amqp/amqp.module.js';
import { CONFIG, type Config } from './config.js';
import { DbModule } from './db/db.module.js';
import { WorkScopes } from './intake/work-scopes.js';
import { NatsModule } from './nats/nats.module.js';
import { OrdersModule } from './orders/orders.module.js';

/**
 * The root module: which brokers are consumed depends on the environment (AMQP_URL, NATS_URL).
 * The logger is quiesce's LOGGER: the one main.ts passes to bootstrap, a child per class that injects it.
 */
export function createAppModule(config: Config) {
  const brokers: ModuleImport[] = [];
  if (config.amqpUrl !== undefined) brokers.push(AmqpModule);
  if (config.natsUrl !== undefined) brokers.push(NatsModule);

  @Module({
    imports: [DbModule, OrdersModule, ...brokers],
    providers: [
      { provide: CONFIG, useValue: config },
      WorkScopes,
    ],
  })
  class AppModule {}
  return AppModule;
}
