/**
 * The CommonJS entry (`require('quiesce')`, the `require` condition of package.json `exports`).
 * quiesce is ESM, as is inversify underneath it; Node ≥ 20.19 and ≥ 22.12 load ESM through `require()`
 * (require(esm)), so this entry hands CommonJS callers the very same module namespace that `import` gets:
 * one copy of every class and symbol, no dual-package hazard. Its declaration file (index.d.cts) gives
 * CommonJS TypeScript consumers the same types.
 */
import quiesce = require('./index.js');
export = quiesce;
