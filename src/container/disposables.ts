/**
 * What counts as a Disposable, and the parts of its one destroy step, in contract order:
 * its @onDestroy methods, then [Symbol.asyncDispose] or [Symbol.dispose], then the provider's dispose.
 * A useValue is not owned: only the provider's dispose (if any) runs for it.
 * Init parts mirror this: @onInit methods, then the provider's init.
 */
import { getAllClassHooks, getAllHooks, getClassHooks, type ClassHooks, type HookKind, type HookMethod } from '../lifecycle/hooks.js';
import type { StepPart } from '../lifecycle/tasks.js';
import type { ProviderDef } from './providers.js';

const noParts: readonly StepPart[] = Object.freeze([]);

export function destroyParts(instance: unknown, def: ProviderDef, name: string): readonly StepPart[] {
  const owned = def.kind !== 'value' && isObject(instance) ? instance : undefined;
  const hooks = owned ? hooksOf(owned, def, 'destroy') : noHooks;
  const dispose = owned ? disposeMethod(owned) : undefined;
  if (hooks.length === 0 && !dispose && !def.dispose) return noParts;
  const parts: StepPart[] = [];
  for (const hook of hooks) parts.push(new MethodPart(owned!, hook.method, name, hook.timeout, false));
  if (owned && dispose) parts.push(new MethodPart(owned, dispose, name, undefined, true));
  if (def.dispose) parts.push(new ProviderFunctionPart(def.dispose, instance, `${name} dispose()`));
  return parts;
}

/**
 * The hooks of an instance: from its provider when it is an instance of useClass itself (the common case,
 * one property read), else from its own class (a factory's result, a constructor that returned another object).
 */
function hooksOf(instance: object, def: ProviderDef, kind: HookKind): readonly HookMethod[] {
  return instanceHooks(instance, def)[kind];
}

/** Every kind of hook of an instance its provider created (hooksOf, for all four kinds at once). */
export function instanceHooks(instance: object, def: ProviderDef): ClassHooks {
  const cls = def.useClass;
  if (cls !== undefined && Object.getPrototypeOf(instance) === cls.prototype) return (def.hooks ??= getAllClassHooks(cls));
  return getAllHooks(instance);
}

export function initParts(instance: unknown, def: ProviderDef, name: string): readonly StepPart[] {
  const owned = def.kind !== 'value' && isObject(instance) ? instance : undefined;
  const hooks = owned ? hooksOf(owned, def, 'init') : noHooks;
  if (hooks.length === 0 && !def.init) return noParts;
  const parts: StepPart[] = [];
  for (const hook of hooks) parts.push(new MethodPart(owned!, hook.method, name, hook.timeout, false));
  if (def.init) parts.push(new ProviderFunctionPart(def.init, instance, `${name} init()`));
  return parts;
}

/**
 * A hook method (or Symbol.asyncDispose / Symbol.dispose) of one instance. A class rather than a closure
 * per part, and its label is built only when something reads it (a failure, a timeout, a log line):
 * request scopes make these on every request.
 */
class MethodPart implements StepPart {
  constructor(
    private readonly target: object,
    private readonly method: string | symbol,
    private readonly owner: string,
    readonly timeout: number | undefined,
    /** Symbol.asyncDispose / Symbol.dispose: called without arguments (their contract); hooks get the context. */
    private readonly disposer: boolean,
  ) {}

  get label(): string {
    const method = this.method;
    if (this.disposer && typeof method === 'symbol') return `${this.owner}[${method.description ?? ''}]()`;
    return `${this.owner}.${String(method)}()`;
  }

  run(ctx: HookContextLike): unknown {
    const target = this.target as Record<string | symbol, (this: object, ctx?: HookContextLike) => unknown>;
    const method = target[this.method]!; // looked up at call time: the instance's method as it is now
    return this.disposer ? method.call(target) : method.call(target, ctx);
  }
}

/** A provider's own init or dispose function, called with the instance. */
class ProviderFunctionPart implements StepPart {
  readonly timeout = undefined;

  constructor(
    private readonly fn: (instance: unknown, ctx: HookContextLike) => unknown,
    private readonly instance: unknown,
    readonly label: string,
  ) {}

  run(ctx: HookContextLike): unknown {
    return this.fn(this.instance, ctx);
  }
}

type HookContextLike = Parameters<StepPart['run']>[0];

const noHooks: readonly never[] = Object.freeze([]);

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

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
