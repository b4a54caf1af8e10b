/**
 * The resolution engine: creates instances from the validated graph, records what it created and
 * what each instance was built from, and hands each record to its owner: the app, or a work scope
 * (instance.ts has the words, scopes.ts the work scopes).
 *
 * Resolution is synchronous whenever it can be (no async factory, no init hook on the path):
 * it only switches to promises when a value actually is one, so `app.get` of a transient
 * allocates nothing beyond the instances and their argument arrays.
 */
import type { Logger } from 'pino';
import { AsyncResolutionError, describe, loggable, NotFoundError, ScopeError, StoppingError } from '../errors.js';
import { destroyParts, initParts, classHasInit, classIsDisposable } from './disposables.js';
import { HookRun, runHook } from '../lifecycle/hook-run.js';
import { destroyPlan } from './destroy-plan.js';
import type { PlanStep } from '../lifecycle/plan.js';
import { runPlan } from '../lifecycle/shutdown.js';
import type { StartupTask, StepPart } from '../lifecycle/tasks.js';
import { tokenName, type Token } from '../tokens.js';
import type { ProviderGraph, ProviderNode } from './graph.js';
import { InstanceOwner, InstanceRecord } from './instance.js';
import { OpenScopes, UnitOfWork, type WorkScope } from './scopes.js';

/**
 * A creation still under way. Kept distinct from values, and its promise yields a box rather than
 * the value, so that a provider whose value happens to be a thenable (a query builder, a useValue
 * promise) is injected as it is, never adopted or awaited by mistake.
 */
export interface Box {
  v: unknown;
}

class Pending {
  constructor(readonly promise: Promise<Box>) {}
}

type Maybe<T> = T | Pending;

function boxed(value: unknown): Promise<Box> {
  return value instanceof Pending ? value.promise : Promise.resolve({ v: value });
}

function then(value: unknown, next: (resolved: unknown) => unknown): unknown {
  return value instanceof Pending ? new Pending(value.promise.then((box) => boxed(next(box.v)))) : next(value);
}

export class Container {
  /** Owns the singletons, and the transients made for them or by app.get(). */
  readonly appOwner = new InstanceOwner('app');
  /** Work scopes (app.createScope(), HTTP requests) not yet closed. */
  readonly openScopes = new OpenScopes();
  /** Fast path for app.get: singleton values by token. */
  private singletons = new Map<Token, unknown>();
  /** The singletons' records by node.order: what every creation looks its singleton dependencies up in. */
  private singletonRecords: (InstanceRecord | undefined)[] = [];
  /** Epoch ms of the startup deadline, given to init hooks as `ctx.deadline` (Infinity outside startup). */
  initDeadline = Infinity;
  /** create() calls nested on the current stack (see create). */
  private depth = 0;
  /**
   * Per node, by node.order: may an instance be Disposable? null = only known once created (a factory);
   * undefined = not looked at yet. Filled lazily; an array, not a map: every transient creation asks.
   */
  private readonly disposableHints: (boolean | null | undefined)[] = [];

  constructor(
    readonly graph: ProviderGraph,
    readonly logger: Logger,
    /** Budget for destroying one scope's instances (and an instance that finished init after shutdown began). */
    readonly scopeTimeoutMs = 10_000,
    readonly concurrency: 'graph' | 'sequential' = 'graph',
  ) {}

  private hint(node: ProviderNode): boolean | undefined {
    let hint = this.disposableHints[node.order];
    if (hint === undefined) {
      hint = classIsDisposable(node.def) ?? null;
      this.disposableHints[node.order] = hint;
    }
    return hint ?? undefined;
  }

  /** One startup task per singleton, in topological order; each waits for the singletons it reaches. */
  startupTasks(): StartupTask[] {
    return this.graph.nodes
      .filter((node) => node.scope === 'singleton')
      .map((node) => ({
        id: node.id,
        name: node.name,
        after: singletonDependencies(node).map((dep) => dep.id),
        // synchronous creation (most constructors) completes without a promise
        run: (signal: AbortSignal): Promise<unknown> | undefined => {
          const created = this.create(node, this.appOwner, null, signal);
          return created instanceof Pending ? created.promise : undefined;
        },
      }));
  }

  /**
   * Opens a unit-of-work scope (CONTRACT §11): request-scoped providers get one instance per scope, and
   * Disposable transients resolved through it are owned by it. `values` seed request-scoped providers by
   * token (REQUEST -> the current request); a seeded value is not owned, so it is never destroyed.
   */
  openScope(options?: { values?: ReadonlyMap<unknown, unknown> }): WorkScope {
    return new UnitOfWork(this, options?.values);
  }

