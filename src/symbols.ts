/** Internal state on shared objects sits behind these symbols; none is exported from the package. */
export const kModuleMetadata = Symbol('quiesce.module');
export const kInitHooks = Symbol('quiesce.onInit');
export const kDestroyHooks = Symbol('quiesce.onDestroy');
/** Options only createTestApp passes to bootstrap. */
export const kTestingOptions = Symbol('quiesce.testing');
