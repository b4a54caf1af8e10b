/**
 * createTestApp: bootstrap for tests. No signal handlers, no listening port (use app.http.inject()),
 * no process exit, logger off; providers can be overridden by token in any module.
 */
import { bootstrap, type TestingOptions } from '../bootstrap.js';
import type { ModuleImport } from '../container/module-decorator.js';
import type { Provider } from '../container/providers.js';
import { kTestingOptions } from '../symbols.js';
import type { App, BootstrapOptions } from '../types.js';

export interface TestAppOptions extends Omit<BootstrapOptions, 'signals' | 'exit'> {
  /** Providers that replace the app's providers with the same token (or add one where none exists). */
  overrides?: Provider[];
}

export function createTestApp(root: ModuleImport, options: TestAppOptions = {}): Promise<App> {
  const { overrides, ...rest } = options;
  const testing: TestingOptions = { overrides: overrides ?? [], listen: false };
  const internal = { logger: false, ...rest, signals: false as const, exit: false, [kTestingOptions]: testing };
  return bootstrap(root, internal);
}