  /** Synchronous resolution for app.get: singletons, and transients that need no await. */
  get<T>(token: Token<T>): T {
    return this.getIn(this.appOwner, token);
  }

  getAsync<T>(token: Token<T>): Promise<T> {
    return this.getAsyncIn(this.appOwner, token);
  }

  /** get() on behalf of an owner: the app, or a work scope. */
  getIn<T>(owner: InstanceOwner, token: Token<T>): T {
    const value = this.singletons.get(token);
    if (value !== undefined || this.singletons.has(token)) return value as T;
    const node = this.scopedNode(owner, token);
    if (!(owner.values?.has(token) ?? false) && ((node.def.kind === 'factory' && isAsyncFunction(node.def.useFactory)) || classHasInit(node.def))) {
      throw new AsyncResolutionError(tokenName(token), node.name);
    }
    const created = this.resolve(node, owner, null, undefined);
    if (created instanceof Pending) {
      created.promise.catch((error: unknown) => this.logger.error({ err: loggable(error), provider: node.name }, 'asynchronous creation behind get() failed'));
      throw new AsyncResolutionError(tokenName(token), node.name);
    }
    return created as T;
  }

  async getAsyncIn<T>(owner: InstanceOwner, token: Token<T>): Promise<T> {
    if (this.singletons.has(token)) return this.singletons.get(token) as T;
    return (await boxed(this.resolve(this.scopedNode(owner, token), owner, null, undefined))).v as T;
  }

  /** A node's instance in a work scope: the value at once when nothing on the way is asynchronous, else a promise. */
  resolveNode(owner: InstanceOwner, node: ProviderNode): Box | Promise<Box> {
    const created = this.resolve(node, owner, null, undefined);
    return created instanceof Pending ? created.promise : { v: created };
  }

  /** The app's instances are about to be destroyed; from now on nothing joins the app's owner. */
  closeAppOwner(): void {
    this.appOwner.closed = true;
  }

  /**
   * The app's instances as a shutdown plan (destroy-plan.ts). The singletons stay resolvable
   * until releaseApp(): during the stop phase, a scope opened before shutdown still creates request-scoped
   * instances that depend on them (a consumer finishing its in-flight messages).
   */
  destroyPlan(): PlanStep[] {
    this.appOwner.closed = true;
    return destroyPlan(this.appOwner.records);
  }

  /** Once shutdown is over: forget every instance, so that a closed app holds none of what it created. */
  releaseApp(): void {
    this.singletons = new Map();
    this.singletonRecords = [];
    this.appOwner.release();
  }

  isDisposable(node: ProviderNode): boolean {
    const record = this.appOwner.cache.get(node);
    if (record) return record.parts.length > 0;
    return this.hint(node) ?? !!node.def.dispose;
  }

  /** Effect's rule: what arrives in a closed owner is finalised at once (an init that finished after shutdown began). */
  private destroyLate(entry: InstanceRecord): void {
    const logged = runPlan(destroyPlan([entry]), { reason: 'late-init', timeoutMs: this.scopeTimeoutMs, concurrency: 'sequential' }).then(
      (report) => this.logger.warn({ provider: entry.node.name, steps: report.steps }, 'instance finished init after its owner closed; destroyed it at once'),
      (error: unknown) => this.logger.error({ provider: entry.node.name, error: describe(error) }, 'destroying a late instance failed'),
    );
    void logged; // both outcomes handled above; nothing waits for a late arrival
  }

  private scopedNode(owner: InstanceOwner, token: Token): ProviderNode {
    const node = this.graph.byToken.get(token);
    if (!node) throw new NotFoundError(tokenName(token));
    if (node.scope === 'request' && owner.kind === 'app') {
      throw new ScopeError(
        `${node.name} is request-scoped: it exists only inside a scope (an HTTP request, or app.createScope()). ` +
          `Inject it into a controller, or resolve it with scope.get() on a scope from app.createScope().`,
      );
    }
    if (node.scope === 'singleton') {
      if (this.appOwner.closed) throw new StoppingError(tokenName(token), 'stopped');
      // a singleton not yet created: only possible while startup is still running
      throw new NotFoundError(`${tokenName(token)} (not created yet: startup has not finished)`);
    }
    return node;
  }

