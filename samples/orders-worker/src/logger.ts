import type { Logger } from 'pino';
import { token } from 'quiesce';

/** The worker's pino logger; quiesce logs through the same one. */
export const LOGGER = token<Logger>('Logger');
