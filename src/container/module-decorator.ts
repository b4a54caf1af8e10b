import { kModuleMetadata } from '../symbols.js';
import type { Provider } from './providers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Class<T = unknown> = new (...args: any[]) => T;

/** A module returned by a function such as `HttpModule.forRoot(...)`. */
export interface DynamicModule {
  module: Class;
  imports?: ModuleImport[];
  providers?: Provider[];
  controllers?: Class[];
}

export type ModuleImport = Class | DynamicModule;

export interface ModuleMetadata {
  imports?: ModuleImport[];
  providers?: Provider[];
  controllers?: Class[];
}

/** Declares a module: the providers and controllers it contributes and the modules it imports. */
export function Module(metadata: ModuleMetadata = {}): ClassDecorator {
  return (target) => {
    Reflect.defineProperty(target, kModuleMetadata, { value: metadata, enumerable: false });
  };
}

export function getModuleMetadata(target: unknown): ModuleMetadata | undefined {
  if (typeof target !== 'function') return undefined;
  return Object.prototype.hasOwnProperty.call(target, kModuleMetadata)
    ? ((target as unknown as Record<symbol, ModuleMetadata>)[kModuleMetadata])
    : undefined;
}
