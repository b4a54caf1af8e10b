/**
 * The rules every options check is made of. Each rule either returns or throws InvalidOptionsError
 * naming the option (as the user wrote it, e.g. `HttpModule.forRoot({ port })`) and the value it got.
 * Rules never throw anything else, whatever the value is (a Proxy, a symbol, an object without prototype).
 */
import { InvalidOptionsError } from '../errors.js';

export function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionsError(option, expected, value);
}

/** undefined, or an object that is not null, not an array and not a function. */
export function optionsObject(option: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainishObject(value)) fail(option, 'an object', value);
  return value as Record<string, unknown>;
}

export function isPlainishObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A number of milliseconds. `positive`: 0 is not enough (a deadline of 0 ms ends before it starts);
 * `unlimited`: Infinity is allowed and means "no limit" (CONTRACT §13).
 */
export function duration(option: string, value: unknown, rule: { positive: boolean; unlimited: boolean }): void {
  if (value === undefined) return;
  const okNumber = typeof value === 'number' && !Number.isNaN(value) && (rule.positive ? value > 0 : value >= 0);
  const okFinite = okNumber && (rule.unlimited || Number.isFinite(value));
  if (!okFinite) {
    fail(option, `a number of ms ${rule.positive ? '> 0' : '>= 0'}${rule.unlimited ? ' (Infinity: no limit)' : ', finite'}`, value);
  }
}

/** A TCP port: an integer from 0 (any free port) to 65535. */
export function port(option: string, value: unknown): void {
  if (value === undefined) return;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535)) {
    fail(option, 'an integer from 0 to 65535 (0: any free port)', value);
  }
}

export function nonEmptyString(option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0) fail(option, 'a non-empty string', value);
}

/** A URL path for a route: a string starting with '/'. */
export function routePath(option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !value.startsWith('/')) fail(option, "a path starting with '/'", value);
}

export function boolean(option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'boolean') fail(option, 'true or false', value);
}

export function func(option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'function') fail(option, 'a function', value);
}

export function object(option: string, value: unknown): void {
  if (value === undefined) return;
  if (!isPlainishObject(value)) fail(option, 'an object', value);
}

export function oneOf(option: string, value: unknown, allowed: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) fail(option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
}
