/**
 * SEAM, to be replaced when the "scopes" work lands on main (PLAN.md, interface 1).
 *
 * The Container gains `openScope(opts?)` and `openScopes` there. Until then this file declares their
 * shape on the Container so that App.createScope() and the stop phase compile against the agreed
 * interface; at run time both are absent, so createScope() throws and the stop phase has no scopes to
 * wait for. When scopes lands: delete the `declare module` block below (keep the OpenScopes type, or
 * import it from the container) and nothing else changes.
 */
import type { HookContext, WorkScope } from '../types.js';

/** The open unit-of-work scopes of an app (PLAN.md interface 1). */
export interface OpenScopes {
  readonly size: number;
  /** Resolves once no scope is open. */
  whenEmpty(): Promise<void>;
  /** At the deadline: destroys what the remaining scopes own. */
  closeAll(ctx: HookContext): Promise<void>;
}

export interface OpenScopeOptions {
  /** Values the scope provides by token, e.g. REQUEST -> the current request. */
  values?: ReadonlyMap<unknown, unknown>;
}

declare module '../container/container.js' {
  interface Container {
    /** Provided by the scopes work; absent (undefined) until it lands. */
    openScope(options?: OpenScopeOptions): WorkScope;
    /** Provided by the scopes work; absent (undefined) until it lands. */
    readonly openScopes: OpenScopes | undefined;
  }
}
