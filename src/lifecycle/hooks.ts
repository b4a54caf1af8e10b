/**
 * @onInit / @onStart / @onStop / @onDestroy: method decorators that record lifecycle hooks on the class.
 * Hooks are inherited; a method overridden in a subclass is called once.
 *
 * Resources are opened by @onInit and released by @onDestroy; intake (a listener, a queue consumer, a
 * scheduler) is opened by @onStart once every @onInit is done, and stopped by @onStop before any
 * @onDestroy runs. Every hook receives a HookContext { signal, deadline, reason }.
 */
import { validateHookOptions } from '../options/index.js';
import { kDestroyHooks, kInitHooks, kStartHooks, kStopHooks } from '../symbols.js';
import type { HookOptions } from '../types.js';

export interface HookMethod {
  method: string | symbol;
  timeout?: number;
}

type HookKey = typeof kInitHooks | typeof kDestroyHooks | typeof kStartHooks | typeof kStopHooks;

function hookDecorator(key: HookKey, decoratorName: string, options: HookOptions = {}): MethodDecorator {
  validateHookOptions(decoratorName, options);
  return (prototype, method) => {
    const own: HookMethod[] = Object.prototype.hasOwnProperty.call(prototype, key)
      ? (prototype as Record<HookKey, HookMethod[]>)[key]
      : [];
    if (!Object.prototype.hasOwnProperty.call(prototype, key)) {
      Reflect.defineProperty(prototype, key, { value: own, enumerable: false });
    }
    own.push({ method, timeout: options.timeout });
  };
}

/** Runs once after the instance and the init hooks of everything it depends on. */
export function onInit(options?: HookOptions): MethodDecorator {
  return hookDecorator(kInitHooks, 'onInit', options);
}

/** Runs once during shutdown, after everything that depends on this instance is destroyed. */
export function onDestroy(options?: HookOptions): MethodDecorator {
  return hookDecorator(kDestroyHooks, 'onDestroy', options);
}

/**
 * Starts intake (subscribe, listen, schedule) on a singleton: after every @onInit of the app, and after
 * the start hooks of everything this instance depends on. A failing start rolls startup back.
 */
export function onStart(options?: HookOptions): MethodDecorator {
  return hookDecorator(kStartHooks, 'onStart', options);
}

/**
 * Stops intake on a singleton at shutdown (stop fetching, finish and ack what is in flight): in the stop
 * phase, after the stop steps of everything that depends on it (the HTTP drain counts as a dependent of
 * what its controllers use), and before any @onDestroy of the app runs.
 */
export function onStop(options?: HookOptions): MethodDecorator {
  return hookDecorator(kStopHooks, 'onStop', options);
}

export type HookKind = 'init' | 'start' | 'stop' | 'destroy';

const keys: Record<HookKind, HookKey> = { init: kInitHooks, start: kStartHooks, stop: kStopHooks, destroy: kDestroyHooks };
const caches: Record<HookKind, WeakMap<object, readonly HookMethod[]>> = {
  init: new WeakMap(),
  start: new WeakMap(),
  stop: new WeakMap(),
  destroy: new WeakMap(),
};

/** The hooks of one kind on an instance's class (and its bases). */
export function getHooks(instance: object, kind: HookKind): readonly HookMethod[] {
  return collect(Object.getPrototypeOf(instance) as object | null, keys[kind], caches[kind]);
}

export function getInitHooks(instance: object): readonly HookMethod[] {
  return getHooks(instance, 'init');
}

export function getDestroyHooks(instance: object): readonly HookMethod[] {
  return getHooks(instance, 'destroy');
}

/** Hooks declared on a class (and its bases), before any instance exists. */
export function getClassHooks(cls: { prototype: object }, kind: HookKind): readonly HookMethod[] {
  return collect(cls.prototype, keys[kind], caches[kind]);
}

const none: readonly HookMethod[] = Object.freeze([]);

function collect(prototype: object | null, key: HookKey, cache: WeakMap<object, readonly HookMethod[]>): readonly HookMethod[] {
  if (prototype === null) return none;
  const cached = cache.get(prototype);
  if (cached) return cached;
  const chain: object[] = [];
  for (let p: object | null = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) chain.push(p);
  const byMethod = new Map<string | symbol, HookMethod>();
  // base classes first, so a subclass's options for an overridden method win and order follows declaration
  for (const p of chain.reverse()) {
    if (!Object.prototype.hasOwnProperty.call(p, key)) continue;
    for (const hook of (p as Record<HookKey, HookMethod[]>)[key]) byMethod.set(hook.method, hook);
  }
  const hooks = byMethod.size === 0 ? none : Object.freeze([...byMethod.values()]);
  cache.set(prototype, hooks);
  return hooks;
}
