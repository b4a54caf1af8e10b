/** Options validation (CONTRACT §13): every check throws InvalidOptionsError naming the option and the value. */
export { validateBootstrapOptions } from './bootstrap-options.js';
export { validateHttpOptions } from './http-options.js';
export { validateHookOptions, validateHookTimeout } from './hook-options.js';
