/** Raw inversify 8: the same classes, bound by hand, as a user without a framework would. */
import { Container, injectable, postConstruct } from 'inversify';
import { decorate, namedClass } from '../common.js';
import type { GraphSpec } from '../graphs.js';

export interface Built {
  classes: (new (...a: unknown[]) => unknown)[];
  /** A container with every class bound (the part a framework does for you). */
  makeContainer(): Container;
}

/** Decorated classes (what the compiler emits at import time) and a container factory. */
export function buildInversify(g: GraphSpec): Built {
  const classes = g.nodes.map((n) => namedClass(n.name));
  g.nodes.forEach((n, i) => {
    const C = classes[i]!;
    if (n.init) {
      Object.defineProperty(C.prototype, 'start', { value: function start(this: { started?: boolean }) { this.started = true; }, writable: true, configurable: true });
      decorate([postConstruct()], C.prototype, 'start');
    }
    decorate([injectable(), Reflect.metadata('design:paramtypes', n.deps.map((d) => classes[d]))], C);
  });
  const makeContainer = () => {
    const container = new Container();
    g.nodes.forEach((n, i) => {
      const b = container.bind(classes[i]!).toSelf();
      if (n.scope === 'transient') b.inTransientScope();
      else b.inSingletonScope();
    });
    return container;
  };
  return { classes, makeContainer };
}
