import type { Logger } from 'pino';
import { token } from 'quiesce';

/** The service's pino logger; quiesce and fastify log through the same one. */
export const LOGGER = token<Logger>('Logger');
