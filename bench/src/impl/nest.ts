/** NestJS: the same classes as @Injectable providers in @Module classes (each module exports all). */
import { Injectable, Module } from '@nestjs/common';
import { counters, decorate, namedClass, sleep } from '../common.js';
import { moduleOrder, rootModules, type GraphSpec } from '../graphs.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cls = new (...a: any[]) => any;

export function buildNest(g: GraphSpec): { AppModule: Cls; classes: Cls[] } {
  const classes = g.nodes.map((n) => namedClass(n.name));
  g.nodes.forEach((n, i) => {
    const C = classes[i]!;
    if (n.init) {
      Object.defineProperty(C.prototype, 'onModuleInit', { value: function onModuleInit(this: { started?: boolean }) { this.started = true; }, writable: true, configurable: true });
    }
    if (n.noop) {
      const onModuleDestroy = n.noop === 'sync' ? function onModuleDestroy() { counters.disposed++; } : async function onModuleDestroy() { counters.disposed++; };
      Object.defineProperty(C.prototype, 'onModuleDestroy', { value: onModuleDestroy, writable: true, configurable: true });
    }
    if (n.destroyMs > 0) {
      const ms = n.destroyMs;
      Object.defineProperty(C.prototype, 'onModuleDestroy', { value: () => sleep(ms), writable: true, configurable: true });
    }
    decorate([Injectable(), Reflect.metadata('design:paramtypes', n.deps.map((d) => classes[d]))], C);
  });
  const modules: Cls[] = [];
  // modules are declared in an order where imports exist first
  const order = moduleOrder(g);
  for (const m of order) {
    const M = namedClass(`${g.name.replace(/\W/g, '_')}_M${m}`);
    const providers = classes.filter((_, i) => g.nodes[i]!.module === m);
    decorate([Module({ imports: g.moduleImports[m]!.map((x) => modules[x]!), providers, exports: providers })], M);
    modules[m] = M;
  }
  const roots = rootModules(g).map((m) => modules[m]!);
  const AppModule = namedClass(`${g.name.replace(/\W/g, '_')}_App`);
  decorate([Module({ imports: roots })], AppModule);
  return { AppModule, classes };
}
