/** quiesce: the same classes as providers of @Module classes, hooks by decorator. */
import { Module, injectable, onDestroy, onInit, type Provider } from '../quiesce-lib.js';
import { counters, decorate, namedClass, sleep } from '../common.js';
import { moduleOrder, rootModules, type GraphSpec } from '../graphs.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cls = new (...a: any[]) => any;

export function buildQuiesce(g: GraphSpec): { AppModule: Cls; classes: Cls[] } {
  const classes = g.nodes.map((n) => namedClass(n.name));
  g.nodes.forEach((n, i) => {
    const C = classes[i]!;
    if (n.init) {
      Object.defineProperty(C.prototype, 'start', { value: function start(this: { started?: boolean }) { this.started = true; }, writable: true, configurable: true });
      decorate([onInit()], C.prototype, 'start');
    }
    if (n.noopInit) {
      Object.defineProperty(C.prototype, 'start', { value: async function start() { counters.inited++; }, writable: true, configurable: true });
      decorate([onInit()], C.prototype, 'start');
    }
    if (n.noop) {
      const stop = n.noop === 'sync' ? function stop() { counters.disposed++; } : async function stop() { counters.disposed++; };
      Object.defineProperty(C.prototype, 'stop', { value: stop, writable: true, configurable: true });
      decorate([onDestroy()], C.prototype, 'stop');
    }
    if (n.destroyMs > 0) {
      const ms = n.destroyMs;
      Object.defineProperty(C.prototype, 'stop', { value: () => sleep(ms), writable: true, configurable: true });
      decorate([onDestroy()], C.prototype, 'stop');
    }
    decorate([injectable(), Reflect.metadata('design:paramtypes', n.deps.map((d) => classes[d]))], C);
  });
  const modules: Cls[] = [];
  for (const m of moduleOrder(g)) {
    const M = namedClass(`${g.name.replace(/\W/g, '_')}_M${m}`);
    const providers: Provider[] = g.nodes.flatMap((n, i): Provider[] =>
      n.module !== m ? [] : n.scope === 'transient' ? [{ provide: classes[i]!, useClass: classes[i]!, scope: 'transient' as const }] : [classes[i]!],
    );
    decorate([Module({ imports: g.moduleImports[m]!.map((x) => modules[x]!), providers })], M);
    modules[m] = M;
  }
  const AppModule = namedClass(`${g.name.replace(/\W/g, '_')}_App`);
  decorate([Module({ imports: rootModules(g).map((m) => modules[m]!) })], AppModule);
  return { AppModule, classes };
}
