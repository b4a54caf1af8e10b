/**
 * The resolution engine: creates instances from the validated graph, records what it created
 * and who depends on what, and owns the instances per scope (app or request).
 *
 * Resolution is synchronous whenever it can be (no async factory, no init hook on the path):
 * it only switches to promises when a value actually is one, so `app.get` of a transient
 * allocates nothing beyond the instances and their argument arrays.
 */
import type { Logger } from 'pino';
import { AsyncResolutionError, NotFoundError, ScopeError } from '../errors.js';
import { destroyParts, initParts, classHasInit, classIsDisposable } from '../lifecycle/disposables.js';
import { Deadline, runWithTimeout } from '../lifecycle/deadline.js';
import { destroyTasks } from '../lifecycle/destroy-plan.js';
import { runShutdown } from '../lifecycle/shutdown.js';
import type { StartupTask } from '../lifecycle/tasks.js';
import { tokenName, type Token } from '../tokens.js';
import type { ProviderGraph, ProviderNode } from './graph.js';
import { addDistinct, collectNearest, InstanceScope, type InstanceRecord } from './instance.js';

/**
 * A creation still under way. Kept distinct from values, and its promise yields a box rather than
 * the value, so that a provider whose value happens to be a thenable (a query builder, a useValue
 * promise) is injected as it is, never adopted or awaited by mistake.
 */
interface Box {
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
  readonly appScope = new InstanceScope('app');
  /** Fast path for app.get: singleton values by token. */
  private readonly singletons = new Map<Token, unknown>();
  /** Epoch ms of the startup deadline, given to init hooks as `ctx.deadline` (Infinity outside startup). */
  initDeadline = Infinity;
  /** Set when the app starts shutting down: anything created afterwards (a late init) is destroyed on arrival. */
  private appScopeClosed = false;
  /** Per transient node: may an instance be Disposable (undefined = only known once created)? Filled lazily. */
  private readonly disposableHint = new Map<ProviderNode, boolean | undefined>();

  constructor(
    readonly graph: ProviderGraph,
    private readonly logger: Logger,
    private readonly lateDestroyTimeoutMs = 10_000,
  ) {}

