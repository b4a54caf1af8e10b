/**
 * The CommonJS entry (`require('quiesce')`, the `require` condition of package.json `exports`).
 * quiesce is ESM, as is inversify underneath it; Node ≥ 20.19 and ≥ 22.12 load ESM through `require()`
 * (require(esm)), so this entry hands CommonJS callers the very same module namespace that `import` gets:
 * one copy of every class and symbol, no dual-package hazard. Its declaration file (index.d.cts) gives
 * CommonJS TypeScript consumers the same types.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the one CommonJS file: require(esm) is its point
import quiesce = require('./index.js');
export = quiesce;
