/**
 * What happens at startup and at shutdown, in one place. The phases are composed from the container's
 * singletons and a list of participants (the HTTP server is one; fx's Lifecycle.Append is the model:
 * one list, no special members). The engine (lifecycle/) orders and times the steps; this file says
 * which steps exist and what each waits for.
 *
 *   init     every singleton created and its @onInit run, dependencies first, independent ones at once
 *   start    @onStart hooks, dependencies first; then every participant's start (the HTTP listener)
 *   ready    ─────────────────────────────────────────────────────────────────────────────────────────
 *   stop     (readiness already 503) participants' stop (the HTTP drain), every started instance's
 *            @onStop and the wait for open unit-of-work scopes (at most 3/4 of the time left, then the rest
 *            are closed and reported), dependents first: a stop step starts once
 *            the stop steps of everything depending on it have ended (a participant counts as a dependent
 *            of what it uses, transitively); independent ones concurrently
 *   destroy  @onDestroy / Symbol.asyncDispose / dispose, dependents first; not one starts before the
 *            whole stop phase has ended
 *   close    participants' close() (the health listener stays up until here)
 *
 * Stop and destroy run as one scheduler run under the one shutdown Deadline, so the report is one list
 * and the deadline is decided in one place. A failed start rolls back through the same shutdown: the
 * stop steps of what started, then the destroy steps.
 *
 * @onStart/@onStop apply to singletons (their instances exist for the whole run); a value provider's
 * hooks are not called, as for its @onDestroy.
 */
import type { Logger } from 'pino';
import type { Container } from '../container/container.js';
import { instanceHooks } from '../container/disposables.js';
import type { ProviderNode } from '../container/graph.js';
import { describe } from '../errors.js';
import { Deadline, runWithTimeout, startTimer } from '../lifecycle/deadline.js';
import type { HookMethod } from '../lifecycle/hooks.js';
import { linkById, PlanStep } from '../lifecycle/plan.js';
import { runPlan } from '../lifecycle/shutdown.js';
import { runStartup } from '../lifecycle/startup.js';
import type { ShutdownTask, StartupTask, StepPart } from '../lifecycle/tasks.js';
import type { App, HookContext, ShutdownReport } from '../types.js';

/** Something that brings work into the process and takes part in the start and stop phases. */
export interface Participant {
  /** Step id in the report and node id in app.graph(); unique among the graph's ids. */
  readonly id: string;
  /** Human name, e.g. 'http'. */
  readonly name: string;
  /** Report kind of its stop step. */
  readonly kind: 'http' | 'stop';
  /** The providers it uses: its stop step runs before their stop steps (it counts as their dependent). */
  readonly uses: readonly ProviderNode[];
  /**
   * Runs after every @onStart; a throw fails startup (QUIESCE_INIT_FAILED naming `name`). Once called,
   * the participant counts as started: rollback calls its stop, which must cope with a start that failed half-way.
   */
  start(ctx: HookContext, host: ParticipantHost): Promise<void>;
  /** Its stop step, under the shutdown deadline (ctx.deadline / ctx.signal). */
  stop(ctx: HookContext): Promise<void>;
  /** After the destroy phase, whether or not it started (e.g. the health listener). Never throws. */
  close?(): Promise<void>;
  /** What its stop still waits for, in words (undefined when nothing): named in the report when the deadline cuts it. */
  describePending?(): string | undefined;
}

/** What a participant may use of the app while starting. */
export interface ParticipantHost {
  readonly app: App;
  /** Readiness: true only between the end of startup and the start of shutdown. */
  readonly isReady: () => boolean;
}

export interface PhaseSettings {
  disposeConcurrency: 'graph' | 'sequential';
  logger: Logger;
}

export interface StartupRunOptions {
  /** The startup deadline (startupTimeout from bootstrap). */
  deadline: Deadline;
  /** Aborts startup (a signal, close() while starting). */
  signal: AbortSignal;
  /** After an abort, how long running tasks are waited for before rollback (ms). */
  abortGraceMs: number;
}

/** What the stop phase needs of the container's open unit-of-work scopes (container/scopes.ts OpenScopes). */
export interface ScopesToWaitFor {
  readonly size: number;
  whenEmpty(): Promise<void>;
  /** Closes the scopes still open; rejects with a HookTimeoutError describing them when there were any. */
  closeAll(ctx: HookContext): Promise<void>;
}

