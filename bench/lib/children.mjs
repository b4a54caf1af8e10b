/**
 * Child processes of the runner: every measurement runs in fresh `node bench/dist/<script>` processes
 * (pinned with taskset when possible), each with an IPC channel and a hard time limit.
 *
 * Sending to a child goes through `send()` only. A child's channel can close at any moment (it exited,
 * or is exiting: `child.connected` stays true until the 'disconnect' event is processed), and
 * `ChildProcess.send` without a callback reports that as an 'error' event on the child — unhandled, it
 * crashes the runner (`write EPIPE`, once in three quick runs, from the shutdown suite telling its
 * client that the server had exited just as the client itself finished). With a callback the failure
 * comes back to the caller, which decides whether it matters; every child also gets an 'error'
 * listener, so nothing about a child's channel can bring the runner down.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCH, DIST } from './prepare.mjs';

const live = new Set();
let exitHooked = false;
const epochMs = () => performance.timeOrigin + performance.now();

/** Sends `msg`; resolves true when written, false when the channel is gone (never throws, never emits). */
export function send(child, msg) {
  return new Promise((resolve) => {
    if (!child.connected) return resolve(false);
    try {
      child.send(msg, (err) => resolve(!err));
    } catch {
      resolve(false); // ERR_IPC_CHANNEL_CLOSED thrown synchronously on some Node versions
    }
  });
}

/**
 * Starts `node bench/dist/<script> ...args` pinned to `core` (when pinning is available).
 * The child gets `output` (its last 4 kB of stdout+stderr), `exited` (a promise) and `exitAt` (epoch ms).
 */
export function start(env, script, args = [], { core, nodeArgs = [] } = {}) {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
  }
  const argv = [...nodeArgs, join(DIST, script), ...args];
  const [cmd, cmdArgs] = env.pinned && core !== undefined ? ['taskset', ['-c', core, process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(cmd, cmdArgs, { cwd: BENCH, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } });
  live.add(child);
  child.output = '';
  const keep = (d) => (child.output = (child.output + d).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (e) => keep(`\n[runner] child process error: ${e.message}\n`));
  child.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      child.exitAt = epochMs();
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  return child;
}

const describe = (script, args) => `${script} ${args.join(' ')}`.trim();

/** Runs a child to completion and resolves with its one `result` message (rejects on crash or timeout). */
export function runChild(env, script, args, { core = env.serverCore, timeoutMs = 60_000, nodeArgs, onStart } = {}) {
  return new Promise((resolve, reject) => {
    const child = start(env, script, args, { core, nodeArgs });
    onStart?.(child);
    let result;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${describe(script, args)}: killed after ${timeoutMs} ms\n${child.output}`));
    }, timeoutMs);
    child.on('message', (m) => {
      if (m?.type === 'result') result = m.result;
    });
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`${describe(script, args)}: exit ${code ?? signal} without a result\n${child.output.trim()}`));
    });
  });
}

/** Starts a long-lived child and waits for its `{ type: 'ready', ... }` message (the child gets `ready`). */
export function startServer(env, script, args = [], { core = env.serverCore, timeoutMs = 30_000, nodeArgs } = {}) {
  return new Promise((resolve, reject) => {
    const child = start(env, script, args, { core, nodeArgs });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${describe(script, args)}: not ready after ${timeoutMs} ms\n${child.output}`));
    }, timeoutMs);
    child.on('message', (m) => {
      if (m?.type !== 'ready') return;
      clearTimeout(timer);
      child.ready = m;
      child.url = m.url;
      resolve(child);
    });
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${describe(script, args)}: exited (${code ?? signal}) before ready\n${child.output.trim()}`));
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child is gone. */
export async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await child.exited;
  clearTimeout(t);
}

let nextId = 0;
/**
 * Request/response over IPC: sends `{ ...msg, id }`, resolves with the child's message of the same id
 * (rejects if it does not come within `timeoutMs`, or the child exits first).
 */
export function ask(child, msg, timeoutMs = 10_000) {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const done = (fn, v) => {
      clearTimeout(timer);
      child.off('message', on);
      fn(v);
    };
    const timer = setTimeout(() => done(reject, new Error(`no answer to ${msg.type} within ${timeoutMs} ms\n${child.output}`)), timeoutMs);
    const on = (m) => {
      if (m?.id === id) done(resolve, m);
    };
    child.on('message', on);
    void child.exited.then(({ code, signal }) => done(reject, new Error(`exited (${code ?? signal}) before answering ${msg.type}\n${child.output.trim()}`)));
    void send(child, { ...msg, id }).then((ok) => ok || done(reject, new Error(`could not send ${msg.type}: the channel is closed`)));
  });
}
