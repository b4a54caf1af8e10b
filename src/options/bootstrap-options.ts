/**
 * validateBootstrapOptions: the options of bootstrap() (CONTRACT §4, §13), checked before anything is
 * created. Timeouts may be Infinity (no limit); signals must be names this platform knows and a
 * process can catch.
 */
import { constants } from 'node:os';
import type { BootstrapOptions } from '../types.js';
import { boolean, duration, fail, isPlainishObject, knownKeys, oneOf, optionsObject, type EveryKey } from './rules.js';

const known = ['shutdownTimeout', 'startupTimeout', 'signals', 'exit', 'logger', 'disposeConcurrency'] as const;
/** Compile-time check: a new option in BootstrapOptions must be added to `known`. */
const everyBootstrapOption: EveryKey<BootstrapOptions, (typeof known)[number]> = true;
void everyBootstrapOption;

/** Signals a process cannot install a handler for: process.on() throws EINVAL for them. */
const uncatchable: ReadonlySet<string> = new Set(['SIGKILL', 'SIGSTOP']);

export function validateBootstrapOptions(given: unknown): void {
  const options = optionsObject('bootstrap options', given);
  knownKeys('bootstrap option', options, known);
  duration('bootstrap option shutdownTimeout', options.shutdownTimeout, { positive: true, unlimited: true });
  duration('bootstrap option startupTimeout', options.startupTimeout, { positive: true, unlimited: true });
  signals(options.signals);
  boolean('bootstrap option exit', options.exit);
  logger(options.logger);
  oneOf('bootstrap option disposeConcurrency', options.disposeConcurrency, ['graph', 'sequential']);
}

function signals(value: unknown): void {
  const option = 'bootstrap option signals';
  if (value === undefined || value === false) return;
  if (!Array.isArray(value)) fail(option, "an array of signal names (e.g. ['SIGTERM', 'SIGINT']) or false", value);
  for (const [index, name] of (value as unknown[]).entries()) {
    const at = `${option}[${index}]`;
    if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(constants.signals, name)) {
      fail(at, `a signal name this platform knows (e.g. 'SIGTERM', 'SIGINT', 'SIGHUP')`, name);
    }
    if (uncatchable.has(name)) fail(at, `a signal a process can catch (${[...uncatchable].join(' and ')} cannot be caught)`, name);
  }
}

/** true | false | pino options (an object) | a pino logger (an object with child() and info()). */
function logger(value: unknown): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (!isPlainishObject(value)) fail('bootstrap option logger', 'true, false, pino options (an object) or a pino logger', value);
}
