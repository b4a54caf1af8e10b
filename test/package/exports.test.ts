import { describe, expect, it } from 'vitest';
import * as quiesce from '../../src/index.js';

describe('public surface', () => {
  it('exports exactly the documented runtime names', () => {
    expect(Object.keys(quiesce).sort()).toEqual(
      [
        'AsyncResolutionError',
        'Controller',
        'CycleError',
        'Delete',
        'DuplicateProviderError',
        'Get',
        'HTTP_OPTIONS',
        'HookTimeoutError',
        'HttpModule',
        'InitFailedError',
        'InvalidOptionsError',
        'InvalidProviderError',
        'LOGGER',
        'LazyServiceIdentifier',
        'MissingProviderError',
        'Module',
        'NoReflectMetadataError',
        'NotFoundError',
        'Patch',
        'Post',
        'Put',
        'QuiesceError',
        'REQUEST',
        'ScopeError',
        'StartupAbortedError',
        'StartupTimeoutError',
        'StoppingError',
        'UnresolvableParameterError',
        'bootstrap',
        'closingSignal',
        'createTestApp',
        'errorCodes',
        'inject',
        'injectFromBase',
        'injectable',
        'onDestroy',
        'onInit',
        'onStart',
        'onStop',
        'optional',
        'token',
        'unmanaged',
      ].sort(),
    );
  });
});
