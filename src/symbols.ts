/** Internal state on shared objects sits behind these symbols; none is exported from the package. */
export const kModuleMetadata = Symbol('quiesce.module');
export const kInitHooks = Symbol('quiesce.onInit');
export const kDestroyHooks = Symbol('quiesce.onDestroy');
export const kStartHooks = Symbol('quiesce.onStart');
export const kStopHooks = Symbol('quiesce.onStop');
/** Options only createTestApp passes to bootstrap. */
export const kTestingOptions = Symbol('quiesce.testing');
/** On a controller class (own property): its route prefix. */
export const kController = Symbol('quiesce.controller');
/** On a controller prototype (own property): the routes its methods declare. */
export const kRoutes = Symbol('quiesce.routes');
/** On the root fastify instance of an HttpServer: the AbortSignal behind closingSignal(request). */
export const kClosingSignal = Symbol('quiesce.closingSignal');
