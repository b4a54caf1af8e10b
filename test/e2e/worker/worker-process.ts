/**
 * The orders-worker sample as a real child process (../support/sample-process.ts): built once with
 * `tsc -p samples/orders-worker`, spawned with `node samples/orders-worker/dist/main.js`, started once its
 * startup line is logged.
 */
import { join } from 'node:path';
import { compileSample, REPO_ROOT, SampleProcess, sampleEnv } from '../support/sample-process.js';

export { describeExit, REPO_ROOT, REPORT_MSG, type Exit, type LogLine } from '../support/sample-process.js';

export const WORKER_DIR = join(REPO_ROOT, 'samples/orders-worker');
export const WORKER_MAIN = join(WORKER_DIR, 'dist/main.js');

/** The worker's startup line (samples/orders-worker/src/main.ts). */
export const STARTUP_MSG = 'orders-worker consuming';

/** Variables the worker reads; cleared from the inherited environment unless a test sets them. */
const WORKER_ENV = [
  'DATABASE_URL', 'AMQP_URL', 'AMQP_QUEUE', 'AMQP_PREFETCH', 'NATS_URL', 'NATS_STREAM', 'NATS_SUBJECT',
  'NATS_CONSUMER', 'NATS_BATCH', 'NATS_ACK_WAIT_MS', 'WORK_MS', 'PG_POOL_SIZE', 'SHUTDOWN_TIMEOUT_MS',
  'SHUTDOWN_MODE', 'WORKER_ID', 'LOG_LEVEL',
];

/** Compiles the sample against the built library in dist/. */
export function buildWorker(): Promise<void> {
  return compileSample(WORKER_DIR);
}

export class WorkerProcess extends SampleProcess {
  private constructor(readonly name: string, env: Record<string, string>) {
    super({ label: `orders-worker '${name}'`, file: process.execPath, args: [WORKER_MAIN], env: sampleEnv(WORKER_ENV, env) });
  }

  /** Spawns the worker and waits for its startup line. */
  static async start(name: string, env: Record<string, string>, timeoutMs = 20_000): Promise<WorkerProcess> {
    const worker = new WorkerProcess(name, env);
    try {
      await worker.waitForLine((l) => l.msg === STARTUP_MSG, timeoutMs, `the startup line '${STARTUP_MSG}'`);
      return worker;
    } catch (err) {
      await worker.kill();
      throw err;
    }
  }
}
