/**
 * Provider shapes (what users write) and their normal form (what the graph and the
 * container work on). Constructor dependencies come from inversify's class metadata,
 * which holds both `design:paramtypes` and `@inject` / `@optional`.
 */
import { ClassElementMetadataKind } from '@inversifyjs/core';
import { LazyServiceIdentifier } from 'inversify';
import { InvalidProviderError, UnresolvableParameterError } from '../errors.js';
import type { ClassHooks } from '../lifecycle/hooks.js';
import type { Logger } from 'pino';
import { LOGGER } from '../logger.js';
import { kController } from '../symbols.js';
import { tokenName, type Token } from '../tokens.js';
import type { HookContext, Scope } from '../types.js';
import type { Class } from './module-decorator.js';
import type { LoadedModule } from './modules.js';

interface ProviderCommon<T> {
  scope?: Scope;
  init?: (instance: T, ctx: HookContext) => void | Promise<void>;
  dispose?: (instance: T, ctx: HookContext) => void | Promise<void>;
}

export interface ClassProvider<T = unknown> extends ProviderCommon<T> {
  provide: Token<T>;
  useClass: Class<T>;
}

export interface ValueProvider<T = unknown> extends ProviderCommon<T> {
  provide: Token<T>;
  useValue: T;
}

export type FactoryDependency = Token | { token: Token; optional?: boolean };

