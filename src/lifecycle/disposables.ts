/**
 * What counts as a Disposable, and the parts of its one destroy step, in contract order:
 * its @onDestroy methods, then [Symbol.asyncDispose] or [Symbol.dispose], then the provider's dispose.
 * A useValue is not owned: only the provider's dispose (if any) runs for it.
 * Init parts mirror this: @onInit methods, then the provider's init.
 */
import type { ProviderDef } from '../container/providers.js';
import { getClassHooks, getDestroyHooks, getInitHooks } from './hooks.js';
import type { StepPart } from './tasks.js';

const noParts: readonly StepPart[] = Object.freeze([]);

export function destroyParts(instance: unknown, def: ProviderDef, name: string): readonly StepPart[] {
  const owned = def.kind !== 'value' && isObject(instance) ? instance : undefined;
  const hooks = owned ? getDestroyHooks(owned) : [];
  const dispose = owned ? disposeMethod(owned) : undefined;
  if (hooks.length === 0 && !dispose && !def.dispose) return noParts;
  const parts: StepPart[] = hooks.map((hook) => ({
    label: `${name}.${String(hook.method)}()`,
    timeout: hook.timeout,
    run: (ctx) => callMethod(owned!, hook.method, ctx),
  }));
  if (owned && dispose) parts.push({ label: `${name}[${dispose.description}]()`, run: () => callMethod(owned, dispose) });
  const providerDispose = def.dispose;
  if (providerDispose) parts.push({ label: `${name} dispose()`, run: (ctx) => providerDispose(instance, ctx) });
  return parts;
}

export function initParts(instance: unknown, def: ProviderDef, name: string): readonly StepPart[] {
  const owned = def.kind !== 'value' && isObject(instance) ? instance : undefined;
  const hooks = owned ? getInitHooks(owned) : [];
  if (hooks.length === 0 && !def.init) return noParts;
  const parts: StepPart[] = hooks.map((hook) => ({
    label: `${name}.${String(hook.method)}()`,
    timeout: hook.timeout,
    run: (ctx) => callMethod(owned!, hook.method, ctx),
  }));
  const providerInit = def.init;
  if (providerInit) parts.push({ label: `${name} init()`, run: (ctx) => providerInit(instance, ctx) });
  return parts;
}

/** Whether instances of a class provider will be Disposable, known before any is created. */
export function classIsDisposable(def: ProviderDef): boolean | undefined {
  if (def.dispose) return true;
  if (def.kind === 'value') return false;
  if (def.kind !== 'class' || !def.useClass) return undefined; // a factory's result is known only once made
  const prototype = def.useClass.prototype as object;
  return getClassHooks(def.useClass, 'destroy').length > 0 || disposeMethod(prototype) !== undefined;
}

/** Whether a class provider has init work, so creating it is asynchronous. */
export function classHasInit(def: ProviderDef): boolean {
  if (def.init) return true;
  return def.kind === 'class' && !!def.useClass && getClassHooks(def.useClass, 'init').length > 0;
}

function disposeMethod(instance: object): typeof Symbol.asyncDispose | typeof Symbol.dispose | undefined {
  const record = instance as Record<symbol, unknown>;
  if (typeof record[Symbol.asyncDispose] === 'function') return Symbol.asyncDispose;
  if (typeof record[Symbol.dispose] === 'function') return Symbol.dispose;
  return undefined;
}

function callMethod(instance: object, method: string | symbol, ...args: unknown[]): unknown {
  return (instance as Record<string | symbol, (...a: unknown[]) => unknown>)[method]!(...args);
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
