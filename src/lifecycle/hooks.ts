/**
 * @onInit / @onDestroy: method decorators that record lifecycle hooks on the class.
 * Hooks are inherited; a method overridden in a subclass is called once.
 */
import { validateHookOptions } from '../options/index.js';
import { kDestroyHooks, kInitHooks } from '../symbols.js';
import type { HookOptions } from '../types.js';

export interface HookMethod {
  method: string | symbol;
  timeout?: number;
}

type HookKey = typeof kInitHooks | typeof kDestroyHooks;

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

const initCache = new WeakMap<object, readonly HookMethod[]>();
const destroyCache = new WeakMap<object, readonly HookMethod[]>();

export function getInitHooks(instance: object): readonly HookMethod[] {
  return collect(Object.getPrototypeOf(instance) as object | null, kInitHooks, initCache);
}

export function getDestroyHooks(instance: object): readonly HookMethod[] {
  return collect(Object.getPrototypeOf(instance) as object | null, kDestroyHooks, destroyCache);
}

/** Hooks declared on a class (and its bases), before any instance exists. */
export function getClassHooks(cls: { prototype: object }, kind: 'init' | 'destroy'): readonly HookMethod[] {
  return kind === 'init' ? collect(cls.prototype, kInitHooks, initCache) : collect(cls.prototype, kDestroyHooks, destroyCache);
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
