/** The public surface of quiesce. Nothing else is part of the API. */
export { injectable, inject, optional, injectFromBase, unmanaged, LazyServiceIdentifier } from 'inversify';

export { bootstrap } from './bootstrap.js';
export { createTestApp, type TestAppOptions } from './testing/create-test-app.js';
export { Module, type DynamicModule, type ModuleMetadata, type ModuleImport, type Class } from './container/module-decorator.js';
export type { Provider, ClassProvider, ValueProvider, FactoryProvider, FactoryDependency } from './container/providers.js';
export { token, type Token, type TypedToken } from './tokens.js';
export { LOGGER } from './logger.js';
export type { Logger } from 'pino';
export { onInit, onStart, onStop, onDestroy } from './lifecycle/hooks.js';
export { HttpModule, HTTP_OPTIONS } from './http/http-module.js';
export { REQUEST } from './http/request-token.js';
export type { WorkScope } from './container/scopes.js';
export type { HttpModuleOptions } from './http/server.js';
export { Controller, Get, Post, Put, Patch, Delete } from './http/controllers.js';
export { closingSignal } from './http/closing-signal.js';
export {
  QuiesceError,
  CycleError,
  MissingProviderError,
  DuplicateProviderError,
  ScopeError,
  InvalidProviderError,
  InvalidOptionsError,
  UnresolvableParameterError,
  NoReflectMetadataError,
  InitFailedError,
  StartupTimeoutError,
  StartupAbortedError,
  HookTimeoutError,
  StoppingError,
  AsyncResolutionError,
  NotFoundError,
  errorCodes,
  type QuiesceErrorCode,
} from './errors.js';
export type {
  App,
  AppState,
  BootstrapOptions,
  DependencyGraph,
  GraphNode,
  GraphEdge,
  DestroyContext,
  HookContext,
  HookOptions,
  LoggerOption,
  Scope,
  ShutdownReport,
  ShutdownStep,
  StepStatus,
} from './types.js';
