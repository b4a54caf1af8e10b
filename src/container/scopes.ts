/**
 * Work scopes (CONTRACT §11): a unit of work — an HTTP request, a consumed message, a job — that owns
 * the request-scoped instances and the Disposable transients resolved through it, and destroys them
 * when it closes, in reverse dependency order, with the same scheduler as app shutdown.
 *
 * - close() is idempotent: every call returns the same promise. It never rejects; failures are in the
 *   report (and logged).
 * - Effect's rule: what arrives in a closed scope (a creation still under way at close()) is destroyed
 *   on arrival; get()/getAsync() called after close() throw QUIESCE_STOPPING.
 * - `OpenScopes` tracks the scopes not yet closed: shutdown waits for them (whenEmpty) as in-flight work
 *   and, when it stops waiting, closes the rest (closeAll) and says so.
 */
import { describe, HookTimeoutError, QuiesceError } from '../errors.js';
import { Deadline } from '../lifecycle/deadline.js';
import { destroyPlan } from './destroy-plan.js';
import { runPlan } from '../lifecycle/shutdown.js';
import { tokenName, type Token } from '../tokens.js';
import type { DestroyContext, ShutdownReport } from '../types.js';
import type { Box, Container } from './container.js';
import type { ProviderNode } from './graph.js';
import { InstanceOwner } from './instance.js';

/** A unit of work's scope, from app.createScope() (or one per HTTP request). */
export interface WorkScope extends AsyncDisposable {
  /** Singletons, request-scoped providers (one instance per scope) and transients that need no await. */
  get<T>(token: Token<T>): T;
  /** Also providers with async factories or init hooks. */
  getAsync<T>(token: Token<T>): Promise<T>;
  /** Destroys what the scope owns, in reverse dependency order. Idempotent; never rejects. */
  close(): Promise<ShutdownReport>;
}

export class UnitOfWork implements WorkScope {
  readonly owner: InstanceOwner;
  private closing: Promise<ShutdownReport> | undefined;
  /** Neighbours in OpenScopes' list (an intrusive list: adding and removing cost no hashing). */
  prev: UnitOfWork | undefined;
  next: UnitOfWork | undefined;

  constructor(
    private readonly container: Container,
    values?: ReadonlyMap<unknown, unknown>,
  ) {
    this.owner = new InstanceOwner('work', values);
    container.openScopes.add(this);
  }

  get<T>(token: Token<T>): T {
    if (this.owner.closed) throw closedError(token);
    return this.container.getIn(this.owner, token);
  }

  async getAsync<T>(token: Token<T>): Promise<T> {
    if (this.owner.closed) throw closedError(token);
    const value = await this.container.getAsyncIn(this.owner, token);
    // created while close() ran: what it owned was destroyed on arrival (Container.record)
    if (this.owner.closed) throw closedError(token);
    return value;
  }

  /** A node's instance (a per-request controller): synchronously when nothing on the way is asynchronous. */
  resolveNode(node: ProviderNode): Box | Promise<Box> {
    return this.container.resolveNode(this.owner, node);
  }

  close(reason = 'scope-close'): Promise<ShutdownReport> {
    this.closing ??= this.destroy(reason, undefined);
    return this.closing;
  }

  /** close() under a deadline someone else owns (shutdown closing what is left). */
  closeWithin(reason: string, deadline: Deadline): Promise<ShutdownReport> {
    this.closing ??= this.destroy(reason, deadline);
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close().then(noop);
  }

