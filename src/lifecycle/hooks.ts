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

/** The hooks of every kind declared on one class (and its bases). */
export type ClassHooks = Readonly<Record<HookKind, readonly HookMethod[]>>;

const none: readonly HookMethod[] = Object.freeze([]);
const noClassHooks: ClassHooks = Object.freeze({ init: none, start: none, stop: none, destroy: none });
/** One entry per class that declares hooks: the container asks for its four kinds at every creation. */
const cache = new WeakMap<object, ClassHooks>();

/** Every kind of hook on an instance's class (and its bases). */
export function getAllHooks(instance: object): ClassHooks {
  return classHooks(Object.getPrototypeOf(instance) as object | null);
}

/** Every kind of hook declared on a class (and its bases). */
export function getAllClassHooks(cls: { prototype: object }): ClassHooks {
  return classHooks(cls.prototype);
}

/** Hooks declared on a class (and its bases), before any instance exists. */
export function getClassHooks(cls: { prototype: object }, kind: HookKind): readonly HookMethod[] {
  return classHooks(cls.prototype)[kind];
}

/**
 * Most classes declare no hook at all: four `in` checks (native walks up the prototype chain) say so
 * without a cache entry, so a bootstrap of fresh classes (tests, one app per test) pays no WeakMap
 * insertion for them. A class with hooks is looked at once, for all four kinds.
 */
function classHooks(prototype: object | null): ClassHooks {
  if (prototype === null) return noClassHooks;
  if (!(kInitHooks in prototype) && !(kStartHooks in prototype) && !(kStopHooks in prototype) && !(kDestroyHooks in prototype)) return noClassHooks;
  let hooks = cache.get(prototype);
  if (hooks === undefined) {
    hooks = Object.freeze({
      init: collect(prototype, kInitHooks),
      start: collect(prototype, kStartHooks),
      stop: collect(prototype, kStopHooks),
      destroy: collect(prototype, kDestroyHooks),
    });
    cache.set(prototype, hooks);
  }
  return hooks;
}

function collect(prototype: object, key: HookKey): readonly HookMethod[] {
  if (!(key in prototype)) return none;
  const chain: object[] = [];
  for (let p: object | null = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) chain.push(p);
  const byMethod = new Map<string | symbol, HookMethod>();
  // base classes first, so a subclass's options for an overridden method win and order follows declaration
  for (const p of chain.reverse()) {
    if (!Object.prototype.hasOwnProperty.call(p, key)) continue;
    for (const hook of (p as Record<HookKey, HookMethod[]>)[key]) byMethod.set(hook.method, hook);
  }
  return byMethod.size === 0 ? none : Object.freeze([...byMethod.values()]);
}
