/**
 * validateHttpOptions: the options of HttpModule.forRoot() (CONTRACT §7, §12, §13), checked by bootstrap
 * before anything is created, together with the one cross-option rule: `drainDelay` must leave time,
 * inside `shutdownTimeout`, for the drain and the destroy phase.
 */
import type { HttpModuleOptions } from '../http/server.js';
import { boolean, duration, fail, func, knownKeys, type EveryKey, nonEmptyString, object, optionsObject, port, routePath } from './rules.js';

const defaultPort = 3000;
const where = 'HttpModule.forRoot option';
const known = ['port', 'host', 'fastify', 'drainDelay', 'drainTimeout', 'readinessPath', 'livenessPath', 'healthPort', 'setup', 'listen'] as const;
/** Compile-time check: a new option in HttpModuleOptions must be added to `known`. */
const everyHttpOption: EveryKey<HttpModuleOptions, (typeof known)[number]> = true;
void everyHttpOption;

export function validateHttpOptions(given: unknown, context: { shutdownTimeout: number }): void {
  const options = optionsObject('HttpModule.forRoot options', given);
  knownKeys(where, options, known);
  port(`${where} port`, options.port);
  port(`${where} healthPort`, options.healthPort);
  nonEmptyString(`${where} host`, options.host);
  object(`${where} fastify`, options.fastify);
  duration(`${where} drainDelay`, options.drainDelay, { positive: false, unlimited: false });
  duration(`${where} drainTimeout`, options.drainTimeout, { positive: false, unlimited: true });
  routePath(`${where} readinessPath`, options.readinessPath);
  routePath(`${where} livenessPath`, options.livenessPath);
  func(`${where} setup`, options.setup);
  boolean(`${where} listen`, options.listen);

  const mainPort = (options.port as number | undefined) ?? defaultPort;
  if (options.healthPort !== undefined && options.healthPort !== 0 && options.healthPort === mainPort) {
    fail(`${where} healthPort`, `a port other than the main port (${mainPort}), or 0 for any free port`, options.healthPort);
  }
  const readiness = (options.readinessPath as string | undefined) ?? '/readyz';
  const liveness = (options.livenessPath as string | undefined) ?? '/healthz';
  if (readiness === liveness) fail(`${where} livenessPath`, `a path other than readinessPath (${readiness})`, liveness);

  const drainDelay = options.drainDelay as number | undefined;
  if (drainDelay !== undefined && drainDelay > 0 && !(drainDelay < context.shutdownTimeout)) {
    fail(
      `${where} drainDelay`,
      `less than shutdownTimeout (${context.shutdownTimeout} ms): the drain and the destroy phase run inside the same deadline, ` +
        'so a drainDelay that uses it all up makes every shutdown time out before anything is destroyed',
      drainDelay,
    );
  }
}
