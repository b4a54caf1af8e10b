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

/** `true` only if `Listed` names every key of `T` (else the type is `never` and the assignment fails to compile). */
export type EveryKey<T, Listed extends keyof T> = [Exclude<keyof T, Listed>] extends [never] ? true : never;

/**
 * Every string key of `options` is one of `known`. A misspelt option would otherwise be dropped without a
 * word: `shutdownTimout: 60_000` leaves the default 10 s deadline, found out at the first SIGKILL.
 * (Symbol keys are internal, e.g. createTestApp's.)
 */
export function knownKeys(where: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    const hint = near === undefined ? '' : `did you mean '${near}'? `;
    fail(`${where} '${key}'`, `no such option (${hint}known: ${known.join(', ')})`, options[key]);
  }
}

/** The known name closest to `key` in edit distance, if it is close enough to be a slip of the keyboard. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