  /** A dependency as seen from the instance being created for `owner`. */
  private resolve(node: ProviderNode, owner: InstanceOwner, collector: InstanceRecord[] | null, signal: AbortSignal | undefined): Maybe<unknown> {
    if (node.scope === 'singleton') {
      const record = this.singletonRecords[node.order];
      if (!record) {
        if (this.appOwner.closed) throw new StoppingError(node.name, 'stopped');
        throw new Error(`quiesce internal error: ${node.name} used before it was created`);
      }
      collector?.push(record);
      return record.value;
    }
    if (node.scope === 'request') {
      if (owner.kind === 'app') {
        throw new ScopeError(`${node.name} is request-scoped and can only be created inside a scope (an HTTP request, or app.createScope()).`);
      }
      const cached = owner.cache.get(node);
      if (cached) {
        collector?.push(cached);
        return cached.value;
      }
      const values = owner.values;
      if (values !== undefined && values.has(node.def.token)) return this.seed(node, values.get(node.def.token), owner, collector);
    }
    return this.create(node, owner, collector, signal);
  }

  /** A value the scope was opened with (REQUEST -> the request): cached like an instance, never destroyed. */
  private seed(node: ProviderNode, value: unknown, owner: InstanceOwner, collector: InstanceRecord[] | null): unknown {
    const entry = new InstanceRecord(node.id, node, value, noParts, noDeps, owner, owner.records.length);
    owner.cache.set(node, entry);
    owner.add(entry);
    collector?.push(entry);
    return value;
  }

  /**
   * Creates a new instance of `node` owned by `owner`: arguments, construction, init, record.
   * Creating a transient creates its transient dependencies by recursion, so past `maxSyncDepth` nested
   * creations the rest continues on a fresh stack (a microtask), as an asynchronous creation: a chain of
   * 10,000 transients under a singleton resolves instead of overflowing the stack (issue 10 item 8).
   */
  private create(node: ProviderNode, owner: InstanceOwner, collector: InstanceRecord[] | null, signal?: AbortSignal): Maybe<unknown> {
    if (this.depth >= maxSyncDepth) {
      return new Pending(Promise.resolve().then(() => boxed(this.create(node, owner, collector, signal))));
    }
    this.depth++;
    try {
      // A transient known not to be Disposable is transparent for ordering: it passes its dependencies up.
      const transparent = node.scope === 'transient' && this.hint(node) === false;
      const own: InstanceRecord[] | null = transparent ? collector : [];
      // closures only on the asynchronous path: most creations are synchronous from end to end
      const args = this.resolveArgs(node, owner, own, signal);
      const constructed = args instanceof Pending ? then(args, (a) => this.construct(node, a as unknown[], owner, own, signal)) : this.construct(node, args, owner, own, signal);
      if (constructed instanceof Pending) return then(constructed, (value) => this.afterInit(node, value, owner, own, collector, transparent, signal));
      return this.afterInit(node, constructed, owner, own, collector, transparent, signal);
    } finally {
      this.depth--;
    }
  }

  private resolveArgs(node: ProviderNode, owner: InstanceOwner, own: InstanceRecord[] | null, signal: AbortSignal | undefined): Maybe<unknown[]> {
    const args: unknown[] = new Array(node.args.length);
    for (let i = 0; i < node.args.length; i++) {
      const dep = node.args[i];
      const value = dep === undefined ? undefined : this.resolve(dep, owner, own, signal);
      if (value instanceof Pending) return new Pending(this.resolveArgsAsync(node, owner, own, signal, args, i, value.promise));
      args[i] = value;
    }
    return args;
  }

  private async resolveArgsAsync(
    node: ProviderNode,
    owner: InstanceOwner,
    own: InstanceRecord[] | null,
    signal: AbortSignal | undefined,
    args: unknown[],
    from: number,
    pending: Promise<Box>,
  ): Promise<Box> {
    args[from] = (await pending).v;
    for (let i = from + 1; i < node.args.length; i++) {
      const dep = node.args[i];
      args[i] = dep === undefined ? undefined : (await boxed(this.resolve(dep, owner, own, signal))).v;
    }
    return { v: args };
  }

  private construct(node: ProviderNode, args: unknown[], owner: InstanceOwner, own: InstanceRecord[] | null, signal: AbortSignal | undefined): Maybe<unknown> {
    const def = node.def;
    if (def.kind === 'value') return def.useValue;
    if (def.kind === 'factory') {
      const made = def.useFactory!(...args);
      // an async factory: its promise is awaited, by contract
      return isThenable(made) ? new Pending(Promise.resolve(made).then((v) => ({ v }))) : made;
    }
    const instance = new def.useClass!(...args) as Record<string | symbol, unknown>;
    if (node.properties.length === 0) return instance;
    const values = node.properties.map(({ node: dep }) => (dep === undefined ? undefined : this.resolve(dep, owner, own, signal)));
    const assign = (resolved: unknown[]): object => {
      node.properties.forEach(({ key }, i) => (instance[key] = resolved[i]));
      return instance;
    };
    if (!values.some((v) => v instanceof Pending)) return assign(values);
    return new Pending(Promise.all(values.map(boxed)).then((boxes) => ({ v: assign(boxes.map((box) => box.v)) })));
  }

