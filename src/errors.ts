/**
 * The error catalogue. Every error quiesce throws is a QuiesceError with a stable `code`;
 * the README's error table lists every code below (a test keeps the two in sync).
 */
export const errorCodes = {
  QUIESCE_CYCLE: 'A dependency cycle between providers',
  QUIESCE_MISSING_PROVIDER: 'A dependency that no module provides',
  QUIESCE_DUPLICATE_PROVIDER: 'Two providers for one token',
  QUIESCE_SCOPE: 'A longer-lived provider would capture a request-scoped one',
  QUIESCE_INVALID_PROVIDER: 'A provider, module or class that cannot be used as written',
  QUIESCE_UNRESOLVABLE_PARAMETER: 'A constructor parameter with no usable type or token',
  QUIESCE_NO_REFLECT_METADATA: "reflect-metadata was not imported before quiesce's decorators ran",
  QUIESCE_INIT_FAILED: 'A factory, constructor or init hook failed during startup',
  QUIESCE_STARTUP_TIMEOUT: 'Startup did not finish before its deadline',
  QUIESCE_STARTUP_ABORTED: 'Startup was aborted (for example by a signal)',
  QUIESCE_HOOK_TIMEOUT: 'A lifecycle hook did not finish within its timeout',
  QUIESCE_STOPPING: 'The app is stopping or stopped; nothing new can be resolved',
  QUIESCE_ASYNC_RESOLUTION: 'get() was used for a provider that can only be created asynchronously',
  QUIESCE_NOT_FOUND: 'get() asked for a token the app does not provide',
  QUIESCE_INVALID_OPTIONS: 'An option of bootstrap, HttpModule or a hook decorator has an invalid value',
} as const;

export type QuiesceErrorCode = keyof typeof errorCodes;

export class QuiesceError extends Error {
  readonly code: QuiesceErrorCode;

