import { pino, type Logger } from 'pino';
import type { LoggerOption } from './types.js';

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
