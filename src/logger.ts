import { pino, type Logger } from 'pino';
import { token } from './tokens.js';
import type { LoggerOption } from './types.js';

/**
 * quiesce's pino logger, for your services: `constructor(@inject(LOGGER) private log: Logger)`. Each class
 * (or factory) that injects it gets its own child of the app's logger, bound to `{ context: 'UserService' }`
 * (the class or provider name), so its lines say where they come from, as NestJS's and .NET's do. The app's
 * logger is the one the `logger` option of bootstrap builds or is given (silent under createTestApp unless
 * you pass one). `context` rather than `name`: pino's `name` is the root logger's, and a child binding of
 * the same key would print it twice.
 */
export const LOGGER = token<Logger>('Logger');

/**
 * One pino logger for quiesce and fastify, built from the `logger` option.
 * The loggers quiesce builds write synchronously: the last lines before a signal-started exit (the
 * shutdown summary with its report) must be neither lost nor overtaken, which pino's default
 * asynchronous destination allows. A logger passed in is used as it is.
 */
export function createLogger(option: LoggerOption | undefined): Logger {
  if (option === false) return pino({ level: 'silent' });
  if (option !== undefined && option !== true && isLogger(option)) return option;
  const options = option === undefined || option === true ? {} : option;
  if (options.transport) return pino({ name: 'quiesce', ...options }); // a transport brings its own stream
  return pino({ name: 'quiesce', ...options }, pino.destination({ dest: 1, sync: true }));
}

function isLogger(value: object): value is Logger {
  return typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function';
}

