import { pino, type Logger } from 'pino';
import { describe } from './errors.js';
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

/**
 * What to log as `err` for any thrown value: the value itself when pino's error serializer can read it,
 * else an UnserializableThrownValue error whose message is describe()'s. A Proxy that throws on every trap (or a getter that throws) would
 * make the log call itself throw, in a catch block or an uncaughtException handler, where that turns one
 * failure into a crash without a graceful shutdown.
 */
export function loggable(error: unknown): unknown {
  try {
    pino.stdSerializers.err(error as Error); // reads what pino will read: a throwing trap throws here
    return error;
  } catch {
    return new UnserializableThrownValue(describe(error));
  }
}

/** Logged in place of a thrown value pino cannot read (its `type` in the log line). */
class UnserializableThrownValue extends Error {}
