import type { Newable } from 'inversify';

declare const tokenType: unique symbol;

/**
 * A typed token: a symbol that carries the type it stands for, so `app.get(CONFIG)` is typed.
 * Being a plain symbol, it is a valid inversify service identifier too.
 */
export type TypedToken<T> = symbol & { readonly [tokenType]?: T };

/** Anything a provider can be registered under. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Token<T = unknown> = TypedToken<T> | Newable<T> | (abstract new (...args: any[]) => T) | string | symbol;

export function token<T>(name: string): TypedToken<T> {
  return Symbol(name);
}

/** The human name of a token: class name, symbol description or the string itself. */
export function tokenName(t: unknown): string {
  if (typeof t === 'function') return t.name || '<anonymous class>';
  if (typeof t === 'symbol') return t.description ?? t.toString();
  if (typeof t === 'string') return t;
  return String(t);
}