  private destroy(reason: string, deadline: Deadline | undefined): Promise<ShutdownReport> {
    const owner = this.owner;
    owner.closed = true;
    const scopes = this.container.openScopes;
    if (owner.disposableCount === 0) {
      owner.release();
      scopes.delete(this);
      return Promise.resolve({ reason, ok: true, durationMs: 0, steps: [] });
    }
    const { logger, scopeTimeoutMs, concurrency } = this.container;
    const finished = (report: ShutdownReport): void => {
      scopes.delete(this);
      if (!report.ok) logger.error({ reason, steps: report.steps.filter((step) => step.status !== 'ok') }, 'a scope did not destroy all of its instances cleanly');
    };
    try {
      // no extra promise: the report promise is close()'s, and a plan of synchronous parts is done here
      return runPlan(destroyPlan(owner.release()), { reason, deadline, timeoutMs: scopeTimeoutMs, concurrency, onFinish: finished });
    } catch (error) {
      // only a bug of ours throws here: the scope still counts as closed, and close() still resolves
      scopes.delete(this);
      logger.error({ reason, error: describe(error) }, 'closing a scope failed');
      return Promise.resolve({ reason, ok: false, durationMs: 0, steps: [] });
    }
  }
}

function closedError(token: Token): QuiesceError {
  return new QuiesceError('QUIESCE_STOPPING', `Cannot resolve ${tokenName(token)}: this scope is closed (close() was called).`);
}

/** The work scopes not yet closed: what shutdown waits for as in-flight work. */
export class OpenScopes {
  private head: UnitOfWork | undefined;
  private count = 0;
  private emptied: (() => void) | undefined;
  private whenEmptyPromise: Promise<void> | undefined;

  get size(): number {
    return this.count;
  }

  add(scope: UnitOfWork): void {
    scope.next = this.head;
    if (this.head) this.head.prev = scope;
    this.head = scope;
    this.count++;
  }

  delete(scope: UnitOfWork): void {
    if (scope.prev === undefined && this.head !== scope) return; // not in the list (already removed)
    if (scope.prev) scope.prev.next = scope.next;
    else this.head = scope.next;
    if (scope.next) scope.next.prev = scope.prev;
    scope.prev = scope.next = undefined;
    if (--this.count > 0 || this.emptied === undefined) return;
    const emptied = this.emptied;
    this.emptied = undefined;
    this.whenEmptyPromise = undefined;
    emptied();
  }

  /** Resolves once every scope open now (and any opened meanwhile) is closed. */
  whenEmpty(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    this.whenEmptyPromise ??= new Promise<void>((resolve) => (this.emptied = resolve));
    return this.whenEmptyPromise;
  }

  private list(): UnitOfWork[] {
    const scopes: UnitOfWork[] = [];
    for (let scope = this.head; scope; scope = scope.next) scopes.push(scope);
    return scopes.reverse(); // oldest first
  }

  /**
   * Closes every scope still open (their owners did not), under `ctx.deadline` and with `ctx.reason`,
   * and waits for them. Resolves when there were none; otherwise rejects with a HookTimeoutError that
   * says how many scopes shutdown had to close and how their instances fared, so the step that called
   * it is reported `timeout` with that message (the instances were destroyed all the same).
   */
  async closeAll(ctx: DestroyContext): Promise<void> {
    const scopes = this.list();
    if (scopes.length === 0) return;
    const deadline = Deadline.until(ctx.deadline);
    const reports = await Promise.all(scopes.map((scope) => scope.closeWithin(ctx.reason, deadline)));
    let destroyed = 0;
    const problems: string[] = [];
    for (const report of reports) {
      for (const step of report.steps) {
        if (step.status === 'ok') destroyed++;
        else problems.push(`${step.name}: ${step.status}${step.error ? ` (${step.error})` : ''}`);
      }
    }
    const what =
      `${scopes.length} scope${scopes.length === 1 ? '' : 's'} still open (not closed by their owner; ` +
      `shutdown closed ${scopes.length === 1 ? 'it' : 'them'}: ${destroyed} instance${destroyed === 1 ? '' : 's'} destroyed` +
      (problems.length > 0 ? `, ${problems.length} not: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; ...' : ''}` : '') +
      ')';
    throw new HookTimeoutError(what, Math.max(0, deadline.budgetMs));
  }
}

function noop(): void {}
