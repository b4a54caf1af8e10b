/**
 * The watchdog holds the shutdown deadline when the main thread cannot: a hook stuck in a
 * synchronous loop blocks the event loop, so no timer of ours ever fires again.
 *
 * A worker thread sleeps in `Atomics.wait` on one shared Int32 until the kill time. Standing it
 * down is a store and an `Atomics.notify`, which needs no event loop on either side. If nobody
 * stood it down by then, it writes one JSON line to stderr with `fs.writeSync` (the worker's
 * `process.stderr` is relayed through the blocked main thread, so it would never appear) and
 * sends SIGKILL to its own process.
 *
 * The worker is started only when a shutdown that may exit the process starts, and is unref'd:
 * it never keeps an otherwise finished process alive.
 */
import { Worker } from 'node:worker_threads';

export interface WatchdogOptions {
  /** Epoch ms at which the process is killed unless the watchdog was stood down. */
  killAt: number;
  /** Extra fields for the JSON line written before the kill (pino-style, merged under `msg`). */
  fields: Record<string, unknown>;
  /** The line's message. */
  msg: string;
  /** Called if the worker thread itself fails (it then guards nothing). */
  onError?: (error: Error) => void;
}

export interface Watchdog {
  /** Stands the watchdog down: its thread wakes and ends without killing anything. Idempotent. */
  stop(): void;
}

const ARMED = 0;
const STOOD_DOWN = 1;

/**
 * The worker's source, evaluated as CommonJS (`eval: true`). Inline rather than a sibling file
 * so it runs the same from the .ts sources (tests) and from dist/ (production).
 */
const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const state = new Int32Array(workerData.shared);
for (;;) {
  if (Atomics.load(state, 0) !== ${ARMED}) return;
  const left = workerData.killAt - Date.now();
  if (left <= 0) break;
  Atomics.wait(state, 0, ${ARMED}, left);
}
const line = Object.assign({ level: 60, time: Date.now(), pid: process.pid }, workerData.fields, { msg: workerData.msg });
try { writeSync(2, JSON.stringify(line) + '\\n'); } catch {}
process.kill(process.pid, 'SIGKILL');
`;

export function startWatchdog(options: WatchdogOptions): Watchdog {
  const shared = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(shared);
  // The wrapper makes the top-level `return` above legal in the evaluated script.
  const worker = new Worker(`(() => {${WORKER_SOURCE}})();`, {
    eval: true,
    workerData: { shared, killAt: options.killAt, fields: options.fields, msg: options.msg },
    // Lean and independent of the parent's flags and loaders (e.g. --import hooks).
    execArgv: [],
  });
  worker.unref();
  worker.on('error', (error: Error) => options.onError?.(error));
  return {
    stop() {
      Atomics.store(state, 0, STOOD_DOWN);
      Atomics.notify(state, 0);
    },
  };
}