  private hint(node: ProviderNode): boolean | undefined {
    if (this.disposableHint.has(node)) return this.disposableHint.get(node);
    const hint = classIsDisposable(node.def);
    this.disposableHint.set(node, hint);
    return hint;
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
        run: (signal: AbortSignal): Promise<void> | undefined => {
          const created = this.create(node, this.appScope, null, signal);
          return created instanceof Pending ? created.promise.then(noop) : undefined;
        },
      }));
  }

  /** Synchronous resolution for app.get: singletons, and transients that need no await. */
  get<T>(token: Token<T>): T {
    const value = this.singletons.get(token);
    if (value !== undefined || this.singletons.has(token)) return value as T;
    const node = this.transientNode(token);
    if ((node.def.kind === 'factory' && isAsyncFunction(node.def.useFactory)) || classHasInit(node.def)) {
      throw new AsyncResolutionError(tokenName(token), node.name);
    }
    const created = this.create(node, this.appScope, null);
    if (created instanceof Pending) {
      created.promise.catch((error: unknown) => this.logger.error({ err: error, provider: node.name }, 'asynchronous creation behind app.get() failed'));
      throw new AsyncResolutionError(tokenName(token), node.name);
    }
    return created as T;
  }

  async getAsync<T>(token: Token<T>): Promise<T> {
    if (this.singletons.has(token)) return this.singletons.get(token) as T;
    return (await boxed(this.create(this.transientNode(token), this.appScope, null))).v as T;
  }

  /** Creates (or returns the request's cached) instance of a node inside a request scope. */
  resolveInRequest(node: ProviderNode, scope: InstanceScope): Promise<unknown> {
    return boxed(this.resolve(node, scope, null, undefined)).then((box) => box.v);
  }

  /** The app's instances are about to be destroyed; from now on nothing joins the app scope. */
  closeAppScope(): void {
    this.appScopeClosed = true;
  }

  isDisposable(node: ProviderNode): boolean {
    const record = this.appScope.cache.get(node);
    if (record) return record.parts.length > 0;
    return this.hint(node) ?? !!node.def.dispose;
  }

  private async destroyLate(entry: InstanceRecord): Promise<void> {
    const report = await runShutdown(destroyTasks([entry]), { reason: 'late-init', deadline: new Deadline(this.lateDestroyTimeoutMs), concurrency: 'sequential' });
    this.logger.warn({ provider: entry.node.name, steps: report.steps }, 'instance finished init after shutdown began; destroyed it at once');
  }

  private transientNode(token: Token): ProviderNode {
    const node = this.graph.byToken.get(token);
    if (!node) throw new NotFoundError(tokenName(token));
    if (node.scope === 'request') {
      throw new ScopeError(`${node.name} is request-scoped: it exists only inside an HTTP request. Inject it into a controller instead of calling app.get().`);
    }
    if (node.scope === 'singleton') {
      // a singleton not yet created: only possible while startup is still running
      throw new NotFoundError(`${tokenName(token)} (not created yet: startup has not finished)`);
    }
    return node;
  }

  /** A dependency as seen from the instance being created in `scope`. */
  private resolve(node: ProviderNode, scope: InstanceScope, collector: InstanceRecord[] | null, signal: AbortSignal | undefined): Maybe<unknown> {
    if (node.scope === 'singleton') {
      const record = this.appScope.cache.get(node);
      if (!record) throw new Error(`quiesce internal error: ${node.name} used before it was created`);
      collectNearest(record, collector);
      return record.value;
    }
    if (node.scope === 'request') {
      if (scope.kind !== 'request') {
        throw new ScopeError(`${node.name} is request-scoped and can only be created inside an HTTP request.`);
      }
      const cached = scope.cache.get(node);
      if (cached) {
        collectNearest(cached, collector);
        return cached.value;
      }
    }
    return this.create(node, scope, collector, signal);
  }

  /** Creates a new instance of `node` owned by `scope`: arguments, construction, init, record. */
  private create(node: ProviderNode, scope: InstanceScope, collector: InstanceRecord[] | null, signal?: AbortSignal): Maybe<unknown> {
    // A transient known not to be Disposable is transparent for ordering: it passes its dependencies up.
    const transparent = node.scope === 'transient' && this.hint(node) === false;
    const own: InstanceRecord[] | null = transparent ? collector : [];
    const args = this.resolveArgs(node, scope, own, signal);
    const constructed = then(args, (a) => this.construct(node, a as unknown[], scope, own, signal));
    return then(constructed, (value) => this.afterInit(node, value, scope, own, collector, transparent, signal));
  }

  private resolveArgs(node: ProviderNode, scope: InstanceScope, own: InstanceRecord[] | null, signal: AbortSignal | undefined): Maybe<unknown[]> {
    const args: unknown[] = new Array(node.args.length);
    for (let i = 0; i < node.args.length; i++) {
      const dep = node.args[i];
      const value = dep === undefined ? undefined : this.resolve(dep, scope, own, signal);
      if (value instanceof Pending) return new Pending(this.resolveArgsAsync(node, scope, own, signal, args, i, value.promise));
      args[i] = value;
    }
    return args;
  }

  private async resolveArgsAsync(
    node: ProviderNode,
    scope: InstanceScope,
    own: InstanceRecord[] | null,
    signal: AbortSignal | undefined,
    args: unknown[],
    from: number,
    pending: Promise<Box>,
  ): Promise<Box> {
    args[from] = (await pending).v;
    for (let i = from + 1; i < node.args.length; i++) {
      const dep = node.args[i];
      args[i] = dep === undefined ? undefined : (await boxed(this.resolve(dep, scope, own, signal))).v;
    }
    return { v: args };
  }

  private construct(node: ProviderNode, args: unknown[], scope: InstanceScope, own: InstanceRecord[] | null, signal: AbortSignal | undefined): Maybe<unknown> {
    const def = node.def;
    if (def.kind === 'value') return def.useValue;
    if (def.kind === 'factory') {
      const made = def.useFactory!(...args);
      // an async factory: its promise is awaited, by contract
      return isThenable(made) ? new Pending(Promise.resolve(made).then((v) => ({ v }))) : made;
    }
    const instance = new def.useClass!(...args) as Record<string | symbol, unknown>;
    if (node.properties.length === 0) return instance;
    const values = node.properties.map(({ node: dep }) => (dep === undefined ? undefined : this.resolve(dep, scope, own, signal)));
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
    scope: InstanceScope,
    own: InstanceRecord[] | null,
    collector: InstanceRecord[] | null,
    transparent: boolean,
    signal: AbortSignal | undefined,
  ): Maybe<unknown> {
    const parts = initParts(value, node.def, node.name);
    const record = (): unknown => {
      this.record(node, value, scope, own, collector, transparent);
      return value;
    };
    if (parts.length === 0) return record();
    return new Pending((async () => {
      for (const part of parts) {
        // init hooks get the same context shape as destroy hooks; the signal aborts at the hook's own
        // timeout, at the startup deadline, or when startup is aborted (a signal during startup)
        await runWithTimeout((hookSignal) => part.run({ signal: hookSignal, deadline: this.initDeadline, reason: 'init' }), {
          timeoutMs: part.timeout,
          label: part.label,
          parentSignal: signal,
        });
      }
      return { v: record() };
    })());
  }

  private record(node: ProviderNode, value: unknown, scope: InstanceScope, own: InstanceRecord[] | null, collector: InstanceRecord[] | null, transparent: boolean): void {
    if (transparent) return; // not Disposable: nothing to destroy, and its dependencies already reached the collector
    const parts = destroyParts(value, node.def, node.name);
    const cached = node.scope !== 'transient';
    if (!cached && parts.length === 0) {
      // a factory-made transient that turned out not to be Disposable: pass its dependencies through
      if (own && collector) addDistinct(collector, own);
      return;
    }
    const entry: InstanceRecord = {
      id: cached ? node.id : scope.nextTransientId(node),
      node,
      value,
      parts,
      dependsOn: own ?? [],
    };
    if (cached) scope.cache.set(node, entry);
    if (node.scope === 'singleton') this.singletons.set(node.def.token, value);
    if (parts.length > 0 && scope === this.appScope && this.appScopeClosed) {
      // finished init after shutdown or rollback had begun: destroy it now rather than leak it
      void this.destroyLate(entry);
      return;
    }
    if (parts.length > 0) scope.disposables.push(entry);
    collectNearest(entry, collector);
  }
}

/** The singletons a node reaches directly or through transient/request dependencies: what its startup waits for. */
function singletonDependencies(node: ProviderNode): ProviderNode[] {
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

function noop(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isAsyncFunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn.constructor.name === 'AsyncFunction';
}
