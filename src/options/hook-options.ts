/**
 * Hook decorator options (@onInit, @onStart, @onStop, @onDestroy): checked where the decorator is applied,
 * so a bad timeout fails when the class is defined, naming the decorator.
 */
import { duration, optionsObject } from './rules.js';

/** `timeout`: ms > 0, or Infinity (no limit, as when it is left out). */
export function validateHookTimeout(decorator: string, value: unknown): void {
  duration(`@${decorator}() option timeout`, value, { positive: true, unlimited: true });
}

/** The whole options argument: undefined or an object (`@onInit(5000)` is a mistake, not a timeout). */
export function validateHookOptions(decorator: string, options: unknown): void {
  const given = optionsObject(`@${decorator}() options`, options);
  validateHookTimeout(decorator, given.timeout);
}