export interface FactoryProvider<T = unknown> extends ProviderCommon<T> {
  provide: Token<T>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => T | Promise<T>;
  inject?: FactoryDependency[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Provider<T = any> = Class<T> | ClassProvider<T> | ValueProvider<T> | FactoryProvider<T>;

export interface Dependency {
  token: Token;
  optional: boolean;
  /** Where the dependency is declared, e.g. 'parameter #1 of UserService'. */
  site: string;
  /** Property name for property injection; undefined for constructor parameters and factory arguments. */
  property?: string | symbol;
}

export interface ProviderDef {
  token: Token;
  name: string;
  kind: 'class' | 'value' | 'factory';
  useClass?: Class;
  useValue?: unknown;
  useFactory?: (...args: unknown[]) => unknown;
  /** Constructor parameters or factory arguments, in order. */
  args: Dependency[];
  /** Property injections (class providers only). */
  properties: Dependency[];
  scope: Scope;
  init?: (instance: unknown, ctx: HookContext) => unknown;
  dispose?: (instance: unknown, ctx: HookContext) => unknown;
  module: LoadedModule;
  /** True for a controller listed under a module's `controllers`. */
  controller: boolean;
  /** Providers this one brings along: the child logger it injects as LOGGER (see withChildLogger). */
  companions?: ProviderDef[];
  /** useClass's hooks, looked up at its first instance (disposables.ts): a transient is made on every get. */
  hooks?: ClassHooks;
}

const scopes: readonly Scope[] = ['singleton', 'transient', 'request'];

export function normalizeProvider(provider: unknown, module: LoadedModule, index: number, controller = false): ProviderDef {
  const where = `${module.name}.${controller ? 'controllers' : 'providers'}[${index}]`;
  if (typeof provider === 'function') {
    if (!controller && Object.prototype.hasOwnProperty.call(provider, kController)) {
      throw new InvalidProviderError(
        `${where} in ${module.path.join(' -> ')} is ${provider.name}, a @Controller: listed under providers it would get no routes. ` +
          `Move it to ${module.name}'s controllers (a controller is a provider too, so list it there only).`,
      );
    }
    return classDef(provider as Class, provider as Class, {}, module, controller, where);
  }
  if (!provider || typeof provider !== 'object' || !('provide' in provider)) {
    throw new InvalidProviderError(
      `${where} in ${module.path.join(' -> ')} is not a provider: expected a class or { provide, useClass | useValue | useFactory }, got ${preview(provider)}.`,
    );
  }
  const p = provider as Partial<ClassProvider & ValueProvider & FactoryProvider> & { provide: unknown };
  const tokenProblem = checkToken(p.provide);
  if (tokenProblem) throw new InvalidProviderError(`${where} in ${module.path.join(' -> ')}: provide ${tokenProblem}.`);
  const given = ['useClass', 'useValue', 'useFactory'].filter((key) => key in p);
  if (given.length !== 1) {
    throw new InvalidProviderError(
      `${where} (${tokenName(p.provide)}) in ${module.path.join(' -> ')} must have exactly one of useClass, useValue, useFactory; it has ${given.length ? given.join(', ') : 'none'}.`,
    );
  }
  if (p.scope !== undefined && !scopes.includes(p.scope)) {
    throw new InvalidProviderError(`${where} (${tokenName(p.provide)}): scope must be one of ${scopes.join(', ')}, got ${preview(p.scope)}.`);
  }
  for (const fn of ['init', 'dispose'] as const) {
    if (p[fn] !== undefined && typeof p[fn] !== 'function') {
      throw new InvalidProviderError(`${where} (${tokenName(p.provide)}): ${fn} must be a function.`);
    }
  }
  if ('useClass' in p) {
    if (typeof p.useClass !== 'function') {
      throw new InvalidProviderError(`${where} (${tokenName(p.provide)}): useClass must be a class, got ${preview(p.useClass)}.`);
    }
    return classDef(p.provide as Token, p.useClass, p, module, controller, where);
  }
  const common = {
    token: p.provide as Token,
    name: tokenName(p.provide),
    properties: [],
    init: p.init as ProviderDef['init'],
    dispose: p.dispose as ProviderDef['dispose'],
    module,
    controller,
  };
  if ('useValue' in p) {
    if (p.scope && p.scope !== 'singleton') {
      throw new InvalidProviderError(`${where} (${tokenName(p.provide)}): a useValue provider is a single value; scope '${p.scope}' makes no sense.`);
    }
    return { ...common, kind: 'value', useValue: p.useValue, args: [], scope: 'singleton' };
  }
  if (typeof p.useFactory !== 'function') {
    throw new InvalidProviderError(`${where} (${tokenName(p.provide)}): useFactory must be a function, got ${preview(p.useFactory)}.`);
  }
  if (p.inject !== undefined && !Array.isArray(p.inject)) {
    throw new InvalidProviderError(`${where} (${tokenName(p.provide)}): inject must be an array of tokens.`);
  }
  const args = (p.inject ?? []).map((dep, i) => factoryDependency(dep, i, common.name, where));
  return withChildLogger({ ...common, kind: 'factory', useFactory: p.useFactory as ProviderDef['useFactory'], args, scope: p.scope ?? 'singleton' });
}

function factoryDependency(dep: FactoryDependency, index: number, name: string, where: string): Dependency {
  const site = `argument #${index} of the factory of ${name}`;
  const tokenOnly = typeof dep === 'object' && dep !== null && 'token' in dep ? dep.token : dep;
  const problem = checkToken(tokenOnly);
  if (problem) throw new InvalidProviderError(`${where} (${name}): inject[${index}] ${problem}.`);
  if (typeof dep === 'object' && dep !== null && 'token' in dep) return { token: dep.token, optional: dep.optional === true, site };
  return { token: dep, optional: false, site };
}

function classDef(
  token: Token,
  cls: Class,
  common: Partial<ProviderCommon<unknown>>,
  module: LoadedModule,
  controller: boolean,
  where: string,
): ProviderDef {
  const { args, properties, scope } = classDependencies(cls, where);
  const name = token === cls ? cls.name : tokenName(token);
  return withChildLogger({
    token,
    name,
    kind: 'class',
    useClass: cls,
    args,
    properties,
    scope: common.scope ?? scope ?? 'singleton',
    init: common.init,
    dispose: common.dispose,
    module,
    controller,
  });
}

/*
 * inversify's own reflect-metadata keys. We read its raw class metadata rather than its validated
 * getClassMetadata(), whose errors for interface-typed or @optional()-only parameters say nothing useful;
 * quiesce combines it with design:paramtypes and names the parameter and the fix itself.
 */
const isInjectableKey = '@inversifyjs/core/classIsInjectableFlagReflectKey';
const classMetadataKey = '@inversifyjs/core/classMetadataReflectKey';
const paramTypesKey = 'design:paramtypes';

interface RawElement {
  kind: number;
  optional?: boolean;
  name?: unknown;
  tags?: Map<unknown, unknown>;
  value?: unknown;
}

interface RawClassMetadata {
  constructorArguments: (RawElement | undefined)[];
  properties: Map<string | symbol, RawElement>;
  scope?: string;
}

/** Types that `design:paramtypes` records for interfaces, unions, primitives and `any`: never a provider. */
const unusableTypes = new Set<unknown>([Object, String, Number, Boolean, Array, Function, Promise, Symbol, BigInt, undefined]);

function classDependencies(cls: Class, where: string): { args: Dependency[]; properties: Dependency[]; scope?: Scope } {
  const name = cls.name || '<anonymous class>';
  const raw = Reflect.getOwnMetadata(classMetadataKey, cls) as RawClassMetadata | undefined;
  // @injectable() leaves the class metadata (and a flag); so does @Controller(), which applies injectable itself
  if (raw === undefined && cls.length > 0 && !Reflect.hasOwnMetadata(isInjectableKey, cls) && !Object.prototype.hasOwnProperty.call(cls, kController)) {
    throw new InvalidProviderError(
      `${name} (${where}) has constructor parameters but is not decorated with @injectable(), so its dependencies are unknown. Add @injectable() to ${name}.`,
    );
  }
  const paramTypes = Reflect.getOwnMetadata(paramTypesKey, cls) as unknown[] | undefined;
  const elements = raw?.constructorArguments ?? [];
  const count = Math.max(cls.length, elements.length, paramTypes?.length ?? 0);
  checkBaseClass(cls, count, where);
  const args: Dependency[] = [];
  for (let index = 0; index < count; index++) {
    const site = `parameter #${index} of ${name}`;
    args.push(elementDependency(elements[index], paramTypes, index, site, name) ?? { token: undefinedToken, optional: true, site: `${site} (@unmanaged)` });
  }
  const properties = raw !== undefined && raw.properties.size > 0 ? propertyDependencies(raw.properties, name) : [];
  const scope = raw?.scope === 'Transient' ? 'transient' : raw?.scope === 'Singleton' ? 'singleton' : undefined;
  return { args, properties, scope };
}

/** Property injections (@inject on a property): rare, so kept out of the code every class goes through. */
function propertyDependencies(elements: ReadonlyMap<string | symbol, RawElement>, name: string): Dependency[] {
  const properties: Dependency[] = [];
  for (const [key, element] of elements) {
    const dep = elementDependency(element, undefined, -1, `property ${String(key)} of ${name}`, name);
    if (dep) properties.push({ ...dep, property: key });
  }
  return properties;
}

/** Stands for an @unmanaged() parameter: never provided, always injected as undefined. */
export const undefinedToken = Symbol('unmanaged');

/** A subclass with no constructor of its own silently gets undefined arguments in inversify: make it an error. */
function checkBaseClass(cls: Class, ownArgs: number, where: string): void {
  if (ownArgs > 0) return;
  const base = Object.getPrototypeOf(cls) as unknown;
  if (typeof base !== 'function' || base === Function.prototype) return;
  const baseRaw = Reflect.getOwnMetadata(classMetadataKey, base) as RawClassMetadata | undefined;
  const baseArgs = Math.max((base as Class).length, baseRaw?.constructorArguments.length ?? 0);
  if (baseArgs > 0) {
    throw new InvalidProviderError(
      `${cls.name} (${where}) extends ${(base as Class).name}, whose constructor takes ${baseArgs} ${baseArgs === 1 ? 'dependency' : 'dependencies'}, but ${cls.name} declares none: ` +
        `it would be built with undefined arguments. Add @injectFromBase() (from 'inversify') to ${cls.name}, or give it a constructor that declares them.`,
    );
  }
}

function elementDependency(element: RawElement | undefined, paramTypes: unknown[] | undefined, index: number, site: string, owner: string): Dependency | undefined {
  if (element?.kind === ClassElementMetadataKind.unmanaged) return undefined;
  if (element?.kind === ClassElementMetadataKind.multipleInjection) {
    throw new InvalidProviderError(`${site} uses @multiInject, which quiesce does not support: inject a token whose provider returns an array.`);
  }
  if (element?.name !== undefined || (element?.tags?.size ?? 0) > 0) {
    throw new InvalidProviderError(`${site} uses @named/@tagged, which quiesce does not support: give each variant its own token.`);
  }
  const optional = element?.optional === true;
  const explicit = element?.kind === ClassElementMetadataKind.singleInjection && !(element as { isFromTypescriptParamType?: boolean }).isFromTypescriptParamType;
  if (explicit) {
    const value = element.value instanceof LazyServiceIdentifier ? element.value.unwrap() : element.value;
    if (value === undefined || value === null) throw new UnresolvableParameterError(circularImportMessage(site));
    return { token: value as Token, optional, site };
  }
  // no @inject: the type TypeScript recorded is the token
  if (!paramTypes) {
    throw new UnresolvableParameterError(noMetadataMessage(site, owner));
  }
  const type = paramTypes[index];
  if (type === undefined) throw new UnresolvableParameterError(circularImportMessage(site));
  if (unusableTypes.has(type)) throw new UnresolvableParameterError(unusableMessage(site, owner, type));
  return { token: type as Token, optional, site };
}

/**
 * A decorated class whose constructor has parameters always gets design:paramtypes from tsc with
 * emitDecoratorMetadata; none at all means the tool that compiled its file did not emit decorator metadata.
 * esbuild-based runners (tsx, esbuild, Vite) never do, whatever tsconfig says, and are the usual cause.
 */
function noMetadataMessage(site: string, owner: string): string {
  return (
    `${site} cannot be injected by type: ${owner} has no decorator metadata at all (no design:paramtypes), so the tool that ` +
    `compiled its file did not emit it. tsx, esbuild and Vite never emit decorator metadata, even with emitDecoratorMetadata on: ` +
    `compile with tsc (or run tests with vitest), or give every parameter an @inject(token). ` +
    `With tsc: turn on "emitDecoratorMetadata" and "experimentalDecorators", and check that tsconfig's include covers ${owner}'s file.`
  );
}

function circularImportMessage(site: string): string {
  return (
    `${site} has type undefined: the class is used before it is defined (a circular import between files). ` +
    `Inject it with @inject(new LazyServiceIdentifier(() => TheClass)) or break the import cycle.`
  );
}

function unusableMessage(site: string, owner: string, value: unknown): string {
  if (value === Function) {
    // TypeScript records Function for a class imported with `import type` (and for a function type)
    return (
      `${site} has type Function: it looks like a class imported as a type (\`import type { X }\` or \`import { type X }\`), ` +
        `which TypeScript records as Function. Import the class as a value in ${owner}'s file. ` +
        `If the parameter really is a function, inject it by token: @inject(MY_TOKEN) with { provide: MY_TOKEN, useValue: fn } in a module.`
    );
  }
  const seen = value === undefined ? 'no type' : `type ${(value as { name?: string }).name ?? typeof value}`;
  return (
    `${site} has ${seen}, which quiesce cannot inject: an interface, type alias, union or primitive leaves no runtime type. ` +
    `Inject it by token: @inject(MY_TOKEN) with { provide: MY_TOKEN, ... } in a module. ` +
    `If it is a class, check that ${owner}'s file imports it as a value (not \`import type\`) and that emitDecoratorMetadata is on.`
  );
}

function checkToken(value: unknown): string | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value === 'string') return value.length > 0 ? undefined : 'is an empty string';
  return `must be a class, a token(), a string or a symbol, got ${preview(value)}`;
}

