/**
 * @Controller and the route decorators (@Get, @Post, @Put, @Patch, @Delete): metadata only.
 * The server (server.ts) reads it with getControllerMetadata() when it registers routes.
 */
import type { RouteShorthandOptions } from 'fastify';
import { injectable } from 'inversify';
import { InvalidProviderError, NoReflectMetadataError } from '../errors.js';
import { kController, kRoutes } from '../symbols.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** fastify's route shorthand options (schema, config, hooks, logLevel, ...); method, url and handler come from the decorator. */
export type ControllerRouteOptions = Omit<RouteShorthandOptions, 'method' | 'url' | 'path' | 'handler'>;

export interface RouteDefinition {
  method: HttpMethod;
  /** The full URL registered with fastify: the controller prefix joined with the method's path. */
  path: string;
  /** The controller method that handles the route. */
  handlerName: string | symbol;
  options: ControllerRouteOptions;
}

export interface ControllerMetadata {
  /** The normalized prefix ('' for none). */
  prefix: string;
  routes: RouteDefinition[];
}

/** A route as declared on a method, before the class's prefix is known. */
interface DeclaredRoute {
  method: HttpMethod;
  path: string;
  handlerName: string | symbol;
  options: ControllerRouteOptions;
}

/** inversify's own marker for @injectable() (the container reads the same key). */
const injectableFlagKey = '@inversifyjs/core/classIsInjectableFlagReflectKey';
const reservedOptions = ['method', 'url', 'path', 'handler'] as const;

/**
 * Marks a class as a controller whose routes live under `prefix`. It also makes the class injectable for
 * inversify (constructor parameter types are recorded), so `@injectable()` is not needed; adding it anyway,
 * above or below `@Controller`, still works.
 */
export function Controller(prefix = ''): ClassDecorator {
  if (typeof prefix !== 'string') {
    throw new InvalidProviderError(`@Controller(prefix): prefix must be a string, got ${typeof prefix}.`);
  }
  const normalized = normalizePrefix(prefix);
  return (target) => {
    if (typeof Reflect.getOwnMetadata !== 'function') throw new NoReflectMetadataError();
    if (Object.prototype.hasOwnProperty.call(target, kController)) {
      throw new InvalidProviderError(`@Controller is applied twice to ${target.name}.`);
    }
    if (!Reflect.hasOwnMetadata(injectableFlagKey, target)) {
      // injectable() records the constructor's parameter types for inversify. It also sets a flag that makes a
      // second @injectable() throw "applied multiple times"; remove the flag so that `@injectable() @Controller()`
      // works too. isController() stands in for the flag.
      injectable()(target);
      Reflect.deleteMetadata(injectableFlagKey, target);
    }
    Reflect.defineProperty(target, kController, { value: normalized, enumerable: false });
  };
}

function routeDecorator(method: HttpMethod) {
  const name = method.charAt(0) + method.slice(1).toLowerCase();
  return (path = '', options: ControllerRouteOptions = {}): MethodDecorator => {
    if (typeof path !== 'string') {
      throw new InvalidProviderError(`@${name}(path): path must be a string, got ${typeof path}.`);
    }
    const given = options as Record<string, unknown>;
    for (const key of reservedOptions) {
      if (given[key] !== undefined) {
        throw new InvalidProviderError(`@${name}('${path}', options): '${key}' comes from the decorator and the method; remove it from the options.`);
      }
    }
    return (prototype, handlerName, descriptor) => {
      const where = `${typeof prototype === 'function' ? prototype.name : prototype.constructor.name}.${String(handlerName)}`;
      if (typeof prototype === 'function') {
        throw new InvalidProviderError(`@${name} on static method ${where}: routes are instance methods.`);
      }
      if (typeof descriptor.value !== 'function') {
        throw new InvalidProviderError(`@${name} on ${where}, which is not a method.`);
      }
      ownRoutes(prototype).push({ method, path, handlerName, options });
    };
  };
}

export const Get = routeDecorator('GET');
export const Post = routeDecorator('POST');
export const Put = routeDecorator('PUT');
export const Patch = routeDecorator('PATCH');
export const Delete = routeDecorator('DELETE');

/** True for a class decorated with @Controller (itself, not only a base class). */
export function isController(cls: unknown): boolean {
  return typeof cls === 'function' && Object.prototype.hasOwnProperty.call(cls, kController);
}

/**
 * The prefix and routes of a @Controller class, or undefined for any other value.
 * Routes declared in base classes are inherited; a subclass route with the same method and path replaces it.
 */
export function getControllerMetadata(cls: unknown): ControllerMetadata | undefined {
  if (!isController(cls)) return undefined;
  const prefix = (cls as Record<typeof kController, string>)[kController];
  const chain: object[] = [];
  for (let p = (cls as { prototype: object | null }).prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    chain.unshift(p);
  }
  const byRoute = new Map<string, RouteDefinition>();
  for (const prototype of chain) {
    if (!Object.prototype.hasOwnProperty.call(prototype, kRoutes)) continue;
    for (const route of (prototype as Record<typeof kRoutes, DeclaredRoute[]>)[kRoutes]) {
      const path = joinPath(prefix, route.path);
      byRoute.set(`${route.method} ${path}`, { method: route.method, path, handlerName: route.handlerName, options: route.options });
    }
  }
  return { prefix, routes: [...byRoute.values()] };
}

/** '/users' + '/:id' → '/users/:id'; '/users' + '' or '/' → '/users'; '' + '' → '/'. Duplicate and trailing slashes go. */
export function joinPath(prefix: string, path: string): string {
  const joined = `/${prefix}/${path}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

function normalizePrefix(prefix: string): string {
  const path = joinPath(prefix, '');
  return path === '/' ? '' : path;
}

function ownRoutes(prototype: object): DeclaredRoute[] {
  if (!Object.prototype.hasOwnProperty.call(prototype, kRoutes)) {
    Reflect.defineProperty(prototype, kRoutes, { value: [], enumerable: false });
  }
  return (prototype as Record<typeof kRoutes, DeclaredRoute[]>)[kRoutes];
}
