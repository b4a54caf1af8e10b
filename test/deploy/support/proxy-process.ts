/**
 * A load balancer the deploy test runs as its own child (nginx, HAProxy): its config and logs in a
 * temporary directory, in the foreground, listening on 127.0.0.1 only, stopped by its pid with its own
 * graceful signal. Each balancer's file adds only its config and what it logs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';

/** The binary at one of `candidates` (Debian installs balancers in /usr/sbin, off many users' PATH), else on the PATH. */
export function findBinary(name: string, candidates: readonly string[]): string | undefined {
  for (const candidate of candidates) {
    if (existsSync(candidate)) return candidate;
  }
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found !== '' ? found : undefined;
}

export abstract class ProxyProcess {
  readonly #process: ChildProcess;
  readonly #exited: Promise<number | null>;
  readonly output: string[] = [];

  protected constructor(
    readonly name: string,
    readonly dir: string,
    readonly origin: string,
    command: { binary: string; args: string[] },
    /** The signal that stops it gracefully (nginx: SIGQUIT, HAProxy: SIGUSR1). */
    private readonly stopSignal: NodeJS.Signals,
  ) {
    this.#process = spawn(command.binary, command.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.#process.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.#exited = new Promise((resolve) => this.#process.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Resolves once it accepts connections on `port`; else stops it and rejects (exited, or not within `timeoutMs`). */
  protected async listening(port: number, timeoutMs: number): Promise<void> {
    try {
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 0; ; attempt++) {
        if (this.#process.exitCode !== null) {
          throw new Error(`${this.name} exited with ${this.#process.exitCode} at startup: ${this.output.join('')}`);
        }
        if (await canConnect(port)) return;
        if (Date.now() > deadline) {
          throw new Error(`${this.name} not listening on 127.0.0.1:${port} within ${timeoutMs} ms (${attempt} attempts): ${this.output.join('')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Graceful stop with its own signal, SIGKILL past 10 s. */
  async stop(): Promise<void> {
    if (this.#process.exitCode === null && this.#process.signalCode === null) {
      this.#process.kill(this.stopSignal);
      const timer = setTimeout(() => this.#process.kill('SIGKILL'), 10_000);
      await this.#exited;
      clearTimeout(timer);
    }
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