function preview(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'symbol' || typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? 'undefined';
}

/** Controllers without HttpModule would be created and never served: say so instead of starting quietly. */
export function checkControllersServed(controllers: readonly ProviderDef[], httpModuleImported: boolean): void {
  if (httpModuleImported || controllers.length === 0) return;
  const byModule = new Map<string, string[]>();
  for (const def of controllers) byModule.set(def.module.name, [...(byModule.get(def.module.name) ?? []), def.name]);
  const declared = [...byModule].map(([module, names]) => `${module} declares controllers (${names.join(', ')})`).join('; ');
  throw new InvalidProviderError(
    `${declared} but no module imports HttpModule.forRoot(...), so nothing would serve them. Import HttpModule.forRoot({ port }) in the root module.`,
  );
}

/*
 * LOGGER: every provider that injects it gets a child of the app's logger bound to its own name. The child is
 * a value provider that comes along with the provider (a companion with a token of its own), so the graph,
 * the container and scopes need nothing special; the app's logger is the one of the bootstrap that is building
 * the graph (buildGraph is synchronous, so withAppLogger brackets it exactly).
 */
let appLogger: Logger | undefined;

/** Runs `build` (buildGraph) with `logger` as the parent of the LOGGER children it creates. */
export function withAppLogger<T>(logger: Logger, build: () => T): T {
  const previous = appLogger;
  appLogger = logger;
  try {
    return build();
  } finally {
    appLogger = previous;
  }
}

function withChildLogger(def: ProviderDef): ProviderDef {
  const wantsLogger = (dep: Dependency): boolean => dep.token === LOGGER;
  if (!def.args.some(wantsLogger) && !def.properties.some(wantsLogger)) return def;
  const parent = appLogger;
  if (!parent) return def; // outside bootstrap (graph unit tests): LOGGER stays a plain token
  const child: ProviderDef = {
    token: Symbol(`Logger(${def.name})`),
    name: `Logger(${def.name})`,
    kind: 'value',
    useValue: parent.child({ context: def.name }),
    args: [],
    properties: [],
    scope: 'singleton',
    module: def.module,
    controller: false,
  };
  const swap = (dep: Dependency): Dependency => (wantsLogger(dep) ? { ...dep, token: child.token } : dep);
  return { ...def, args: def.args.map(swap), properties: def.properties.map(swap), companions: [child] };
}
