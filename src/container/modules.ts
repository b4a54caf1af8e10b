/**
 * The module tree: walks `imports` from the root module, loading each module once,
 * and remembers the import path to every module for error messages.
 */
import { InvalidProviderError } from '../errors.js';
import { getModuleMetadata, type Class, type DynamicModule, type ModuleImport } from './module-decorator.js';
import type { Provider } from './providers.js';

export interface LoadedModule {
  name: string;
  /** Import path from the root, e.g. ['AppModule', 'UsersModule']. */
  path: readonly string[];
  providers: readonly Provider[];
  controllers: readonly Class[];
  moduleClass: Class;
}

export function describeModule(module: LoadedModule): string {
  return module.path.length > 1 ? `${module.name} (${module.path.join(' -> ')})` : module.name;
}

/** Loads the tree depth-first, imports before importers, each module class (or dynamic module object) once. */
export function loadModules(root: ModuleImport): LoadedModule[] {
  const loaded: LoadedModule[] = [];
  const seen = new Set<unknown>();
  visit(root, [], 'bootstrap()');
  return loaded;

  function visit(entry: unknown, parentPath: readonly string[], where: string): void {
    const { moduleClass, dynamic } = asModule(entry, where);
    const name = moduleClass.name || '<anonymous module>';
    const path = [...parentPath, name];
    const staticMetadata = getModuleMetadata(moduleClass) ?? {};
    if (!seen.has(moduleClass)) {
      seen.add(moduleClass);
      loadOne(moduleClass, name, path, staticMetadata.imports, staticMetadata.providers, staticMetadata.controllers);
    }
    if (dynamic && !seen.has(dynamic)) {
      seen.add(dynamic);
      loadOne(moduleClass, name, path, dynamic.imports, dynamic.providers, dynamic.controllers);
    }
  }

  function loadOne(
    moduleClass: Class,
    name: string,
    path: readonly string[],
    imports: readonly ModuleImport[] | undefined,
    providers: readonly Provider[] | undefined,
    controllers: readonly Class[] | undefined,
  ): void {
    checkArray(imports, 'imports', path);
    checkArray(providers, 'providers', path);
    checkArray(controllers, 'controllers', path);
    (imports ?? []).forEach((child, index) => {
      visit(child, path, `${path.join(' -> ')} imports[${index}]`);
    });
    loaded.push({ name, path, moduleClass, providers: providers ?? [], controllers: controllers ?? [] });
  }
}

function asModule(entry: unknown, where: string): { moduleClass: Class; dynamic?: DynamicModule } {
  if (entry === undefined || entry === null) {
    throw new InvalidProviderError(
      `${where} is ${String(entry)}. This usually means a circular import between module files: ` +
        'the imported module was not yet defined when this module was declared.',
    );
  }
  if (typeof entry === 'function') {
    if (!getModuleMetadata(entry)) {
      throw new InvalidProviderError(
        `${where === 'bootstrap()' ? 'bootstrap() was given' : `${where} is`} ${entry.name || 'a class'}, which is not a module. Decorate it with @Module({...}), ` +
          'or list it under providers if it is a service.',
      );
    }
    return { moduleClass: entry as Class };
  }
  if (typeof entry === 'object' && typeof (entry as DynamicModule).module === 'function') {
    return { moduleClass: (entry as DynamicModule).module, dynamic: entry as DynamicModule };
  }
  throw new InvalidProviderError(
    `${where} is not a module: expected a @Module class or { module, providers?, imports?, controllers? }.`,
  );
}

function checkArray(value: unknown, field: string, path: readonly string[]): void {
  if (value !== undefined && !Array.isArray(value)) {
    throw new InvalidProviderError(`${path.join(' -> ')}: ${field} must be an array.`);
  }
}
