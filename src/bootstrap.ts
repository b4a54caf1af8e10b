/**
 * bootstrap(): composes the parts. Validates the whole graph before creating anything, then
 * hands over to the App's state machine. No lifecycle logic lives here.
 */
import { QuiesceApp, type AppSettings } from './app/app.js';
import { Phases, type Participant } from './app/phases.js';
import { Container } from './container/container.js';
import { buildGraph } from './container/graph.js';
import { Module, type ModuleImport } from './container/module-decorator.js';
import { loadModules, type LoadedModule } from './container/modules.js';
import { checkControllersServed, withAppLogger, type Provider } from './container/providers.js';
import { NoReflectMetadataError } from './errors.js';
import { HTTP_OPTIONS } from './http/http-module.js';
import { HttpParticipant } from './http/participant.js';
import type { HttpModuleOptions } from './http/server.js';
import { createLogger } from './logger.js';
import { validateBootstrapOptions, validateHttpOptions } from './options/index.js';
import { installProcessHandlers } from './process/signals.js';
import { kTestingOptions } from './symbols.js';
import type { App, BootstrapOptions } from './types.js';

/** What createTestApp adds to the options. */
export interface TestingOptions {
  overrides: Provider[];
  listen: false;
}

type InternalOptions = BootstrapOptions & { [kTestingOptions]?: TestingOptions };

const defaults = {
  shutdownTimeout: 10_000,
  startupTimeout: 30_000,
  signals: ['SIGTERM', 'SIGINT'] as NodeJS.Signals[],
  exit: true,
  disposeConcurrency: 'graph' as const,
};

export async function bootstrap(root: ModuleImport, options: BootstrapOptions = {}): Promise<App> {
  if (typeof Reflect.getMetadata !== 'function') throw new NoReflectMetadataError();
  validateBootstrapOptions(options);
  const testing = (options as InternalOptions)[kTestingOptions];
  const settings = resolveSettings(options);
  const modules = loadModules(root);
  const graph = withAppLogger(settings.logger, () => buildGraph(modules, testing?.overrides, testing && overridesModule(modules)));
  checkControllersServed(graph.controllers.map((node) => node.def), graph.byToken.has(HTTP_OPTIONS));
  const container = new Container(graph, settings.logger, settings.shutdownTimeout, settings.disposeConcurrency);

  const httpOptions = graph.byToken.get(HTTP_OPTIONS)?.def.useValue as HttpModuleOptions | undefined;
  if (httpOptions !== undefined) validateHttpOptions(httpOptions, settings);
  const http = httpOptions
    ? new HttpParticipant({
        id: uniqueId('http', graph.nodes),
        options: testing ? { ...httpOptions, listen: false } : httpOptions,
        container,
        logger: settings.logger,
      })
    : undefined;
  const participants: Participant[] = http ? [http] : [];
  const phases = new Phases(container, participants, settings);
  const app = new QuiesceApp(container, phases, settings, http);

  const signals = options.signals ?? defaults.signals;
  const handlers =
    signals !== false && signals.length > 0
      ? installProcessHandlers({
          process,
          signals,
          exit: options.exit ?? defaults.exit,
          logger: settings.logger,
          shutdownTimeoutMs: settings.shutdownTimeout,
          target: { shutdown: (reason, deadline) => app.shutdown(reason, deadline) },
        })
      : undefined;
  if (handlers) void app.stopped.then(() => handlers.uninstall());

  try {
    await app.start();
  } catch (error) {
    // A signal during startup: the process exits (0 after a clean rollback) before this rejects.
    await handlers?.settled();
    throw error;
  }
  return app;
}

function resolveSettings(options: BootstrapOptions): AppSettings {
  // validated by validateBootstrapOptions (src/options/)
  return {
    shutdownTimeout: options.shutdownTimeout ?? defaults.shutdownTimeout,
    startupTimeout: options.startupTimeout ?? defaults.startupTimeout,
    disposeConcurrency: options.disposeConcurrency ?? defaults.disposeConcurrency,
    logger: createLogger(options.logger),
  };
}

/** A participant's node id, distinct from every provider's whatever tokens the user chose. */
function uniqueId(base: string, nodes: readonly { id: string }[]): string {
  const taken = new Set(nodes.map((node) => node.id));
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}#participant${n}`;
  return id;
}

@Module({})
class TestOverrides {}

function overridesModule(modules: readonly LoadedModule[]): LoadedModule {
  const root = modules[modules.length - 1]?.name ?? 'root';
  return { name: 'createTestApp overrides', path: [root, 'createTestApp overrides'], providers: [], controllers: [], moduleClass: TestOverrides };
}