/** A singleton with @onStart or @onStop hooks. */
interface IntakeUnit {
  node: ProviderNode;
  instance: object;
  start: readonly HookMethod[];
  stop: readonly HookMethod[];
}

export class Phases {
  /** Ids (node ids, participant ids) whose start step completed: what a stop phase stops. */
  private readonly started = new Set<string>();
  private units?: Map<ProviderNode, IntakeUnit>;

  constructor(
    private readonly container: Container,
    readonly participants: readonly Participant[],
    private readonly settings: PhaseSettings,
  ) {}

  /** Creates every singleton and runs its @onInit hooks. Rejects with a StartupFailure. */
  async init(options: StartupRunOptions): Promise<void> {
    this.container.initDeadline = options.deadline.at;
    await runStartup(this.container.startupTasks(), startupOptions(options));
  }

  /** @onStart hooks in dependency order, then the participants. Rejects with a StartupFailure. */
  async start(options: StartupRunOptions, host: ParticipantHost): Promise<void> {
    const units = this.intakeUnits();
    const nearest = units.size > 0 ? nearestMembers(this.container.graph.nodes, (node) => units.has(node)) : new Map<ProviderNode, readonly ProviderNode[]>();
    const tasks: StartupTask[] = [];
    for (const unit of units.values()) {
      const parts = hookParts(unit.instance, unit.start, unit.node.name);
      tasks.push({
        id: unit.node.id,
        name: unit.node.name,
        after: (nearest.get(unit.node) ?? []).map((dep) => dep.id),
        run: (signal) => this.runStart(unit.node.id, parts, signal, options.deadline),
      });
    }
    // participants start once every @onStart is done: the listener opens on a started app
    const hookIds = tasks.map((task) => task.id);
    for (const participant of this.participants) {
      tasks.push({
        id: participant.id,
        name: participant.name,
        after: hookIds,
        run: (signal) => {
          // counted as started as soon as its start is called: a start that fails half-way (a listener
          // open, the next one not) is stopped by the rollback, so its stop must cope with that
          this.started.add(participant.id);
          return participant.start({ signal, deadline: options.deadline.at, reason: 'start' }, host);
        },
      });
    }
    await runStartup(tasks, startupOptions(options));
  }

  /**
   * The stop phase, then the destroy phase, then the participants' close(): one report, one deadline.
   * `scopes`: the open unit-of-work scopes the stop phase waits for (undefined before scopes exist).
   */
  async shutdown(reason: string, deadline: Deadline, scopes: ScopesToWaitFor | undefined): Promise<ShutdownReport> {
    const destroy = this.container.destroyPlan();
    const stop = this.stopTasks(scopes, destroy);
    const steps = stop.tasks.length === 0 ? destroy : afterStopPhase(linkById(stop.tasks), destroy);
    const { disposeConcurrency, logger } = this.settings;
    const report = await runPlan(steps, { reason, deadline, concurrency: disposeConcurrency, logger });
    this.container.releaseApp(); // a closed app holds none of what it created
    if (stop.reportIds.size > 0) for (const step of report.steps) step.id = stop.reportIds.get(step.id) ?? step.id;
    this.namePending(report);
    await this.closeParticipants(deadline);
    return report;
  }

  private runStart(id: string, parts: readonly StepPart[], signal: AbortSignal, deadline: Deadline): Promise<void> | void {
    if (parts.length === 0) {
      this.started.add(id); // a unit with only @onStop: started once everything it depends on started
      return undefined;
    }
    return (async () => {
      for (const part of parts) {
        await runWithTimeout((hookSignal) => part.run({ signal: hookSignal, deadline: deadline.at, reason: 'start' }), {
          timeoutMs: part.timeout,
          label: part.label,
          parentSignal: signal,
        });
      }
      // also when it completes after startup gave up on it: rollback (if not yet planned) then stops it
      this.started.add(id);
    })();
  }