  private afterInit(
    node: ProviderNode,
    value: unknown,
    owner: InstanceOwner,
    own: InstanceRecord[] | null,
    collector: InstanceRecord[] | null,
    transparent: boolean,
    signal: AbortSignal | undefined,
  ): Maybe<unknown> {
    const parts = initParts(value, node.def, node.name);
    // init hooks get the same context shape as destroy hooks; the signal aborts at the hook's own timeout,
    // at the startup deadline, or when startup is aborted (a signal during startup). Hooks that return at
    // once (most) run here, with no promise: the instance is then ready synchronously, as without hooks.
    for (let i = 0; i < parts.length; i++) {
      const run = new HookRun(this.initDeadline, 'init', signal);
      let pending: PromiseLike<unknown> | undefined;
      try {
        pending = runHook(parts[i]!, run);
      } catch (error) {
        // failed as an asynchronous init fails, with the thrown value as it is (not always an Error)
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return new Pending(Promise.reject(error));
      }
      if (pending) return new Pending(this.finishInit(node, value, owner, own, collector, transparent, signal, parts, i + 1, run, pending));
    }
    this.record(node, value, owner, own, collector, transparent);
    return value;
  }

  /** The rest of afterInit once a hook returned a promise: the remaining hooks, one after the other. */
  private async finishInit(
    node: ProviderNode,
    value: unknown,
    owner: InstanceOwner,
    own: InstanceRecord[] | null,
    collector: InstanceRecord[] | null,
    transparent: boolean,
    signal: AbortSignal | undefined,
    parts: readonly StepPart[],
    from: number,
    run: HookRun,
    pending: PromiseLike<unknown>,
  ): Promise<Box> {
    try {
      await pending;
    } finally {
      HookRun.finish(run);
    }
    for (let i = from; i < parts.length; i++) {
      const next = new HookRun(this.initDeadline, 'init', signal);
      try {
        await runHook(parts[i]!, next);
      } finally {
        HookRun.finish(next);
      }
    }
    this.record(node, value, owner, own, collector, transparent);
    return { v: value };
  }

  private record(node: ProviderNode, value: unknown, owner: InstanceOwner, own: InstanceRecord[] | null, collector: InstanceRecord[] | null, transparent: boolean): void {
    if (transparent) return; // not Disposable: nothing to destroy, and its dependencies already reached the collector
    const parts = destroyParts(value, node.def, node.name);
    const cached = node.scope !== 'transient';
    if (!cached && parts.length === 0) {
      // a factory-made transient that turned out not to be Disposable: pass its dependencies through
      if (own && collector) for (const dep of own) collector.push(dep);
      return;
    }
    const entry = new InstanceRecord(cached ? node.id : owner.nextTransientId(node), node, value, parts, own ?? noDeps, owner, owner.records.length);
    if (owner.closed) {
      // finished init after its owner began closing (shutdown, rollback, scope.close()): destroy it now rather than leak it
      if (parts.length > 0) this.destroyLate(entry);
      return;
    }
    if (cached) owner.cache.set(node, entry);
    if (node.scope === 'singleton') {
      this.singletons.set(node.def.token, value);
      this.singletonRecords[node.order] = entry;
    }
    owner.add(entry);
    collector?.push(entry);
  }
}

const noParts: readonly StepPart[] = Object.freeze([]);
const noDeps: readonly InstanceRecord[] = Object.freeze([]);

/** The singletons a node reaches directly or through transient/request dependencies: what its startup waits for. */
function singletonDependencies(node: ProviderNode): readonly ProviderNode[] {
  const deps = node.deps;
  // the common case: every direct dependency is a singleton (deps are distinct: graph.ts), nothing to walk
  let direct = true;
  for (let i = 0; i < deps.length && direct; i++) direct = deps[i]!.scope === 'singleton';
  if (direct) return deps;
  const found: ProviderNode[] = [];
  const seen = new Set<ProviderNode>();
  const stack = [...node.deps];
  while (stack.length > 0) {
    const dep = stack.pop()!;
    if (seen.has(dep)) continue;
    seen.add(dep);
    if (dep.scope === 'singleton') found.push(dep);
    else stack.push(...dep.deps);
  }
  return found;
}

/** Nested creations on one stack before the rest continues on a fresh one: far below any stack limit. */
const maxSyncDepth = 512;


function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isAsyncFunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn.constructor.name === 'AsyncFunction';
}