  constructor(code: QuiesceErrorCode, message: string, options?: { cause?: unknown }) {
    super(bounded(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Message templates for the errors whose words depend on facts the graph finds (fastify's errors.js keeps
 * each template next to its code): throw sites pass the facts, the wording lives here. Paths stay whole
 * while they fit; whatever the graph's size, a message stays under `maxMessageChars`.
 */
export const messages = {
  QUIESCE_CYCLE: (path: readonly string[], members: readonly { name: string; module: string }[]): string =>
    `Dependency cycle: ${joinPath(path)}\n` +
    elideLines(
      members.map((m) => `  ${m.name} in ${m.module}`),
      (n) => `  ... ${n} more providers of the cycle (each listed once in the path above) ...`,
    ).join('\n') +
    '\n  Constructor injection cannot build a cycle: move what the providers share into a new provider they all depend on.',
  QUIESCE_MISSING_PROVIDER: (f: { token: string; requester: string; site: string; chain: readonly string[]; module: string; root: string }): string =>
    `No provider for ${f.token}, needed by ${f.requester} (${f.site}).\n` +
    `  Resolution path: ${joinPath(f.chain)}\n` +
    `  ${f.requester} is declared in ${f.module}.\n` +
    `  Add a provider for ${f.token} to a module that ${f.root} imports, or mark the dependency @optional().`,
  /** Two modules (`first`, `second`: each module and, for controllers, its list), or one module listing it twice. */
  QUIESCE_DUPLICATE_PROVIDER: (
    f: { token: string; first: string; second: string } | { token: string; module: string; lists: 'providers' | 'controllers' | 'both' },
  ): string =>
    `Two providers for ${f.token}: ` +
    ('module' in f
      ? f.lists === 'both'
        ? `${f.module} lists it under providers and under controllers; a controller is a provider already: list it under controllers only.`
        : `${f.module} lists it twice${f.lists === 'controllers' ? ' under controllers' : ''}.`
      : `one in ${f.first} and one in ${f.second}.`) +
    ' Keep one; to replace a provider in tests, use createTestApp(..., { overrides }).',
  /** A singleton that would capture a request-scoped provider; `path` items read `Name (scope)`. */
  QUIESCE_SCOPE: (f: { singleton: string; module: string; captured: string; path: readonly string[] }): string =>
    `${f.singleton} (singleton, ${f.module}) would capture request-scoped ${f.captured}: ${joinPath(f.path)}. A singleton outlives every request. ` +
    `Make ${f.singleton} request-scoped ({ provide: ${f.singleton}, useClass: ${f.singleton}, scope: 'request' }), or pass request data as method arguments.`,
  QUIESCE_INVALID_OPTIONS: (option: string, expected: string, value: unknown): string => `Invalid ${option}: got ${showValue(value)}, expected ${expected}.`,
} as const;

/** No message grows past this, however large the graph (a 5,000-provider cycle used to make a 135 kB line). */
const maxMessageChars = 60_000;
/** The share of it a path may take before its middle is elided (the whole path stays on the error's `path`). */
const maxPathChars = 48_000;
/** Listings (one line per provider) keep this many lines at each end. */
const listingEnds = 10;
const maxLineChars = 300;

/** `A -> B -> C`, whole while it fits in `maxPathChars`; beyond, its two ends and how many were left out. */
export function joinPath(names: readonly string[], budget = maxPathChars): string {
  let total = 0;
  for (const name of names) {
    total += name.length + 4;
    if (total > budget) break;
  }
  if (total <= budget) return names.join(' -> ');
  const half = Math.floor(budget / 2);
  const head: string[] = [];
  const tail: string[] = [];
  for (let used = 0, i = 0; i < names.length && used + names[i]!.length + 4 <= half; i++) {
    head.push(names[i]!);
    used += names[i]!.length + 4;
  }
  for (let used = 0, i = names.length - 1; i >= head.length && used + names[i]!.length + 4 <= half; i--) {
    tail.unshift(names[i]!);
    used += names[i]!.length + 4;
  }
  return [...head, `... (${names.length - head.length - tail.length} more) ...`, ...tail].join(' -> ');
}

/** A message cut in its middle to `maxMessageChars` (a user's error message can be of any size too). */
function bounded(message: string): string {
  if (message.length <= maxMessageChars) return message;
  const keep = Math.floor((maxMessageChars - 100) / 2);
  return `${message.slice(0, keep)}\n... (${message.length - 2 * keep} characters left out) ...\n${message.slice(-keep)}`;
}

/** The first and last `listingEnds` lines (each cut to `maxLineChars`), and one line saying how many were left out. */
function elideLines(lines: readonly string[], more: (count: number) => string): string[] {
  const cut = (line: string): string => (line.length > maxLineChars ? `${line.slice(0, maxLineChars - 3)}...` : line);
  if (lines.length <= 2 * listingEnds + 1) return lines.map(cut);
  return [...lines.slice(0, listingEnds).map(cut), more(lines.length - 2 * listingEnds), ...lines.slice(-listingEnds).map(cut)];
}

export class CycleError extends QuiesceError {
  /**
   * `path`: the whole cycle, first node repeated (`Alpha -> Beta -> Alpha`), however long.
   * `members`: each provider of the cycle once, with the module that declares it.
   */
  constructor(
    readonly path: readonly string[],
    members: readonly { name: string; module: string }[],
  ) {
    super('QUIESCE_CYCLE', messages.QUIESCE_CYCLE(path, members));
  }
}

export class MissingProviderError extends QuiesceError {
  constructor(facts: Parameters<typeof messages.QUIESCE_MISSING_PROVIDER>[0]) {
    super('QUIESCE_MISSING_PROVIDER', messages.QUIESCE_MISSING_PROVIDER(facts));
  }
}

export class DuplicateProviderError extends QuiesceError {
  constructor(facts: Parameters<typeof messages.QUIESCE_DUPLICATE_PROVIDER>[0]) {
    super('QUIESCE_DUPLICATE_PROVIDER', messages.QUIESCE_DUPLICATE_PROVIDER(facts));
  }
}

export class ScopeError extends QuiesceError {
  /** A whole message, or the facts of a singleton that would capture a request-scoped provider. */
  constructor(message: string | Parameters<typeof messages.QUIESCE_SCOPE>[0]) {
    super('QUIESCE_SCOPE', typeof message === 'string' ? message : messages.QUIESCE_SCOPE(message));
  }
}

export class InvalidProviderError extends QuiesceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('QUIESCE_INVALID_PROVIDER', message, options);
  }
}

/**
 * An option of bootstrap(), HttpModule.forRoot() or a hook decorator that cannot be used; the message
 * names option and value: `Invalid bootstrap option shutdownTimeout: got -5, expected a number of ms > 0`.
 * With only the first argument, it is the whole message.
 */
export class InvalidOptionsError extends QuiesceError {
  constructor(option: string, expected?: string, value?: unknown) {
    super('QUIESCE_INVALID_OPTIONS', expected === undefined ? option : messages.QUIESCE_INVALID_OPTIONS(option, expected, value));
  }
}

export class UnresolvableParameterError extends QuiesceError {
  constructor(message: string) {
    super('QUIESCE_UNRESOLVABLE_PARAMETER', message);
  }
}

export class NoReflectMetadataError extends QuiesceError {
  constructor() {
    super(
      'QUIESCE_NO_REFLECT_METADATA',
      "Reflect.getMetadata is not available: add `import 'reflect-metadata';` as the first line of your entry file " +
        '(before any decorated class is loaded).',
    );
  }
}

export class InitFailedError extends QuiesceError {
  constructor(readonly provider: string, cause: unknown, path?: string) {
    super('QUIESCE_INIT_FAILED', `Startup failed in ${provider}${path ? ` (${path})` : ''}: ${describe(cause)}`, { cause });
  }
}

export class StartupTimeoutError extends QuiesceError {
  constructor(readonly provider: string | undefined, timeoutMs: number, cause?: unknown) {
    super(
      'QUIESCE_STARTUP_TIMEOUT',
      provider
        ? `Startup timed out after ${timeoutMs} ms while ${provider} was starting. You may have forgotten to resolve a Promise in its factory or init hook.`
        : `Startup timed out after ${timeoutMs} ms.`,
      { cause },
    );
  }
}

export class StartupAbortedError extends QuiesceError {
  constructor(reason: string) {
    super('QUIESCE_STARTUP_ABORTED', `Startup aborted: ${reason}`);
  }
}

/** A hook or drain step that ran past its budget. The scheduler reports such a step as `timeout`. */
export class HookTimeoutError extends QuiesceError {
  constructor(readonly hook: string, readonly timeoutMs: number) {
    super(
      'QUIESCE_HOOK_TIMEOUT',
      `${hook} did not finish within ${timeoutMs} ms. You may have forgotten to resolve a Promise, or to honour ctx.signal.`,
    );
  }
}

export class StoppingError extends QuiesceError {
  constructor(what: string, state: string) {
    super('QUIESCE_STOPPING', `Cannot resolve ${what}: the app is ${state}.`);
  }
}

export class AsyncResolutionError extends QuiesceError {
  constructor(what: string, path: string) {
    super(
      'QUIESCE_ASYNC_RESOLUTION',
      `${what} is created asynchronously (an async factory or init hook on ${path} or on one of its transient dependencies, ` +
        'or a chain of transients more than 512 deep); use app.getAsync() instead of app.get().',
    );
  }
}

export class NotFoundError extends QuiesceError {
  constructor(what: string) {
    super('QUIESCE_NOT_FOUND', `No provider for ${what} in this app. Add it to the providers of a module that the root module imports.`);
  }
}

/**
 * One line for any thrown value, for messages and reports. Never throws, whatever was thrown: an object
 * without prototype or whose toString throws, a Proxy that throws on every trap, a symbol. (A describe
 * that threw inside a scheduler's catch left its promise pending forever: bootstrap never settled.)
 */
export function describe(error: unknown): string {
  try {
    if (error instanceof Error) {
      const message: unknown = error.message;
      return typeof message === 'string' ? message : showValue(message);
    }
    if (typeof error === 'string') return error;
    return String(error);
  } catch {
    // String() failed: an object without a usable toString. Its JSON is the next best thing.
    try {
      const json = JSON.stringify(error);
      if (typeof json === 'string' && json !== '{}') return json.length > 200 ? `${json.slice(0, 197)}...` : json;
    } catch {
      // cycles, BigInt, throwing getters or traps: fall through
    }
    return showValue(error);
  }
}

/**
 * A short, safe rendering of a value for a message: strings quoted, arrays shown (a few elements),
 * objects named by kind. Never throws, whatever the value (a Proxy, an object without prototype).
 */
export function showValue(value: unknown, depth = 0): string {
  try {
    switch (typeof value) {
      case 'string':
        return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
      case 'number':
      case 'boolean':
      case 'undefined':
        return String(value);
      case 'bigint':
        return `${value}n`;
      case 'symbol':
        return value.toString();
      case 'function':
        return `function ${value.name || '(anonymous)'}`;
    }
    if (value === null) return 'null';
    if (Array.isArray(value)) {
      if (depth > 0) return 'an array';
      const shown = (value as unknown[]).slice(0, 5).map((item) => showValue(item, depth + 1));
      if (value.length > 5) shown.push(`... ${value.length - 5} more`);
      return `[${shown.join(', ')}]`;
    }
    const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
    const kind = prototype?.constructor?.name;
    return typeof kind === 'string' && kind !== 'Object' && kind !== '' ? `an object (${kind})` : 'an object';
  } catch {
    return `a value that cannot be shown (${typeof value})`;
  }
}

/**
 * What to log as `err` for any thrown value: the value itself when it can be read the way pino's error
 * serializer reads it (its type, message, stack, own enumerable fields, the cause chain), else an
 * UnserializableThrownValue whose message is describe()'s. A Proxy that throws on every trap, or a getter
 * that throws, would make the log call itself throw, in a catch block or an uncaughtException handler,
 * where that turns one failure into a crash without a graceful shutdown. (No pino import here: the
 * process room uses it too and stays free of dependencies.)
 */
export function loggable(error: unknown): unknown {
  try {
    readAsTheSerializerDoes(error, 0);
    return error;
  } catch {
    return new UnserializableThrownValue(describe(error));
  }
}

/** Logged in place of a thrown value that cannot be read (its `type` in the log line). */
export class UnserializableThrownValue extends Error {}

function readAsTheSerializerDoes(value: unknown, depth: number): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || depth > 8) return;
  const record = value as Record<string, unknown>;
  void (value instanceof Error);
  void (record.constructor as { name?: unknown } | undefined)?.name;
  void [record.message, record.stack, record.name];
  for (const key in record) void record[key];
  readAsTheSerializerDoes(record.cause, depth + 1);
}
