/** The library under test, straight from its build output (`npm run build` at the repository root). */
export * from '../../dist/index.js';