  /** Singletons whose instances have @onStart or @onStop hooks, in topological order. Known once init is done. */
  private intakeUnits(): Map<ProviderNode, IntakeUnit> {
    if (this.units) return this.units;
    const units = new Map<ProviderNode, IntakeUnit>();
    const nodes = this.container.graph.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (node.scope !== 'singleton' || node.def.kind === 'value') continue;
      const instance: unknown = this.container.get(node.def.token);
      if ((typeof instance !== 'object' && typeof instance !== 'function') || instance === null) continue;
      // from the provider when it made the instance (one lookup per class, not per instance and kind)
      const { start, stop } = instanceHooks(instance, node.def);
      if (start.length > 0 || stop.length > 0) units.set(node, { node, instance, start, stop });
    }
    this.units = units;
    return units;
  }

  /**
   * Stop steps, dependents first: participants, then started units with @onStop in reverse topological
   * order, then (if any are open) the wait for unit-of-work scopes. Scheduler ids are made distinct from
   * the destroy steps' ids (the same node may have both); `reportIds` maps them back to node ids.
   */
  private stopTasks(scopes: ScopesToWaitFor | undefined, destroy: readonly PlanStep[]): { tasks: ShutdownTask[]; reportIds: Map<string, string> } {
    const reportIds = new Map<string, string>();
    const tasks: ShutdownTask[] = [];
    const units = this.units ?? new Map<ProviderNode, IntakeUnit>(); // undefined: startup failed before the start phase
    const members = new Map<ProviderNode, IntakeUnit>();
    for (const [node, unit] of units) if (unit.stop.length > 0 && this.started.has(node.id)) members.set(node, unit);
    const participants = this.participants.filter((participant) => this.started.has(participant.id));
    if (members.size === 0 && participants.length === 0 && !(scopes && scopes.size > 0)) return { tasks, reportIds };

    // scheduler ids: distinct from every node id and every destroy step id, whatever the tokens are
    const used = new Set<string>(destroy.map((task) => task.id));
    for (const node of this.container.graph.nodes) used.add(node.id);
    const key = (id: string, suffix: string): string => {
      let candidate = `${id} (${suffix})`;
      for (let n = 2; used.has(candidate); n++) candidate = `${id} (${suffix} ${n})`;
      used.add(candidate);
      reportIds.set(candidate, id);
      return candidate;
    };

    const nearest = members.size > 0 ? nearestMembers(this.container.graph.nodes, (node) => members.has(node)) : new Map<ProviderNode, readonly ProviderNode[]>();
    const dependents = new Map<ProviderNode, string[]>();
    const addDependent = (of: readonly ProviderNode[], id: string): void => {
      for (const node of of) {
        const list = dependents.get(node);
        if (list) list.push(id);
        else dependents.set(node, [id]);
      }
    };

    if (scopes && scopes.size > 0) {
      const open = scopes.size;
      tasks.push({
        id: key('scopes', 'stop'),
        name: 'scopes',
        kind: 'stop',
        after: [],
        parts: [{ label: `waiting for ${open} open unit-of-work scope(s)`, run: (ctx) => waitForScopes(scopes, ctx) }],
      });
    }
    for (const participant of participants) {
      const id = key(participant.id, participant.kind);
      addDependent(usedMembers(participant.uses, members, nearest), id);
      tasks.push({ id, name: participant.name, kind: participant.kind, after: [], parts: [{ label: `${participant.name} stop`, run: (ctx) => participant.stop(ctx) }] });
    }
    const nodes = this.container.graph.nodes;
    const unitTasks: ShutdownTask[] = [];
    const ids = new Map<ProviderNode, string>();
    for (const node of members.keys()) ids.set(node, key(node.id, 'stop'));
    for (const node of members.keys()) addDependent(nearest.get(node) ?? [], ids.get(node)!);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const unit = members.get(nodes[i]!);
      if (!unit) continue;
      unitTasks.push({
        id: ids.get(unit.node)!,
        name: unit.node.name,
        kind: 'stop',
        after: dependents.get(unit.node) ?? [],
        parts: hookParts(unit.instance, unit.stop, unit.node.name),
      });
    }
    tasks.push(...unitTasks);
    return { tasks, reportIds };
  }

  /**
   * A participant's stop cut off by the global deadline is reported by the scheduler with a generic
   * timeout text; the participant can say what it was still waiting for (e.g. 3 requests still running).
   */
  private namePending(report: ShutdownReport): void {
    for (const participant of this.participants) {
      const step = report.steps.find((s) => s.id === participant.id && s.kind === participant.kind);
      if (!step || step.status !== 'timeout' || !participant.describePending) continue;
      let pending: string | undefined;
      try {
        pending = participant.describePending();
      } catch {
        pending = undefined;
      }
      if (pending && !step.error?.includes(pending)) step.error = step.error ? `${step.error} (${pending})` : pending;
    }
  }

  private async closeParticipants(deadline: Deadline): Promise<void> {
    for (const participant of this.participants) {
      if (!participant.close) continue;
      try {
        await runWithTimeout(() => participant.close!(), { timeoutMs: Math.max(1, deadline.left()), label: `${participant.name} close` });
      } catch (error) {
        this.settings.logger.warn({ participant: participant.name, error: describe(error) }, 'closing a participant after shutdown failed');
      }
    }
  }
}

