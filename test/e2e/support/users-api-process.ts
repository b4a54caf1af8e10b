/**
 * Runs the users-api sample as a real child process (sample-process.ts): builds it, spawns it (directly
 * or through `npm start`), waits for its startup line and the URL it gives.
 */
import { join } from 'node:path';
import type { ShutdownReport, ShutdownStep } from '../../../src/types.js';
import { compileSample, REPO_ROOT, SampleProcess, sampleEnv } from './sample-process.js';

export { describeExit, REPO_ROOT, REPORT_MSG, type Exit, type LogLine } from './sample-process.js';

export const SAMPLE_DIR = join(REPO_ROOT, 'samples/users-api');
export const SAMPLE_MAIN = join(SAMPLE_DIR, 'dist/main.js');

/** The sample's startup line (samples/users-api/src/main.ts). */
export const STARTUP_MSG = /^users-api listening on /;

/** Variables the sample reads; cleared from the inherited environment unless a test sets them. */
const SAMPLE_ENV = ['PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'DATA_DIR', 'SHUTDOWN_TIMEOUT_MS', 'DRAIN_DELAY_MS', 'LOG_LEVEL'];

export type ShutdownReportLine = ShutdownReport;
export type ShutdownStepLine = ShutdownStep;

/** Compiles the sample (`tsc -p samples/users-api`) against the built library in dist/. */
export function buildSample(): Promise<void> {
  return compileSample(SAMPLE_DIR);
}

export interface StartOptions {
  /** Environment for the service on top of a cleaned copy of this process's environment. */
  env?: Record<string, string>;
  /** Run this command instead of `node samples/users-api/dist/main.js` (e.g. `npm start`). */
  command?: { file: string; args: string[] };
  /** How long to wait for the startup line. */
  startupTimeoutMs?: number;
  /** Start in its own process group, so `signalGroup` can signal it like a terminal does. */
  detached?: boolean;
}

export class ServiceProcess extends SampleProcess {
  constructor(options: StartOptions) {
    const { file, args } = options.command ?? { file: process.execPath, args: [SAMPLE_MAIN] };
    const env = sampleEnv(SAMPLE_ENV, { PORT: '0', HOST: '127.0.0.1', ...options.env });
    super({ label: 'users-api', file, args, env, detached: options.detached });
  }

  static async start(options: StartOptions = {}): Promise<RunningService> {
    const service = new ServiceProcess(options);
    try {
      const line = await service.waitForLine((l) => STARTUP_MSG.test(l.msg ?? ''), options.startupTimeoutMs ?? 30_000, 'the startup line');
      if (typeof line.url !== 'string') throw new Error(`startup line without url: ${JSON.stringify(line)}`);
      return Object.assign(service, { url: line.url, pid: typeof line.pid === 'number' ? line.pid : undefined });
    } catch (err) {
      await service.kill();
      throw err;
    }
  }
}

export type RunningService = ServiceProcess & { url: string; pid: number | undefined };

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
