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
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class CycleError extends QuiesceError {
  constructor(readonly path: readonly string[], detail: string) {
    super('QUIESCE_CYCLE', `Dependency cycle: ${path.join(' -> ')}${detail}`);
  }
}

export class MissingProviderError extends QuiesceError {
  constructor(message: string) {
    super('QUIESCE_MISSING_PROVIDER', message);
  }
}

export class DuplicateProviderError extends QuiesceError {
  constructor(message: string) {
    super('QUIESCE_DUPLICATE_PROVIDER', message);
  }
}

export class ScopeError extends QuiesceError {
  constructor(message: string) {
    super('QUIESCE_SCOPE', message);
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
  constructor(
    readonly option: string,
    expected?: string,
    value?: unknown,
  ) {
    super('QUIESCE_INVALID_OPTIONS', expected === undefined ? option : `Invalid ${option}: got ${showValue(value)}, expected ${expected}.`);
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
      `${what} is created asynchronously (async factory or init hook on ${path}); use app.getAsync() instead of app.get().`,
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