/**
 * One plan: the stop steps, then the destroy steps. No destroy step starts before the stop phase has ended:
 * the roots of the destroy order wait for a relay step that waits for every stop step (S + R links, not
 * S × R); every other destroy step waits for a root through its dependents.
 */
function afterStopPhase(stop: PlanStep[], destroy: readonly PlanStep[]): PlanStep[] {
  const stopped = PlanStep.relay('stop phase done');
  for (const step of stop) stopped.waitFor(step);
  for (const step of destroy) if (step.waitingFor === 0) step.waitFor(stopped);
  stop.push(stopped);
  for (const step of destroy) stop.push(step);
  return stop;
}

function startupOptions(options: StartupRunOptions): { timeoutMs: number; signal: AbortSignal; abortGraceMs: number; now: () => number } {
  return { timeoutMs: options.deadline.left(), signal: options.signal, abortGraceMs: options.abortGraceMs, now: options.deadline.now };
}

/** The parts of a start or stop step: one per hook method, in declaration order (base classes first). */
function hookParts(instance: object, hooks: readonly HookMethod[], name: string): StepPart[] {
  return hooks.map((hook) => ({
    label: `${name}.${String(hook.method)}()`,
    timeout: hook.timeout,
    run: (ctx: HookContext) => (instance as Record<string | symbol, (ctx: HookContext) => unknown>)[hook.method]!(ctx),
  }));
}

/**
 * For every node: the nearest members among what it depends on, directly or through non-members.
 * Nodes come in topological order (dependencies first), so one pass, no recursion (deep chains are fine).
 */
function nearestMembers(nodes: readonly ProviderNode[], isMember: (node: ProviderNode) => boolean): Map<ProviderNode, readonly ProviderNode[]> {
  const nearest = new Map<ProviderNode, readonly ProviderNode[]>();
  const none: readonly ProviderNode[] = [];
  for (const node of nodes) {
    let found: readonly ProviderNode[] = none;
    let distinct: Set<ProviderNode> | undefined;
    for (const dep of node.deps) {
      const reach = isMember(dep) ? [dep] : (nearest.get(dep) ?? none);
      if (reach.length === 0) continue;
      if (found.length === 0 && !distinct) {
        found = reach; // shared, not copied: a chain of non-members passes one array along
        continue;
      }
      distinct ??= new Set(found);
      for (const member of reach) distinct.add(member);
    }
    nearest.set(node, distinct ? [...distinct] : found);
  }
  return nearest;
}

/** The members a participant reaches through the nodes it uses. */
function usedMembers(
  uses: readonly ProviderNode[],
  members: ReadonlyMap<ProviderNode, unknown>,
  nearest: ReadonlyMap<ProviderNode, readonly ProviderNode[]>,
): ProviderNode[] {
  const found = new Set<ProviderNode>();
  for (const node of uses) {
    if (members.has(node)) found.add(node);
    else for (const member of nearest.get(node) ?? []) found.add(member);
  }
  return [...found];
}

/** Share of the time left to the deadline the stop phase waits for open scopes before closing the rest. */
const SCOPE_WAIT_SHARE = 0.75;

/**
 * Waits until every open scope is closed by its owner, for at most three quarters of the time left to the
 * deadline; then closes the rest itself (closeAll rejects with a HookTimeoutError saying how many and how
 * their instances fared, so the step is reported 'timeout' with that) and leaves the destroy phase time.
 */
async function waitForScopes(scopes: ScopesToWaitFor, ctx: HookContext): Promise<void> {
  if (scopes.size === 0) return;
  let cancel = (): void => {};
  let onAbort = (): void => {};
  const gaveUp = new Promise<void>((resolve) => {
    cancel = startTimer(Math.max(0, ctx.deadline - Date.now()) * SCOPE_WAIT_SHARE, resolve);
    onAbort = resolve;
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([scopes.whenEmpty(), gaveUp]);
  } finally {
    cancel();
    ctx.signal.removeEventListener('abort', onAbort);
  }
  if (scopes.size > 0) await scopes.closeAll(ctx);
}

