import { pino, type Logger } from 'pino';
import type { LoggerOption } from './types.js';

/** One pino logger for quiesce and fastify, built from the `logger` option. */
export function createLogger(option: LoggerOption | undefined): Logger {
  if (option === undefined || option === true) return pino({ name: 'quiesce' });
  if (option === false) return pino({ level: 'silent' });
  if (isLogger(option)) return option;
  return pino({ name: 'quiesce', ...option });
}

function isLogger(value: object): value is Logger {
  return typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function';
}
