#!/usr/bin/env node
/**
 * Regression check for the runner's `write EPIPE` crash (`node bench/check/send-after-exit.mjs`, ~1 s, Linux).
 * Root cause: a child's IPC channel is already closed when the child has exited but the runner has not
 * yet read the end of the channel, so `child.connected` is still true; `child.send(msg)` without a
 * callback then reports EPIPE as an 'error' event on the child, which nobody listened to, so the runner
 * crashed. This reproduces that state deterministically (the runner blocks until the child is gone)
 * and checks that lib/children.mjs `send()` returns false instead, while the raw call still fails.
 */
import { fork } from 'node:child_process';
import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from '../lib/children.mjs';

const scripts = new Set();

async function exitedButStillConnected() {
  const script = join(tmpdir(), `quiesce-bench-exiting-child-${process.pid}.cjs`);
  writeFileSync(script, 'process.on("message", () => {}); setTimeout(() => process.exit(0), 10);');
  scripts.add(script);
  const child = fork(script);
  await new Promise((resolve) => child.once('spawn', resolve));
  const until = Date.now() + 10_000;
  // block the event loop until the child has exited (a zombie: not reaped, its channel's end not read)
  const gone = () => {
    try {
      return /^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${child.pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };
  while (!gone()) assert.ok(Date.now() < until, 'the child did not exit within 10 s');
  assert.equal(child.connected, true, 'the runner should not have noticed the exit yet');
  return child;
}

// Whether the kernel refuses the write (EPIPE) or still takes it varies from one child to the next:
// try up to 10 children for each side.
const ATTEMPTS = 10;

// the raw call: an 'error' event (unhandled, it crashes the process)
let rawCode;
for (let i = 0; i < ATTEMPTS && rawCode === undefined; i++) {
  const raw = await exitedButStillConnected();
  const event = new Promise((resolve) => raw.once('error', (e) => resolve(e.code)));
  raw.send({ type: 'exited' });
  rawCode = await Promise.race([event, new Promise((resolve) => setTimeout(resolve, 100))]);
}
assert.equal(rawCode, 'EPIPE', `the raw send never failed in ${ATTEMPTS} attempts: the check reproduces nothing here`);

// the runner's send(): false when the write fails, and never an 'error' event
let refused = 0;
for (let i = 0; i < ATTEMPTS && refused === 0; i++) {
  const safe = await exitedButStillConnected();
  let emitted;
  safe.on('error', (e) => (emitted = e));
  if (!(await send(safe, { type: 'exited' }))) refused++;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(emitted, undefined, 'send() must not leave an error event behind');
}
assert.equal(refused, 1, `send() never saw a refused write in ${ATTEMPTS} attempts`);
for (const f of scripts) unlinkSync(f);
console.log('ok: send() to a child that exited reports false instead of crashing the runner with EPIPE');
